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

/// `POST /api/v1/events` → 201 with the event.
async fn create(
    State(state): State<AppState>,
    host: CurrentHost,
    JsonBody(input): JsonBody<CreateEvent>,
) -> Result<(StatusCode, Json<Event>), AppError> {
    let valid = validate::create(&input)?;
    let event = store::insert(&state.pool, host.id, &valid).await?;
    Ok((StatusCode::CREATED, Json(event)))
}

/// `GET /api/v1/events` → the host's events.
async fn list(
    State(state): State<AppState>,
    host: CurrentHost,
) -> Result<Json<Vec<Event>>, AppError> {
    Ok(Json(store::list(&state.pool, host.id).await?))
}

/// `GET /api/v1/events/{id}`.
async fn show(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Event>, AppError> {
    Ok(Json(store::get(&state.pool, host.id, id).await?))
}

/// `PATCH /api/v1/events/{id}` with only the fields to change.
async fn update(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
    JsonBody(input): JsonBody<UpdateEvent>,
) -> Result<Json<Event>, AppError> {
    let current = store::get(&state.pool, host.id, id).await?;
    let valid = validate::update(&current, &input)?;
    Ok(Json(store::update(&state.pool, host.id, id, &valid).await?))
}

/// `DELETE /api/v1/events/{id}` → 204.
async fn remove(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    store::delete(&state.pool, host.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
