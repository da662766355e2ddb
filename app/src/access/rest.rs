//! REST transport of link openings (public, for guests):
//! `GET /api/v1/access/{token}` records the attempt and shows the invitation;
//! `POST /api/v1/access/{token}/signals` adds the hydrated page's browser signals.

use super::{store, AccessView, BrowserSignals, TokenView};
use crate::{
    error::AppError,
    invitations::resolve,
    rate_limit::Quota,
    rest::{ApiPath, ClientIp, JsonBody},
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
use std::time::{Duration, Instant};

/// Requests on guest links per client per minute.
pub const TOKEN_QUOTA: Quota = Quota {
    attempts: 120,
    window: Duration::from_secs(60),
};

/// Routes of this module, mounted under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/access/{token}", get(open))
        .route("/access/{token}/signals", post(signals))
}

/// Counts one request on a guest link for this client.
pub fn limit(state: &AppState, client: ClientIp) -> Result<(), AppError> {
    state
        .rate_limiter
        .check(&client.key("token"), TOKEN_QUOTA, Instant::now())
        .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })
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
    let access_log_id = store::record(
        &state.pool,
        &invitation,
        facts,
        state.settings.signals_grace,
    )
    .await?;
    let (guest, event) = store::guest_and_event(&state.pool, &invitation).await?;
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

#[utoipa::path(get, path = "/api/v1/access/{token}", tag = "guest-side", summary = "Open an invitation link", description = "Records an access attempt (time, IP, user agent, accept-language) and answers what the guest sees. The attempt is scored asynchronously by the fraud engine: as soon as the page posts its browser signals, or after a short grace period without them.", params(("token" = String, Path, description = "The guest's token")), responses((status = 200, description = "The invitation", body = super::AccessView), (status = 400, description = "Malformed token (`malformed_token`)", body = crate::api_docs::openapi::ErrorBody), (status = 404, description = "Unknown token or bad signature (one answer for both)", body = crate::api_docs::openapi::ErrorBody), (status = 410, description = "Revoked or expired link", body = crate::api_docs::openapi::ErrorBody), (status = 429, description = "Too many requests; see `Retry-After`", body = crate::api_docs::openapi::ErrorBody)))]
/// `GET /api/v1/access/{token}` → 200 `{token, guest, event, rsvp, access_log_id}`.
pub(crate) async fn open(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<AccessView>, AppError> {
    limit(&state, client)?;
    Ok(Json(
        open_link(&state, &token, &facts(client, &headers)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/access/{token}/signals", tag = "guest-side", summary = "Attach browser signals to an access attempt", params(("token" = String, Path, description = "The guest's token")), request_body = super::BrowserSignals, responses((status = 204, description = "Stored"), (status = 400, description = "Malformed token or body", body = crate::api_docs::openapi::ErrorBody), (status = 404, description = "Unknown token, bad signature or unknown access attempt", body = crate::api_docs::openapi::ErrorBody), (status = 410, description = "Revoked or expired link", body = crate::api_docs::openapi::ErrorBody), (status = 422, description = "A field is invalid; `field` names it", body = crate::api_docs::openapi::ErrorBody), (status = 429, description = "Too many requests", body = crate::api_docs::openapi::ErrorBody)))]
/// `POST /api/v1/access/{token}/signals` → 204.
pub(crate) async fn signals(
    State(state): State<AppState>,
    client: ClientIp,
    ApiPath(token): ApiPath<String>,
    JsonBody(signals): JsonBody<BrowserSignals>,
) -> Result<StatusCode, AppError> {
    limit(&state, client)?;
    let invitation = resolve::live_invitation(&state, &token).await?;
    if store::attach_signals(&state.pool, &invitation, &signals).await? {
        state.outbox_wake.notify_one();
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(
            "there is no recent opening of this link with that id".into(),
        ))
    }
}
