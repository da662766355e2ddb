//! Notifications: invitations, reminders and answer confirmations to guests, answer
//! notices and fraud alerts to hosts (email over SMTP, or SMS through a provider), and
//! hosts' signed webhooks ([`webhooks`]). All of them are delivered by the notification
//! worker (`server/src/bin/notify.rs`), a process of its own:
//!
//! ```text
//!  web server ──(outbox)──▶ NATS rsvp.confirmed / rsvp.held / rsvp.blocked / fraud.scored
//!      │                                   │ consumer `guestguard-notify` (explicit acks)
//!      │ invitations, webhook tests        ▼
//!      └────────────▶ notifications table ◀── consumer.rs: one row per message to send,
//!                      (queued → sending → sent | failed)   keyed so redelivery adds none
//!                                   │
//!                          worker.rs: claims due rows, sends (mail.rs, sms.rs,
//!                          webhooks/deliver.rs), retries with backoff and jitter,
//!                          logs every attempt; queues reminders when they are due
//! ```
//!
//! Routes (under `/api/v1`, host only; see `rest.rs`):
//!
//! | route | what |
//! |---|---|
//! | `POST /events/{id}/invitations/send` | email (or text) every pending guest their link, or chosen guests |
//! | `GET /events/{id}/notifications` | what was sent for the event, newest first |
//! | `GET /events/{id}/guests/{guest_id}/notifications` | what was sent to or about one guest |
//! | `GET /notifications/{id}/attempts` | the delivery log of one notification |
//! | `GET/PUT /account/notifications` | which emails the host gets |
//!
//! Guests unsubscribe from reminders at `/unsubscribe/{notification_id}` (the link and
//! the one-click `List-Unsubscribe` header of every reminder).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod pages;
pub mod server_fns;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub mod consumer;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
pub mod rest;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod sms;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod templates;
#[cfg(feature = "ssr")]
pub mod unsubscribe;
#[cfg(feature = "ssr")]
pub mod worker;

/// What a notification is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// To a guest: their personal link.
    Invitation,
    /// To a guest who has not answered, before the RSVP deadline.
    Reminder,
    /// To a guest: their answer was received.
    Confirmation,
    /// To the host: a guest answered.
    HostRsvp,
    /// To the host: an answer waits for their review.
    HostHeld,
    /// To the host: an opening or answer scored 60 or more.
    FraudAlert,
    /// To a host's webhook endpoint.
    Webhook,
}

impl Kind {
    pub const ALL: [Self; 7] = [
        Self::Invitation,
        Self::Reminder,
        Self::Confirmation,
        Self::HostRsvp,
        Self::HostHeld,
        Self::FraudAlert,
        Self::Webhook,
    ];

    /// The snake-case name stored and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::Reminder => "reminder",
            Self::Confirmation => "confirmation",
            Self::HostRsvp => "host_rsvp",
            Self::HostHeld => "host_held",
            Self::FraudAlert => "fraud_alert",
            Self::Webhook => "webhook",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }

    /// How the dashboard names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Invitation => "Invitation",
            Self::Reminder => "Reminder",
            Self::Confirmation => "Answer confirmation",
            Self::HostRsvp => "Answer notice (to you)",
            Self::HostHeld => "Held answer notice (to you)",
            Self::FraudAlert => "Fraud alert (to you)",
            Self::Webhook => "Webhook",
        }
    }
}

/// How a notification travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Webhook => "webhook",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Email, Self::Sms, Self::Webhook]
            .into_iter()
            .find(|channel| channel.as_str() == value)
    }
}

/// Where a notification stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for its (next) attempt.
    Queued,
    /// A worker is sending it now.
    Sending,
    /// The mail server, SMS provider or webhook receiver accepted it.
    Sent,
    /// Every attempt failed, or it could not be sent at all; `last_error` says why.
    Failed,
    /// Not sent: nothing to send any more (the guest's link was revoked, the guest
    /// unsubscribed, the webhook was disabled).
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Sending,
            Self::Sent,
            Self::Failed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
    }

    /// How the dashboard names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Queued => "Queued",
            Self::Sending => "Sending",
            Self::Sent => "Delivered",
            Self::Failed => "Failed",
            Self::Cancelled => "Not sent",
        }
    }
}

/// A notification as the host sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: Uuid,
    pub kind: Kind,
    pub channel: Channel,
    /// The email address, phone number or webhook URL.
    pub recipient: String,
    #[serde(default)]
    pub event_id: Option<Uuid>,
    #[serde(default)]
    pub guest_id: Option<Uuid>,
    #[serde(default)]
    pub webhook_id: Option<Uuid>,
    /// For webhooks: the event type delivered (`rsvp.created`, ...).
    #[serde(default)]
    pub event_type: Option<String>,
    pub status: Status,
    pub attempts: i32,
    pub max_attempts: i32,
    /// When the next attempt is due (queued notifications only).
    #[serde(default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The id the provider gave the message (the email's `Message-ID`, the SMS
    /// provider's message id), once sent.
    #[serde(default)]
    pub provider_message_id: Option<String>,
    #[serde(default)]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
}

/// One try at delivering a notification: the delivery log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryAttempt {
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// `sent`, `retry` (failed, tried again later) or `failed` (given up).
    pub outcome: String,
    /// The SMTP reply code or the receiver's HTTP status, when there was one.
    #[serde(default)]
    pub status_code: Option<i32>,
    #[serde(default)]
    pub error: Option<String>,
}

/// Body of `POST /api/v1/events/{id}/invitations/send`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SendInvitations {
    /// The guests to invite (sent again to those already invited). Absent: every guest
    /// who has not answered and has not been sent an invitation yet.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 5000))]
    pub guest_ids: Option<Vec<Uuid>>,
}

/// Why a guest was not sent an invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// No email address (nor a phone number with SMS set up).
    NoContact,
    /// Already answered (only when sending to every pending guest).
    Answered,
    /// Already sent one, or one is on its way (only when sending to every pending guest).
    AlreadyInvited,
}

/// A guest left out of an invitation run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SkippedGuest {
    pub guest_id: Uuid,
    pub reason: SkipReason,
}

/// What `POST .../invitations/send` queued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InvitationsQueued {
    /// The invitations queued, one per guest.
    pub queued: Vec<Notification>,
    pub skipped: Vec<SkippedGuest>,
}

/// Which emails a host gets (`GET/PUT /api/v1/account/notifications`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HostPreferences {
    /// An email for every answer.
    pub rsvps: bool,
    /// An email for every opening or answer scored 60 or more, and every held answer.
    pub fraud: bool,
}

/// The newest invitation or reminder of a guest, for the guest table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GuestDelivery {
    pub guest_id: Uuid,
    pub kind: Kind,
    pub channel: Channel,
    pub status: Status,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub last_error: Option<String>,
}
