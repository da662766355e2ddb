//! Access attempts: every opening of an invitation link is recorded (time, IP, user
//! agent, language, and the browser signals the hydrated page reports) and shows the
//! guest the event and their current answer.

use crate::{invitations::LinkStatus, rsvps::RsvpView};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod pages;
#[cfg(feature = "ssr")]
pub mod rest;
pub mod server_fns;
#[cfg(feature = "hydrate")]
pub mod signals;
#[cfg(feature = "ssr")]
pub mod store;

/// What a guest sees when opening their link (`GET /api/v1/access/{token}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenView {
    pub id: Uuid,
    pub status: LinkStatus,
    pub expires_at: DateTime<Utc>,
}

/// The guest, as shown to themself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct GuestView {
    pub id: Uuid,
    pub name: String,
    /// How many plus-ones this guest may bring.
    pub max_plus_ones: i32,
}

/// The event, as shown to a guest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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

/// What the guest's invitation page shows after opening the link: the opening, with the
/// event's times already written in the event's own time zone (so the server and the
/// hydrating browser show the very same text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OpenedInvitation {
    /// The opening.
    pub access: AccessView,
    /// When the event starts, e.g. `Saturday 12 June 2027 at 18:00 (Europe/Paris)`.
    pub starts_at_local: String,
    /// The RSVP deadline, in the same form, when the event has one.
    pub rsvp_deadline_local: Option<String>,
    /// Whether answers were still accepted when the page was opened.
    pub accepts_answers: bool,
}

/// One access attempt as a host sees it in the access log
/// (`GET /api/v1/events/{id}/access-log`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LoggedAccess {
    pub id: Uuid,
    pub guest_id: Uuid,
    pub guest_name: String,
    /// `open` (the link was opened) or `rsvp` (an answer was submitted).
    pub kind: String,
    pub accessed_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: String,
    /// Whether JavaScript ran in the page (the page reported its browser signals).
    pub js_enabled: bool,
    /// 0–100; `null` while the attempt waits for its score.
    pub risk_score: Option<i32>,
    pub risk: Option<crate::fraud::RiskBand>,
    /// What hosts call the band: Verified, Review, Suspicious or Blocked.
    pub verdict: Option<String>,
    /// Stable reason codes, e.g. `fingerprint_mismatch`.
    pub reasons: Vec<String>,
    /// Whether hosts should look at this attempt (score at or above the flag threshold).
    pub flagged: bool,
    /// An answer refused for its score (nothing else was recorded).
    pub blocked: bool,
    pub scored_at: Option<DateTime<Utc>>,
    /// The device's first eight digits, when the page reported a fingerprint.
    pub device: Option<String>,
    /// The whole device key (what approving a device takes).
    pub device_key: Option<String>,
    /// Signs of automation the page reported.
    pub automation: Vec<String>,
    /// The policy that decided an answer, e.g. `standard`, `strict · shadow`,
    /// `engine unavailable: hold`.
    pub policy: Option<String>,
}

/// Browser signals the hydrated RSVP page reports for its access attempt
/// (`POST /api/v1/access/{token}/signals`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BrowserSignals {
    pub access_log_id: Uuid,
    /// SHA-256 (64 hex digits) of stable browser properties, computed in the browser.
    /// The server keeps only a keyed hash of it.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::fingerprint_or_none))]
    pub fingerprint_hash: Option<String>,
    /// The browser's IANA time zone.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The screen size in CSS pixels, `WIDTHxHEIGHT`.
    #[serde(default)]
    pub screen: Option<String>,
    /// Signs of automation the page observed: `webdriver`, `headless`, `no_plugins`,
    /// `no_languages`, `zero_window`, `screen_zero`, `timezone_mismatch`.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::automation_signs))]
    pub automation: Vec<String>,
}
