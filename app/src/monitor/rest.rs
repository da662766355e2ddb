//! REST transport of the monitor, for the event's host (session or API key):
//! `GET /api/v1/events/{id}/activity` pages through the feed (newest first, or what
//! changed since an instant) and `GET /api/v1/events/{id}/activity/live` upgrades to
//! the live socket (`socket.rs`). Another host's event is a 404, like every resource.

use super::{socket, store, ActivityKind, ActivityPage};
use crate::{
    error::AppError,
    hosts::auth::{authenticate, require_same_origin, CurrentHost},
    rest::{ApiPath, ApiQuery},
    state::AppState,
};
use axum::{
    extract::{ws::rejection::WebSocketUpgradeRejection, State, WebSocketUpgrade},
    http::{header, HeaderMap, Method},
    response::Response,
    routing::get,
    Json, Router,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Routes of this module, mounted under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events/{id}/activity", get(activity))
        .route("/events/{id}/activity/live", get(live))
}

/// Query of `GET /api/v1/events/{id}/activity`.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct ActivityQuery {
    /// At most this many rows (1–200, default 50).
    #[serde(default)]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page: rows older than its last row.
    #[serde(default)]
    #[param(schema_with = crate::api_docs::schemas::cursor_or_null)]
    pub before: Option<String>,
    /// RFC 3339 instant: only rows that happened or were scored at or after it (what a
    /// monitor missed while disconnected).
    #[serde(default)]
    #[param(schema_with = crate::api_docs::schemas::date_time_or_null)]
    pub since: Option<DateTime<Utc>>,
    /// `true`: only flagged rows.
    #[serde(default)]
    pub flagged: bool,
    /// Only this guest's rows.
    #[serde(default)]
    pub guest_id: Option<Uuid>,
    /// Only `opened`, `answered` or `blocked` rows.
    #[serde(default)]
    #[param(value_type = Option<ActivityKind>)]
    pub kind: Option<String>,
}

impl ActivityQuery {
    /// The checked query (422 for an out-of-range limit or unknown kind, 400 for a
    /// cursor this API did not give).
    pub fn parse(self) -> Result<store::Query, AppError> {
        let limit = self.limit.unwrap_or(store::DEFAULT_LIMIT);
        if !(1..=store::MAX_LIMIT).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                "invalid_limit",
                format!("limit must be between 1 and {}", store::MAX_LIMIT),
            ));
        }
        let kind = match self.kind.as_deref() {
            None | Some("") => None,
            Some(kind) => Some(ActivityKind::parse(kind).ok_or_else(|| {
                AppError::invalid(
                    "kind",
                    "invalid_kind",
                    "kind must be opened, answered or blocked",
                )
            })?),
        };
        Ok(store::Query {
            before: self
                .before
                .as_deref()
                .map(store::Cursor::parse)
                .transpose()?,
            since: self.since,
            flagged: self.flagged,
            guest: self.guest_id,
            kind,
            limit,
        })
    }
}

/// The feed of one of the host's events (404 for anyone else's).
pub async fn read(
    state: &AppState,
    host_id: Uuid,
    event_id: Uuid,
    query: store::Query,
) -> Result<ActivityPage, AppError> {
    let event = crate::events::store::get(&state.pool, host_id, event_id).await?;
    store::page(&state.pool, event.id, query).await
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/activity",
    tag = "events",
    summary = "The event's activity: openings, answers and refused answers",
    description = "What guests did, newest first: every opening of an invitation link \
        (with its band once the fraud engine scored it, and the reasons), every answer \
        and every answer refused for its score. `label` is what hosts read: Verified \
        (low), Review (medium), Suspicious (high), Blocked (block), Unscored (the engine \
        was unavailable) or Scoring (the score is on its way). Page with `before` = the \
        previous page's `next_cursor`; catch up after a disconnection with `since` (rows \
        that happened or were scored since). `counts` are the event's counters now. The \
        live monitor's socket, `GET /api/v1/events/{id}/activity/live`, pushes the same \
        rows as `{\"type\":\"activity\",\"item\",\"counts\"}`.",
    params(("id" = uuid::Uuid, Path, description = "The event"), ActivityQuery),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page, newest first", body = ActivityPage),
        (status = 400, description = "A cursor this API did not give (`invalid_cursor`) \
            or an unreadable query", body = crate::api_docs::openapi::ErrorBody),
        (status = 401, description = "Not signed in, or the key or session is not valid",
            body = crate::api_docs::openapi::ErrorBody),
        (status = 404, description = "No such event of this host",
            body = crate::api_docs::openapi::ErrorBody),
        (status = 422, description = "`limit` out of range or unknown `kind`",
            body = crate::api_docs::openapi::ErrorBody),
    )
)]
/// `GET /api/v1/events/{id}/activity?limit=50&before=...&since=...` → one page.
pub(crate) async fn activity(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ActivityQuery>,
) -> Result<Json<ActivityPage>, AppError> {
    let query = query.parse()?;
    Ok(Json(read(&state, host.id, event_id, query).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/activity/live",
    tag = "events",
    summary = "The event's live activity (WebSocket)",
    description = "Upgrades to a WebSocket that pushes every change of the event's \
        activity as JSON text: first `{\"type\":\"ready\"}`, then \
        `{\"type\":\"activity\",\"item\":ActivityItem,\"counts\":ActivityCounts}` (an item \
        may come again when it is scored: replace it by `id`). Only the event's host: \
        their session from our own origin (a foreign `Origin` is refused), or an API \
        key. Close codes: 4001 the session ended (sign in again), 4008 the client fell \
        behind (reconnect), 1012 the server restarts (reconnect). After reconnecting, \
        ask `GET .../activity?since=` for what changed meanwhile.",
    params(("id" = uuid::Uuid, Path, description = "The event")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade (`websocket_required`)",
            body = crate::api_docs::openapi::ErrorBody),
        (status = 401, description = "Not signed in, or the key or session is not valid",
            body = crate::api_docs::openapi::ErrorBody),
        (status = 403, description = "From another origin",
            body = crate::api_docs::openapi::ErrorBody),
        (status = 404, description = "No such event of this host",
            body = crate::api_docs::openapi::ErrorBody),
    )
)]
/// `GET /api/v1/events/{id}/activity/live` (WebSocket upgrade) → the live feed.
pub(crate) async fn live(
    State(state): State<AppState>,
    ApiPath(event_id): ApiPath<Uuid>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let host = authenticate(&headers, &state).await?;
    // Browsers send `Origin` with every socket and cookies along with it: a foreign page
    // must not read a host's feed with their cookie. (API keys are never sent by
    // browsers on their own; a client that names an origin is still held to it.)
    if host.session.is_some() || headers.contains_key(header::ORIGIN) {
        require_same_origin(&Method::GET, &headers, state.settings.public_origin())?;
    }
    let event = crate::events::store::get(&state.pool, host.id, event_id).await?;
    let upgrade = upgrade.map_err(|_| {
        AppError::bad_request(
            "websocket_required",
            "this address speaks WebSocket: send an upgrade request",
        )
    })?;
    let credentials = credentials_of(&headers);
    Ok(upgrade
        .max_message_size(socket::MAX_CLIENT_MESSAGE)
        .on_upgrade(move |ws| socket::serve(ws, state, host.id, event.id, credentials)))
}

/// The headers that prove who the host is (kept to check again later), nothing else.
fn credentials_of(headers: &HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for name in [header::COOKIE, header::AUTHORIZATION] {
        for value in headers.get_all(&name) {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}
