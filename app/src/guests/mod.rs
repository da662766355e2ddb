//! Guests of an event: their fields, adding / editing / removing them, the guest list
//! with RSVP status, and CSV import and export.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod fields;

#[cfg(feature = "ssr")]
pub mod csv;
#[cfg(feature = "ssr")]
pub mod import;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod rest;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod store;

/// Where a guest's answer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum GuestStatus {
    Attending,
    Declined,
    Maybe,
    /// No answer yet (or the host rejected the answer).
    Pending,
    /// An answer held for the host's review: it does not count yet.
    Held,
}

impl GuestStatus {
    /// The lowercase name used in the API and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attending => "attending",
            Self::Declined => "declined",
            Self::Maybe => "maybe",
            Self::Pending => "pending",
            Self::Held => "held",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "attending" => Some(Self::Attending),
            "declined" => Some(Self::Declined),
            "maybe" => Some(Self::Maybe),
            "pending" => Some(Self::Pending),
            "held" => Some(Self::Held),
            _ => None,
        }
    }
}

/// A guest on an event's list, with their answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Guest {
    pub id: Uuid,
    pub event_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The guest's own limit; `None` means the event's default applies.
    pub max_plus_ones: Option<i32>,
    /// The limit that applies (own limit or the event's default).
    pub allowed_plus_ones: i32,
    pub status: GuestStatus,
    pub plus_ones: i32,
    pub note: String,
    pub responded_at: Option<DateTime<Utc>>,
    /// Fraud band of the answer (`low`, `medium`, `high`), `null` until it is scored
    /// (no answer yet, or the engine was unavailable and the answer waits for its score).
    pub risk: Option<crate::fraud::RiskBand>,
    /// Why the answer is held, when `status` is `held`: `engine_unavailable`,
    /// `blocked_after_outage`, `event_full`.
    pub held_reason: Option<String>,
    /// How many devices opened the guest's link since the host last reset its checks.
    pub devices: i64,
    /// Two or more devices opened the link and none is trusted: somebody else may have
    /// it (review the guest's devices).
    pub device_conflict: bool,
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/events/{id}/guests`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreateGuest {
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::person_name))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::email_or_none))]
    pub email: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::phone_or_none))]
    pub phone: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 20))]
    pub max_plus_ones: Option<i64>,
}

/// Counts shown above the guest list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GuestCounts {
    pub total: i64,
    pub attending: i64,
    pub declined: i64,
    pub maybe: i64,
    pub pending: i64,
    /// Answers held for review (not counted as attending).
    pub held: i64,
    /// Plus-ones of attending guests.
    pub plus_ones: i64,
}

/// Answer of `GET /api/v1/events/{id}/guests`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GuestList {
    pub guests: Vec<Guest>,
    /// Counts over the whole list (not only the filtered guests).
    pub counts: GuestCounts,
}

/// Answer of a CSV import.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// Guests added (0 when the file had errors and only a full import was asked).
    pub imported: usize,
    /// Problems, with the line number in the file.
    pub errors: Vec<ImportError>,
}

/// One problem of a CSV import.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportError {
    /// 1-based line in the file; 0 for problems of the whole file.
    pub line: usize,
    pub column: Option<String>,
    pub message: String,
}

/// Body of `PATCH /api/v1/events/{id}/guests/{guest_id}`: only the given fields change;
/// `null` clears `email`, `phone` and `max_plus_ones`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UpdateGuest {
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::person_name_or_null))]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::email_or_none))]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::phone_or_none))]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 20))]
    pub max_plus_ones: Option<Option<i64>>,
}

/// Distinguishes a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}
