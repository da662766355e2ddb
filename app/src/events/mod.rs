//! Events of a host: name, slug (unique per host), date and time with its time zone,
//! venue, description, optional capacity and RSVP deadline, default plus-ones.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

pub mod pages;
#[cfg(feature = "ssr")]
pub mod rest;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod validate;

/// An event as hosts and integrations see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Event {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    /// When the event starts (RFC 3339, UTC).
    pub event_date: DateTime<Utc>,
    /// IANA time zone the event happens in, e.g. `Europe/Paris`.
    pub time_zone: String,
    pub venue: String,
    pub description: String,
    pub capacity: Option<i32>,
    pub rsvp_deadline: Option<DateTime<Utc>>,
    pub default_max_plus_ones: i32,
    /// What the fraud checks do with this event's answers.
    #[cfg_attr(feature = "ssr", sqlx(flatten))]
    pub fraud_policy: crate::fraud::policy::FraudPolicy,
    /// The language of guests' emails: `en`, `fr`, `es` or `de`.
    pub language: String,
    /// Guests who have not answered get a reminder this many hours before the RSVP
    /// deadline (or the start, without one); `None`: no reminder.
    pub reminder_hours: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/events`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreateEvent {
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::event_name))]
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::slug))]
    pub slug: String,
    /// RFC 3339, e.g. `2027-06-12T18:00:00+02:00`.
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::date_time))]
    pub event_date: String,
    /// Defaults to `UTC`.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::time_zone_or_null))]
    pub time_zone: Option<String>,
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::venue))]
    pub venue: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::event_description_or_null))]
    pub description: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 1_000_000))]
    pub capacity: Option<i64>,
    /// RFC 3339.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::date_time_or_null))]
    pub rsvp_deadline: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 20))]
    pub default_max_plus_ones: Option<i64>,
    /// Defaults: accept answers when the engine is unavailable, standard sensitivity,
    /// shadow mode off.
    #[serde(default)]
    pub fraud_policy: Option<crate::fraud::policy::FraudPolicy>,
    /// Language of guests' emails: `en` (default), `fr`, `es` or `de`.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::language_or_null))]
    pub language: Option<String>,
    /// Remind guests who have not answered this many hours (1 to 720) before the RSVP
    /// deadline (or the start); none by default.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 720))]
    pub reminder_hours: Option<i64>,
}

/// Body of `PATCH /api/v1/events/{id}`: only the given fields change; `null` clears
/// `capacity`, `rsvp_deadline` and `reminder_hours`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UpdateEvent {
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::event_name_or_null))]
    pub name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::slug_or_null))]
    pub slug: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::date_time_or_null))]
    pub event_date: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::time_zone_or_null))]
    pub time_zone: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::venue_or_null))]
    pub venue: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::event_description_or_null))]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 1_000_000))]
    pub capacity: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::date_time_or_null))]
    pub rsvp_deadline: Option<Option<String>>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 20))]
    pub default_max_plus_ones: Option<i64>,
    /// Only the given fields of the policy change.
    #[serde(default)]
    pub fraud_policy: Option<crate::fraud::policy::PolicyChange>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::language_or_null))]
    pub language: Option<String>,
    /// `null` turns the reminder off.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 720))]
    pub reminder_hours: Option<Option<i64>>,
}

/// The languages guests' emails can be written in, with their names.
pub const LANGUAGES: [(&str, &str); 4] = [
    ("en", "English"),
    ("fr", "Français"),
    ("es", "Español"),
    ("de", "Deutsch"),
];

/// Distinguishes a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}
