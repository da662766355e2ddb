//! The transactional outbox: every event GuestGuard publishes is first a row of the
//! `outbox` table, written in the same database transaction as the change it describes,
//! so an event exists exactly when its change committed. The [`relay`] publishes due
//! rows to JetStream with `Nats-Msg-Id` set to the row's id and then marks them; while
//! NATS is down, requests still succeed and their events wait here. A row that cannot
//! be published at all is parked after a few tries, so it holds up no other row.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub mod relay;

pub use relay::Relay;

/// Adds an event to the outbox inside the caller's transaction. `available_at` delays
/// its publication (`None`: publish at once).
pub async fn enqueue(
    conn: &mut PgConnection,
    id: Uuid,
    subject: &str,
    payload: &impl Serialize,
    available_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (id, subject, payload, available_at)
         VALUES ($1, $2, $3, COALESCE($4, now()))",
    )
    .bind(id)
    .bind(subject)
    .bind(sqlx::types::Json(payload))
    .bind(available_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Asks the fraud engine to forget these guests (their data is being deleted), in the
/// caller's transaction; nothing is queued for no guests.
pub async fn forget_guests(conn: &mut PgConnection, guest_ids: &[Uuid]) -> Result<(), sqlx::Error> {
    if guest_ids.is_empty() {
        return Ok(());
    }
    // Large events go in slices, to keep each message well under NATS's payload limit.
    for slice in guest_ids.chunks(5_000) {
        let forgotten = proto::events::GuestForgotten {
            guest_ids: slice.to_vec(),
        };
        enqueue(
            &mut *conn,
            Uuid::new_v4(),
            proto::events::GUEST_FORGOTTEN,
            &forgotten,
            None,
        )
        .await?;
    }
    Ok(())
}

/// Replaces a waiting event's payload and makes it due at once; `false` when the event
/// was already published (or does not exist).
pub async fn replace_and_release(
    conn: &mut PgConnection,
    id: Uuid,
    payload: &impl Serialize,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE outbox SET payload = $2, available_at = now()
         WHERE id = $1 AND published_at IS NULL",
    )
    .bind(id)
    .bind(sqlx::types::Json(payload))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// What is waiting to be published, for `/healthz`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Backlog {
    /// Events not yet published (including those waiting for browser signals), parked
    /// ones aside.
    pub pending: i64,
    /// Age in seconds of the oldest event that is due but not yet published.
    pub oldest_due_seconds: Option<f64>,
    /// Events the relay gave up on (they could not be published; see `last_error`).
    pub parked: i64,
}

/// The outbox's backlog.
pub async fn backlog(pool: &PgPool) -> Result<Backlog, sqlx::Error> {
    let (pending, oldest_due_seconds, parked): (i64, Option<f64>, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE parked_at IS NULL),
                EXTRACT(EPOCH FROM now() - min(available_at)
                    FILTER (WHERE available_at <= now() AND parked_at IS NULL))::float8,
                count(*) FILTER (WHERE parked_at IS NOT NULL)
         FROM outbox WHERE published_at IS NULL",
    )
    .fetch_one(pool)
    .await?;
    Ok(Backlog {
        pending,
        oldest_due_seconds,
        parked,
    })
}
