//! REST transport of a host's review of a guest (see the module table in `mod.rs`),
//! and the work both transports share.

use super::{store, store::Subject, AuditEntry, GuestExport, HeldAnswer};
use crate::{
    error::AppError, fraud::devices::GuestDevices, hosts::auth::CurrentHost, rest::ApiPath,
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
        .route("/events/{id}/held", get(held))
        .route("/events/{id}/guests/{guest_id}/devices", get(devices))
        .route(
            "/events/{id}/guests/{guest_id}/devices/{device_key}/approve",
            post(approve),
        )
        .route("/events/{id}/guests/{guest_id}/reset", post(reset))
        .route("/events/{id}/guests/{guest_id}/answer/accept", post(accept))
        .route("/events/{id}/guests/{guest_id}/answer/reject", post(reject))
        .route("/events/{id}/guests/{guest_id}/audit", get(audit))
        .route("/events/{id}/guests/{guest_id}/export", get(export))
}

/// The guest's devices since the last reset, and whether they conflict.
pub async fn guest_devices(state: &AppState, subject: Subject) -> Result<GuestDevices, AppError> {
    let trust = store::trust(&state.pool, subject).await?;
    let devices = store::devices(&state.pool, subject.guest_id, &trust).await?;
    Ok(GuestDevices {
        guest_id: subject.guest_id,
        conflict: GuestDevices::is_conflict(&devices),
        devices,
    })
}

/// Trusts one of the devices that opened the guest's link: the engine first (so the
/// next answer from it scores as the guest's), then the host's records and the audit
/// trail. 404 for a device that never opened the link; 503 while the engine is down.
pub async fn approve_device(
    state: &AppState,
    subject: Subject,
    device_key: &str,
) -> Result<GuestDevices, AppError> {
    let trust = store::trust(&state.pool, subject).await?;
    let devices = store::devices(&state.pool, subject.guest_id, &trust).await?;
    let device = devices
        .iter()
        .find(|device| device.device_key == device_key)
        .ok_or_else(|| AppError::NotFound("this device never opened the guest's link".into()))?;
    crate::fraud::client::approve_device(
        state,
        proto::fraud::v1::ApproveDeviceRequest {
            event_id: subject.event_id.to_string(),
            guest_id: subject.guest_id.to_string(),
            device_key: device.device_key.clone(),
            ip: device.last_ip.clone().unwrap_or_default(),
            event_starts_at: trust.event_starts_at.to_rfc3339(),
        },
    )
    .await?;
    store::approved(&state.pool, subject, device_key).await?;
    tracing::info!(guest_id = %subject.guest_id, device = %crate::fraud::devices::label(device_key), "device approved");
    guest_devices(state, subject).await
}

/// The engine forgets what it learned about the guest (the next answer is scored
/// fresh); then the host's records and the audit trail. 503 while the engine is down.
pub async fn reset_guest(state: &AppState, subject: Subject) -> Result<GuestDevices, AppError> {
    store::trust(&state.pool, subject).await?;
    crate::fraud::client::reset_guest(state, subject.guest_id, false).await?;
    store::reset(&state.pool, subject).await?;
    tracing::info!(guest_id = %subject.guest_id, "guest's fraud baseline reset");
    guest_devices(state, subject).await
}

/// Everything stored about one of the host's guests.
pub async fn export_guest(state: &AppState, subject: Subject) -> Result<GuestExport, AppError> {
    let guest = crate::guests::store::get(
        &state.pool,
        subject.host_id,
        subject.event_id,
        subject.guest_id,
    )
    .await?;
    let event = crate::events::store::get(&state.pool, subject.host_id, subject.event_id).await?;
    let attempts = crate::access::store::log(
        &state.pool,
        &event,
        crate::access::store::LogFilter {
            guest: Some(subject.guest_id),
            flagged: false,
            limit: 100_000,
        },
    )
    .await?;
    Ok(GuestExport {
        answer: crate::rsvps::store::current(&state.pool, subject.guest_id).await?,
        access_attempts: attempts,
        audit: store::trail(&state.pool, subject).await?,
        guest,
        exported_at: chrono::Utc::now(),
    })
}

fn subject(host: &CurrentHost, event_id: Uuid, guest_id: Uuid) -> Subject {
    Subject {
        host_id: host.id,
        event_id,
        guest_id,
    }
}

const NOT_FOUND: &str = "No such event or guest of this host";

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/held",
    tag = "review",
    summary = "Answers held for review",
    description = "Answers that do not count until the host decides: recorded while the \
                   fraud engine was unavailable and then scored in the block band, or held \
                   by the event's policy. Oldest first.",
    params(("id" = Uuid, Path, description = "The event")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Held answers", body = Vec<super::HeldAnswer>),
        crate::api_docs::responses::NotSignedIn,
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/events/{id}/held` → the held answers.
pub(crate) async fn held(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<Json<Vec<HeldAnswer>>, AppError> {
    crate::events::store::get(&state.pool, host.id, event_id).await?;
    Ok(Json(store::held(&state.pool, host.id, event_id).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/guests/{guest_id}/devices",
    tag = "review",
    summary = "A guest's devices",
    description = "The devices (keyed hashes of their fingerprints) that opened the guest's \
                   link since the last reset, and whether they conflict: two or more, none \
                   trusted — the link may be in somebody else's hands.",
    params(("id" = Uuid, Path, description = "The event"), ("guest_id" = Uuid, Path, description = "The guest")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The devices", body = GuestDevices),
        crate::api_docs::responses::NotSignedIn,
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/events/{id}/guests/{guest_id}/devices`.
pub(crate) async fn devices(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<GuestDevices>, AppError> {
    Ok(Json(
        guest_devices(&state, subject(&host, event_id, guest_id)).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/events/{id}/guests/{guest_id}/devices/{device_key}/approve",
    tag = "review",
    summary = "Approve a guest's device",
    description = "The device becomes the guest's trusted one (and its network the trusted \
                   network): the guest's answers from it score as theirs, other devices as \
                   a mismatch. Recorded in the audit trail.",
    params(
        ("id" = Uuid, Path, description = "The event"),
        ("guest_id" = Uuid, Path, description = "The guest"),
        ("device_key" = String, Path, description = "The device key, as on the access log")
    ),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The guest's devices now", body = GuestDevices),
        crate::api_docs::responses::CrossSiteErrors,
        (status = 404, description = "No such event, guest, or device of the guest", body = crate::api_docs::openapi::ErrorBody),
        (status = 503, description = "The fraud engine cannot take it now; see `Retry-After`", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/events/{id}/guests/{guest_id}/devices/{device_key}/approve`.
pub(crate) async fn approve(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id, device_key)): ApiPath<(Uuid, Uuid, String)>,
) -> Result<Json<GuestDevices>, AppError> {
    let subject = subject(&host, event_id, guest_id);
    Ok(Json(approve_device(&state, subject, &device_key).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/events/{id}/guests/{guest_id}/reset",
    tag = "review",
    summary = "Reset a guest's fraud checks",
    description = "The fraud engine forgets the guest's devices, networks and answers: the \
                   next answer is scored fresh. Recorded in the audit trail.",
    params(("id" = Uuid, Path, description = "The event"), ("guest_id" = Uuid, Path, description = "The guest")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The guest's devices now (none)", body = GuestDevices),
        crate::api_docs::responses::CrossSiteErrors,
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody),
        (status = 503, description = "The fraud engine cannot take it now; see `Retry-After`", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/events/{id}/guests/{guest_id}/reset`.
pub(crate) async fn reset(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<GuestDevices>, AppError> {
    Ok(Json(
        reset_guest(&state, subject(&host, event_id, guest_id)).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/events/{id}/guests/{guest_id}/answer/accept",
    tag = "review",
    summary = "Accept a held answer",
    description = "The answer counts from now on (if the event has room).",
    params(("id" = Uuid, Path, description = "The event"), ("guest_id" = Uuid, Path, description = "The guest")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 204, description = "Accepted"),
        crate::api_docs::responses::CrossSiteErrors,
        (status = 404, description = "No such event or guest, or no held answer", body = crate::api_docs::openapi::ErrorBody),
        (status = 409, description = "The event is full (`event_full`)", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/events/{id}/guests/{guest_id}/answer/accept` → 204.
pub(crate) async fn accept(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    store::decide_held(&state.pool, subject(&host, event_id, guest_id), true).await?;
    state.outbox_wake.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/events/{id}/guests/{guest_id}/answer/reject",
    tag = "review",
    summary = "Reject a held answer",
    description = "The answer does not count; the guest may answer again through their link.",
    params(("id" = Uuid, Path, description = "The event"), ("guest_id" = Uuid, Path, description = "The guest")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 204, description = "Rejected"),
        crate::api_docs::responses::CrossSiteErrors,
        (status = 404, description = "No such event or guest, or no held answer", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/events/{id}/guests/{guest_id}/answer/reject` → 204.
pub(crate) async fn reject(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    store::decide_held(&state.pool, subject(&host, event_id, guest_id), false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/guests/{guest_id}/audit",
    tag = "review",
    summary = "A guest's audit trail",
    description = "Every decision the host took about the guest, newest first.",
    params(("id" = Uuid, Path, description = "The event"), ("guest_id" = Uuid, Path, description = "The guest")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Decisions", body = Vec<super::AuditEntry>),
        crate::api_docs::responses::NotSignedIn,
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/events/{id}/guests/{guest_id}/audit`.
pub(crate) async fn audit(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    let subject = subject(&host, event_id, guest_id);
    store::trust(&state.pool, subject).await?;
    Ok(Json(store::trail(&state.pool, subject).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/guests/{guest_id}/export",
    tag = "review",
    summary = "Export a guest's data",
    description = "Everything GuestGuard stores about the guest: the guest, their answer, \
                   every opening and answer (devices only as keyed hashes) and the audit \
                   trail. Deleting the guest deletes all of it and makes the fraud engine \
                   forget the guest.",
    params(("id" = Uuid, Path, description = "The event"), ("guest_id" = Uuid, Path, description = "The guest")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The guest's data", body = super::GuestExport),
        crate::api_docs::responses::NotSignedIn,
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/events/{id}/guests/{guest_id}/export`.
pub(crate) async fn export(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<GuestExport>, AppError> {
    Ok(Json(
        export_guest(&state, subject(&host, event_id, guest_id)).await?,
    ))
}
