//! REST transport of events: `/api/v1/events` and `/api/v1/events/{id}`.

use super::{store, validate, CreateEvent, Event, UpdateEvent};
use crate::{
    error::AppError,
    hosts::auth::CurrentHost,
    rest::{ApiPath, JsonBody},
    state::AppState,
};
use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use uuid::Uuid;

/// Routes of this module, mounted under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events", get(list).post(create))
        .route("/events/{id}", get(show).patch(update).delete(remove))
}

#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "events",
    summary = "Create an event",
    request_body = super::CreateEvent,
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 201, description = "The event", body = super::Event),
        crate::api_docs::responses::BodyErrors,
        crate::api_docs::responses::AuthErrors,
        (status = 409, description = "The slug is taken by another of the host's events", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/events` → 201 with the event.
pub(crate) async fn create(
    State(state): State<AppState>,
    host: CurrentHost,
    JsonBody(input): JsonBody<CreateEvent>,
) -> Result<(StatusCode, Json<Event>), AppError> {
    let event = create_event(&state, host.id, &input).await?;
    Ok((StatusCode::CREATED, Json(event)))
}

/// Validates and stores a new event of the host (shared with the dashboard's server
/// functions).
pub async fn create_event(
    state: &AppState,
    host_id: Uuid,
    input: &CreateEvent,
) -> Result<Event, AppError> {
    let valid = validate::create(input)?;
    store::insert(&state.pool, host_id, &valid).await
}

/// Applies a partial update to one of the host's events (another host's event is not
/// found); shared with the dashboard's server functions.
pub async fn update_event(
    state: &AppState,
    host_id: Uuid,
    id: Uuid,
    input: &UpdateEvent,
) -> Result<Event, AppError> {
    let current = store::get(&state.pool, host_id, id).await?;
    let valid = validate::update(&current, input)?;
    store::update(&state.pool, host_id, id, &valid).await
}

#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    summary = "List the host's events",
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Events, soonest first", body = Vec<super::Event>),
        crate::api_docs::responses::AuthErrors
    )
)]
/// `GET /api/v1/events` → the host's events.
pub(crate) async fn list(
    State(state): State<AppState>,
    host: CurrentHost,
) -> Result<Json<Vec<Event>>, AppError> {
    Ok(Json(store::list(&state.pool, host.id).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}",
    tag = "events",
    summary = "One event",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id")
    ),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The event", body = super::Event),
        crate::api_docs::responses::ResourceErrors
    )
)]
/// `GET /api/v1/events/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Event>, AppError> {
    Ok(Json(store::get(&state.pool, host.id, id).await?))
}

#[utoipa::path(
    patch,
    path = "/api/v1/events/{id}",
    tag = "events",
    summary = "Change an event",
    description = "Only the fields sent change; `null` clears `capacity` or `rsvp_deadline`.",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id")
    ),
    request_body = super::UpdateEvent,
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The changed event", body = super::Event),
        crate::api_docs::responses::BodyErrors,
        crate::api_docs::responses::ResourceErrors,
        (status = 409, description = "The slug is taken", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `PATCH /api/v1/events/{id}` with only the fields to change.
pub(crate) async fn update(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
    JsonBody(input): JsonBody<UpdateEvent>,
) -> Result<Json<Event>, AppError> {
    Ok(Json(update_event(&state, host.id, id, &input).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/events/{id}",
    tag = "events",
    summary = "Delete an event",
    description = "Deletes its guests, links and answers too.",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id")
    ),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 204, description = "Deleted"),
        crate::api_docs::responses::ResourceErrors
    )
)]
/// `DELETE /api/v1/events/{id}` → 204.
pub(crate) async fn remove(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    store::delete(&state.pool, host.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
