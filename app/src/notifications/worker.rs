//! The notification worker: the consumer of answers and scores (`consumer.rs`), the
//! delivery loop and the reminder scheduler, in one process of its own
//! (`server/src/bin/notify.rs`). Several workers may run: each claims different rows.
//!
//! Delivery: claim due notifications (woken by PostgreSQL `NOTIFY` when something is
//! queued, else every `NOTIFY_POLL_MS`), render each from the current data (the event as
//! it is now, the guest's live link re-derived from the signing keys), send it, and
//! record the attempt: sent; retried after an exponential backoff with jitter; or
//! failed for good after a permanent refusal or the last attempt. A notification that has
//! nothing left to send (the link was revoked, the guest answered before their
//! reminder, the webhook was disabled) is cancelled, not sent.

use super::{
    consumer::{self, Planner},
    mail::{Email, Mailer, SendError},
    settings::NotifySettings,
    sms::{SmsProvider, TwilioCompatible},
    store::{self, Claimed, NewNotification, Outcome},
    templates::{self, EventFacts, Recipient},
    webhooks::{self, deliver::Deliverer},
    Channel, Kind,
};
use crate::invitations::{server_fns::ssr::rederive, store::SignedInvitation, token::Keyring};
use chrono::Utc;
use sqlx::{postgres::PgPoolOptions, PgPool};
use std::{sync::Arc, time::Duration};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Attempts of a "Send test" webhook delivery: the host is watching, so it gives up soon.
pub const WEBHOOK_TEST_ATTEMPTS: i32 = 3;
/// How long a claim lasts before another worker may take the notification over.
const LEASE: Duration = Duration::from_secs(120);

/// A running worker's connections.
#[derive(Clone)]
pub struct Worker {
    pool: PgPool,
    jetstream: async_nats::jetstream::Context,
    settings: Arc<NotifySettings>,
    keyring: Keyring,
    mailer: Mailer,
    sms: Option<TwilioCompatible>,
    webhooks: Deliverer,
    wake: Arc<Notify>,
}

impl Worker {
    /// Connects (lazily: dependencies that are down show up as retries, not as a
    /// failure to start) and applies database migrations.
    pub async fn connect(settings: NotifySettings) -> Result<Self, String> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.concurrency as u32 + 4)
            .acquire_timeout(Duration::from_secs(3))
            .connect_lazy(settings.database_url())
            .map_err(|e| format!("DATABASE_URL: {e}"))?;
        let nats = settings
            .nats_credentials
            .connect_options(proto::nats::NOTIFY)
            .await
            .map_err(|e| format!("reading the NATS credentials file: {e}"))?
            .name("guestguard-notify")
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(2))
            .connect(settings.nats_url.as_str())
            .await
            .map_err(|e| format!("connecting to NATS: {e}"))?;
        let production = settings.environment == crate::settings::Environment::Production;
        let sms = settings
            .sms
            .clone()
            .map(|sms| TwilioCompatible::new(sms, settings.smtp.timeout))
            .transpose()?;
        Ok(Self {
            keyring: settings.signing_keys.keyring().map_err(|e| e.to_string())?,
            mailer: Mailer::new(&settings.smtp)?,
            webhooks: Deliverer::new(
                settings.webhooks.key.clone(),
                settings.webhooks.allow_private,
                production,
                settings.webhook_timeout,
            )?,
            sms,
            jetstream: async_nats::jetstream::new(nats),
            pool,
            settings: Arc::new(settings),
            wake: Arc::default(),
        })
    }

    /// Applies the database migrations (several processes may: PostgreSQL serialises
    /// them).
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        sqlx::migrate!("../migrations").run(&self.pool).await
    }

    /// Consumes, delivers and schedules until `stop` is cancelled; in-flight sends
    /// finish first.
    pub async fn run(self, stop: CancellationToken) {
        let planner = Planner {
            max_attempts: self.settings.retry.max_attempts,
            sms: self.sms.is_some(),
        };
        let consume = consumer::run(
            self.pool.clone(),
            self.jetstream.clone(),
            planner,
            self.wake.clone(),
            stop.clone(),
        );
        let listen = listen(self.pool.clone(), self.wake.clone(), stop.clone());
        let reminders = self.clone().schedule_reminders(stop.clone());
        let deliver = self.deliver(stop);
        tokio::join!(consume, listen, reminders, deliver);
        tracing::info!("notification worker stopped");
    }

    /// Claims and sends due notifications until `stop`.
    async fn deliver(self, stop: CancellationToken) {
        let mut failing = false;
        while !stop.is_cancelled() {
            let claimed = store::claim(
                &self.pool,
                self.settings.concurrency as i64,
                LEASE + self.settings.smtp.timeout + self.settings.webhook_timeout,
            )
            .await;
            match claimed {
                Ok(claimed) if claimed.is_empty() => {
                    failing = false;
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(self.settings.poll) => {}
                    }
                }
                Ok(claimed) => {
                    failing = false;
                    futures::future::join_all(
                        claimed.into_iter().map(|claimed| self.process(claimed)),
                    )
                    .await;
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "cannot claim notifications; retrying");
                        failing = true;
                    }
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = tokio::time::sleep(self.settings.poll) => {}
                    }
                }
            }
        }
    }

    /// Sends one claimed notification and records the attempt.
    async fn process(&self, claimed: Claimed) {
        let started_at = Utc::now();
        let clock = std::time::Instant::now();
        let outcome = match self.send(&claimed).await {
            Ok(sent) => sent,
            Err(Undeliverable::Cancel(reason)) => Outcome::Cancelled { reason },
            Err(Undeliverable::Send(SendError::Permanent { error, code })) => Outcome::Failed {
                error,
                status_code: code,
            },
            Err(Undeliverable::Send(SendError::Transient { error, code })) => {
                if claimed.attempts >= claimed.max_attempts {
                    Outcome::Failed {
                        error: format!("gave up after {} attempts: {error}", claimed.attempts),
                        status_code: code,
                    }
                } else {
                    let delay = self
                        .settings
                        .retry
                        .delay(claimed.attempts, rand::random::<f64>());
                    Outcome::Retry {
                        error,
                        status_code: code,
                        at: Utc::now()
                            + chrono::Duration::from_std(delay)
                                .unwrap_or(chrono::Duration::hours(1)),
                    }
                }
            }
            Err(Undeliverable::Database(error)) => {
                tracing::warn!(%error, notification_id = %claimed.id, "database unavailable; the claim will expire and be retried");
                return;
            }
        };
        let kind = claimed.kind.as_str();
        match &outcome {
            Outcome::Sent { .. } => {
                tracing::info!(notification_id = %claimed.id, kind, attempt = claimed.attempts, "notification sent")
            }
            Outcome::Retry { error, at, .. } => {
                tracing::warn!(notification_id = %claimed.id, kind, attempt = claimed.attempts, %error, retry_at = %at, "notification not sent; retrying")
            }
            Outcome::Failed { error, .. } => {
                tracing::error!(notification_id = %claimed.id, kind, attempt = claimed.attempts, %error, "notification failed")
            }
            Outcome::Cancelled { reason } => {
                tracing::info!(notification_id = %claimed.id, kind, %reason, "notification cancelled")
            }
        }
        match store::finish(&self.pool, &claimed, started_at, clock.elapsed(), &outcome).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(notification_id = %claimed.id, "claim expired before the outcome was recorded")
            }
            Err(error) => {
                tracing::warn!(%error, notification_id = %claimed.id, "outcome not recorded; the claim will expire")
            }
        }
    }

    /// Renders and sends one notification.
    async fn send(&self, claimed: &Claimed) -> Result<Outcome, Undeliverable> {
        let kind = Kind::parse(&claimed.kind)
            .ok_or_else(|| Undeliverable::Cancel(format!("unknown kind {}", claimed.kind)))?;
        if kind == Kind::Webhook {
            return self.send_webhook(claimed).await;
        }
        let (Some(event_id), Some(guest_id)) = (claimed.event_id, claimed.guest_id) else {
            return Err(Undeliverable::Cancel("no event or guest".into()));
        };
        let Some(event) = event_facts(&self.pool, event_id).await? else {
            return Err(Undeliverable::Cancel("the event was deleted".into()));
        };
        let Some(guest) = guest_facts(&self.pool, guest_id).await? else {
            return Err(Undeliverable::Cancel("the guest was deleted".into()));
        };
        let payload = &claimed.payload.0;
        let text = |name: &str| {
            payload
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let number = |name: &str| payload.get(name).and_then(|v| v.as_i64());
        let dashboard = format!("{}/events/{}", self.settings.public_url, event.id);
        let check = || templates::Check {
            score: number("score").and_then(|s| u32::try_from(s).ok()),
            risk: text("risk"),
            reasons: payload
                .get("reasons")
                .and_then(|v| v.as_array())
                .map(|reasons| {
                    reasons
                        .iter()
                        .filter_map(|r| r.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let response = text("response").unwrap_or_else(|| "maybe".into());
        let plus_ones = number("plus_ones").unwrap_or(0) as i32;
        let channel = Channel::parse(&claimed.channel).unwrap_or(Channel::Email);
        let recipient = Recipient {
            name: &guest.name,
            email: &claimed.recipient,
        };
        let link = || async {
            let row = live_invitation(&self.pool, guest_id).await?;
            Ok::<_, Undeliverable>(
                row.and_then(|row| rederive(&self.keyring, &row, Utc::now()))
                    .map(|token| format!("{}/i/{token}", self.settings.public_url)),
            )
        };
        let revoked =
            || Undeliverable::Cancel("the guest's link was revoked or has expired".into());
        let message: Message = match kind {
            Kind::Invitation => {
                let link = link().await?.ok_or_else(revoked)?;
                match channel {
                    Channel::Sms => Message::Sms(templates::invitation_sms(&event, &link)),
                    _ => Message::Email(templates::invitation(&event, &recipient, &link)),
                }
            }
            Kind::Reminder => {
                if guest.answered {
                    return Err(Undeliverable::Cancel("the guest answered meanwhile".into()));
                }
                if guest.unsubscribed {
                    return Err(Undeliverable::Cancel(
                        "the guest unsubscribed from reminders".into(),
                    ));
                }
                let link = link().await?.ok_or_else(revoked)?;
                let unsubscribe =
                    format!("{}/unsubscribe/{}", self.settings.public_url, claimed.id);
                match channel {
                    Channel::Sms => Message::Sms(templates::reminder_sms(&event, &link)),
                    _ => {
                        Message::Email(templates::reminder(&event, &recipient, &link, &unsubscribe))
                    }
                }
            }
            Kind::Confirmation => {
                let link = link().await?;
                match channel {
                    Channel::Sms => {
                        Message::Sms(templates::confirmation_sms(&event, &response, plus_ones))
                    }
                    _ => Message::Email(templates::confirmation(
                        &event,
                        &recipient,
                        &response,
                        plus_ones,
                        link.as_deref(),
                    )),
                }
            }
            Kind::HostRsvp => Message::Email(templates::host_rsvp(
                &event,
                &guest.name,
                &response,
                plus_ones,
                &check(),
                &dashboard,
            )),
            Kind::HostHeld => Message::Email(templates::host_held(
                &event,
                &guest.name,
                &text("reason").unwrap_or_default(),
                &dashboard,
            )),
            Kind::FraudAlert => Message::Email(templates::fraud_alert(
                &event,
                &guest.name,
                &check(),
                payload
                    .get("blocked")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
                &dashboard,
            )),
            Kind::Webhook => return Err(Undeliverable::Cancel("not a message".into())),
        };
        match message {
            Message::Email(mut email) => {
                // To the address it was queued for (the host's may have changed since:
                // the host's messages go to the current one).
                if matches!(kind, Kind::HostRsvp | Kind::HostHeld | Kind::FraudAlert) {
                    email.to = event.host_email.clone();
                }
                let accepted = self
                    .mailer
                    .send(claimed.id, &email)
                    .await
                    .map_err(Undeliverable::Send)?;
                Ok(Outcome::Sent {
                    provider_message_id: Some(accepted.message_id),
                    status_code: Some(accepted.code),
                })
            }
            Message::Sms(body) => {
                let Some(sms) = &self.sms else {
                    return Err(Undeliverable::Cancel("SMS is not set up".into()));
                };
                let accepted = sms
                    .send(&claimed.recipient, &body)
                    .await
                    .map_err(Undeliverable::Send)?;
                Ok(Outcome::Sent {
                    provider_message_id: accepted.message_id,
                    status_code: Some(accepted.status),
                })
            }
        }
    }

    async fn send_webhook(&self, claimed: &Claimed) -> Result<Outcome, Undeliverable> {
        let Some(webhook_id) = claimed.webhook_id else {
            return Err(Undeliverable::Cancel("no webhook".into()));
        };
        let Some(webhook) = webhooks::store::by_id(&self.pool, webhook_id).await? else {
            return Err(Undeliverable::Cancel("the webhook was deleted".into()));
        };
        if !webhook.enabled {
            return Err(Undeliverable::Cancel("the webhook is disabled".into()));
        }
        let event_type = claimed
            .payload
            .0
            .get("type")
            .and_then(|v| v.as_str())
            .unwrap_or("ping")
            .to_owned();
        let body = serde_json::to_vec(&claimed.payload.0).unwrap_or_default();
        let status = self
            .webhooks
            .deliver(&webhook, claimed.id, &event_type, &body)
            .await
            .map_err(Undeliverable::Send)?;
        Ok(Outcome::Sent {
            provider_message_id: None,
            status_code: Some(i32::from(status)),
        })
    }

    /// Queues the reminders that are due, every `NOTIFY_REMINDER_POLL_MS`, until `stop`.
    async fn schedule_reminders(self, stop: CancellationToken) {
        while !stop.is_cancelled() {
            match queue_due_reminders(
                &self.pool,
                self.settings.retry.max_attempts,
                self.sms.is_some(),
            )
            .await
            {
                Ok(0) => {}
                Ok(queued) => {
                    tracing::info!(queued, "reminders queued");
                    self.wake.notify_one();
                }
                Err(error) => tracing::warn!(%error, "reminders not queued; trying again later"),
            }
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(self.settings.reminder_poll) => {}
            }
        }
    }
}

/// What a notification turned out to be.
enum Message {
    Email(Email),
    Sms(String),
}

/// Why a claimed notification was not sent.
enum Undeliverable {
    /// Nothing to send any more.
    Cancel(String),
    /// The provider refused or could not be reached.
    Send(SendError),
    /// The data could not be read: leave the claim to expire and retry.
    Database(sqlx::Error),
}

impl From<sqlx::Error> for Undeliverable {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

/// Rings the delivery loop whenever a web server or consumer queues something
/// (PostgreSQL `LISTEN`); without it the loop still polls.
async fn listen(pool: PgPool, wake: Arc<Notify>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        let listener = listen_once(&pool, &wake);
        tokio::select! {
            _ = stop.cancelled() => return,
            result = listener => {
                let Err(error) = result;
                tracing::debug!(%error, "notification listener lost its connection");
            }
        }
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn listen_once(
    pool: &PgPool,
    wake: &Notify,
) -> Result<std::convert::Infallible, sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(store::WAKE_CHANNEL).await?;
    loop {
        listener.recv().await?;
        wake.notify_one();
    }
}

async fn event_facts(pool: &PgPool, event_id: Uuid) -> Result<Option<EventFacts>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.id, e.name, e.starts_at, e.time_zone, e.venue, e.description, e.rsvp_deadline,
                e.language, h.name AS host_name, h.email AS host_email
         FROM events e JOIN hosts h ON h.id = e.host_id
         WHERE e.id = $1",
    )
    .bind(event_id)
    .fetch_optional(pool)
    .await
}

#[derive(sqlx::FromRow)]
struct GuestFacts {
    name: String,
    answered: bool,
    unsubscribed: bool,
}

async fn guest_facts(pool: &PgPool, guest_id: Uuid) -> Result<Option<GuestFacts>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.name,
                EXISTS (SELECT 1 FROM rsvps r WHERE r.guest_id = g.id) AS answered,
                g.reminders_unsubscribed_at IS NOT NULL AS unsubscribed
         FROM guests g WHERE g.id = $1",
    )
    .bind(guest_id)
    .fetch_optional(pool)
    .await
}

/// The guest's newest link that still works.
async fn live_invitation(
    pool: &PgPool,
    guest_id: Uuid,
) -> Result<Option<SignedInvitation>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.id, i.guest_id, i.event_id, i.host_id, i.token_hash, i.expires_at,
                i.revoked_at, i.created_at, i.key_id,
                EXISTS (SELECT 1 FROM rsvps r WHERE r.guest_id = i.guest_id) AS answered
         FROM invitations i
         WHERE i.guest_id = $1 AND i.revoked_at IS NULL AND i.expires_at > now()
         ORDER BY i.created_at DESC
         LIMIT 1",
    )
    .bind(guest_id)
    .fetch_optional(pool)
    .await
}

/// Queues a reminder for every guest who has not answered, of every event whose
/// reminder time has come (its RSVP deadline, or start, minus its reminder hours), and
/// marks the events so each reminder is queued once. Guests who unsubscribed, have no
/// contact or no live link are left out.
pub async fn queue_due_reminders(
    pool: &PgPool,
    max_attempts: i32,
    sms: bool,
) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let events: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, host_id FROM events
         WHERE reminder_hours IS NOT NULL AND reminders_queued_at IS NULL
           AND coalesce(rsvp_deadline, starts_at) - make_interval(hours => reminder_hours) <= now()
           AND coalesce(rsvp_deadline, starts_at) > now()
         ORDER BY coalesce(rsvp_deadline, starts_at)
         LIMIT 50
         FOR UPDATE SKIP LOCKED",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut queued = 0;
    for (event_id, host_id) in events {
        let guests: Vec<(Uuid, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT g.id, g.email, g.phone FROM guests g
             WHERE g.event_id = $1 AND g.reminders_unsubscribed_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM rsvps r WHERE r.guest_id = g.id)
               AND EXISTS (SELECT 1 FROM invitations i WHERE i.guest_id = g.id
                           AND i.revoked_at IS NULL AND i.expires_at > now())",
        )
        .bind(event_id)
        .fetch_all(&mut *tx)
        .await?;
        for (guest_id, email, phone) in guests {
            let contact = match (email, phone) {
                (Some(email), _) if !email.trim().is_empty() => (Channel::Email, email),
                (_, Some(phone)) if sms && !phone.trim().is_empty() => (Channel::Sms, phone),
                _ => continue,
            };
            let new = NewNotification {
                id: Uuid::new_v4(),
                host_id,
                event_id: Some(event_id),
                guest_id: Some(guest_id),
                webhook_id: None,
                kind: Kind::Reminder,
                channel: contact.0,
                recipient: contact.1,
                dedupe_key: format!("reminder:{event_id}:{guest_id}"),
                payload: serde_json::json!({}),
                max_attempts,
            };
            if store::enqueue(&mut tx, &new).await?.is_some() {
                queued += 1;
            }
        }
        sqlx::query("UPDATE events SET reminders_queued_at = now() WHERE id = $1")
            .bind(event_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(queued)
}
