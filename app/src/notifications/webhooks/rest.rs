//! REST transport of hosts' webhooks (see the module table in `mod.rs`), and the work
//! the dashboard's server functions share.

use super::{
    signature, ssrf, store, EventType, NewWebhook, RotateSecret, Webhook, WebhookChanges,
    WebhookPayload, WebhookWithSecret,
};
use crate::{
    error::AppError,
    hosts::auth::CurrentHost,
    notifications::{self, store as notification_store, Notification},
    rest::{ApiPath, ApiQuery, JsonBody},
    settings::Environment,
    state::AppState,
};
use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use uuid::Uuid;

/// Routes of this module, mounted under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", get(show).patch(change).delete(remove))
        .route("/webhooks/{id}/secret", get(secret))
        .route("/webhooks/{id}/rotate-secret", post(rotate))
        .route("/webhooks/{id}/test", post(test))
        .route("/webhooks/{id}/deliveries", get(deliveries))
}

const NOT_FOUND: &str = "No such webhook of this host";

fn not_found() -> AppError {
    AppError::NotFound("this host has no such webhook".into())
}

/// Checks the types a host asked for: known, subscribable, at least one, no repeats.
fn event_types(raw: &[String]) -> Result<Vec<EventType>, AppError> {
    let mut types = Vec::new();
    for name in raw {
        let kind = EventType::parse(name)
            .filter(|kind| EventType::SUBSCRIBABLE.contains(kind))
            .ok_or_else(|| {
                AppError::invalid(
                    "event_types",
                    "unknown_event_type",
                    format!(
                        "{name:?} is not an event type; choose from rsvp.created, rsvp.changed, access.flagged, rsvp.blocked, rsvp.held"
                    ),
                )
            })?;
        if !types.contains(&kind) {
            types.push(kind);
        }
    }
    if types.is_empty() {
        return Err(AppError::invalid(
            "event_types",
            "required",
            "choose at least one event type",
        ));
    }
    Ok(types)
}

/// Checks a receiver URL (form, and addresses in production: see `ssrf`).
async fn receiver(state: &AppState, url: &str) -> Result<String, AppError> {
    if url.len() > 2048 {
        return Err(AppError::invalid("url", "too_long", "the URL is too long"));
    }
    let production = state.settings.environment == Environment::Production;
    match ssrf::check(url, state.settings.webhooks.allow_private, production).await {
        // Parsing writes the URL out in full (`http://0` is `http://0.0.0.0/`): the
        // stored form must fit too.
        Ok(url) if url.as_str().len() > 2048 => {
            Err(AppError::invalid("url", "too_long", "the URL is too long"))
        }
        Ok(url) => Ok(url.to_string()),
        Err(refusal @ (ssrf::Refusal::Private(_) | ssrf::Refusal::Unresolvable(_))) => Err(
            AppError::invalid("url", "webhook_url_refused", refusal.to_string()),
        ),
        Err(refusal) => Err(AppError::invalid("url", "invalid_url", refusal.to_string())),
    }
}

fn description(raw: Option<&str>) -> Result<String, AppError> {
    let text = raw.unwrap_or_default().trim();
    if text.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "description",
            "invalid_description",
            "the description must not contain control characters",
        ));
    }
    if text.chars().count() > 200 {
        return Err(AppError::invalid(
            "description",
            "too_long",
            "keep the description under 200 characters",
        ));
    }
    Ok(text.to_owned())
}

fn with_secret(state: &AppState, row: store::Row) -> WebhookWithSecret {
    WebhookWithSecret {
        secret: signature::secret(&state.settings.webhooks.key, row.id, row.secret_version),
        webhook: row.into(),
    }
}

/// Registers an endpoint for the host (and one of their events, if given).
pub async fn register(
    state: &AppState,
    host_id: Uuid,
    new: &NewWebhook,
) -> Result<WebhookWithSecret, AppError> {
    let types = event_types(&new.event_types)?;
    let description = description(new.description.as_deref())?;
    if let Some(event_id) = new.event_id {
        crate::events::store::get(&state.pool, host_id, event_id).await?;
    }
    let url = receiver(state, &new.url).await?;
    let row = store::insert(
        &state.pool,
        host_id,
        new.event_id,
        &url,
        &description,
        &types,
    )
    .await?;
    tracing::info!(webhook_id = %row.id, "webhook registered");
    Ok(with_secret(state, row))
}

/// The host's endpoints (of one event and the account-wide ones, or all).
pub async fn list_webhooks(
    state: &AppState,
    host_id: Uuid,
    event_id: Option<Uuid>,
) -> Result<Vec<Webhook>, AppError> {
    Ok(store::list(&state.pool, host_id, event_id)
        .await?
        .into_iter()
        .map(Webhook::from)
        .collect())
}

/// Applies a host's changes to an endpoint.
pub async fn update(
    state: &AppState,
    host_id: Uuid,
    id: Uuid,
    changes: &WebhookChanges,
) -> Result<Webhook, AppError> {
    let types = changes
        .event_types
        .as_deref()
        .map(event_types)
        .transpose()?;
    let description = changes
        .description
        .as_deref()
        .map(|text| description(Some(text)))
        .transpose()?;
    let url = match &changes.url {
        Some(url) => Some(receiver(state, url).await?),
        None => None,
    };
    store::update(
        &state.pool,
        host_id,
        id,
        url.as_deref(),
        description.as_deref(),
        types.as_deref(),
        changes.enabled,
    )
    .await?
    .map(Webhook::from)
    .ok_or_else(not_found)
}

/// A new secret; the previous one keeps signing beside it for the overlap.
pub async fn rotate_secret(
    state: &AppState,
    host_id: Uuid,
    id: Uuid,
    rotation: &RotateSecret,
) -> Result<WebhookWithSecret, AppError> {
    let hours = rotation.overlap_hours.unwrap_or(24);
    if hours > 168 {
        return Err(AppError::invalid(
            "overlap_hours",
            "out_of_range",
            "the overlap is 0 to 168 hours",
        ));
    }
    let until = chrono::Utc::now() + chrono::Duration::hours(i64::from(hours));
    let row = store::rotate(&state.pool, host_id, id, until)
        .await?
        .ok_or_else(not_found)?;
    tracing::info!(webhook_id = %row.id, version = row.secret_version, "webhook secret rotated");
    Ok(with_secret(state, row))
}

/// Queues a `ping` delivery to the endpoint (the worker sends it at once).
pub async fn send_test(
    state: &AppState,
    host_id: Uuid,
    id: Uuid,
) -> Result<Notification, AppError> {
    let row = store::get(&state.pool, host_id, id)
        .await?
        .ok_or_else(not_found)?;
    let notification_id = Uuid::new_v4();
    let payload = WebhookPayload {
        id: notification_id,
        event_type: EventType::Ping.as_str().to_owned(),
        created_at: chrono::Utc::now(),
        data: serde_json::json!({
            "message": "A test delivery from GuestGuard: your endpoint is reachable.",
            "webhook_id": row.id,
        }),
    };
    let mut tx = state.pool.begin().await?;
    notification_store::enqueue(
        &mut tx,
        &notification_store::NewNotification {
            id: notification_id,
            host_id,
            event_id: row.event_id,
            guest_id: None,
            webhook_id: Some(row.id),
            kind: notifications::Kind::Webhook,
            channel: notifications::Channel::Webhook,
            recipient: row.url.clone(),
            dedupe_key: format!("webhook:{}:ping:{notification_id}", row.id),
            payload: serde_json::to_value(&payload).map_err(|_| AppError::Internal)?,
            max_attempts: notifications::worker::WEBHOOK_TEST_ATTEMPTS,
        },
    )
    .await?;
    notification_store::wake_workers(&mut tx).await?;
    tx.commit().await?;
    notification_store::get(&state.pool, host_id, notification_id)
        .await?
        .ok_or(AppError::Internal)
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Only the endpoints of this event (and the account-wide ones).
    #[serde(default)]
    pub event_id: Option<Uuid>,
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    summary = "The host's webhooks",
    params(ListQuery),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Endpoints, oldest first", body = Vec<Webhook>),
        crate::api_docs::responses::NotSignedIn
    )
)]
/// `GET /api/v1/webhooks`.
pub(crate) async fn list(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<Webhook>>, AppError> {
    Ok(Json(list_webhooks(&state, host.id, query.event_id).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    summary = "Register a webhook",
    description = "Deliveries are signed (`GuestGuard-Signature: t=..,v1=..`, HMAC-SHA256 \
                   keyed with the secret over `<t>.<body>`); the secret is in the answer. \
                   In production the URL must be https:// and resolve to public addresses \
                   only (`webhook_url_refused` otherwise).",
    request_body = NewWebhook,
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 201, description = "Registered", body = WebhookWithSecret),
        crate::api_docs::responses::NotSignedIn,
        (status = 404, description = "No such event of this host", body = crate::api_docs::openapi::ErrorBody),
        (status = 422, description = "Invalid URL or event types; `webhook_url_refused` for a private address", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/webhooks`.
pub(crate) async fn create(
    State(state): State<AppState>,
    host: CurrentHost,
    JsonBody(new): JsonBody<NewWebhook>,
) -> Result<(StatusCode, Json<WebhookWithSecret>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(register(&state, host.id, &new).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    summary = "One webhook",
    params(("id" = Uuid, Path, description = "The webhook")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The webhook", body = Webhook),
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/webhooks/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Webhook>, AppError> {
    store::get(&state.pool, host.id, id)
        .await?
        .map(|row| Json(row.into()))
        .ok_or_else(not_found)
}

#[utoipa::path(
    patch,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    summary = "Change a webhook",
    description = "Only the fields given change; `enabled: false` pauses deliveries (queued \
                   ones are not sent).",
    params(("id" = Uuid, Path, description = "The webhook")),
    request_body = WebhookChanges,
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The webhook now", body = Webhook),
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody),
        (status = 422, description = "Invalid change", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `PATCH /api/v1/webhooks/{id}`.
pub(crate) async fn change(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
    JsonBody(changes): JsonBody<WebhookChanges>,
) -> Result<Json<Webhook>, AppError> {
    Ok(Json(update(&state, host.id, id, &changes).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    summary = "Delete a webhook",
    description = "Its queued deliveries and delivery log go with it.",
    params(("id" = Uuid, Path, description = "The webhook")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `DELETE /api/v1/webhooks/{id}`.
pub(crate) async fn remove(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    if store::delete(&state.pool, host.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/secret",
    tag = "webhooks",
    summary = "A webhook's signing secret",
    params(("id" = Uuid, Path, description = "The webhook")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The webhook and its current secret", body = WebhookWithSecret),
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/webhooks/{id}/secret`.
pub(crate) async fn secret(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<WebhookWithSecret>, AppError> {
    let row = store::get(&state.pool, host.id, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(with_secret(&state, row)))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    summary = "Rotate a webhook's secret",
    description = "Deliveries are signed with the new secret and, during the overlap \
                   (`overlap_hours`, 24 by default), with the previous one too: two `v1=` \
                   values in the signature header, so the receiver can switch at its pace.",
    params(("id" = Uuid, Path, description = "The webhook")),
    request_body(content = Option<RotateSecret>, description = "Optional"),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The webhook and its new secret", body = WebhookWithSecret),
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody),
        (status = 422, description = "Overlap out of range", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/webhooks/{id}/rotate-secret`.
pub(crate) async fn rotate(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
    crate::rest::ApiBytes(body): crate::rest::ApiBytes,
) -> Result<Json<WebhookWithSecret>, AppError> {
    // The body is optional: empty (or JSON `null`) means a 24-hour overlap.
    let rotation: RotateSecret =
        crate::rest::optional_json(&body, "the body must be JSON like {\"overlap_hours\": 24}")?;
    Ok(Json(rotate_secret(&state, host.id, id, &rotation).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/test",
    tag = "webhooks",
    summary = "Send a test delivery",
    description = "Queues a signed `ping` delivery; follow it in the delivery log.",
    params(("id" = Uuid, Path, description = "The webhook")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 202, description = "Queued", body = Notification),
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/webhooks/{id}/test`.
pub(crate) async fn test(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<Notification>), AppError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(send_test(&state, host.id, id).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    summary = "A webhook's delivery log",
    description = "Deliveries newest first, with their status, attempts and last error; \
                   each one's attempts at `GET /api/v1/notifications/{id}/attempts`.",
    params(("id" = Uuid, Path, description = "The webhook")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Deliveries", body = Vec<Notification>),
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/webhooks/{id}/deliveries`.
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<Notification>>, AppError> {
    store::get(&state.pool, host.id, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(
        notification_store::list(
            &state.pool,
            host.id,
            notification_store::Scope::Webhook(id),
            200,
        )
        .await?,
    ))
}
