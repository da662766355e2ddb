//! REST transport of invitation links (host side):
//! `POST /api/v1/events/{id}/guests/{guest_id}/tokens` issues a link (revoking earlier
//! ones), `GET` lists them, `DELETE .../tokens/{token_id}` revokes one.

use super::{store, IssueLink, IssuedLink, LinkSummary};
use crate::{
    error::AppError,
    hosts::auth::CurrentHost,
    rest::{ApiBytes, ApiPath},
    state::AppState,
};
use axum::{
    extract::State,
    http::StatusCode,
    routing::{delete, post},
    Json, Router,
};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// Routes of this module, mounted under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/events/{id}/guests/{guest_id}/tokens",
            post(issue).get(list),
        )
        .route(
            "/events/{id}/guests/{guest_id}/tokens/{token_id}",
            delete(revoke),
        )
}

/// The personal link a guest opens: `<public url>/i/<token>`.
pub fn link_url(state: &AppState, token: &str) -> String {
    format!("{}/i/{}", state.settings.public_url, token)
}

/// Issues a new link for one of the host's guests; every earlier link stops working.
pub async fn issue_link(
    state: &AppState,
    host_id: Uuid,
    event_id: Uuid,
    guest_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
) -> Result<IssuedLink, AppError> {
    // The guest is checked (404) under a lock by `insert_rotating`.
    let event = crate::events::store::get(&state.pool, host_id, event_id).await?;
    let now = Utc::now();
    let expires_at = expires_at
        .unwrap_or_else(|| (event.event_date + Duration::days(1)).max(now + Duration::days(1)));
    if expires_at <= now {
        return Err(AppError::invalid(
            "expires_at",
            "invalid_expires_at",
            "the expiry must be in the future",
        ));
    }
    let id = Uuid::new_v4();
    let (token, claims) = state.keyring.issue(id, guest_id, event.id, expires_at);
    store::insert_rotating(
        &state.pool,
        id,
        host_id,
        event.id,
        guest_id,
        &super::token::hash_for_lookup(&token),
        claims.key_id.as_str(),
        claims.expires_at,
    )
    .await?;
    Ok(IssuedLink {
        id,
        url: link_url(state, &token),
        token,
        expires_at: claims.expires_at,
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/events/{id}/guests/{guest_id}/tokens",
    tag = "links",
    summary = "Issue (or rotate) a guest's link",
    description = "Revokes the guest's older links at once. The body is optional.",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id"),
        ("guest_id" = uuid::Uuid, Path, description = "Guest id")
    ),
    request_body(content = Option<super::IssueLink>),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 201, description = "The link", body = super::IssuedLink),
        crate::api_docs::responses::BodyErrors,
        crate::api_docs::responses::ResourceErrors
    )
)]
/// `POST /api/v1/events/{id}/guests/{guest_id}/tokens` → 201 `{id, token, url, expires_at}`.
pub(crate) async fn issue(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
    ApiBytes(body): ApiBytes,
) -> Result<(StatusCode, Json<IssuedLink>), AppError> {
    // The body is optional: empty (or JSON `null`) means every default.
    let request: IssueLink = crate::rest::optional_json(
        &body,
        "the body must be JSON like {\"expires_at\": \"...\"}",
    )?;
    let expires_at = match request.expires_at {
        None => None,
        Some(raw) => Some(
            DateTime::parse_from_rfc3339(raw.trim())
                .map_err(|_| {
                    AppError::invalid(
                        "expires_at",
                        "invalid_expires_at",
                        "expires_at must be RFC 3339",
                    )
                })?
                .with_timezone(&Utc),
        ),
    };
    let link = issue_link(&state, host.id, event_id, guest_id, expires_at).await?;
    Ok((StatusCode::CREATED, Json(link)))
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/guests/{guest_id}/tokens",
    tag = "links",
    summary = "A guest's links",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id"),
        ("guest_id" = uuid::Uuid, Path, description = "Guest id")
    ),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Links, newest first (never the tokens)", body = Vec<super::LinkSummary>),
        crate::api_docs::responses::ResourceErrors
    )
)]
/// `GET /api/v1/events/{id}/guests/{guest_id}/tokens` → the guest's links, newest first.
pub(crate) async fn list(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<Vec<LinkSummary>>, AppError> {
    crate::guests::store::get(&state.pool, host.id, event_id, guest_id).await?;
    Ok(Json(
        store::list(&state.pool, host.id, event_id, guest_id).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/events/{id}/guests/{guest_id}/tokens/{token_id}",
    tag = "links",
    summary = "Revoke a link",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id"),
        ("guest_id" = uuid::Uuid, Path, description = "Guest id"),
        ("token_id" = uuid::Uuid, Path, description = "Link id")
    ),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 204, description = "Revoked; the link answers 410 from now on"),
        crate::api_docs::responses::ResourceErrors
    )
)]
/// `DELETE /api/v1/events/{id}/guests/{guest_id}/tokens/{token_id}` → 204.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id, token_id)): ApiPath<(Uuid, Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    if store::revoke(&state.pool, host.id, event_id, guest_id, token_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("there is no such link".into()))
    }
}
