//! The notification worker's consumer of `rsvp.confirmed`, `rsvp.held`, `rsvp.blocked`
//! and `fraud.scored`: each message becomes the notifications it calls for (the guest's
//! receipt, the host's notice or alert, the host's webhooks), queued in one transaction
//! and only then acknowledged.
//!
//! Every notification is keyed by what it is about (the answer's attempt, the scored
//! opening) rather than by the message, so a message delivered twice — redelivered
//! after a crash, or published again by the outbox after JetStream's duplicate window —
//! queues nothing the second time. A database failure naks the message with a growing
//! delay; a message that cannot be read is terminated.

use super::{
    settings::ALERT_SCORE,
    store::{self, NewNotification},
    webhooks::{self, EventType, WebhookPayload},
    Channel, Kind,
};
use async_nats::jetstream::{self, consumer::pull, AckKind};
use futures::StreamExt as _;
use proto::events::{
    FraudScored, RsvpBlocked, RsvpConfirmed, RsvpHeld, FRAUD_SCORED, NOTIFY_CONSUMER,
    NOTIFY_SUBJECTS, RSVP_BLOCKED, RSVP_CONFIRMED, RSVP_HELD,
};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use std::{sync::Arc, time::Duration};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Deliveries of one message before JetStream gives up on it.
const MAX_DELIVER: i64 = 20;
/// How long a delivered message may stay unacknowledged before it is delivered again.
const ACK_WAIT: Duration = Duration::from_secs(30);
/// Longest wait before re-opening the consumer after NATS went away.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What planning needs to know besides the message.
#[derive(Clone, Copy, Debug)]
pub struct Planner {
    /// Attempts of every notification.
    pub max_attempts: i32,
    /// Whether guests without an email address get text messages.
    pub sms: bool,
}

/// Why a message could not be turned into notifications.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the message cannot be read: {0}")]
    Poison(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The event, its host and (when named) the guest, as notifications need them.
#[derive(Debug, sqlx::FromRow)]
struct Facts {
    host_id: Uuid,
    event_name: String,
    host_email: String,
    notify_rsvps: bool,
    notify_fraud: bool,
    guest_name: Option<String>,
    guest_email: Option<String>,
    guest_phone: Option<String>,
}

async fn facts(
    conn: &mut PgConnection,
    event_id: Uuid,
    guest_id: Uuid,
) -> Result<Option<Facts>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.host_id, e.name AS event_name, h.email AS host_email, h.notify_rsvps,
                h.notify_fraud, g.name AS guest_name, g.email AS guest_email,
                g.phone AS guest_phone
         FROM events e
         JOIN hosts h ON h.id = e.host_id
         LEFT JOIN guests g ON g.id = $2 AND g.event_id = e.id
         WHERE e.id = $1",
    )
    .bind(event_id)
    .bind(guest_id)
    .fetch_optional(conn)
    .await
}

impl Facts {
    /// How the guest can be reached: email first, else a text when SMS is set up.
    fn guest_channel(&self, planner: &Planner) -> Option<(Channel, String)> {
        match (&self.guest_email, &self.guest_phone) {
            (Some(email), _) if !email.trim().is_empty() => {
                Some((Channel::Email, email.trim().to_owned()))
            }
            (_, Some(phone)) if planner.sms && !phone.trim().is_empty() => {
                Some((Channel::Sms, phone.trim().to_owned()))
            }
            _ => None,
        }
    }

    fn event_json(&self, event_id: Uuid) -> serde_json::Value {
        json!({ "id": event_id, "name": self.event_name })
    }

    fn guest_json(&self, guest_id: Uuid) -> serde_json::Value {
        json!({ "id": guest_id, "name": self.guest_name, "email": self.guest_email })
    }
}

/// A notification to one of the event's people.
fn to_person(
    facts: &Facts,
    planner: &Planner,
    (event_id, guest_id): (Uuid, Uuid),
    kind: Kind,
    (channel, recipient): (Channel, String),
    dedupe_key: String,
    payload: serde_json::Value,
) -> NewNotification {
    NewNotification {
        id: Uuid::new_v4(),
        host_id: facts.host_id,
        event_id: Some(event_id),
        guest_id: Some(guest_id),
        webhook_id: None,
        kind,
        channel,
        recipient,
        dedupe_key,
        payload,
        max_attempts: planner.max_attempts,
    }
}

/// One delivery per endpoint of the host that wants `event_type` for the event.
async fn to_webhooks(
    conn: &mut PgConnection,
    facts: &Facts,
    planner: &Planner,
    (event_id, guest_id): (Uuid, Uuid),
    event_type: EventType,
    about: &str,
    data: serde_json::Value,
) -> Result<Vec<NewNotification>, sqlx::Error> {
    let endpoints = webhooks::store::subscribers(conn, facts.host_id, event_id, event_type).await?;
    Ok(endpoints
        .into_iter()
        .map(|(webhook_id, url)| {
            let id = Uuid::new_v4();
            let body = WebhookPayload {
                id,
                event_type: event_type.as_str().to_owned(),
                created_at: chrono::Utc::now(),
                data: data.clone(),
            };
            NewNotification {
                id,
                host_id: facts.host_id,
                event_id: Some(event_id),
                guest_id: Some(guest_id),
                webhook_id: Some(webhook_id),
                kind: Kind::Webhook,
                channel: Channel::Webhook,
                recipient: url,
                dedupe_key: format!("webhook:{webhook_id}:{}:{about}", event_type.as_str()),
                payload: serde_json::to_value(&body).unwrap_or_default(),
                max_attempts: planner.max_attempts,
            }
        })
        .collect())
}

fn fraud_json(score: Option<u32>, risk: Option<&str>, reasons: &[String]) -> serde_json::Value {
    json!({
        "score": score,
        "risk": risk,
        "label": risk.and_then(crate::fraud::RiskBand::parse).map(|band| band.label()).unwrap_or("Unscored"),
        "reasons": reasons,
    })
}

/// The notifications one message calls for.
pub async fn plan(
    conn: &mut PgConnection,
    planner: &Planner,
    subject: &str,
    payload: &[u8],
) -> Result<Vec<NewNotification>, PlanError> {
    fn read<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, PlanError> {
        serde_json::from_slice(payload).map_err(|e| PlanError::Poison(e.to_string()))
    }
    let mut planned = Vec::new();
    match subject {
        RSVP_CONFIRMED => {
            let answer: RsvpConfirmed = read(payload)?;
            let ids = (answer.event_id, answer.guest_id);
            let Some(facts) = facts(conn, answer.event_id, answer.guest_id).await? else {
                return Ok(planned);
            };
            if facts.guest_name.is_none() {
                return Ok(planned);
            }
            let about = answer.access_log_id;
            let answer_json = json!({ "response": answer.response, "plus_ones": answer.plus_ones });
            if let Some(channel) = facts.guest_channel(planner) {
                planned.push(to_person(
                    &facts,
                    planner,
                    ids,
                    Kind::Confirmation,
                    channel,
                    format!("confirmation:{about}"),
                    answer_json.clone(),
                ));
            }
            if facts.notify_rsvps {
                planned.push(to_person(
                    &facts,
                    planner,
                    ids,
                    Kind::HostRsvp,
                    (Channel::Email, facts.host_email.clone()),
                    format!("host_rsvp:{about}"),
                    json!({
                        "response": answer.response,
                        "plus_ones": answer.plus_ones,
                        "score": answer.risk_score,
                        "risk": answer.risk,
                    }),
                ));
            }
            let event_type = if answer.created {
                EventType::RsvpCreated
            } else {
                EventType::RsvpChanged
            };
            let data = json!({
                "rsvp_id": answer.rsvp_id,
                "event": facts.event_json(answer.event_id),
                "guest": facts.guest_json(answer.guest_id),
                "response": answer.response,
                "plus_ones": answer.plus_ones,
                "fraud": fraud_json(answer.risk_score, answer.risk.as_deref(), &[]),
                "access_log_id": answer.access_log_id,
                "confirmed_at": answer.confirmed_at,
            });
            planned.extend(
                to_webhooks(
                    conn,
                    &facts,
                    planner,
                    ids,
                    event_type,
                    &about.to_string(),
                    data,
                )
                .await?,
            );
        }
        RSVP_HELD => {
            let held: RsvpHeld = read(payload)?;
            let ids = (held.event_id, held.guest_id);
            let Some(facts) = facts(conn, held.event_id, held.guest_id).await? else {
                return Ok(planned);
            };
            let answer: Option<(String, i32)> =
                sqlx::query_as("SELECT response, plus_ones FROM rsvps WHERE id = $1")
                    .bind(held.rsvp_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            let (Some((response, plus_ones)), Some(_)) = (answer, &facts.guest_name) else {
                return Ok(planned);
            };
            let about = held.access_log_id;
            // The guest's receipt reads like any other: a held answer is not theirs to know.
            if let Some(channel) = facts.guest_channel(planner) {
                planned.push(to_person(
                    &facts,
                    planner,
                    ids,
                    Kind::Confirmation,
                    channel,
                    format!("confirmation:{about}"),
                    json!({ "response": response, "plus_ones": plus_ones }),
                ));
            }
            if facts.notify_fraud {
                planned.push(to_person(
                    &facts,
                    planner,
                    ids,
                    Kind::HostHeld,
                    (Channel::Email, facts.host_email.clone()),
                    format!("host_held:{about}:{}", held.reason),
                    json!({ "reason": held.reason }),
                ));
            }
            let data = json!({
                "rsvp_id": held.rsvp_id,
                "event": facts.event_json(held.event_id),
                "guest": facts.guest_json(held.guest_id),
                "response": response,
                "plus_ones": plus_ones,
                "reason": held.reason,
                "description": crate::fraud::policy::held::describe(&held.reason),
                "access_log_id": held.access_log_id,
                "held_at": held.held_at,
            });
            planned.extend(
                to_webhooks(
                    conn,
                    &facts,
                    planner,
                    ids,
                    EventType::RsvpHeld,
                    &format!("{about}:{}", held.reason),
                    data,
                )
                .await?,
            );
        }
        RSVP_BLOCKED => {
            let blocked: RsvpBlocked = read(payload)?;
            let ids = (blocked.event_id, blocked.guest_id);
            let Some(facts) = facts(conn, blocked.event_id, blocked.guest_id).await? else {
                return Ok(planned);
            };
            let about = blocked.access_log_id;
            if facts.notify_fraud
                && blocked.reason == "fraud_block"
                && blocked.score.is_some_and(|score| score >= ALERT_SCORE)
            {
                planned.push(to_person(
                    &facts,
                    planner,
                    ids,
                    Kind::FraudAlert,
                    (Channel::Email, facts.host_email.clone()),
                    format!("fraud_alert:{about}"),
                    json!({
                        "score": blocked.score,
                        "risk": blocked.risk,
                        "reasons": blocked.reasons,
                        "blocked": true,
                    }),
                ));
            }
            let data = json!({
                "event": facts.event_json(blocked.event_id),
                "guest": facts.guest_json(blocked.guest_id),
                "reason": blocked.reason,
                "fraud": fraud_json(blocked.score, blocked.risk.as_deref(), &blocked.reasons),
                "access_log_id": blocked.access_log_id,
                "blocked_at": blocked.blocked_at,
            });
            planned.extend(
                to_webhooks(
                    conn,
                    &facts,
                    planner,
                    ids,
                    EventType::RsvpBlocked,
                    &about.to_string(),
                    data,
                )
                .await?,
            );
        }
        FRAUD_SCORED => {
            let scored: FraudScored = read(payload)?;
            if scored.score < ALERT_SCORE && !scored.flagged {
                return Ok(planned);
            }
            let ids = (scored.event_id, scored.guest_id);
            let Some(facts) = facts(conn, scored.event_id, scored.guest_id).await? else {
                return Ok(planned);
            };
            let about = scored.access_log_id;
            if facts.notify_fraud && scored.score >= ALERT_SCORE {
                planned.push(to_person(
                    &facts,
                    planner,
                    ids,
                    Kind::FraudAlert,
                    (Channel::Email, facts.host_email.clone()),
                    format!("fraud_alert:{about}"),
                    json!({
                        "score": scored.score,
                        "risk": scored.risk,
                        "reasons": scored.reasons,
                        "blocked": false,
                    }),
                ));
            }
            if scored.flagged {
                let data = json!({
                    "event": facts.event_json(scored.event_id),
                    "guest": facts.guest_json(scored.guest_id),
                    "fraud": fraud_json(Some(scored.score), Some(&scored.risk), &scored.reasons),
                    "access_log_id": scored.access_log_id,
                    "scored_at": scored.scored_at,
                });
                planned.extend(
                    to_webhooks(
                        conn,
                        &facts,
                        planner,
                        ids,
                        EventType::AccessFlagged,
                        &about.to_string(),
                        data,
                    )
                    .await?,
                );
            }
        }
        other => return Err(PlanError::Poison(format!("unexpected subject {other}"))),
    }
    Ok(planned)
}

/// Plans one message and queues its notifications in one transaction; returns how many
/// were new.
pub async fn queue(
    pool: &PgPool,
    planner: &Planner,
    subject: &str,
    payload: &[u8],
) -> Result<usize, PlanError> {
    let mut tx = pool.begin().await?;
    let planned = plan(&mut tx, planner, subject, payload).await?;
    let mut queued = 0;
    for notification in &planned {
        if store::enqueue(&mut tx, notification).await?.is_some() {
            queued += 1;
        }
    }
    if queued > 0 {
        store::wake_workers(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(queued)
}

/// Consumes until `stop` is cancelled, re-opening the consumer whenever NATS goes away.
pub async fn run(
    pool: PgPool,
    jetstream: jetstream::Context,
    planner: Planner,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    let mut failing = false;
    while !stop.is_cancelled() {
        match consume(&pool, &jetstream, &planner, &wake, &stop).await {
            Ok(()) => break,
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, "notification consumer interrupted; retrying");
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
    tracing::info!("notification consumer stopped");
}

async fn consume(
    pool: &PgPool,
    jetstream: &jetstream::Context,
    planner: &Planner,
    wake: &Notify,
    stop: &CancellationToken,
) -> Result<(), String> {
    // The web server creates the stream; the worker may only read it.
    let stream = jetstream
        .get_stream(proto::events::STREAM)
        .await
        .map_err(|e| e.to_string())?;
    let consumer: jetstream::consumer::PullConsumer = stream
        .get_or_create_consumer(
            NOTIFY_CONSUMER,
            pull::Config {
                durable_name: Some(NOTIFY_CONSUMER.to_owned()),
                description: Some("GuestGuard notification worker".to_owned()),
                filter_subjects: NOTIFY_SUBJECTS.iter().map(|s| (*s).to_owned()).collect(),
                // A first deployment does not notify about the stream's history.
                deliver_policy: jetstream::consumer::DeliverPolicy::New,
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: ACK_WAIT,
                max_deliver: MAX_DELIVER,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    tracing::info!("notification consumer ready");
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
        handle(pool, planner, wake, message).await;
    }
}

async fn handle(pool: &PgPool, planner: &Planner, wake: &Notify, message: jetstream::Message) {
    let delivered = message.info().map(|info| info.delivered).unwrap_or(1);
    let subject = message.subject.to_string();
    let ack = match queue(pool, planner, &subject, &message.payload).await {
        Ok(queued) => {
            tracing::info!(%subject, queued, "notifications queued");
            if queued > 0 {
                wake.notify_one();
            }
            AckKind::Ack
        }
        Err(PlanError::Poison(error)) => {
            tracing::error!(%subject, %error, "unreadable message dropped");
            AckKind::Term
        }
        Err(PlanError::Database(error)) => {
            let delay = Duration::from_millis(200 * 2u64.pow(delivered.clamp(1, 8) as u32 - 1));
            tracing::warn!(%subject, %error, ?delay, "notifications not queued; redelivering later");
            AckKind::Nak(Some(delay))
        }
    };
    if let Err(error) = message.ack_with(ack).await {
        tracing::warn!(%error, "acknowledgement failed; the message will come again");
    }
}
