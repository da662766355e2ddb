//! Guests stopping reminders. Every reminder carries `/unsubscribe/<its id>` (an
//! unguessable random id, so the address itself is the proof): opening it shows a page
//! with a button (`pages.rs`; link scanners only open pages), and posting to it — the
//! button, or a mail client's one-click `List-Unsubscribe-Post` (RFC 8058) — records
//! that the guest wants no more reminders.

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use sqlx::PgPool;
use uuid::Uuid;

/// The event a reminder was about, and whether its guest already unsubscribed;
/// `None` for an address that is not a reminder's.
pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<(String, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.name, g.reminders_unsubscribed_at IS NOT NULL
         FROM notifications n
         JOIN guests g ON g.id = n.guest_id
         JOIN events e ON e.id = n.event_id
         WHERE n.id = $1 AND n.kind = 'reminder'",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Records the unsubscription (once); the event's name, or `None` for an address that
/// is not a reminder's.
pub async fn unsubscribe(pool: &PgPool, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE guests g
         SET reminders_unsubscribed_at = coalesce(g.reminders_unsubscribed_at, now())
         FROM notifications n JOIN events e ON e.id = n.event_id
         WHERE n.id = $1 AND n.kind = 'reminder' AND g.id = n.guest_id
         RETURNING e.name",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// `POST /unsubscribe/{id}`: from the page's button (then back to the page, which says
/// it is done) or a mail client's one-click request (then a short plain answer).
pub async fn post(
    State(state): State<crate::state::AppState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return (StatusCode::NOT_FOUND, "There is nothing at this address.").into_response();
    };
    match unsubscribe(&state.pool, id).await {
        Ok(Some(_)) => {
            tracing::info!(notification_id = %id, "guest unsubscribed from reminders");
            let from_page = headers
                .get(header::ACCEPT)
                .and_then(|accept| accept.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"));
            if from_page {
                (
                    StatusCode::SEE_OTHER,
                    [(header::LOCATION, format!("/unsubscribe/{id}"))],
                )
                    .into_response()
            } else {
                (StatusCode::OK, "You will get no more reminders.").into_response()
            }
        }
        Ok(None) => (StatusCode::NOT_FOUND, "There is nothing at this address.").into_response(),
        Err(error) => crate::error::AppError::from(error).into_response(),
    }
}
