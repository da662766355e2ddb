//! PostgreSQL storage of notifications: queuing (at most once per `dedupe_key`),
//! claiming due ones for a worker, recording each attempt's outcome, and the host's
//! views of what was sent.
//!
//! A claimed notification is `sending` with `next_attempt_at` pushed a lease ahead: if
//! its worker dies mid-send, another claims it once the lease is over. Recording an
//! outcome only applies while the claim is still the worker's own (same attempt number,
//! still `sending`), so a worker that outlived its lease cannot overwrite a newer one.

use super::{Channel, DeliveryAttempt, GuestDelivery, Kind, Notification, Status};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use std::time::Duration;
use uuid::Uuid;

/// The PostgreSQL `NOTIFY` channel that wakes the workers when something is queued.
pub const WAKE_CHANNEL: &str = "guestguard_notifications";

/// A notification to queue.
#[derive(Clone, Debug)]
pub struct NewNotification {
    pub host_id: Uuid,
    pub event_id: Option<Uuid>,
    pub guest_id: Option<Uuid>,
    pub webhook_id: Option<Uuid>,
    pub kind: Kind,
    pub channel: Channel,
    pub recipient: String,
    /// What it is about; a second notification with the same key is not queued.
    pub dedupe_key: String,
    pub payload: serde_json::Value,
    pub max_attempts: i32,
    /// Its id (the webhook body carries it, so it is chosen before queuing).
    pub id: Uuid,
}

/// Queues a notification in the caller's transaction; `None` when one with the same
/// key was queued before (then nothing changes).
pub async fn enqueue(
    conn: &mut PgConnection,
    new: &NewNotification,
) -> Result<Option<Uuid>, sqlx::Error> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO notifications (id, host_id, event_id, guest_id, webhook_id, kind, channel,
                                    recipient, dedupe_key, payload, max_attempts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (dedupe_key) DO NOTHING
         RETURNING id",
    )
    .bind(new.id)
    .bind(new.host_id)
    .bind(new.event_id)
    .bind(new.guest_id)
    .bind(new.webhook_id)
    .bind(new.kind.as_str())
    .bind(new.channel.as_str())
    .bind(&new.recipient)
    .bind(&new.dedupe_key)
    .bind(sqlx::types::Json(&new.payload))
    .bind(new.max_attempts)
    .fetch_optional(conn)
    .await?;
    Ok(id)
}

/// Wakes the workers (delivered when the caller's transaction commits).
pub async fn wake_workers(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(WAKE_CHANNEL)
        .execute(conn)
        .await
        .map(drop)
}

/// A notification a worker claimed.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Claimed {
    pub id: Uuid,
    pub host_id: Uuid,
    pub event_id: Option<Uuid>,
    pub guest_id: Option<Uuid>,
    pub webhook_id: Option<Uuid>,
    pub kind: String,
    pub channel: String,
    pub recipient: String,
    pub payload: sqlx::types::Json<serde_json::Value>,
    /// This attempt's number (1 for the first).
    pub attempts: i32,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// Claims up to `limit` due notifications for `lease`.
pub async fn claim(
    pool: &PgPool,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as(
        "WITH due AS (
             SELECT id FROM notifications
             WHERE status IN ('queued', 'sending') AND next_attempt_at <= now()
             ORDER BY next_attempt_at
             LIMIT $1
             FOR UPDATE SKIP LOCKED
         )
         UPDATE notifications n
         SET status = 'sending', attempts = n.attempts + 1, updated_at = now(),
             next_attempt_at = now() + make_interval(secs => $2)
         FROM due WHERE n.id = due.id
         RETURNING n.id, n.host_id, n.event_id, n.guest_id, n.webhook_id, n.kind, n.channel,
                   n.recipient, n.payload, n.attempts, n.max_attempts, n.created_at",
    )
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(pool)
    .await
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the mail server, provider or receiver.
    Sent {
        provider_message_id: Option<String>,
        status_code: Option<i32>,
    },
    /// Failed; try again at `at`.
    Retry {
        error: String,
        status_code: Option<i32>,
        at: DateTime<Utc>,
    },
    /// Failed for good (permanent refusal, or the last attempt).
    Failed {
        error: String,
        status_code: Option<i32>,
    },
    /// Nothing to send any more (not an attempt).
    Cancelled { reason: String },
}

/// Records how the claimed attempt ended; `false` when the claim was no longer this
/// worker's (its lease ran out and another worker took over).
pub async fn finish(
    pool: &PgPool,
    claimed: &Claimed,
    started_at: DateTime<Utc>,
    duration: Duration,
    outcome: &Outcome,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (status, next_at, provider_id, error, code, log) = match outcome {
        Outcome::Sent {
            provider_message_id,
            status_code,
        } => (
            Status::Sent,
            None,
            provider_message_id.clone(),
            None,
            *status_code,
            Some("sent"),
        ),
        Outcome::Retry {
            error,
            status_code,
            at,
        } => (
            Status::Queued,
            Some(*at),
            None,
            Some(error.clone()),
            *status_code,
            Some("retry"),
        ),
        Outcome::Failed { error, status_code } => (
            Status::Failed,
            None,
            None,
            Some(error.clone()),
            *status_code,
            Some("failed"),
        ),
        Outcome::Cancelled { reason } => (
            Status::Cancelled,
            None,
            None,
            Some(reason.clone()),
            None,
            None,
        ),
    };
    let updated = sqlx::query(
        "UPDATE notifications
         SET status = $3,
             next_attempt_at = coalesce($4, next_attempt_at),
             provider_message_id = coalesce($5, provider_message_id),
             last_error = $6,
             sent_at = CASE WHEN $3 = 'sent' THEN now() ELSE sent_at END,
             attempts = CASE WHEN $3 = 'cancelled' THEN attempts - 1 ELSE attempts END,
             updated_at = now()
         WHERE id = $1 AND attempts = $2 AND status = 'sending'",
    )
    .bind(claimed.id)
    .bind(claimed.attempts)
    .bind(status.as_str())
    .bind(next_at)
    .bind(provider_id)
    .bind(&error)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    if let Some(log) = log {
        sqlx::query(
            "INSERT INTO notification_attempts
                 (notification_id, attempt, started_at, duration_ms, outcome, status_code, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(claimed.id)
        .bind(claimed.attempts)
        .bind(started_at)
        .bind(i32::try_from(duration.as_millis()).unwrap_or(i32::MAX))
        .bind(log)
        .bind(code)
        .bind(&error)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    kind: String,
    channel: String,
    recipient: String,
    event_id: Option<Uuid>,
    guest_id: Option<Uuid>,
    webhook_id: Option<Uuid>,
    event_type: Option<String>,
    status: String,
    attempts: i32,
    max_attempts: i32,
    next_attempt_at: DateTime<Utc>,
    provider_message_id: Option<String>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT id, kind, channel, recipient, event_id, guest_id, webhook_id,
        payload->>'type' AS event_type, status, attempts, max_attempts, next_attempt_at,
        provider_message_id, last_error, created_at, sent_at
    FROM notifications";

impl From<Row> for Notification {
    fn from(row: Row) -> Self {
        let status = Status::parse(&row.status).unwrap_or(Status::Queued);
        Self {
            id: row.id,
            kind: Kind::parse(&row.kind).unwrap_or(Kind::Webhook),
            channel: Channel::parse(&row.channel).unwrap_or(Channel::Email),
            recipient: row.recipient,
            event_id: row.event_id,
            guest_id: row.guest_id,
            webhook_id: row.webhook_id,
            event_type: row.event_type,
            next_attempt_at: matches!(status, Status::Queued | Status::Sending)
                .then_some(row.next_attempt_at),
            status,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            provider_message_id: row.provider_message_id,
            last_error: row.last_error,
            created_at: row.created_at,
            sent_at: row.sent_at,
        }
    }
}

/// Which notifications a host is looking at.
#[derive(Clone, Copy, Debug)]
pub enum Scope {
    Event(Uuid),
    Guest { event_id: Uuid, guest_id: Uuid },
    Webhook(Uuid),
}

/// The host's notifications in `scope`, newest first.
pub async fn list(
    pool: &PgPool,
    host_id: Uuid,
    scope: Scope,
    limit: i64,
) -> Result<Vec<Notification>, sqlx::Error> {
    let (filter, first, guest) = match scope {
        Scope::Event(event_id) => ("event_id = $2 AND $3::uuid IS NULL", event_id, None),
        Scope::Guest { event_id, guest_id } => {
            ("event_id = $2 AND guest_id = $3", event_id, Some(guest_id))
        }
        Scope::Webhook(webhook_id) => ("webhook_id = $2 AND $3::uuid IS NULL", webhook_id, None),
    };
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE host_id = $1 AND {filter} ORDER BY created_at DESC, id LIMIT $4"
    ))
    .bind(host_id)
    .bind(first)
    .bind(guest)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Notification::from).collect())
}

/// One of the host's notifications.
pub async fn get(
    pool: &PgPool,
    host_id: Uuid,
    id: Uuid,
) -> Result<Option<Notification>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE host_id = $1 AND id = $2"))
        .bind(host_id)
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(Notification::from))
}

/// The host's notifications with these ids, in that order.
pub async fn by_ids(
    pool: &PgPool,
    host_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Notification>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{SELECT} WHERE host_id = $1 AND id = ANY($2)"))
        .bind(host_id)
        .bind(ids)
        .fetch_all(pool)
        .await?;
    let mut found: Vec<Notification> = rows.into_iter().map(Notification::from).collect();
    found.sort_by_key(|n| ids.iter().position(|id| *id == n.id));
    Ok(found)
}

/// The delivery log of one of the host's notifications, first attempt first.
pub async fn attempts(
    pool: &PgPool,
    host_id: Uuid,
    id: Uuid,
) -> Result<Vec<DeliveryAttempt>, sqlx::Error> {
    sqlx::query_as::<_, (i32, DateTime<Utc>, i32, String, Option<i32>, Option<String>)>(
        "SELECT a.attempt, a.started_at, a.duration_ms, a.outcome, a.status_code, a.error
         FROM notification_attempts a JOIN notifications n ON n.id = a.notification_id
         WHERE n.host_id = $1 AND n.id = $2
         ORDER BY a.attempt, a.id",
    )
    .bind(host_id)
    .bind(id)
    .fetch_all(pool)
    .await
    .map(|rows| {
        rows.into_iter()
            .map(
                |(attempt, started_at, duration_ms, outcome, status_code, error)| DeliveryAttempt {
                    attempt,
                    started_at,
                    duration_ms,
                    outcome,
                    status_code,
                    error,
                },
            )
            .collect()
    })
}

/// The newest invitation or reminder of every guest of one of the host's events.
pub async fn guest_deliveries(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Uuid,
) -> Result<Vec<GuestDelivery>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Newest {
        guest_id: Uuid,
        kind: String,
        channel: String,
        status: String,
        at: DateTime<Utc>,
        last_error: Option<String>,
    }
    let rows: Vec<Newest> = sqlx::query_as(
        "SELECT DISTINCT ON (guest_id) guest_id, kind, channel, status,
                coalesce(sent_at, updated_at) AS at, last_error
         FROM notifications
         WHERE host_id = $1 AND event_id = $2 AND guest_id IS NOT NULL
           AND kind IN ('invitation', 'reminder')
         ORDER BY guest_id, created_at DESC",
    )
    .bind(host_id)
    .bind(event_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| GuestDelivery {
            guest_id: row.guest_id,
            kind: Kind::parse(&row.kind).unwrap_or(Kind::Invitation),
            channel: Channel::parse(&row.channel).unwrap_or(Channel::Email),
            status: Status::parse(&row.status).unwrap_or(Status::Queued),
            at: row.at,
            last_error: row.last_error,
        })
        .collect())
}
