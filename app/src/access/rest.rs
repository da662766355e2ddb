//! REST transport of link openings (public, for guests):
//! `GET /api/v1/access/{token}` records the attempt and shows the invitation;
//! `POST /api/v1/access/{token}/signals` adds the hydrated page's browser signals;
//! `GET /api/v1/events/{id}/access-log` shows hosts every attempt with its fraud score.

use super::{store, AccessView, BrowserSignals, TokenView};
use crate::{
    edge::{client::ClientIp, rate_limit::Quota},
    error::AppError,
    hosts::auth::CurrentHost,
    invitations::resolve,
    rest::{ApiPath, ApiQuery, JsonBody},
    rsvps,
    state::AppState,
};
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    routing::{get, post},
    Json, Router,
};
use chrono::Utc;
use proto::events::Signals;
use std::time::Duration;

/// Requests on guest links per client (IPv4 address or IPv6 /64) per minute.
pub const TOKEN_QUOTA: Quota = Quota {
    attempts: 120,
    window: Duration::from_secs(60),
};

/// Routes of this module, mounted under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/access/{token}", get(open))
        .route("/access/{token}/signals", post(signals))
        .route("/events/{id}/access-log", get(access_log))
}

/// Query of `GET /api/v1/events/{id}/access-log`.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// `true`: only flagged attempts (score at or above the flag threshold).
    #[serde(default)]
    pub flagged: bool,
    /// At most this many attempts, newest first (1–500, default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/access-log",
    tag = "events",
    summary = "The event's access log with fraud scores",
    description = "Every opening of the event's invitation links and every answer submitted, newest first, with the fraud engine's score, band (`verdict`: Verified, Review, Suspicious, Blocked), reasons and flag. Openings are scored asynchronously, so a fresh one may still have `risk_score: null`.",
    params(
        ("id" = uuid::Uuid, Path, description = "The event"),
        LogQuery
    ),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Attempts, newest first", body = Vec<super::LoggedAccess>),
        crate::api_docs::responses::AuthErrors,
        (status = 404, description = "No such event of this host", body = crate::api_docs::openapi::ErrorBody),
        (status = 422, description = "`limit` is out of range", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/events/{id}/access-log?flagged=true&limit=50` → the attempts.
pub(crate) async fn access_log(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(event_id): ApiPath<uuid::Uuid>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<Json<Vec<super::LoggedAccess>>, AppError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "invalid_limit",
            "limit must be between 1 and 500",
        ));
    }
    let filter = store::LogFilter {
        guest: None,
        flagged: query.flagged,
        limit,
    };
    let event = crate::events::store::get(&state.pool, host.id, event_id).await?;
    Ok(Json(store::log(&state.pool, &event, filter).await?))
}

/// Counts one request on a guest link for this client (shared by every replica).
pub async fn limit(state: &AppState, client: ClientIp) -> Result<(), AppError> {
    state
        .rate_limiter
        .check(&client.key("token"), TOKEN_QUOTA)
        .await
}

/// The signals a page reported, checked and with its fingerprint replaced by the device
/// key (the fingerprint itself goes no further).
fn checked_signals(state: &AppState, reported: BrowserSignals) -> Result<Signals, AppError> {
    let clip = |value: Option<String>, max: usize| {
        value.map(|v| v.chars().filter(|c| !c.is_control()).take(max).collect())
    };
    Ok(Signals {
        device_key: reported
            .fingerprint_hash
            .filter(|f| !f.trim().is_empty())
            .map(|f| crate::fraud::devices::device_key(&state.settings.fingerprint_key, &f))
            .transpose()?,
        time_zone: clip(reported.time_zone, 64),
        screen: clip(reported.screen, 32),
        js_enabled: true,
        automation: crate::fraud::devices::automation(&reported.automation)?,
    })
}

/// The request facts of an opening.
pub fn facts(client: ClientIp, headers: &HeaderMap) -> store::RequestFacts {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    store::RequestFacts {
        ip: client.0,
        user_agent: text(header::USER_AGENT),
        accept_language: text(header::ACCEPT_LANGUAGE),
    }
}

/// Resolves the token, records the attempt and gathers what the guest sees. Shared by
/// the REST route and the guest's page.
pub async fn open_link(
    state: &AppState,
    raw: &str,
    facts: &store::RequestFacts,
) -> Result<AccessView, AppError> {
    let invitation = resolve::live_invitation(state, raw).await?;
    let store::Recorded {
        access_log_id,
        guest,
        event,
    } = store::record(
        &state.pool,
        &invitation,
        facts,
        state.settings.signals_grace,
    )
    .await?;
    crate::monitor::notice::announce(&state.nats, invitation.event_id, access_log_id);
    let rsvp = rsvps::store::current(&state.pool, invitation.guest_id).await?;
    Ok(AccessView {
        token: TokenView {
            id: invitation.id,
            status: invitation.status(Utc::now()),
            expires_at: invitation.expires_at,
        },
        guest,
        event,
        rsvp,
        access_log_id,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/access/{token}",
    tag = "guest-side",
    summary = "Open an invitation link",
    description = "Records an access attempt (time, IP, user agent, accept-language) and answers what the guest sees. The attempt is scored asynchronously by the fraud engine: as soon as the page posts its browser signals, or after a short grace period without them.",
    params(
        ("token" = String, Path, description = "The guest's token")
    ),
    responses(
        (status = 200, description = "The invitation", body = super::AccessView),
        (status = 400, description = "Malformed token (`malformed_token`)", body = crate::api_docs::openapi::ErrorBody),
        (status = 404, description = "Unknown token or bad signature (one answer for both)", body = crate::api_docs::openapi::ErrorBody),
        (status = 410, description = "Revoked or expired link", body = crate::api_docs::openapi::ErrorBody),
        (status = 429, description = "Too many requests; see `Retry-After`", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/access/{token}` → 200 `{token, guest, event, rsvp, access_log_id}`.
pub(crate) async fn open(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<AccessView>, AppError> {
    limit(&state, client).await?;
    Ok(Json(
        open_link(&state, &token, &facts(client, &headers)).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/access/{token}/signals",
    tag = "guest-side",
    summary = "Attach browser signals to an access attempt",
    params(
        ("token" = String, Path, description = "The guest's token")
    ),
    request_body = super::BrowserSignals,
    responses(
        (status = 204, description = "Stored"),
        crate::api_docs::responses::LinkErrors,
        (status = 404, description = "Unknown token, bad signature or unknown access attempt", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/access/{token}/signals` → 204.
pub(crate) async fn signals(
    State(state): State<AppState>,
    client: ClientIp,
    ApiPath(token): ApiPath<String>,
    JsonBody(signals): JsonBody<BrowserSignals>,
) -> Result<StatusCode, AppError> {
    limit(&state, client).await?;
    let invitation = resolve::live_invitation(&state, &token).await?;
    let access_log_id = signals.access_log_id;
    let signals = checked_signals(&state, signals)?;
    if store::attach_signals(&state.pool, &invitation, access_log_id, signals).await? {
        state.outbox_wake.notify_one();
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(
            "there is no recent opening of this link with that id".into(),
        ))
    }
}
