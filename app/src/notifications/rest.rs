//! REST transport of notifications (see the module table in `mod.rs`), and the work the
//! dashboard's server functions share.

use super::{
    store::{self, NewNotification, Scope},
    Channel, DeliveryAttempt, HostPreferences, InvitationsQueued, Kind, Notification,
    SendInvitations, SkipReason, SkippedGuest,
};
use crate::{
    error::AppError,
    hosts::auth::CurrentHost,
    rest::{ApiPath, ApiQuery, JsonBody},
    state::AppState,
};
use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use std::collections::HashSet;
use uuid::Uuid;

/// Attempts of a notification queued by a host's request (the worker's own follow
/// `NOTIFY_MAX_ATTEMPTS`).
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;
/// Most guests one request may name.
const MAX_GUESTS_PER_REQUEST: usize = 5_000;

/// Routes of this module, mounted under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events/{id}/invitations/send", post(send))
        .route("/events/{id}/notifications", get(event_notifications))
        .route(
            "/events/{id}/guests/{guest_id}/notifications",
            get(guest_notifications),
        )
        .route("/notifications/{id}/attempts", get(attempts))
        .route(
            "/account/notifications",
            get(preferences).put(set_preferences),
        )
        .merge(super::webhooks::rest::routes())
}

/// Queues an invitation (with the guest's personal link) for every guest the request
/// names, or for every guest who has neither answered nor been invited. A guest without
/// a live link is issued one first.
pub async fn send_invitations(
    state: &AppState,
    host_id: Uuid,
    event_id: Uuid,
    request: &SendInvitations,
) -> Result<InvitationsQueued, AppError> {
    crate::events::store::get(&state.pool, host_id, event_id).await?;
    if request
        .guest_ids
        .as_ref()
        .is_some_and(|ids| ids.len() > MAX_GUESTS_PER_REQUEST)
    {
        return Err(AppError::invalid(
            "guest_ids",
            "too_many",
            format!("send to at most {MAX_GUESTS_PER_REQUEST} guests at once"),
        ));
    }
    #[derive(sqlx::FromRow)]
    struct Candidate {
        id: Uuid,
        email: Option<String>,
        phone: Option<String>,
        answered: bool,
        invited: bool,
    }
    let candidates: Vec<Candidate> = sqlx::query_as(
        "SELECT g.id, g.email, g.phone,
                EXISTS (SELECT 1 FROM rsvps r WHERE r.guest_id = g.id) AS answered,
                EXISTS (SELECT 1 FROM notifications n
                        WHERE n.guest_id = g.id AND n.kind = 'invitation'
                          AND n.status IN ('queued', 'sending', 'sent')) AS invited
         FROM guests g
         WHERE g.event_id = $1 AND g.host_id = $2 AND ($3::uuid[] IS NULL OR g.id = ANY($3))
         ORDER BY g.created_at, g.id",
    )
    .bind(event_id)
    .bind(host_id)
    .bind(request.guest_ids.as_deref())
    .fetch_all(&state.pool)
    .await?;
    if let Some(wanted) = &request.guest_ids {
        let found: HashSet<Uuid> = candidates.iter().map(|c| c.id).collect();
        if let Some(missing) = wanted.iter().find(|id| !found.contains(id)) {
            return Err(AppError::invalid(
                "guest_ids",
                "unknown_guest",
                format!("the event has no guest {missing}"),
            ));
        }
    }
    let chosen = request.guest_ids.is_some();
    let mut skipped = Vec::new();
    let mut targets = Vec::new();
    for candidate in candidates {
        let contact = match (&candidate.email, &candidate.phone) {
            (Some(email), _) if !email.trim().is_empty() => {
                Some((Channel::Email, email.trim().to_owned()))
            }
            (_, Some(phone)) if !phone.trim().is_empty() => {
                Some((Channel::Sms, phone.trim().to_owned()))
            }
            _ => None,
        };
        let reason = match contact {
            None => Some(SkipReason::NoContact),
            Some(_) if !chosen && candidate.answered => Some(SkipReason::Answered),
            Some(_) if !chosen && candidate.invited => Some(SkipReason::AlreadyInvited),
            Some(_) => None,
        };
        match (reason, contact) {
            (Some(reason), _) => skipped.push(SkippedGuest {
                guest_id: candidate.id,
                reason,
            }),
            (None, Some(contact)) => targets.push((candidate.id, contact)),
            (None, None) => {}
        }
    }
    // Every invited guest needs a link that works.
    let links =
        crate::invitations::server_fns::ssr::links_by_guest(state, host_id, event_id).await?;
    for (guest_id, _) in &targets {
        if links
            .get(guest_id)
            .and_then(|link| link.url.as_ref())
            .is_none()
        {
            crate::invitations::rest::issue_link(state, host_id, event_id, *guest_id, None).await?;
        }
    }
    let batch = Uuid::new_v4();
    let mut tx = state.pool.begin().await?;
    let mut ids = Vec::with_capacity(targets.len());
    for (guest_id, (channel, recipient)) in targets {
        let new = NewNotification {
            id: Uuid::new_v4(),
            host_id,
            event_id: Some(event_id),
            guest_id: Some(guest_id),
            webhook_id: None,
            kind: Kind::Invitation,
            channel,
            recipient,
            dedupe_key: format!("invitation:{guest_id}:{batch}"),
            payload: serde_json::json!({}),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        };
        if let Some(id) = store::enqueue(&mut tx, &new).await? {
            ids.push(id);
        }
    }
    if !ids.is_empty() {
        store::wake_workers(&mut tx).await?;
    }
    tx.commit().await?;
    let queued = store::by_ids(&state.pool, host_id, &ids).await?;
    tracing::info!(%event_id, queued = queued.len(), skipped = skipped.len(), "invitations queued");
    Ok(InvitationsQueued { queued, skipped })
}

/// The host's email preferences.
pub async fn host_preferences(
    state: &AppState,
    host_id: Uuid,
) -> Result<HostPreferences, AppError> {
    let (rsvps, fraud): (bool, bool) =
        sqlx::query_as("SELECT notify_rsvps, notify_fraud FROM hosts WHERE id = $1")
            .bind(host_id)
            .fetch_optional(&state.pool)
            .await?
            .ok_or(AppError::Unauthenticated)?;
    Ok(HostPreferences { rsvps, fraud })
}

/// Changes the host's email preferences.
pub async fn set_host_preferences(
    state: &AppState,
    host_id: Uuid,
    preferences: HostPreferences,
) -> Result<HostPreferences, AppError> {
    sqlx::query("UPDATE hosts SET notify_rsvps = $2, notify_fraud = $3 WHERE id = $1")
        .bind(host_id)
        .bind(preferences.rsvps)
        .bind(preferences.fraud)
        .execute(&state.pool)
        .await?;
    Ok(preferences)
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// At most this many (1 to 500; 100 by default), newest first.
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

impl ListQuery {
    fn limit(&self) -> Result<i64, AppError> {
        match self.limit {
            None => Ok(100),
            Some(limit @ 1..=500) => Ok(limit),
            Some(_) => Err(AppError::invalid(
                "limit",
                "out_of_range",
                "limit is 1 to 500",
            )),
        }
    }
}

const NOT_FOUND: &str = "No such event (or guest) of this host";

#[utoipa::path(
    post,
    path = "/api/v1/events/{id}/invitations/send",
    tag = "notifications",
    summary = "Send invitations",
    description = "Emails (or texts, for guests with only a phone number) each guest their \
                   personal link. Without `guest_ids`: every guest who has not answered and \
                   has not been sent an invitation; with them: exactly those guests, again \
                   if already invited. Guests without a working link are issued one. \
                   Delivery is asynchronous: follow it in the notifications list.",
    params(("id" = Uuid, Path, description = "The event")),
    request_body(content = Option<SendInvitations>, description = "Optional"),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 202, description = "Queued (and who was left out, and why)", body = InvitationsQueued),
        crate::api_docs::responses::NotSignedIn,
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody),
        (status = 422, description = "A guest id is not one of the event's", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/events/{id}/invitations/send`.
pub(crate) async fn send(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(event_id): ApiPath<Uuid>,
    crate::rest::ApiBytes(body): crate::rest::ApiBytes,
) -> Result<(StatusCode, Json<InvitationsQueued>), AppError> {
    // The body is optional: empty (or JSON `null`) means every guest due one.
    let request: SendInvitations = crate::rest::optional_json(
        &body,
        "the body must be JSON like {\"guest_ids\": [\"...\"]}",
    )?;
    Ok((
        StatusCode::ACCEPTED,
        Json(send_invitations(&state, host.id, event_id, &request).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/notifications",
    tag = "notifications",
    summary = "What was sent for an event",
    description = "Invitations, reminders, confirmations, the host's notices and alerts and \
                   webhook deliveries of the event, newest first, with their status \
                   (queued, sending, sent, failed, cancelled), attempts and last error.",
    params(("id" = Uuid, Path, description = "The event"), ListQuery),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Notifications", body = Vec<Notification>),
        crate::api_docs::responses::NotSignedIn,
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/events/{id}/notifications`.
pub(crate) async fn event_notifications(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<Notification>>, AppError> {
    let limit = query.limit()?;
    crate::events::store::get(&state.pool, host.id, event_id).await?;
    Ok(Json(
        store::list(&state.pool, host.id, Scope::Event(event_id), limit).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/guests/{guest_id}/notifications",
    tag = "notifications",
    summary = "What was sent to or about a guest",
    params(("id" = Uuid, Path, description = "The event"), ("guest_id" = Uuid, Path, description = "The guest"), ListQuery),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Notifications, newest first", body = Vec<Notification>),
        crate::api_docs::responses::NotSignedIn,
        (status = 404, description = NOT_FOUND, body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/events/{id}/guests/{guest_id}/notifications`.
pub(crate) async fn guest_notifications(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<Notification>>, AppError> {
    let limit = query.limit()?;
    crate::guests::store::get(&state.pool, host.id, event_id, guest_id).await?;
    Ok(Json(
        store::list(
            &state.pool,
            host.id,
            Scope::Guest { event_id, guest_id },
            limit,
        )
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/notifications/{id}/attempts",
    tag = "notifications",
    summary = "A notification's delivery log",
    description = "Every attempt, first first: when, how long, the outcome (sent, retry, \
                   failed), the SMTP code or HTTP status, and the error.",
    params(("id" = Uuid, Path, description = "The notification")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Attempts", body = Vec<DeliveryAttempt>),
        crate::api_docs::responses::NotSignedIn,
        (status = 404, description = "No such notification of this host", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/notifications/{id}/attempts`.
pub(crate) async fn attempts(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<DeliveryAttempt>>, AppError> {
    store::get(&state.pool, host.id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("this host has no such notification".into()))?;
    Ok(Json(store::attempts(&state.pool, host.id, id).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/account/notifications",
    tag = "notifications",
    summary = "Which emails the host gets",
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Preferences", body = HostPreferences),
        crate::api_docs::responses::NotSignedIn
    )
)]
/// `GET /api/v1/account/notifications`.
pub(crate) async fn preferences(
    State(state): State<AppState>,
    host: CurrentHost,
) -> Result<Json<HostPreferences>, AppError> {
    Ok(Json(host_preferences(&state, host.id).await?))
}

#[utoipa::path(
    put,
    path = "/api/v1/account/notifications",
    tag = "notifications",
    summary = "Choose which emails the host gets",
    request_body = HostPreferences,
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Preferences now", body = HostPreferences),
        crate::api_docs::responses::NotSignedIn
    )
)]
/// `PUT /api/v1/account/notifications`.
pub(crate) async fn set_preferences(
    State(state): State<AppState>,
    host: CurrentHost,
    JsonBody(preferences): JsonBody<HostPreferences>,
) -> Result<Json<HostPreferences>, AppError> {
    Ok(Json(
        set_host_preferences(&state, host.id, preferences).await?,
    ))
}
