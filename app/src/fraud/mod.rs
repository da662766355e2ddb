//! Fraud scores as the application sees them: the band of a score and what hosts call
//! it, and the verdict given on an RSVP.
//!
//! - [`client`]: the synchronous `Score` call of an RSVP, with its deadline, and the
//!   host's trust decisions sent to the engine.
//! - [`breaker`]: the circuit breaker that skips the `Score` call while the engine keeps
//!   failing.
//! - [`policy`]: each event's fraud policy and what it decides for an answer.
//! - [`scores`]: the consumer of `fraud.scored`, which stores the engine's asynchronous
//!   scores on the access log (and on answers that could not be scored in time).
//! - [`devices`]: keyed device hashes, a guest's devices and the host's trust decisions.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod breaker;
#[cfg(feature = "ssr")]
pub mod client;
pub mod devices;
pub mod policy;
#[cfg(feature = "ssr")]
pub mod scores;

/// Reason code of an answer recorded without a score because the engine was slow, down
/// or failing.
pub const SCORING_UNAVAILABLE: &str = "scoring_unavailable";

/// How risky an access is: low 0–29, medium 30–59, high 60–84, block 85–100 (the
/// engine's bands, configurable there).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RiskBand {
    Low,
    Medium,
    High,
    Block,
}

impl RiskBand {
    /// The lowercase name used in the API, the database and the events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Block => "block",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "low" => Some(Self::Low),
            "medium" => Some(Self::Medium),
            "high" => Some(Self::High),
            "block" => Some(Self::Block),
            _ => None,
        }
    }

    /// The colour of the band's badge.
    pub fn tone(self) -> crate::components::Tone {
        use crate::components::Tone;
        match self {
            Self::Low => Tone::Good,
            Self::Medium => Tone::Warning,
            Self::High | Self::Block => Tone::Bad,
        }
    }

    /// What hosts see: Verified, Review, Suspicious or Blocked.
    pub fn label(self) -> &'static str {
        match self {
            Self::Low => "Verified",
            Self::Medium => "Review",
            Self::High => "Suspicious",
            Self::Block => "Blocked",
        }
    }
}

/// A sentence explaining one of the engine's reason codes to a host (alerts, emails).
pub fn explain_reason(code: &str) -> &'static str {
    match code {
        "fingerprint_mismatch" => "opened from a device other than the guest's trusted one",
        "fingerprint_withheld" => {
            "the browser sent no fingerprint although the guest has a trusted device"
        }
        "new_device_after_rsvp" => "a new device after the guest had already answered",
        "device_conflict" => "several devices opened the link and none is trusted yet",
        "ip_changed_same_network" => "a different address on the guest's usual network",
        "new_network" => "a network the guest has not used before",
        "missing_fingerprint" => "the page could not compute a device fingerprint",
        "javascript_disabled" => "JavaScript did not run in the page",
        "missing_user_agent" => "the browser did not say what it is",
        "automation_user_agent" => "the browser names itself a script, headless browser or bot",
        "automation_signals" => "the page saw signs of an automated browser",
        "repeated_access" => "the link was opened many times in a short while",
        "shared_device" => "one device opened several guests' links",
        "rotating_fingerprints" => {
            "one browser showed a new fingerprint for each of several guests"
        }
        "scoring_unavailable" => "the fraud check was unavailable",
        _ => "an unusual sign",
    }
}

/// The fraud check of one RSVP, as the answer to it reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FraudVerdict {
    /// Whether the engine's score decided the answer; `false` when scoring was
    /// unavailable and the answer was recorded unscored (fail open).
    pub used: bool,
    /// 0 (no risk) to 100, when the engine answered.
    pub score: Option<u32>,
    /// The band of the score, when the engine answered.
    pub risk: Option<RiskBand>,
    /// Stable reason codes (e.g. `fingerprint_mismatch`); `scoring_unavailable` when
    /// the engine did not answer in time.
    pub reasons: Vec<String>,
    /// Whether hosts should look at this answer (the score reached the flag threshold).
    pub flagged: bool,
    /// Why scoring was unavailable, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

impl FraudVerdict {
    /// A verdict from the engine's answer.
    pub fn scored(score: u32, risk: RiskBand, reasons: Vec<String>, flagged: bool) -> Self {
        Self {
            used: true,
            score: Some(score),
            risk: Some(risk),
            reasons,
            flagged,
            unavailable: None,
        }
    }

    /// No score: the engine was slow, down or failing (`why` says which).
    pub fn unavailable(why: impl Into<String>) -> Self {
        Self {
            used: false,
            score: None,
            risk: None,
            reasons: vec![SCORING_UNAVAILABLE.to_owned()],
            flagged: false,
            unavailable: Some(why.into()),
        }
    }

    /// Whether the answer must be refused.
    pub fn blocks(&self) -> bool {
        self.used && self.risk == Some(RiskBand::Block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_have_stable_names_and_host_labels() {
        for band in [
            RiskBand::Low,
            RiskBand::Medium,
            RiskBand::High,
            RiskBand::Block,
        ] {
            assert_eq!(RiskBand::parse(band.as_str()), Some(band));
        }
        assert_eq!(RiskBand::Low.label(), "Verified");
        assert_eq!(RiskBand::Medium.label(), "Review");
        assert_eq!(RiskBand::High.label(), "Suspicious");
        assert_eq!(RiskBand::Block.label(), "Blocked");
        assert_eq!(RiskBand::parse("BLOCK"), None);
    }

    #[test]
    fn only_a_used_block_score_blocks() {
        assert!(FraudVerdict::scored(90, RiskBand::Block, vec![], true).blocks());
        assert!(!FraudVerdict::scored(70, RiskBand::High, vec![], true).blocks());
        let unavailable = FraudVerdict::unavailable("the engine did not answer");
        assert!(!unavailable.blocks());
        assert_eq!(unavailable.reasons, [SCORING_UNAVAILABLE]);
    }
}
