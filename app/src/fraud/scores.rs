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
///
/// When the attempt stands for an answer recorded unscored, the answer takes the score
/// and the event's policy decides what the score means now: a block score holds a
/// confirmed answer for review (unless the event only watches); an answer held because
/// the engine was unavailable is confirmed when its score does not block and the event
/// has room. A low-risk answer from a device makes it the guest's trusted device.
pub async fn store(pool: &PgPool, scored: &FraudScored) -> Result<bool, StoreError> {
    let band = crate::fraud::RiskBand::parse(&scored.risk)
        .ok_or_else(|| StoreError::Poison(format!("unknown risk band {:?}", scored.risk)))?;
    let score = i32::try_from(scored.score.min(100)).unwrap_or(100);
    let mut tx = pool.begin().await?;
    let attempt: Option<(String, Option<String>)> = sqlx::query_as(
        "UPDATE access_attempts
         SET risk_score = $2, risk = $3, reasons = $4, flagged = $5, scored_at = $6
         WHERE id = $1
         RETURNING kind, device_key",
    )
    .bind(scored.access_log_id)
    .bind(score)
    .bind(band.as_str())
    .bind(&scored.reasons)
    .bind(scored.flagged)
    .bind(scored.scored_at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((kind, device)) = attempt else {
        tx.commit().await?;
        return Ok(false);
    };
    if kind == "rsvp" {
        answer_scored(&mut tx, scored, band, score).await?;
        if band == crate::fraud::RiskBand::Low {
            if let Some(device) = device {
                crate::rsvps::store::trust_device(&mut tx, scored.guest_id, &device).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// The answer an asynchronously scored attempt stands for (if it was recorded unscored)
/// takes its score, and its status follows the event's policy.
async fn answer_scored(
    tx: &mut sqlx::PgConnection,
    scored: &FraudScored,
    band: crate::fraud::RiskBand,
    score: i32,
) -> Result<(), sqlx::Error> {
    use crate::fraud::policy::{held, AnswerStatus};
    #[derive(sqlx::FromRow)]
    struct Answer {
        id: uuid::Uuid,
        status: String,
        held_reason: Option<String>,
        response: String,
        plus_ones: i32,
        shadow: bool,
        capacity: Option<i32>,
    }
    // The event row first (the order every answer takes), then the answer.
    sqlx::query("SELECT 1 FROM events WHERE id = $1 FOR NO KEY UPDATE")
        .bind(scored.event_id)
        .execute(&mut *tx)
        .await?;
    let answer: Option<Answer> = sqlx::query_as(
        "SELECT r.id, r.status, r.held_reason, r.response, r.plus_ones,
                e.fraud_shadow AS shadow, e.capacity
         FROM rsvps r JOIN events e ON e.id = r.event_id
         WHERE r.access_attempt_id = $1 AND r.risk_score IS NULL
         FOR UPDATE OF r",
    )
    .bind(scored.access_log_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(answer) = answer else {
        return Ok(());
    };
    let blocks = band == crate::fraud::RiskBand::Block && !answer.shadow;
    let status = AnswerStatus::parse(&answer.status).unwrap_or(AnswerStatus::Confirmed);
    let held_for_outage = answer.held_reason.as_deref() == Some(held::ENGINE_UNAVAILABLE);
    let (new_status, reason) = match (status, blocks) {
        (AnswerStatus::Confirmed, true) => (AnswerStatus::Held, Some(held::BLOCKED_AFTER_OUTAGE)),
        (AnswerStatus::Held, true) if held_for_outage => {
            (AnswerStatus::Held, Some(held::BLOCKED_AFTER_OUTAGE))
        }
        (AnswerStatus::Held, false) if held_for_outage => {
            let room = match (answer.capacity, answer.response.as_str()) {
                (Some(capacity), "attending") => {
                    let taken =
                        crate::rsvps::store::places_taken(tx, scored.event_id, scored.guest_id)
                            .await?;
                    taken + 1 + i64::from(answer.plus_ones) <= i64::from(capacity)
                }
                _ => true,
            };
            if room {
                (AnswerStatus::Confirmed, None)
            } else {
                (AnswerStatus::Held, Some(held::EVENT_FULL))
            }
        }
        (status, _) => (status, answer.held_reason.as_deref().and_then(known_reason)),
    };
    let first_counted: bool = sqlx::query_scalar(
        "UPDATE rsvps SET risk_score = $2, risk = $3, status = $4, held_reason = $5,
             first_confirmed_at = CASE WHEN $4 = 'confirmed'
                 THEN coalesce(first_confirmed_at, now()) ELSE first_confirmed_at END
         WHERE id = $1
         RETURNING (status = 'confirmed' AND first_confirmed_at = now())",
    )
    .bind(answer.id)
    .bind(score)
    .bind(band.as_str())
    .bind(new_status.as_str())
    .bind(reason)
    .fetch_one(&mut *tx)
    .await?;
    let newly = |wanted: AnswerStatus| {
        new_status == wanted && (status != wanted || reason != answer.held_reason.as_deref())
    };
    if newly(AnswerStatus::Held) {
        let event = proto::events::RsvpHeld {
            rsvp_id: answer.id,
            event_id: scored.event_id,
            guest_id: scored.guest_id,
            access_log_id: scored.access_log_id,
            reason: reason.unwrap_or(held::BLOCKED_AFTER_OUTAGE).to_owned(),
            held_at: chrono::Utc::now(),
        };
        crate::outbox::enqueue(
            tx,
            uuid::Uuid::new_v4(),
            proto::events::RSVP_HELD,
            &event,
            None,
        )
        .await?;
        tracing::warn!(rsvp_id = %answer.id, reason = ?reason, "answer held for the host's review");
    } else if newly(AnswerStatus::Confirmed) {
        let event = proto::events::RsvpConfirmed {
            rsvp_id: answer.id,
            event_id: scored.event_id,
            guest_id: scored.guest_id,
            token_id: scored.token_id,
            access_log_id: scored.access_log_id,
            response: answer.response.clone(),
            plus_ones: answer.plus_ones,
            risk_score: Some(scored.score),
            risk: Some(band.as_str().to_owned()),
            confirmed_at: chrono::Utc::now(),
            created: first_counted,
        };
        crate::outbox::enqueue(
            tx,
            uuid::Uuid::new_v4(),
            proto::events::RSVP_CONFIRMED,
            &event,
            None,
        )
        .await?;
    }
    Ok(())
}

/// A stored held reason as one of the known ones.
fn known_reason(reason: &str) -> Option<&'static str> {
    use crate::fraud::policy::held;
    [
        held::ENGINE_UNAVAILABLE,
        held::BLOCKED_AFTER_OUTAGE,
        held::EVENT_FULL,
    ]
    .into_iter()
    .find(|known| *known == reason)
}

/// Consumes `fraud.scored` until `stop` is cancelled, re-opening the consumer whenever
/// NATS goes away.
/// Each stored score is announced to the hosts' live monitors (`monitor::notice`).
pub async fn run(
    pool: PgPool,
    jetstream: jetstream::Context,
    nats: async_nats::Client,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    let mut failing = false;
    while !stop.is_cancelled() {
        match consume(&pool, &jetstream, &nats, &stop).await {
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
    nats: &async_nats::Client,
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
        handle(pool, nats, message).await;
    }
}

/// Stores one message's score and acknowledges it accordingly.
async fn handle(pool: &PgPool, nats: &async_nats::Client, message: jetstream::Message) {
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
            if stored {
                crate::monitor::notice::announce(nats, scored.event_id, scored.access_log_id);
            }
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
