//! The engine's asynchronous paths: durable pull consumers of the events stream, shared
//! by every engine instance. [`Consumer`] is the loop every one of them runs; a
//! [`Handler`] says what one message means:
//!
//! | consumer | subject | handler |
//! |---|---|---|
//! | [`ENGINE_CONSUMER`] | `access.attempted` | [`ScoreAccess`]: score, publish `fraud.scored` |
//! | `fraud-engine-forget` | `guest.forgotten` | [`crate::forget::ForgetGuests`] |
//!
//! One message is: handle it → ack only when its work is stored (and, for a score,
//! `fraud.scored` acknowledged by the stream). Poison (it can never be handled) →
//! `term`. Anything unavailable on the way → `nak` with a delay growing with the
//! delivery count, so a redelivery repeats the same steps with the same effect. The
//! loop outlives NATS outages: a broken message stream is reopened with backoff until
//! the engine's stop token is cancelled.
//!
//! Scoring one `access.attempted`: parse (poison → `term`) → the score of this access,
//! computed once ([`ResultStore`]) → record it in the baselines (a no-op the second
//! time) → publish `fraud.scored` with `Nats-Msg-Id: fraud.scored.<access id>`.

use crate::{
    baselines::BaselineError,
    engine::FraudEngine,
    results::{ResultError, ResultStore, StoredScore},
    scoring,
};
use async_nats::{
    header::NATS_MESSAGE_ID,
    jetstream::{
        self,
        consumer::{pull, AckPolicy, PullConsumer},
        AckKind,
    },
    HeaderMap,
};
use chrono::Utc;
use futures::StreamExt as _;
use proto::{
    events::{AccessAttempted, FraudScored, ACCESS_ATTEMPTED, ENGINE_CONSUMER, FRAUD_SCORED},
    fraud::v1::{ClientSignals, ScoreRequest},
};
use std::{future::Future, sync::Arc, time::Duration};
use tokio::{sync::Semaphore, task::JoinSet};
use tokio_util::sync::CancellationToken;

/// Longest wait before a failed message is delivered again.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// Longest wait before a broken message stream is reopened.
const MAX_REOPEN_DELAY: Duration = Duration::from_secs(2);
/// Idle heartbeat asked of the server; two missed ones reopen the stream.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Limits of a consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// How many messages one engine handles at once (`FRAUD_CONSUMER_CONCURRENCY`).
    pub concurrency: usize,
    /// How many times a message is delivered before the server gives up on it
    /// (`FRAUD_CONSUMER_MAX_DELIVER`; applied when the consumer is created).
    pub max_deliver: i64,
    /// How long a delivered message may stay unacknowledged before it is delivered
    /// again (`FRAUD_CONSUMER_ACK_WAIT_SECS`; applied when the consumer is created).
    pub ack_wait: Duration,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            concurrency: 16,
            max_deliver: 10,
            ack_wait: Duration::from_secs(30),
        }
    }
}

/// Why one message was not handled.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The message can never be handled: it is terminated, not retried.
    #[error("the message is unusable: {0}")]
    Poison(String),
    /// NATS or a bucket is unavailable, or a publication was not acknowledged: retry
    /// later.
    #[error("{0}")]
    Transient(String),
}

impl From<BaselineError> for HandleError {
    fn from(error: BaselineError) -> Self {
        Self::Transient(error.to_string())
    }
}

impl From<ResultError> for HandleError {
    fn from(error: ResultError) -> Self {
        Self::Transient(error.to_string())
    }
}

/// Reads a JSON body; an unreadable one is poison. Only the kind and place of the
/// error are kept: its message may quote the payload.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HandleError> {
    serde_json::from_slice(body).map_err(|e| {
        HandleError::Poison(format!(
            "{:?} JSON error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

/// How long to wait before delivering again a message that failed on its
/// `delivered`-th delivery: 1 s, 2 s, 4 s, … at most 30 s.
pub fn retry_delay(delivered: i64) -> Duration {
    let doublings = u32::try_from(delivered.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    Duration::from_secs(1u64 << doublings).min(MAX_RETRY_DELAY)
}

/// A durable consumer: its name, the subject it reads and what it is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Durable {
    pub name: &'static str,
    pub subject: &'static str,
    pub description: &'static str,
}

/// What a consumer does with one message body.
pub trait Handler: Send + Sync + 'static {
    /// The durable consumer the handler reads from.
    const DURABLE: Durable;

    /// Handles one body with one effect however often it comes.
    fn handle(&self, body: &[u8]) -> impl Future<Output = Result<(), HandleError>> + Send;
}

/// Opens the events stream and a durable consumer, creating them when missing. An
/// existing consumer is used as it is.
pub async fn open(
    jetstream: &jetstream::Context,
    durable: Durable,
    settings: &ConsumerSettings,
) -> Result<PullConsumer, async_nats::Error> {
    let stream = proto::events::ensure_stream(jetstream).await?;
    let consumer = stream
        .get_or_create_consumer(
            durable.name,
            pull::Config {
                durable_name: Some(durable.name.to_owned()),
                description: Some(durable.description.to_owned()),
                filter_subject: durable.subject.to_owned(),
                ack_policy: AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                max_deliver: settings.max_deliver,
                ..Default::default()
            },
        )
        .await?;
    Ok(consumer)
}

/// A durable consumer with its handler, ready to run.
#[derive(Clone, Debug)]
pub struct Consumer<H> {
    jetstream: jetstream::Context,
    handler: H,
    settings: ConsumerSettings,
}

impl<H: Handler> Consumer<H> {
    /// Makes sure the stream and the consumer exist.
    pub async fn start(
        jetstream: jetstream::Context,
        handler: H,
        settings: ConsumerSettings,
    ) -> Result<Self, async_nats::Error> {
        open(&jetstream, H::DURABLE, &settings).await?;
        Ok(Self {
            jetstream,
            handler,
            settings,
        })
    }

    /// Handles messages, at most `concurrency` at once, until `stop` is cancelled; then
    /// lets the messages in hand finish. A broken message stream (NATS down, consumer
    /// gone) is reopened with backoff.
    pub async fn run(self, stop: CancellationToken) {
        let subject = H::DURABLE.subject;
        let this = Arc::new(self);
        let permits = Arc::new(Semaphore::new(this.settings.concurrency.max(1)));
        let mut in_flight = JoinSet::new();
        let mut failures: u32 = 0;
        'reopen: while !stop.is_cancelled() {
            if failures > 0 {
                let delay = Duration::from_millis(100u64 << failures.min(5)).min(MAX_REOPEN_DELAY);
                tokio::select! {
                    _ = stop.cancelled() => break 'reopen,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
            let opened = tokio::select! {
                _ = stop.cancelled() => break 'reopen,
                opened = this.messages() => opened,
            };
            let mut messages = match opened {
                Ok(messages) => messages,
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(%error, failures, subject, "cannot open the consumer");
                    continue 'reopen;
                }
            };
            loop {
                while let Some(finished) = in_flight.try_join_next() {
                    if let Err(error) = finished {
                        tracing::error!(%error, subject, "handling a message panicked");
                    }
                }
                let permit = tokio::select! {
                    _ = stop.cancelled() => break 'reopen,
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break 'reopen,
                    },
                };
                let next = tokio::select! {
                    _ = stop.cancelled() => break 'reopen,
                    next = messages.next() => next,
                };
                match next {
                    Some(Ok(message)) => {
                        failures = 0;
                        let this = Arc::clone(&this);
                        in_flight.spawn(async move {
                            this.handle(message).await;
                            drop(permit);
                        });
                    }
                    Some(Err(error)) => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(%error, subject, "the message stream failed; reopening");
                        continue 'reopen;
                    }
                    None => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(subject, "the message stream ended; reopening");
                        continue 'reopen;
                    }
                }
            }
        }
        while in_flight.join_next().await.is_some() {}
        tracing::info!(subject, "consumer stopped");
    }

    /// A fresh pull subscription to the consumer (recreated if it was deleted).
    async fn messages(&self) -> Result<pull::Stream, async_nats::Error> {
        let consumer = open(&self.jetstream, H::DURABLE, &self.settings).await?;
        let batch = self.settings.concurrency.max(1);
        Ok(consumer
            .stream()
            .max_messages_per_batch(batch)
            .heartbeat(HEARTBEAT)
            .messages()
            .await?)
    }

    /// Handles one delivery and answers it: ack, nak with delay, or term.
    #[tracing::instrument(skip_all, fields(subject = H::DURABLE.subject, stream_sequence, delivered))]
    async fn handle(&self, message: jetstream::Message) {
        let (stream_sequence, delivered) = match message.info() {
            Ok(info) => (info.stream_sequence, info.delivered),
            Err(_) => (0, 1),
        };
        let span = tracing::Span::current();
        span.record("stream_sequence", stream_sequence);
        span.record("delivered", delivered);

        match self.handler.handle(&message.payload).await {
            Ok(()) => {
                // Ack and wait for the server to confirm it, so a lost ack is noticed
                // here rather than as a surprise redelivery (which repeats the same
                // effect).
                if let Err(error) = message.double_ack().await {
                    tracing::warn!(%error, "could not ack a handled message");
                }
            }
            Err(HandleError::Poison(reason)) => {
                tracing::warn!(%reason, "terminating a poison message");
                if let Err(error) = message.ack_with(AckKind::Term).await {
                    tracing::warn!(%error, "could not terminate a poison message");
                }
            }
            Err(HandleError::Transient(error)) => {
                let delay = retry_delay(delivered);
                if delivered >= self.settings.max_deliver {
                    tracing::error!(%error, "handling failed on the last delivery; giving up");
                } else {
                    tracing::warn!(%error, retry_in = ?delay, "handling failed; retrying later");
                }
                if let Err(error) = message.ack_with(AckKind::Nak(Some(delay))).await {
                    tracing::warn!(%error, "could not nak a message");
                }
            }
        }
    }
}

/// The gRPC request an `access.attempted` body amounts to, so both paths share one
/// validation ([`scoring::parse`]).
pub fn score_request(access: &AccessAttempted) -> ScoreRequest {
    ScoreRequest {
        event_id: access.event_id.to_string(),
        guest_id: access.guest_id.to_string(),
        token_id: access.token_id.to_string(),
        access_log_id: access.access_log_id.to_string(),
        accessed_at: access.accessed_at.to_rfc3339(),
        ip: access.ip.clone().unwrap_or_default(),
        user_agent: access.user_agent.clone(),
        accept_language: access.accept_language.clone(),
        signals: Some(ClientSignals {
            device_key: access.signals.device_key.clone().unwrap_or_default(),
            time_zone: access.signals.time_zone.clone().unwrap_or_default(),
            screen: access.signals.screen.clone().unwrap_or_default(),
            js_enabled: access.signals.js_enabled,
            automation: access.signals.automation.clone(),
        }),
        is_rsvp: access.is_rsvp,
        sensitivity: sensitivity_of(access.sensitivity.as_deref()) as i32,
        event_starts_at: access
            .event_starts_at
            .map(|at| at.to_rfc3339())
            .unwrap_or_default(),
    }
}

/// The gRPC sensitivity of an event's preset name (`relaxed`, `standard`, `strict`).
pub fn sensitivity_of(name: Option<&str>) -> proto::fraud::v1::Sensitivity {
    use proto::fraud::v1::Sensitivity;
    match name {
        Some("relaxed") => Sensitivity::Relaxed,
        Some("strict") => Sensitivity::Strict,
        Some("standard") => Sensitivity::Standard,
        _ => Sensitivity::Unspecified,
    }
}

/// The consumer of `access.attempted`.
pub type AccessConsumer = Consumer<ScoreAccess>;

/// Scores each `access.attempted` once and publishes its `fraud.scored`.
#[derive(Clone, Debug)]
pub struct ScoreAccess {
    jetstream: jetstream::Context,
    engine: FraudEngine,
    results: ResultStore,
}

impl ScoreAccess {
    pub fn new(jetstream: jetstream::Context, engine: FraudEngine, results: ResultStore) -> Self {
        Self {
            jetstream,
            engine,
            results,
        }
    }

    /// Scores one `access.attempted` body with one effect however often it comes, and
    /// publishes its `fraud.scored`.
    async fn score(&self, body: &[u8]) -> Result<FraudScored, HandleError> {
        let access: AccessAttempted = json_body(body)?;
        let attempt = scoring::parse(&score_request(&access), Utc::now())
            .map_err(|e| HandleError::Poison(e.to_string()))?;
        let id = access.access_log_id;

        // Assessed after this engine's recordings of the same guest, device and origin.
        let held = self.engine.hold(&attempt).await;
        let (result, seen) = match self.results.get(id).await? {
            Some(earlier) => (earlier, None),
            None => {
                let (assessment, seen) = self.engine.assess(&attempt).await?;
                let result = self
                    .results
                    .first_of(id, StoredScore::of(&assessment, Utc::now()))
                    .await?;
                (result, Some(seen))
            }
        };
        self.engine.remember(&attempt, result.band, seen).await?;
        drop(held);

        let scored = FraudScored {
            event_id: access.event_id,
            guest_id: access.guest_id,
            token_id: access.token_id,
            access_log_id: id,
            score: result.score,
            risk: result.band.code().to_owned(),
            reasons: result.reasons,
            flagged: result.flagged,
            scored_at: result.scored_at,
        };
        self.publish(&scored).await?;
        Ok(scored)
    }

    /// Publishes a score and waits for the stream to store it (or to recognise it as a
    /// duplicate of the same score).
    async fn publish(&self, scored: &FraudScored) -> Result<(), HandleError> {
        let body = serde_json::to_vec(scored).map_err(|e| HandleError::Transient(e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert(
            NATS_MESSAGE_ID,
            FraudScored::message_id(scored.access_log_id).as_str(),
        );
        self.jetstream
            .publish_with_headers(FRAUD_SCORED, headers, body.into())
            .await
            .map_err(|e| HandleError::Transient(format!("publishing fraud.scored: {e}")))?
            .await
            .map_err(|e| HandleError::Transient(format!("fraud.scored not acknowledged: {e}")))?;
        Ok(())
    }
}

impl Handler for ScoreAccess {
    const DURABLE: Durable = Durable {
        name: ENGINE_CONSUMER,
        subject: ACCESS_ATTEMPTED,
        description: "GuestGuard fraud engines: score access attempts",
    };

    async fn handle(&self, body: &[u8]) -> Result<(), HandleError> {
        let scored = self.score(body).await?;
        tracing::info!(
            access_log_id = %scored.access_log_id,
            score = scored.score,
            risk = scored.risk,
            flagged = scored.flagged,
            "access scored from JetStream"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_delay_doubles_with_each_delivery_up_to_thirty_seconds() {
        let delays: Vec<u64> = (1..=7).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(retry_delay(0), Duration::from_secs(1));
        assert_eq!(retry_delay(i64::MAX), MAX_RETRY_DELAY);
    }

    #[test]
    fn an_access_event_becomes_the_same_request_as_the_grpc_path() {
        let id = uuid::Uuid::from_u128(5);
        let access = AccessAttempted {
            access_log_id: id,
            event_id: id,
            guest_id: id,
            token_id: id,
            accessed_at: "2026-11-23T12:00:00Z".parse().expect("time"),
            ip: None,
            user_agent: "curl/8".into(),
            accept_language: String::new(),
            signals: Default::default(),
            is_rsvp: true,
            sensitivity: Some("strict".into()),
            event_starts_at: Some("2026-12-01T18:00:00Z".parse().expect("time")),
        };
        let request = score_request(&access);
        assert_eq!(request.access_log_id, id.to_string());
        assert_eq!(request.ip, "");
        assert!(request.is_rsvp);
        let attempt = scoring::parse(&request, Utc::now()).expect("valid");
        assert_eq!(attempt.access_id, Some(id));
        assert_eq!(attempt.device, None);
        assert_eq!(attempt.sensitivity, crate::heuristics::Sensitivity::Strict);
        assert_eq!(attempt.event_starts_at, access.event_starts_at);
    }

    #[test]
    fn a_device_key_that_is_not_a_keyed_hash_is_poison() {
        let access = AccessAttempted {
            access_log_id: uuid::Uuid::from_u128(1),
            event_id: uuid::Uuid::from_u128(1),
            guest_id: uuid::Uuid::from_u128(1),
            token_id: uuid::Uuid::from_u128(1),
            accessed_at: "2026-11-23T12:00:00Z".parse().expect("time"),
            ip: None,
            user_agent: String::new(),
            accept_language: String::new(),
            signals: proto::events::Signals {
                device_key: Some("raw-fingerprint".into()),
                ..Default::default()
            },
            is_rsvp: false,
            sensitivity: None,
            event_starts_at: None,
        };
        assert!(scoring::parse(&score_request(&access), Utc::now()).is_err());
    }
}
