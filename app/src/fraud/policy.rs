//! Each event's fraud policy, set by its host on the event form or through the API,
//! and what it decides for an answer:
//!
//! | the engine...            | shadow off                         | shadow on               |
//! |--------------------------|------------------------------------|-------------------------|
//! | scored below block       | recorded (confirmed)               | recorded                |
//! | scored in the block band | refused (403), nothing recorded    | recorded, flagged       |
//! | was slow, down, failing  | by `on_engine_unavailable`: accept (recorded, scored later; a later block score moves it to "held"), hold (held until scored: confirmed then unless the score blocks), refuse (503, nothing recorded) | accept |
//!
//! A held answer does not count towards capacity or attending totals until the host
//! accepts it. The sensitivity preset chooses the engine's band edges (relaxed /
//! standard / strict); the score itself does not change.

use serde::{Deserialize, Serialize};

/// How readily scores count as risky.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    /// Higher band edges: fewer answers in Review or Suspicious.
    Relaxed,
    #[default]
    Standard,
    /// Lower band edges: more answers reviewed, refused earlier.
    Strict,
}

/// What happens to an answer the engine could not score in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum WhenUnavailable {
    /// Record it and score it later (a later block score holds it for review).
    #[default]
    Accept,
    /// Hold it for review until it is scored.
    Hold,
    /// Refuse it: the guest is asked to try again in a few minutes.
    Refuse,
}

/// An event's fraud policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FraudPolicy {
    #[serde(default)]
    pub on_engine_unavailable: WhenUnavailable,
    #[serde(default)]
    pub sensitivity: Sensitivity,
    /// Score and show, never refuse or hold.
    #[serde(default)]
    pub shadow: bool,
}

#[cfg(feature = "ssr")]
impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for FraudPolicy {
    /// From the `events` columns `fraud_on_unavailable`, `fraud_sensitivity` and
    /// `fraud_shadow`.
    fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row as _;
        let on: String = row.try_get("fraud_on_unavailable")?;
        let sensitivity: String = row.try_get("fraud_sensitivity")?;
        Ok(Self {
            on_engine_unavailable: WhenUnavailable::parse(&on).unwrap_or_default(),
            sensitivity: Sensitivity::parse(&sensitivity).unwrap_or_default(),
            shadow: row.try_get("fraud_shadow")?,
        })
    }
}

/// Body of a policy change (`fraud_policy` in `PATCH /api/v1/events/{id}`): only the
/// given fields change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PolicyChange {
    #[serde(default)]
    pub on_engine_unavailable: Option<WhenUnavailable>,
    #[serde(default)]
    pub sensitivity: Option<Sensitivity>,
    #[serde(default)]
    pub shadow: Option<bool>,
}

impl Sensitivity {
    /// The lowercase name used in the API, the database and the events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relaxed => "relaxed",
            Self::Standard => "standard",
            Self::Strict => "strict",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "relaxed" => Some(Self::Relaxed),
            "standard" => Some(Self::Standard),
            "strict" => Some(Self::Strict),
            _ => None,
        }
    }
}

impl WhenUnavailable {
    /// The lowercase name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Hold => "hold",
            Self::Refuse => "refuse",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "accept" => Some(Self::Accept),
            "hold" => Some(Self::Hold),
            "refuse" => Some(Self::Refuse),
            _ => None,
        }
    }
}

impl FraudPolicy {
    /// The policy with `change` applied.
    pub fn with(self, change: PolicyChange) -> Self {
        Self {
            on_engine_unavailable: change
                .on_engine_unavailable
                .unwrap_or(self.on_engine_unavailable),
            sensitivity: change.sensitivity.unwrap_or(self.sensitivity),
            shadow: change.shadow.unwrap_or(self.shadow),
        }
    }

    /// How the access log names the policy that decided an answer the engine scored:
    /// `standard`, `strict · shadow`.
    pub fn describe(&self) -> String {
        let mut text = self.sensitivity.as_str().to_owned();
        if self.shadow {
            text.push_str(" · shadow");
        }
        text
    }

    /// How the access log names the policy that decided an answer the engine could
    /// not score: `engine unavailable: hold`.
    pub fn describe_unavailable(&self) -> String {
        let mode = if self.shadow {
            WhenUnavailable::Accept
        } else {
            self.on_engine_unavailable
        };
        format!("engine unavailable: {}", mode.as_str())
    }
}

/// Where a recorded answer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AnswerStatus {
    /// Counts towards capacity and totals.
    Confirmed,
    /// Waits for the host's review; does not count.
    Held,
    /// The host rejected it; the guest may answer again.
    Rejected,
}

impl AnswerStatus {
    /// The lowercase name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Held => "held",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "confirmed" => Some(Self::Confirmed),
            "held" => Some(Self::Held),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// Why an answer is held.
pub mod held {
    /// The engine could not score it and the event holds such answers.
    pub const ENGINE_UNAVAILABLE: &str = "engine_unavailable";
    /// Recorded while the engine was unavailable, then scored in the block band.
    pub const BLOCKED_AFTER_OUTAGE: &str = "blocked_after_outage";
    /// Scored fine after an outage, but the event filled up meanwhile.
    pub const EVENT_FULL: &str = "event_full";

    /// A sentence for the host.
    pub fn describe(reason: &str) -> &'static str {
        match reason {
            ENGINE_UNAVAILABLE => "Held: the fraud check was unavailable when the guest answered.",
            BLOCKED_AFTER_OUTAGE => {
                "Held: answered while the fraud check was down, then scored as blocked."
            }
            EVENT_FULL => "Held: scored fine after an outage, but the event is full now.",
            _ => "Held for your review.",
        }
    }
}

/// What an answer's fraud check decides under an event's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Record it with this status (and, when held, why).
    Record {
        status: AnswerStatus,
        held_reason: Option<&'static str>,
    },
    /// Refuse it: the engine scored it in the block band.
    RefuseBlocked,
    /// Refuse it: the engine was unavailable and the event refuses such answers.
    RefuseUnavailable,
}

impl FraudPolicy {
    /// The decision for an answer the engine scored (`blocks`: in the block band) or
    /// could not score (`scored` false).
    pub fn decide(&self, scored: bool, blocks: bool) -> Decision {
        let confirmed = Decision::Record {
            status: AnswerStatus::Confirmed,
            held_reason: None,
        };
        match (scored, blocks, self.shadow) {
            (_, _, true) => confirmed,
            (true, true, false) => Decision::RefuseBlocked,
            (true, false, false) => confirmed,
            (false, _, false) => match self.on_engine_unavailable {
                WhenUnavailable::Accept => confirmed,
                WhenUnavailable::Hold => Decision::Record {
                    status: AnswerStatus::Held,
                    held_reason: Some(held::ENGINE_UNAVAILABLE),
                },
                WhenUnavailable::Refuse => Decision::RefuseUnavailable,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIRMED: Decision = Decision::Record {
        status: AnswerStatus::Confirmed,
        held_reason: None,
    };

    fn policy(on: WhenUnavailable, shadow: bool) -> FraudPolicy {
        FraudPolicy {
            on_engine_unavailable: on,
            sensitivity: Sensitivity::Standard,
            shadow,
        }
    }

    #[test]
    fn a_block_score_refuses_unless_the_event_only_watches() {
        assert_eq!(
            policy(WhenUnavailable::Accept, false).decide(true, true),
            Decision::RefuseBlocked
        );
        assert_eq!(
            policy(WhenUnavailable::Accept, true).decide(true, true),
            CONFIRMED
        );
        assert_eq!(
            policy(WhenUnavailable::Refuse, false).decide(true, false),
            CONFIRMED
        );
    }

    #[test]
    fn an_unscored_answer_is_accepted_held_or_refused_as_the_event_says() {
        assert_eq!(
            policy(WhenUnavailable::Accept, false).decide(false, false),
            CONFIRMED
        );
        assert_eq!(
            policy(WhenUnavailable::Hold, false).decide(false, false),
            Decision::Record {
                status: AnswerStatus::Held,
                held_reason: Some(held::ENGINE_UNAVAILABLE)
            }
        );
        assert_eq!(
            policy(WhenUnavailable::Refuse, false).decide(false, false),
            Decision::RefuseUnavailable
        );
        assert_eq!(
            policy(WhenUnavailable::Refuse, true).decide(false, false),
            CONFIRMED
        );
    }

    #[test]
    fn a_partial_change_keeps_the_rest_and_names_read_back() {
        let changed = FraudPolicy::default().with(PolicyChange {
            shadow: Some(true),
            ..Default::default()
        });
        assert!(changed.shadow);
        assert_eq!(changed.sensitivity, Sensitivity::Standard);
        assert_eq!(changed.describe(), "standard · shadow");
        assert_eq!(
            policy(WhenUnavailable::Hold, false).describe_unavailable(),
            "engine unavailable: hold"
        );
        for name in ["relaxed", "standard", "strict"] {
            assert_eq!(
                Sensitivity::parse(name).map(Sensitivity::as_str),
                Some(name)
            );
        }
        for name in ["accept", "hold", "refuse"] {
            assert_eq!(
                WhenUnavailable::parse(name).map(WhenUnavailable::as_str),
                Some(name)
            );
        }
    }
}
