//! The host's live monitor of one event: a feed of what guests do — link openings (with
//! their band once scored, and the reasons), answers, and refused attempts — with live
//! counters, pushed over a WebSocket only the event's host can open.
//!
//! | piece | where |
//! | --- | --- |
//! | the feed's types, shared by the REST API, the socket and the page | this file |
//! | reading the feed and the counters (cursor pagination, changes since) | `store.rs` |
//! | telling every web server that an event's feed changed (core NATS) | `notice.rs` |
//! | per-event fan-out to this server's sockets, bounded | `hub.rs` |
//! | the WebSocket: authentication, origin, close codes, slow clients | `socket.rs` |
//! | `GET /api/v1/events/{id}/activity` and the socket's route | `rest.rs` |
//! | the page `/events/{id}/monitor` and its socket client | `pages.rs`, `live.rs` |
//!
//! Several server instances: a change is announced on `activity.<event id>` by the
//! server that made it; every server subscribes and pushes it to its own sockets, so a
//! host's monitor sees changes made through any replica. Nothing is kept in one
//! process that another would need: a monitor that reconnects (to any replica) asks the
//! database for what changed since the newest change it saw.
//!
//! Guests never see any of this: the feed is the host's (their session or API key).

use crate::fraud::RiskBand;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(feature = "hydrate")]
pub mod live;
#[cfg(feature = "ssr")]
pub mod notice;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod rest;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod socket;
#[cfg(feature = "ssr")]
pub mod store;

/// What happened in one feed row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ActivityKind {
    /// A guest opened their invitation link.
    Opened,
    /// A guest answered (the answer was recorded, confirmed or held).
    Answered,
    /// An answer was refused for its score; nothing was recorded.
    Blocked,
}

impl ActivityKind {
    /// The lowercase name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Answered => "answered",
            Self::Blocked => "blocked",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "opened" => Some(Self::Opened),
            "answered" => Some(Self::Answered),
            "blocked" => Some(Self::Blocked),
            _ => None,
        }
    }
}

/// What the host is told about a row's risk: the band's friendly name, or why there is
/// none yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ActivityLabel {
    /// Band low.
    Verified,
    /// Band medium.
    Review,
    /// Band high.
    Suspicious,
    /// Band block.
    Blocked,
    /// The engine was unavailable when the attempt happened; it will be scored later.
    Unscored,
    /// Waiting for the engine's asynchronous score (an opening, a second or two).
    Scoring,
}

impl ActivityLabel {
    /// The label of an attempt with this band (if scored) and scoring error (if any).
    pub fn of(risk: Option<RiskBand>, unavailable: bool) -> Self {
        match (risk, unavailable) {
            (Some(RiskBand::Low), _) => Self::Verified,
            (Some(RiskBand::Medium), _) => Self::Review,
            (Some(RiskBand::High), _) => Self::Suspicious,
            (Some(RiskBand::Block), _) => Self::Blocked,
            (None, true) => Self::Unscored,
            (None, false) => Self::Scoring,
        }
    }

    /// What hosts read.
    pub fn text(self) -> &'static str {
        match self {
            Self::Verified => "Verified",
            Self::Review => "Review",
            Self::Suspicious => "Suspicious",
            Self::Blocked => "Blocked",
            Self::Unscored => "Unscored",
            Self::Scoring => "Scoring…",
        }
    }

    /// The badge colour (see `components::Tone`).
    pub fn tone(self) -> crate::components::Tone {
        use crate::components::Tone;
        match self {
            Self::Verified => Tone::Good,
            Self::Review => Tone::Warning,
            Self::Suspicious | Self::Blocked => Tone::Bad,
            Self::Unscored => Tone::Info,
            Self::Scoring => Tone::Neutral,
        }
    }
}

/// One row of an event's activity feed: an access attempt (an opening, an answer or a
/// refused answer) as its host sees it. The REST API, the socket and the page share it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActivityItem {
    /// The access attempt's id (also in the access log).
    pub id: Uuid,
    pub kind: ActivityKind,
    pub guest_id: Uuid,
    pub guest_name: String,
    /// The invitation link used (what revoking or rotating acts on).
    pub link_id: Uuid,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// When, in the event's time zone, e.g. `Sat 12 Jun 2027, 18:04:09`.
    pub at_local: String,
    /// When the row last changed (it happened, or was scored): what `since` compares.
    pub changed_at: DateTime<Utc>,
    pub label: ActivityLabel,
    /// 0–100, once scored.
    pub risk_score: Option<i32>,
    pub risk: Option<RiskBand>,
    /// Stable reason codes, e.g. `fingerprint_mismatch`.
    pub reasons: Vec<String>,
    /// Whether hosts should look at it (the score reached the flag threshold).
    pub flagged: bool,
    /// The answer, for the guest's latest answer (`attending`, `declined`, `maybe`).
    pub response: Option<crate::rsvps::RsvpResponse>,
    pub plus_ones: Option<i32>,
    /// `confirmed`, `held` or `rejected`, for the guest's latest answer.
    pub status: Option<String>,
    /// The device's first eight digits, when the page reported a fingerprint.
    pub device: Option<String>,
    pub ip: Option<String>,
    /// The policy that decided an answer.
    pub policy: Option<String>,
}

/// The event's live counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActivityCounts {
    /// Guests whose confirmed answer is attending.
    pub attending: i64,
    pub declined: i64,
    pub maybe: i64,
    /// Guests without a confirmed answer (none yet, or held for review).
    pub pending: i64,
    /// Plus-ones of the attending guests.
    pub plus_ones: i64,
    /// Flagged attempts (openings and answers scored at or above the flag threshold).
    pub flagged: i64,
}

/// One page of the feed (`GET /api/v1/events/{id}/activity`), newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActivityPage {
    pub items: Vec<ActivityItem>,
    /// Pass as `before` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// The counters now.
    pub counts: ActivityCounts,
}

/// What the socket sends, one JSON text message each (`type` tells which).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// The socket is open and subscribed: whatever changes from now on is pushed.
    Ready,
    /// A row was added or changed (scored), with the counters after it.
    Activity {
        item: Box<ActivityItem>,
        counts: ActivityCounts,
    },
}

/// Close codes of the socket (4000–4999 are the application's own).
pub mod close {
    /// The host's session ended (signed out, expired): sign in again; do not reconnect.
    pub const SESSION_ENDED: u16 = 4001;
    /// The client read too slowly and fell behind: reconnect and catch up.
    pub const TOO_SLOW: u16 = 4008;
    /// The server is restarting (standard "service restart"): reconnect.
    pub const RESTARTING: u16 = 1012;
}
