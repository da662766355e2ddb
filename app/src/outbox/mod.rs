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

/// One event about to be added to the outbox: its id (the `Nats-Msg-Id`), subject,
/// body (serialized once, here, and bound as it is) and, when its publication waits,
/// the time it becomes due.
#[derive(Clone, Debug)]
pub struct Queued {
    pub id: Uuid,
    pub subject: &'static str,
    pub payload: Box<sqlx::types::JsonRawValue>,
    pub available_at: Option<DateTime<Utc>>,
}

impl Queued {
    /// An event of `subject` with `payload` as its body (`available_at`: `None` to
    /// publish it at once).
    pub fn new(
        id: Uuid,
        subject: &'static str,
        payload: &impl Serialize,
        available_at: Option<DateTime<Utc>>,
    ) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id,
            subject,
            payload: serde_json::value::to_raw_value(payload)
                .map_err(|e| sqlx::Error::Encode(Box::new(e)))?,
            available_at,
        })
    }
}

/// A statement with its parameters bound so far, which [`bind`] continues.
pub type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Parameters each queued row takes in [`insert_sql`].
const PARAMS_PER_ROW: usize = 4;

/// The `INSERT INTO outbox` statement of `rows` events, their parameters numbered from
/// `$first` on, so that it can follow other statements' parameters (a data-modifying
/// `WITH` before it) and be bound by [`bind`] after them.
pub fn insert_sql(first: usize, rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let n = first + row * PARAMS_PER_ROW;
            format!(
                "(${n}, ${}, ${}, COALESCE(${}, now()))",
                n + 1,
                n + 2,
                n + 3
            )
        })
        .collect();
    format!(
        "INSERT INTO outbox (id, subject, payload, available_at) VALUES {}",
        values.join(", ")
    )
}

/// Binds `rows` to the parameters [`insert_sql`] numbered for them.
pub fn bind<'q>(mut query: PgQuery<'q>, rows: &'q [Queued]) -> PgQuery<'q> {
    for row in rows {
        query = query
            .bind(row.id)
            .bind(row.subject)
            .bind(sqlx::types::Json(&*row.payload))
            .bind(row.available_at);
    }
    query
}

/// Adds events to the outbox inside the caller's transaction, in one statement
/// (nothing is sent for none).
pub async fn insert(conn: &mut PgConnection, rows: &[Queued]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = insert_sql(1, rows.len());
    bind(sqlx::query(&sql), rows).execute(conn).await?;
    Ok(())
}

/// Adds an event to the outbox inside the caller's transaction. `available_at` delays
/// its publication (`None`: publish at once).
pub async fn enqueue(
    conn: &mut PgConnection,
    id: Uuid,
    subject: &'static str,
    payload: &impl Serialize,
    available_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    insert(conn, &[Queued::new(id, subject, payload, available_at)?]).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_rows_are_numbered_after_the_statement_they_follow() {
        assert_eq!(
            insert_sql(24, 2),
            "INSERT INTO outbox (id, subject, payload, available_at) VALUES \
             ($24, $25, $26, COALESCE($27, now())), ($28, $29, $30, COALESCE($31, now()))"
        );
        assert_eq!(
            insert_sql(1, 1),
            "INSERT INTO outbox (id, subject, payload, available_at) VALUES \
             ($1, $2, $3, COALESCE($4, now()))"
        );
    }

    #[test]
    fn a_queued_event_carries_its_body_as_json() {
        let at = Utc::now();
        let queued = Queued::new(Uuid::nil(), "rsvp.held", &[1, 2], Some(at))
            .expect("a list of numbers is JSON");
        assert_eq!(queued.payload.get(), "[1,2]");
        assert_eq!(queued.available_at, Some(at));
        assert_eq!(queued.subject, "rsvp.held");
    }
}
