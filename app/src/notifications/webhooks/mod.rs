//! Hosts' signed webhooks: an endpoint of the host's account (or of one event) receives
//! the event types it chose as JSON, signed with HMAC-SHA256 over timestamp and body.
//!
//! ```text
//! POST <url>
//! Content-Type: application/json
//! GuestGuard-Event: rsvp.created
//! GuestGuard-Delivery: <notification id, the same on every retry>
//! GuestGuard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>[,v1=...]
//!
//! {"id": "...", "type": "rsvp.created", "created_at": "...", "data": {...}}
//! ```
//!
//! Receivers check that `t` is within five minutes of their clock (replay window) and
//! that one of the `v1` values matches (two during a secret rotation's overlap). See
//! the README's "Webhooks" section for a verification snippet. Secrets are never stored:
//! each is derived from `GUESTGUARD_WEBHOOK_KEY`, the webhook's id and its version.
//!
//! Routes (under `/api/v1`, host only; see `rest.rs`):
//!
//! | route | what |
//! |---|---|
//! | `GET /webhooks`, `POST /webhooks` | the host's endpoints; register one (the secret is in the answer) |
//! | `GET/PATCH/DELETE /webhooks/{id}` | one endpoint |
//! | `GET /webhooks/{id}/secret` | its current signing secret |
//! | `POST /webhooks/{id}/rotate-secret` | a new secret; the old one stays valid for an overlap |
//! | `POST /webhooks/{id}/test` | queue a `ping` delivery |
//! | `GET /webhooks/{id}/deliveries` | its delivery log (attempts: `GET /notifications/{id}/attempts`) |

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod deliver;
#[cfg(feature = "ssr")]
pub mod rest;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod signature;
#[cfg(feature = "ssr")]
pub mod ssrf;
#[cfg(feature = "ssr")]
pub mod store;

/// What a webhook can be told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum EventType {
    /// A guest's first answer that counts.
    #[serde(rename = "rsvp.created")]
    RsvpCreated,
    /// A guest changed an answer (or a later one came to count).
    #[serde(rename = "rsvp.changed")]
    RsvpChanged,
    /// A link opening the engine flagged (score at the flag threshold or above).
    #[serde(rename = "access.flagged")]
    AccessFlagged,
    /// An answer refused: blocked by its score, or unchecked while the event refuses those.
    #[serde(rename = "rsvp.blocked")]
    RsvpBlocked,
    /// An answer held for the host's review.
    #[serde(rename = "rsvp.held")]
    RsvpHeld,
    /// A test delivery ("Send test").
    #[serde(rename = "ping")]
    Ping,
}

impl EventType {
    /// The types a host can subscribe to.
    pub const SUBSCRIBABLE: [Self; 5] = [
        Self::RsvpCreated,
        Self::RsvpChanged,
        Self::AccessFlagged,
        Self::RsvpBlocked,
        Self::RsvpHeld,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RsvpCreated => "rsvp.created",
            Self::RsvpChanged => "rsvp.changed",
            Self::AccessFlagged => "access.flagged",
            Self::RsvpBlocked => "rsvp.blocked",
            Self::RsvpHeld => "rsvp.held",
            Self::Ping => "ping",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::SUBSCRIBABLE
            .into_iter()
            .chain([Self::Ping])
            .find(|kind| kind.as_str() == value)
    }

    /// How the dashboard describes it.
    pub fn description(self) -> &'static str {
        match self {
            Self::RsvpCreated => "A guest answers for the first time",
            Self::RsvpChanged => "A guest changes their answer",
            Self::AccessFlagged => "A link opening is flagged by the fraud check",
            Self::RsvpBlocked => "An answer is refused",
            Self::RsvpHeld => "An answer is held for your review",
            Self::Ping => "Test delivery",
        }
    }
}

/// A webhook endpoint as its host sees it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: Uuid,
    /// The event it is limited to; `None`: every event of the account.
    #[serde(default)]
    pub event_id: Option<Uuid>,
    pub url: String,
    pub description: String,
    pub event_types: Vec<EventType>,
    pub enabled: bool,
    /// Bumped by every rotation.
    pub secret_version: i32,
    /// Until when the previous secret still signs deliveries (after a rotation).
    #[serde(default)]
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/webhooks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewWebhook {
    /// `https://` (or `http://` outside production); never a private or loopback
    /// address in production.
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::webhook_url))]
    pub url: String,
    /// At least one of `rsvp.created`, `rsvp.changed`, `access.flagged`,
    /// `rsvp.blocked`, `rsvp.held`.
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::subscribable_types))]
    pub event_types: Vec<String>,
    /// Limit it to one of the host's events.
    #[serde(default)]
    pub event_id: Option<Uuid>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::webhook_description_or_null))]
    pub description: Option<String>,
}

/// Body of `PATCH /api/v1/webhooks/{id}`: only what is given changes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookChanges {
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::webhook_url_or_null))]
    pub url: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::subscribable_types_or_null))]
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::webhook_description_or_null))]
    pub description: Option<String>,
}

/// Body of `POST /api/v1/webhooks/{id}/rotate-secret` (optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RotateSecret {
    /// How long the previous secret keeps signing deliveries beside the new one, in
    /// hours (0 to 168; 24 by default).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 168))]
    pub overlap_hours: Option<u32>,
}

/// A webhook with its current signing secret (registration, rotation, reveal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    /// `whsec_...`: the HMAC key receivers verify signatures with.
    pub secret: String,
}

/// A webhook with its latest deliveries, for the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookOverview {
    pub webhook: Webhook,
    /// Newest first.
    pub deliveries: Vec<crate::notifications::Notification>,
}

/// The JSON body of every delivery.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookPayload {
    /// The delivery's id (the same on every retry: receivers drop repeats by it).
    pub id: Uuid,
    /// The event type, e.g. `rsvp.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    /// Depends on the type: `event` and `guest` (`{id, name}`), and the answer
    /// (`response`, `plus_ones`), the fraud check (`score`, `risk`, `label`, `reasons`)
    /// or the reason it was held or refused.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}
