//! Devices as GuestGuard knows them: the browser computes a fingerprint (SHA-256, 64 hex
//! digits) and the web server turns it at once into a *device key* — HMAC-SHA256 under
//! `GUESTGUARD_FINGERPRINT_KEY` — the only form ever stored, logged or sent to the
//! engine. The page also reports signs of automation from a fixed vocabulary.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Signs of automation the guest's page may report (see `access/signals.rs`).
pub const AUTOMATION_TRAITS: [&str; 7] = [
    // `navigator.webdriver` is set: a browser driven by WebDriver or DevTools.
    "webdriver",
    // The user agent names a headless browser.
    "headless",
    // No plugins at all (every desktop browser lists its PDF viewer).
    "no_plugins",
    // No preferred languages.
    "no_languages",
    // The window has no outer size.
    "zero_window",
    // The screen has no size.
    "screen_zero",
    // The time zone contradicts the offset the clock keeps.
    "timezone_mismatch",
];

/// One device that opened a guest's link, as the host sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GuestDevice {
    /// The device key (64 hex digits), as on the access log.
    pub device_key: String,
    /// Its first eight digits, for people.
    pub label: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// How many times it opened the link.
    pub openings: i64,
    pub last_ip: Option<String>,
    pub user_agent: String,
    /// The device the guest answered from, or the host approved.
    pub trusted: bool,
    /// The band of its latest scored attempt.
    pub last_risk: Option<super::RiskBand>,
}

/// A guest's devices since the host last reset what the engine learned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GuestDevices {
    pub guest_id: uuid::Uuid,
    pub devices: Vec<GuestDevice>,
    /// More than one device opened the link and none is trusted yet: somebody else
    /// may have the guest's link. Approve the guest's own device, reset, or rotate.
    pub conflict: bool,
}

impl GuestDevices {
    /// Whether `devices` make a conflict: two or more, none trusted.
    pub fn is_conflict(devices: &[GuestDevice]) -> bool {
        devices.len() >= 2 && !devices.iter().any(|device| device.trusted)
    }
}

/// The first eight digits of a device key.
pub fn label(device_key: &str) -> String {
    device_key.chars().take(8).collect()
}

#[cfg(feature = "ssr")]
pub use keyed::{automation, device_key};

#[cfg(feature = "ssr")]
mod keyed {
    use super::AUTOMATION_TRAITS;
    use crate::error::AppError;
    use hmac::{Hmac, Mac};
    use secrecy::{ExposeSecret, SecretString};
    use sha2::Sha256;
    use std::fmt::Write as _;

    /// The device key of a fingerprint the page reported: the fingerprint must be a
    /// SHA-256 in hex (64 digits, either case); 422 `invalid_fingerprint` otherwise.
    pub fn device_key(key: &SecretString, fingerprint: &str) -> Result<String, AppError> {
        let fingerprint = fingerprint.trim().to_ascii_lowercase();
        if fingerprint.len() != 64 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::invalid(
                "fingerprint_hash",
                "invalid_fingerprint",
                "the fingerprint must be a SHA-256 digest: 64 hexadecimal digits",
            ));
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes())
            .map_err(|_| AppError::Internal)?;
        mac.update(fingerprint.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in mac.finalize().into_bytes() {
            let _ = write!(hex, "{byte:02x}");
        }
        Ok(hex)
    }

    /// The page's automation signs, each once and in a stable order; 422
    /// `invalid_automation` for a sign outside the vocabulary.
    pub fn automation(reported: &[String]) -> Result<Vec<String>, AppError> {
        if let Some(unknown) = reported
            .iter()
            .find(|sign| !AUTOMATION_TRAITS.contains(&sign.as_str()))
        {
            return Err(AppError::invalid(
                "automation",
                "invalid_automation",
                format!(
                    "unknown automation sign {:?}; known: {}",
                    unknown.chars().take(32).collect::<String>(),
                    AUTOMATION_TRAITS.join(", ")
                ),
            ));
        }
        Ok(AUTOMATION_TRAITS
            .iter()
            .filter(|known| reported.iter().any(|sign| sign == *known))
            .map(|known| (*known).to_owned())
            .collect())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        const FINGERPRINT: &str =
            "5f1c0e1b7a3d4c2e9b8a7f6e5d4c3b2a1908f7e6d5c4b3a2918f7e6d5c4b3a29";

        #[test]
        fn a_device_key_is_keyed_and_never_the_fingerprint() {
            let one = device_key(&"key one".into(), FINGERPRINT).expect("valid");
            let two = device_key(&"key two".into(), FINGERPRINT).expect("valid");
            assert_eq!(one.len(), 64);
            assert_ne!(one, two);
            assert_ne!(one, FINGERPRINT);
            assert_eq!(
                one,
                device_key(&"key one".into(), &FINGERPRINT.to_uppercase()).expect("valid"),
                "the digest's case does not matter"
            );
        }

        #[test]
        fn anything_but_a_sha256_digest_is_refused() {
            for bad in [
                "",
                "laptop",
                &FINGERPRINT[..63],
                &format!("{FINGERPRINT}0"),
                &FINGERPRINT.replace('a', "g"),
            ] {
                let error = device_key(&"k".into(), bad).expect_err(bad);
                assert_eq!(error.code(), "invalid_fingerprint");
            }
        }

        #[test]
        fn automation_signs_come_from_the_vocabulary_once_each() {
            let signs = automation(&["no_plugins".into(), "webdriver".into(), "webdriver".into()])
                .expect("known");
            assert_eq!(signs, ["webdriver", "no_plugins"]);
            assert_eq!(
                automation(&["i-am-a-bot".into()])
                    .expect_err("unknown")
                    .code(),
                "invalid_automation"
            );
        }
    }
}
