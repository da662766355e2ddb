//! A host reviewing what the fraud checks saw of a guest, and correcting them: the
//! guest's devices (the conflict of a link opened on several devices, approving the
//! guest's own device), resetting what the engine learned about the guest, accepting or
//! rejecting an answer held for review, the audit trail of every such decision, and the
//! guest's data on request (export).
//!
//! Routes (under `/api/v1/events/{id}`, host only):
//!
//! | route | what |
//! |---|---|
//! | `GET /held` | the event's answers held for review, oldest first |
//! | `GET /guests/{guest_id}/devices` | the guest's devices since the last reset, and whether they conflict |
//! | `POST /guests/{guest_id}/devices/{device_key}/approve` | trust this device (the engine first, then here) |
//! | `POST /guests/{guest_id}/reset` | the engine forgets the guest; the next answer is scored fresh |
//! | `POST /guests/{guest_id}/answer/accept`, `.../reject` | decide a held answer |
//! | `GET /guests/{guest_id}/audit` | every decision about the guest, newest first |
//! | `GET /guests/{guest_id}/export` | everything stored about the guest, as JSON |

use crate::{access::LoggedAccess, fraud::devices::GuestDevices, guests::Guest};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod pages;
#[cfg(feature = "ssr")]
pub mod rest;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod store;

/// A host's decision about a guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    DeviceApproved,
    BaselineReset,
    LinkRotated,
    AnswerAccepted,
    AnswerRejected,
}

impl AuditAction {
    /// The snake-case name stored and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeviceApproved => "device_approved",
            Self::BaselineReset => "baseline_reset",
            Self::LinkRotated => "link_rotated",
            Self::AnswerAccepted => "answer_accepted",
            Self::AnswerRejected => "answer_rejected",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::DeviceApproved,
            Self::BaselineReset,
            Self::LinkRotated,
            Self::AnswerAccepted,
            Self::AnswerRejected,
        ]
        .into_iter()
        .find(|action| action.as_str() == value)
    }

    /// What the host reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::DeviceApproved => "Device approved",
            Self::BaselineReset => "Fraud checks reset",
            Self::LinkRotated => "Link rotated",
            Self::AnswerAccepted => "Held answer accepted",
            Self::AnswerRejected => "Held answer rejected",
        }
    }
}

/// One entry of a guest's audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub action: AuditAction,
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// An answer held for the host's review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HeldAnswer {
    pub guest_id: Uuid,
    pub guest_name: String,
    pub response: crate::rsvps::RsvpResponse,
    pub plus_ones: i32,
    pub note: String,
    /// `engine_unavailable`, `blocked_after_outage` or `event_full`.
    pub reason: String,
    /// The reason in a sentence.
    pub explanation: String,
    /// The score, once the engine gave it.
    pub risk_score: Option<i32>,
    pub risk: Option<crate::fraud::RiskBand>,
    pub answered_at: DateTime<Utc>,
}

/// What the host sees when reviewing one guest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestReview {
    pub devices: GuestDevices,
    pub audit: Vec<AuditEntry>,
}

/// Everything GuestGuard stores about a guest (`GET .../guests/{guest_id}/export`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GuestExport {
    pub guest: Guest,
    /// The guest's answer, with its status.
    pub answer: Option<crate::rsvps::RsvpView>,
    /// Every opening and answer, newest first (devices as keyed hashes only).
    pub access_attempts: Vec<LoggedAccess>,
    pub audit: Vec<AuditEntry>,
    pub exported_at: DateTime<Utc>,
}
