//! The consumer of `fraud.scored`: stores the engine's score, band, reasons and flag on
//! the access log row it scored, and on the answer that row stands for when the answer
//! was recorded unscored (fail open).
//!
//! A durable pull consumer shared by every server instance. A message is acknowledged
//! only after its score is committed; a database failure naks it with a growing delay;
//! a message that cannot be read is terminated. Storing the same score twice changes
//! nothing, so redelivery has one effect.

use async_nats::jetstream::{self, consumer::pull, AckKind};
use futures::StreamExt as _;
use proto::events::{FraudScored, FRAUD_SCORED, SERVER_CONSUMER};
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Deliveries of one message before JetStream gives up on it.
const MAX_DELIVER: i64 = 20;
/// How long a delivered message may stay unacknowledged before it is delivered again.
const ACK_WAIT: Duration = Duration::from_secs(30);
/// Longest wait before re-opening the consumer after NATS went away.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Why a score could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the message is not a fraud score: {0}")]
    Poison(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Stores one score; `Ok(false)` when its access attempt no longer exists (its guest or
/// event was deleted), which is not an error.
pub async fn store(pool: &PgPool, scored: &FraudScored) -> Result<bool, StoreError> {
    let band = crate::fraud::RiskBand::parse(&scored.risk)
        .ok_or_else(|| StoreError::Poison(format!("unknown risk band {:?}", scored.risk)))?;
    let score = i32::try_from(scored.score.min(100)).unwrap_or(100);
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE access_attempts
         SET risk_score = $2, risk = $3, reasons = $4, flagged = $5, scored_at = $6
         WHERE id = $1",
    )
    .bind(scored.access_log_id)
    .bind(score)
    .bind(band.as_str())
    .bind(&scored.reasons)
    .bind(scored.flagged)
    .bind(scored.scored_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // An answer recorded unscored takes the score of the attempt it was recorded as.
    sqlx::query(
        "UPDATE rsvps SET risk_score = $2, risk = $3
         WHERE access_attempt_id = $1 AND risk_score IS NULL",
    )
    .bind(scored.access_log_id)
    .bind(score)
    .bind(band.as_str())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(updated == 1)
}

/// Consumes `fraud.scored` until `stop` is cancelled, re-opening the consumer whenever
/// NATS goes away.
pub async fn run(pool: PgPool, jetstream: jetstream::Context, stop: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    let mut failing = false;
    while !stop.is_cancelled() {
        match consume(&pool, &jetstream, &stop).await {
            Ok(()) => break,
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, "fraud.scored consumer interrupted; retrying");
                    failing = true;
                }
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    tracing::info!("fraud.scored consumer stopped");
}

/// Opens the consumer and handles messages until `stop` (`Ok`) or a NATS error.
async fn consume(
    pool: &PgPool,
    jetstream: &jetstream::Context,
    stop: &CancellationToken,
) -> Result<(), String> {
    let stream = proto::events::ensure_stream(jetstream)
        .await
        .map_err(|e| e.to_string())?;
    let consumer: jetstream::consumer::PullConsumer = stream
        .get_or_create_consumer(
            SERVER_CONSUMER,
            pull::Config {
                durable_name: Some(SERVER_CONSUMER.to_owned()),
                description: Some("GuestGuard web server: stores fraud scores".to_owned()),
                filter_subject: FRAUD_SCORED.to_owned(),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: ACK_WAIT,
                max_deliver: MAX_DELIVER,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    tracing::info!("fraud.scored consumer ready");
    loop {
        let message = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            next = messages.next() => next,
        };
        let message = match message {
            Some(Ok(message)) => message,
            Some(Err(error)) => return Err(error.to_string()),
            None => return Err("the message stream ended".to_owned()),
        };
        handle(pool, message).await;
    }
}

/// Stores one message's score and acknowledges it accordingly.
async fn handle(pool: &PgPool, message: jetstream::Message) {
    let delivered = message.info().map(|info| info.delivered).unwrap_or(1);
    let outcome = match serde_json::from_slice::<FraudScored>(&message.payload) {
        Ok(scored) => store(pool, &scored).await.map(|stored| (scored, stored)),
        Err(error) => Err(StoreError::Poison(error.to_string())),
    };
    let ack = match outcome {
        Ok((scored, stored)) => {
            tracing::info!(
                access_log_id = %scored.access_log_id,
                score = scored.score,
                risk = %scored.risk,
                flagged = scored.flagged,
                stored,
                "fraud score stored"
            );
            AckKind::Ack
        }
        Err(StoreError::Poison(reason)) => {
            tracing::warn!(%reason, "fraud.scored message terminated");
            AckKind::Term
        }
        Err(StoreError::Database(error)) => {
            let delay = Duration::from_secs(1 << delivered.clamp(1, 5).saturating_sub(1));
            tracing::warn!(%error, delay_s = delay.as_secs(), "fraud score not stored; retrying later");
            AckKind::Nak(Some(delay))
        }
    };
    if let Err(error) = message.ack_with(ack).await {
        tracing::warn!(%error, "could not acknowledge a fraud.scored message");
    }
}
