//! The JetStream contract between the web server and the fraud engine: one stream,
//! [`STREAM`], holding three subjects, and the JSON body of each.
//!
//! | subject              | published by                  | consumed by                   |
//! |----------------------|-------------------------------|-------------------------------|
//! | [`ACCESS_ATTEMPTED`] | server (outbox relay)         | fraud engine (`fraud-engine`) |
//! | [`FRAUD_SCORED`]     | fraud engine                  | server (`guestguard-server`)  |
//! | [`RSVP_CONFIRMED`]   | server (outbox relay)         | notification worker (`guestguard-notify`) |
//! | [`RSVP_HELD`]        | server (outbox relay)         | notification worker (`guestguard-notify`) |
//! | [`RSVP_BLOCKED`]     | server (outbox relay)         | notification worker (`guestguard-notify`) |
//! | [`GUEST_FORGOTTEN`]  | server (outbox relay)         | fraud engine (`fraud-engine-forget`) |
//!
//! The notification worker also reads [`FRAUD_SCORED`], through its own consumer.
//!
//! Outside the stream, web servers tell each other (core NATS, at most once) that an
//! event's activity changed: [`ActivityNotice`] on [`activity_subject`]`(event_id)`,
//! which every web server subscribes to ([`ACTIVITY_WILDCARD`]) to push the change to
//! the hosts' live monitors it serves. A lost notice costs nothing but latency: a
//! monitor that reconnects asks for what it missed.
//!
//! Every message carries a `Nats-Msg-Id` header, so a message published twice (a
//! relay that crashed between publishing and recording it) is stored once within the
//! stream's duplicate window. Consumers still tolerate redelivery: handling the same
//! message twice has one effect.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// Every web server's subscription to activity notices (`activity.<event id>`).
pub const ACTIVITY_WILDCARD: &str = "activity.*";

/// The core NATS subject of one event's activity notices.
pub fn activity_subject(event_id: Uuid) -> String {
    format!("activity.{event_id}")
}

/// Something changed in an event's activity feed: an access attempt was recorded or
/// scored. It names the attempt only; each web server reads the rest from the database
/// for its own hosts' sockets (so nothing a host may not see travels on the bus).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityNotice {
    pub event_id: Uuid,
    /// The access attempt that was recorded or scored.
    pub access_log_id: Uuid,
}

/// Name of the stream.
pub const STREAM: &str = "GUESTGUARD";
/// A link was opened (or an RSVP could not be scored in time): score it.
pub const ACCESS_ATTEMPTED: &str = "access.attempted";
/// The engine scored an access attempt.
pub const FRAUD_SCORED: &str = "fraud.scored";
/// A guest's answer was recorded.
pub const RSVP_CONFIRMED: &str = "rsvp.confirmed";
/// A guest's answer was held for the host's review (it does not count yet).
pub const RSVP_HELD: &str = "rsvp.held";
/// A guest's answer was refused (blocked by its score, or refused while the engine was
/// unavailable); nothing was recorded.
pub const RSVP_BLOCKED: &str = "rsvp.blocked";
/// Guests whose data was deleted: the engine forgets them.
pub const GUEST_FORGOTTEN: &str = "guest.forgotten";
/// Every subject of the stream.
pub const SUBJECTS: [&str; 6] = [
    ACCESS_ATTEMPTED,
    FRAUD_SCORED,
    RSVP_CONFIRMED,
    RSVP_HELD,
    RSVP_BLOCKED,
    GUEST_FORGOTTEN,
];
/// What the notification worker reads: answers, refusals and scores.
pub const NOTIFY_SUBJECTS: [&str; 4] = [RSVP_CONFIRMED, RSVP_HELD, RSVP_BLOCKED, FRAUD_SCORED];
/// Durable consumer of [`ACCESS_ATTEMPTED`] shared by every fraud engine instance.
pub const ENGINE_CONSUMER: &str = "fraud-engine";
/// Durable consumer of [`GUEST_FORGOTTEN`] shared by every fraud engine instance.
pub const ENGINE_FORGET_CONSUMER: &str = "fraud-engine-forget";
/// Durable consumer of [`FRAUD_SCORED`] shared by every web server instance.
pub const SERVER_CONSUMER: &str = "guestguard-server";
/// Durable consumer of [`NOTIFY_SUBJECTS`] shared by every notification worker.
pub const NOTIFY_CONSUMER: &str = "guestguard-notify";
/// How long the stream remembers message ids to drop duplicates.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(30 * 60);
/// How long messages are kept.
pub const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// The most the stream holds; the oldest messages go first beyond it.
pub const MAX_BYTES: i64 = 2 * 1024 * 1024 * 1024;

/// The stream's configuration (both services create it when missing, with the same
/// settings, and bring an older one up to date).
pub fn stream_config() -> async_nats::jetstream::stream::Config {
    async_nats::jetstream::stream::Config {
        name: STREAM.to_owned(),
        description: Some("GuestGuard: access attempts, fraud scores, RSVPs".to_owned()),
        subjects: SUBJECTS.iter().map(|s| (*s).to_owned()).collect(),
        max_age: MAX_AGE,
        max_bytes: MAX_BYTES,
        discard: async_nats::jetstream::stream::DiscardPolicy::Old,
        duplicate_window: DUPLICATE_WINDOW,
        num_replicas: 1,
        ..Default::default()
    }
}

/// Opens the stream, creating it when missing and updating its configuration when it
/// differs (new subjects, limits).
pub async fn ensure_stream(
    jetstream: &async_nats::jetstream::Context,
) -> Result<async_nats::jetstream::stream::Stream, async_nats::Error> {
    let config = stream_config();
    let mut stream = jetstream.get_or_create_stream(config.clone()).await?;
    let current = &stream.cached_info().config;
    if current.subjects != config.subjects || current.max_bytes != config.max_bytes {
        jetstream.update_stream(config).await?;
        stream = jetstream.get_stream(STREAM).await?;
    }
    Ok(stream)
}

/// Browser signals of an access, as the hydrated page reported them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signals {
    /// The device: the keyed hash (HMAC-SHA256, 64 hex digits) the web server made of
    /// the page's fingerprint. The raw fingerprint is never published.
    #[serde(default)]
    pub device_key: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub screen: Option<String>,
    /// Whether JavaScript ran in the page.
    #[serde(default)]
    pub js_enabled: bool,
    /// Signs of automation the page observed (`webdriver`, `headless`, ...; see
    /// `ClientSignals.automation` in the gRPC contract).
    #[serde(default)]
    pub automation: Vec<String>,
}

/// Body of [`ACCESS_ATTEMPTED`]: one access attempt to score. Its `Nats-Msg-Id` is the
/// access attempt's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessAttempted {
    pub access_log_id: Uuid,
    pub event_id: Uuid,
    pub guest_id: Uuid,
    pub token_id: Uuid,
    pub accessed_at: DateTime<Utc>,
    /// The client's address, when known.
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub user_agent: String,
    #[serde(default)]
    pub accept_language: String,
    #[serde(default)]
    pub signals: Signals,
    /// True for an RSVP that could not be scored when it was submitted.
    #[serde(default)]
    pub is_rsvp: bool,
    /// The event's sensitivity preset: `relaxed`, `standard` (absent) or `strict`.
    #[serde(default)]
    pub sensitivity: Option<String>,
    /// When the event starts (retention of what the engine learns).
    #[serde(default)]
    pub event_starts_at: Option<DateTime<Utc>>,
}

/// Body of [`FRAUD_SCORED`]. Its `Nats-Msg-Id` is `fraud.scored.<access_log_id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudScored {
    pub event_id: Uuid,
    pub guest_id: Uuid,
    pub token_id: Uuid,
    pub access_log_id: Uuid,
    /// 0 (no risk) to 100.
    pub score: u32,
    /// `low`, `medium`, `high` or `block`.
    pub risk: String,
    /// Stable reason codes, e.g. `fingerprint_mismatch`.
    pub reasons: Vec<String>,
    /// Whether hosts should look at this access (score at or above the flag threshold).
    pub flagged: bool,
    pub scored_at: DateTime<Utc>,
}

impl FraudScored {
    /// The `Nats-Msg-Id` of the score of an access attempt.
    pub fn message_id(access_log_id: Uuid) -> String {
        format!("{FRAUD_SCORED}.{access_log_id}")
    }
}

/// Body of [`RSVP_CONFIRMED`]. Its `Nats-Msg-Id` is the outbox row's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RsvpConfirmed {
    pub rsvp_id: Uuid,
    pub event_id: Uuid,
    pub guest_id: Uuid,
    pub token_id: Uuid,
    /// The access attempt the RSVP was scored as.
    pub access_log_id: Uuid,
    /// `attending`, `declined` or `maybe`.
    pub response: String,
    pub plus_ones: i32,
    /// The fraud score, when the engine answered in time.
    #[serde(default)]
    pub risk_score: Option<u32>,
    #[serde(default)]
    pub risk: Option<String>,
    pub confirmed_at: DateTime<Utc>,
    /// True when this is the first answer of the guest's that counts (webhooks:
    /// `rsvp.created`; a later one is `rsvp.changed`).
    #[serde(default)]
    pub created: bool,
}

/// Body of [`GUEST_FORGOTTEN`]: guests whose data was deleted (one guest, or every
/// guest of a deleted event). Its `Nats-Msg-Id` is the outbox row's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestForgotten {
    pub guest_ids: Vec<Uuid>,
}

/// Body of [`RSVP_HELD`]. Its `Nats-Msg-Id` is the outbox row's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RsvpHeld {
    pub rsvp_id: Uuid,
    pub event_id: Uuid,
    pub guest_id: Uuid,
    /// The attempt the answer was scored as.
    pub access_log_id: Uuid,
    /// Why: `engine_unavailable`, `blocked_after_outage`, `event_full`.
    pub reason: String,
    pub held_at: DateTime<Utc>,
}

/// Body of [`RSVP_BLOCKED`]: an answer was refused and not recorded. Its `Nats-Msg-Id`
/// is the outbox row's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RsvpBlocked {
    pub event_id: Uuid,
    pub guest_id: Uuid,
    /// The refused attempt, in the event's access log.
    pub access_log_id: Uuid,
    /// `fraud_block` (its score blocks) or `engine_unavailable` (the event refuses
    /// answers that cannot be checked).
    pub reason: String,
    #[serde(default)]
    pub score: Option<u32>,
    #[serde(default)]
    pub risk: Option<String>,
    #[serde(default)]
    pub reasons: Vec<String>,
    pub blocked_at: DateTime<Utc>,
}
