//! The outbox relay: a background task that publishes due outbox rows to JetStream.
//!
//! Each round claims up to [`BATCH`] due rows (`FOR UPDATE SKIP LOCKED`, so several
//! server instances never publish the same row at once), publishes them with
//! `Nats-Msg-Id` = row id, waits for JetStream's acknowledgements and marks the
//! acknowledged rows published, all in one transaction. A row whose publication failed
//! stays due and is retried with backoff; if the relay dies between the acknowledgement
//! and the commit, the row is published again and JetStream drops the duplicate.

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
        let rows: Vec<(Uuid, String, sqlx::types::Json<serde_json::Value>)> = sqlx::query_as(
            "SELECT id, subject, payload FROM outbox
             WHERE published_at IS NULL AND available_at <= now()
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

        // Send the whole batch, then wait for the acknowledgements.
        let mut pending = Vec::with_capacity(rows.len());
        let mut first_error = None;
        for (id, subject, payload) in &rows {
            let body = serde_json::to_vec(&payload.0).unwrap_or_default();
            let publish = async_nats::jetstream::message::PublishMessage::build()
                .payload(body.into())
                .message_id(id.to_string());
            match self.jetstream.send_publish(subject.clone(), publish).await {
                Ok(ack) => pending.push((*id, ack)),
                Err(error) => {
                    first_error.get_or_insert_with(|| error.to_string());
                    break;
                }
            }
        }
        let mut published = Vec::with_capacity(pending.len());
        let mut failed = Vec::new();
        for (id, ack) in pending {
            match ack.await {
                Ok(_) => published.push(id),
                Err(error) => {
                    first_error.get_or_insert_with(|| error.to_string());
                    failed.push(id);
                }
            }
        }
        if !published.is_empty() {
            sqlx::query("UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1)")
                .bind(&published)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(error) = &first_error {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1)",
            )
            .bind(&failed)
            .bind(error)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        tracing::debug!(published = published.len(), "outbox rows published");
        match first_error {
            Some(error) => Err(RoundError::Publish(error)),
            None => Ok(published.len()),
        }
    }
}
