//! The outbox relay: a background task that publishes due outbox rows to JetStream.
//!
//! Each round claims up to [`BATCH`] due rows (`FOR UPDATE SKIP LOCKED`, so several
//! server instances never publish the same row at once), publishes them with
//! `Nats-Msg-Id` = row id, waits for JetStream's acknowledgements and marks the
//! acknowledged rows published, all in one transaction. If the relay dies between the
//! acknowledgement and the commit, the row is published again and JetStream drops the
//! duplicate.
//!
//! | a row fails because                                        | then                                               |
//! |------------------------------------------------------------|----------------------------------------------------|
//! | NATS is disconnected, JetStream does not answer, the stream is gone | nothing is counted against the row; the relay backs off (up to 5 s) and recreates the stream |
//! | of itself: a subject the stream does not take, a body over NATS's payload limit or the stream's message size, or it timed out while other rows went through | its `attempts` grow, it waits (250 ms, doubling) while the rows behind it go on, and after [`MAX_ATTEMPTS`] it is parked (`parked_at`, logged at error, counted in `/healthz/detail`) |

use sqlx::PgPool;
use std::{sync::Arc, time::Duration};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Rows published per round.
pub const BATCH: i64 = 100;
/// How often due rows are looked for when nobody rang (delayed rows, other instances).
const POLL: Duration = Duration::from_millis(250);
/// Longest wait between retries while NATS or PostgreSQL is failing.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Failed tries (each failing because of the row itself) after which a row is parked.
pub const MAX_ATTEMPTS: i32 = 5;

/// One claimed outbox row.
#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    subject: String,
    payload: sqlx::types::Json<serde_json::Value>,
    attempts: i32,
}

/// Why one row was not published.
#[derive(Debug)]
struct Failure {
    message: String,
    /// JetStream (or the client, for it) refused this very row: it counts towards
    /// parking it. Otherwise NATS or JetStream is failing as a whole.
    refused: bool,
    /// No stream answered for the subject.
    no_stream: bool,
    /// The message reached NATS (and its acknowledgement failed).
    sent: bool,
}

impl Failure {
    /// The message was not sent: over the server's payload limit (NATS would close the
    /// connection on it, so the client refuses it), or NATS is failing.
    fn of_send(error: &async_nats::jetstream::context::PublishError) -> Self {
        use async_nats::jetstream::context::PublishErrorKind as Kind;
        Self {
            message: error.to_string(),
            refused: error.kind() == Kind::MaxPayloadExceeded,
            no_stream: false,
            sent: false,
        }
    }

    /// What JetStream's acknowledgement (or its absence) says.
    fn of_ack(error: &async_nats::jetstream::context::PublishError) -> Self {
        use async_nats::jetstream::context::PublishErrorKind as Kind;
        use std::error::Error as _;
        // JetStream's own refusal of this message, as opposed to a failing stream.
        let refused_message = || {
            error
                .source()
                .and_then(|source| source.downcast_ref::<async_nats::jetstream::Error>())
                .is_some_and(|error| error.error_code().0 == MESSAGE_EXCEEDS_MAXIMUM)
        };
        Self {
            message: error.to_string(),
            refused: match error.kind() {
                Kind::WrongLastMessageId | Kind::WrongLastSequence => true,
                Kind::Other => refused_message(),
                _ => false,
            },
            no_stream: error.kind() == Kind::StreamNotFound,
            sent: true,
        }
    }
}

/// JetStream's error code for a message over the stream's (or server's) size limit:
/// a refusal of this one message, not of the stream as a whole.
const MESSAGE_EXCEEDS_MAXIMUM: u64 = 10054;

/// A subject outside the stream is refused before anything is sent: it could never be
/// stored (and the server's user may not even publish it, so its acknowledgement would
/// only time out).
fn refusal_before_sending(subject: &str) -> Option<Failure> {
    if proto::events::SUBJECTS.contains(&subject) {
        return None;
    }
    Some(Failure {
        message: format!(
            "the {} stream does not take the subject {subject:?}",
            proto::events::STREAM,
        ),
        refused: true,
        no_stream: false,
        sent: false,
    })
}

/// How long a row that failed `attempts` times waits before its next try: 250 ms,
/// doubling, at most 30 s.
fn retry_delay(attempts: i32) -> Duration {
    let doublings = attempts.clamp(1, 8) as u32 - 1;
    (Duration::from_millis(250) * 2u32.pow(doublings)).min(Duration::from_secs(30))
}

/// The relay's connections.
#[derive(Clone)]
pub struct Relay {
    pool: PgPool,
    nats: async_nats::Client,
    jetstream: async_nats::jetstream::Context,
    wake: Arc<Notify>,
}

/// Why a round stopped.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("NATS is not connected")]
    Disconnected,
    #[error("publishing failed: {0}")]
    Publish(String),
}

impl Relay {
    pub fn new(
        pool: PgPool,
        nats: async_nats::Client,
        jetstream: async_nats::jetstream::Context,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            pool,
            nats,
            jetstream,
            wake,
        }
    }

    /// Publishes due rows until `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        let mut failing = false;
        let mut stream_ready = false;
        while !stop.is_cancelled() {
            if !stream_ready {
                stream_ready = proto::events::ensure_stream(&self.jetstream).await.is_ok();
            }
            let round = if stream_ready {
                self.round().await
            } else {
                Err(RoundError::Publish(
                    "the GUESTGUARD stream is unavailable".into(),
                ))
            };
            match round {
                Ok(published) => {
                    if failing {
                        tracing::info!("outbox relay recovered");
                        failing = false;
                    }
                    backoff = Duration::from_millis(100);
                    if published as i64 == BATCH {
                        continue;
                    }
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(POLL) => {}
                    }
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "outbox relay cannot publish; events wait in the outbox");
                        failing = true;
                    }
                    if matches!(error, RoundError::Publish(_)) {
                        stream_ready = false;
                    }
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        tracing::info!("outbox relay stopped");
    }

    /// Publishes one batch of due rows; returns how many were published.
    async fn round(&self) -> Result<usize, RoundError> {
        // Claiming rows while NATS is away would only hold their locks until the
        // publish timeout (and delay the requests that update waiting rows).
        if self.nats.connection_state() != async_nats::connection::State::Connected {
            return Err(RoundError::Disconnected);
        }
        let mut tx = self.pool.begin().await?;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, subject, payload, attempts FROM outbox
             WHERE published_at IS NULL AND parked_at IS NULL AND available_at <= now()
             ORDER BY created_at, id
             LIMIT $1
             FOR UPDATE SKIP LOCKED",
        )
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }

        // Send the whole batch, then wait for the acknowledgements. A row that cannot
        // be sent does not stop the rows behind it, unless the connection itself broke.
        let mut failures: Vec<(&Row, Failure)> = Vec::new();
        let mut pending = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(refusal) = refusal_before_sending(&row.subject) {
                failures.push((row, refusal));
                continue;
            }
            let body = serde_json::to_vec(&row.payload.0).unwrap_or_default();
            let publish = async_nats::jetstream::message::PublishMessage::build()
                .payload(body.into())
                .message_id(row.id.to_string());
            match self
                .jetstream
                .send_publish(row.subject.clone(), publish)
                .await
            {
                Ok(ack) => pending.push((row, ack)),
                Err(error) => {
                    let failure = Failure::of_send(&error);
                    let transport = !failure.refused;
                    failures.push((row, failure));
                    if transport {
                        // The rows behind this one would fail the same way.
                        break;
                    }
                }
            }
        }
        let mut published = Vec::with_capacity(pending.len());
        for (row, ack) in pending {
            match ack.await {
                Ok(_) => published.push(row.id),
                Err(error) => failures.push((row, Failure::of_ack(&error))),
            }
        }
        // A message that reached NATS and failed while others went through failed for
        // reasons of its own. So did one no stream took while the stream is there;
        // when the stream itself is gone, it is recreated and nothing is counted.
        let stream_there = failures.iter().any(|(_, f)| f.no_stream)
            && self
                .jetstream
                .get_stream(proto::events::STREAM)
                .await
                .is_ok();
        for (_, failure) in &mut failures {
            if failure.sent && (!published.is_empty() || (failure.no_stream && stream_there)) {
                failure.refused = true;
            }
        }

        if !published.is_empty() {
            sqlx::query(
                "UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL
                 WHERE id = ANY($1)",
            )
            .bind(&published)
            .execute(&mut *tx)
            .await?;
        }
        let mut transport_error = None;
        for (row, failure) in &failures {
            if !failure.refused {
                // NATS or JetStream is failing: the row is not at fault and is not
                // counted; the whole relay backs off instead.
                sqlx::query("UPDATE outbox SET last_error = $2 WHERE id = $1")
                    .bind(row.id)
                    .bind(&failure.message)
                    .execute(&mut *tx)
                    .await?;
                transport_error.get_or_insert_with(|| failure.message.clone());
                continue;
            }
            let attempts = row.attempts.saturating_add(1);
            let park = attempts >= MAX_ATTEMPTS;
            sqlx::query(
                "UPDATE outbox SET attempts = $2, last_error = $3,
                        parked_at = CASE WHEN $4 THEN now() END,
                        available_at = now() + $5 * interval '1 millisecond'
                 WHERE id = $1",
            )
            .bind(row.id)
            .bind(attempts)
            .bind(&failure.message)
            .bind(park)
            .bind(retry_delay(attempts).as_millis() as f64)
            .execute(&mut *tx)
            .await?;
            if park {
                tracing::error!(
                    outbox_id = %row.id,
                    subject = %row.subject,
                    attempts,
                    error = %failure.message,
                    "outbox row parked: it cannot be published; the rows behind it go on"
                );
            } else {
                tracing::warn!(
                    outbox_id = %row.id,
                    subject = %row.subject,
                    attempts,
                    error = %failure.message,
                    "outbox row not published; it will be tried again"
                );
            }
        }
        tx.commit().await?;
        tracing::debug!(published = published.len(), "outbox rows published");
        match transport_error {
            Some(error) if published.is_empty() => Err(RoundError::Publish(error)),
            _ => Ok(published.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_for_a_subject_outside_the_stream_is_refused_before_sending() {
        assert!(refusal_before_sending(proto::events::RSVP_CONFIRMED).is_none());
        let foreign = refusal_before_sending("nowhere").expect("refused");
        assert!(foreign.refused && foreign.message.contains("does not take"));
    }

    #[test]
    fn a_failing_row_waits_longer_after_each_try_up_to_thirty_seconds() {
        assert_eq!(retry_delay(1), Duration::from_millis(250));
        assert_eq!(retry_delay(2), Duration::from_millis(500));
        assert_eq!(retry_delay(4), Duration::from_secs(2));
        assert_eq!(retry_delay(i32::MAX), Duration::from_secs(30));
    }
}
