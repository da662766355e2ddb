//! Access attempts: every opening of an invitation link is recorded (time, IP, user
//! agent, language, and the browser signals the hydrated page reports) and shows the
//! guest the event and their current answer.

use crate::{invitations::LinkStatus, rsvps::RsvpView};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod rest;
#[cfg(feature = "ssr")]
pub mod store;

/// What a guest sees when opening their link (`GET /api/v1/access/{token}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessView {
    pub token: TokenView,
    pub guest: GuestView,
    pub event: EventView,
    /// The guest's current answer, if any.
    pub rsvp: Option<RsvpView>,
    /// Id of the access attempt this opening recorded.
    pub access_log_id: Uuid,
}

/// The link's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: Uuid,
    pub status: LinkStatus,
    pub expires_at: DateTime<Utc>,
}

/// The guest, as shown to themself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct GuestView {
    pub id: Uuid,
    pub name: String,
    /// How many plus-ones this guest may bring.
    pub max_plus_ones: i32,
}

/// The event, as shown to a guest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct EventView {
    pub id: Uuid,
    pub name: String,
    pub event_date: DateTime<Utc>,
    pub time_zone: String,
    pub venue: String,
    pub description: String,
    pub rsvp_deadline: Option<DateTime<Utc>>,
}

impl EventView {
    /// Whether answers are still accepted at `now`.
    pub fn accepts_answers(&self, now: DateTime<Utc>) -> bool {
        self.rsvp_deadline.is_none_or(|deadline| now <= deadline)
    }
}

/// Browser signals the hydrated RSVP page reports for its access attempt
/// (`POST /api/v1/access/{token}/signals`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserSignals {
    pub access_log_id: Uuid,
    /// A hash of stable browser properties, computed in the browser (hex, ≤ 128 chars).
    #[serde(default)]
    pub fingerprint_hash: Option<String>,
    /// The browser's IANA time zone.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// `WIDTHxHEIGHT@RATIO`.
    #[serde(default)]
    pub screen: Option<String>,
}
