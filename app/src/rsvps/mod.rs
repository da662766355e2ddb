//! RSVPs: a guest's answer (attending / declined / maybe, plus-ones, a note), changeable
//! until the event's RSVP deadline, within the event's capacity, one per guest.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod calendar;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod rest;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod store;

/// Longest accepted note, in characters.
pub const NOTE_MAX_CHARS: usize = 1000;

/// A guest's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RsvpResponse {
    Attending,
    Declined,
    Maybe,
}

impl RsvpResponse {
    /// The lowercase name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attending => "attending",
            Self::Declined => "declined",
            Self::Maybe => "maybe",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "attending" => Some(Self::Attending),
            "declined" => Some(Self::Declined),
            "maybe" => Some(Self::Maybe),
            _ => None,
        }
    }
}

/// An answer in words, as the guest's page shows it: `attending with 1 guest`,
/// `not attending`, `maybe`.
pub fn describe_answer(response: RsvpResponse, plus_ones: i32) -> String {
    let guests = match plus_ones {
        n if n <= 0 => String::new(),
        1 => " with 1 guest".to_owned(),
        n => format!(" with {n} guests"),
    };
    match response {
        RsvpResponse::Attending => format!("attending{guests}"),
        RsvpResponse::Declined => "not attending".to_owned(),
        RsvpResponse::Maybe => format!("maybe{guests}"),
    }
}

/// Body of `POST /api/v1/rsvp/{token}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RsvpRequest {
    /// `attending`, `declined` or `maybe`.
    #[cfg_attr(feature = "ssr", schema(value_type = RsvpResponse))]
    pub response: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 20))]
    pub plus_ones: i64,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::note_or_null))]
    pub note: Option<String>,
    /// The opening of the link (`access_log_id` from `GET /api/v1/access/{token}`) whose
    /// browser signals apply to this answer; without it the answer is scored as coming
    /// from a client that reported none.
    #[serde(default)]
    pub access_log_id: Option<Uuid>,
}

/// A stored answer, as its guest sees it (no fraud score, band or reason: guests never
/// learn them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RsvpView {
    pub id: Uuid,
    pub response: RsvpResponse,
    pub plus_ones: i32,
    pub note: String,
    /// `confirmed`, or `held` while the host reviews it (it does not count yet), or
    /// `rejected` by the host (answer again).
    pub status: crate::fraud::policy::AnswerStatus,
    pub updated_at: DateTime<Utc>,
}

/// What a guest learns of their answer: it is recorded (confirmed or held for review).
/// Nothing else: the document says so (`additionalProperties: false`), which is what
/// tells a receipt from the host's [`RsvpDecision`] in [`RsvpAnswer`]'s `oneOf`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RsvpReceipt {
    pub rsvp: RsvpView,
}

/// What the event's host (with their API key or session) learns of an answer submitted
/// on a guest's behalf: the receipt and the whole fraud decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RsvpDecision {
    pub rsvp: RsvpView,
    /// The fraud check: `used` is `false` when the engine did not answer in time and the
    /// answer was recorded unscored (it is scored later).
    pub fraud: crate::fraud::FraudVerdict,
    /// The policy that decided, e.g. `standard`, `strict · shadow`,
    /// `engine unavailable: hold`.
    pub policy: String,
}

/// Answer of `POST /api/v1/rsvp/{token}`: a guest's receipt, or the host's decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum RsvpAnswer {
    /// The event's host calling with their credentials.
    Host(RsvpDecision),
    /// Anyone else (the guest).
    Guest(RsvpReceipt),
}

#[cfg(test)]
mod tests {
    use super::{describe_answer, RsvpResponse};

    #[test]
    fn answers_are_described_in_words() {
        assert_eq!(describe_answer(RsvpResponse::Attending, 0), "attending");
        assert_eq!(
            describe_answer(RsvpResponse::Attending, 1),
            "attending with 1 guest"
        );
        assert_eq!(
            describe_answer(RsvpResponse::Attending, 3),
            "attending with 3 guests"
        );
        assert_eq!(describe_answer(RsvpResponse::Declined, 2), "not attending");
        assert_eq!(describe_answer(RsvpResponse::Maybe, 0), "maybe");
    }
}
