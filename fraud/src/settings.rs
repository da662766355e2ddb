//! Typed configuration of the fraud engine, read once from the environment at startup.
//!
//! Development has explicit defaults pointing at the local stack of `scripts/dev.sh`.
//! Production (`GUESTGUARD_ENV=production`) refuses to start without a real fingerprint
//! key. Every weight, threshold and band edge of the heuristics has its default in
//! [`ScoringSettings::default`] and may be overridden here (`FRAUD_WEIGHT_*`, ...), and
//! so may the JetStream consumer's limits ([`ConsumerSettings::default`],
//! `FRAUD_CONSUMER_*`).

use crate::{consumer::ConsumerSettings, heuristics::ScoringSettings};
use proto::{grpc_auth, nats::Credentials};
use secrecy::SecretString;
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// Key of the fingerprint hashes used only in development; production refuses it.
pub const DEVELOPMENT_FINGERPRINT_KEY: &str =
    "development-only-fingerprint-key-do-not-use-in-production";
/// Shortest fingerprint key accepted in production, in bytes.
pub const MIN_FINGERPRINT_KEY_BYTES: usize = 32;

/// Why the settings could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("{name} must be set in production")]
    Missing { name: &'static str },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// A certificate chain and its private key, as PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything the fraud engine needs to know about its surroundings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address the gRPC server binds (`FRAUD_GRPC_ADDR`, default `127.0.0.1:50059`;
    /// port 0 picks a free port).
    pub grpc_addr: SocketAddr,
    /// NATS server holding the baselines (`NATS_URL`, default `nats://127.0.0.1:42229`).
    pub nats_url: String,
    /// Who the engine is on NATS (`NATS_USER` + `NATS_PASSWORD`, or `NATS_CREDS_FILE`;
    /// development: the `guestguard-fraud` user of the local stack).
    pub nats_credentials: Credentials,
    /// The shared secret the web server must present on every gRPC call
    /// (`FRAUD_GRPC_TOKEN`; required in production).
    pub grpc_token: SecretString,
    /// TLS of the gRPC port (`FRAUD_GRPC_TLS_CERT` + `FRAUD_GRPC_TLS_KEY`, PEM files);
    /// required in production unless the engine listens on loopback only.
    pub grpc_tls: Option<TlsFiles>,
    /// HMAC key of the stored fingerprint hashes (`FRAUD_FINGERPRINT_KEY`).
    pub fingerprint_key: SecretString,
    /// Weights, thresholds and band edges of the heuristics.
    pub scoring: ScoringSettings,
    /// Limits of the `access.attempted` consumer.
    pub consumer: ConsumerSettings,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Builds the settings from any variable lookup (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let production = match lookup("GUESTGUARD_ENV").as_deref() {
            None | Some("development") | Some("dev") => false,
            Some("production") | Some("prod") => true,
            Some(other) => {
                return Err(SettingsError::Invalid {
                    name: "GUESTGUARD_ENV",
                    reason: format!("expected development or production, got {other:?}"),
                })
            }
        };
        let grpc_addr: SocketAddr = lookup("FRAUD_GRPC_ADDR")
            .unwrap_or_else(|| "127.0.0.1:50059".to_owned())
            .parse()
            .map_err(|e: std::net::AddrParseError| SettingsError::Invalid {
                name: "FRAUD_GRPC_ADDR",
                reason: e.to_string(),
            })?;
        let nats_url = match lookup("NATS_URL") {
            Some(url) => url,
            None if production => return Err(SettingsError::Missing { name: "NATS_URL" }),
            None => "nats://127.0.0.1:42229".to_owned(),
        };
        let fingerprint_key = match lookup("FRAUD_FINGERPRINT_KEY") {
            Some(key) => key,
            None if production => {
                return Err(SettingsError::Missing {
                    name: "FRAUD_FINGERPRINT_KEY",
                })
            }
            None => DEVELOPMENT_FINGERPRINT_KEY.to_owned(),
        };
        if production {
            if fingerprint_key == DEVELOPMENT_FINGERPRINT_KEY {
                return Err(SettingsError::Invalid {
                    name: "FRAUD_FINGERPRINT_KEY",
                    reason: "the development key cannot be used in production".into(),
                });
            }
            if fingerprint_key.len() < MIN_FINGERPRINT_KEY_BYTES {
                return Err(SettingsError::Invalid {
                    name: "FRAUD_FINGERPRINT_KEY",
                    reason: format!("must be at least {MIN_FINGERPRINT_KEY_BYTES} bytes"),
                });
            }
        }
        let nats_credentials = Credentials::from_lookup(&lookup, proto::nats::ENGINE, production)
            .map_err(|proto::nats::CredentialsError::Missing(name)| {
            SettingsError::Missing { name }
        })?;
        let grpc_token = match lookup("FRAUD_GRPC_TOKEN") {
            Some(token) => token,
            None if production => {
                return Err(SettingsError::Missing {
                    name: "FRAUD_GRPC_TOKEN",
                })
            }
            None => grpc_auth::DEVELOPMENT_TOKEN.to_owned(),
        };
        if production
            && (grpc_token == grpc_auth::DEVELOPMENT_TOKEN
                || grpc_token.len() < grpc_auth::MIN_TOKEN_BYTES)
        {
            return Err(SettingsError::Invalid {
                name: "FRAUD_GRPC_TOKEN",
                reason: format!(
                    "must be at least {} bytes and not the development token",
                    grpc_auth::MIN_TOKEN_BYTES
                ),
            });
        }
        let grpc_tls = match (lookup("FRAUD_GRPC_TLS_CERT"), lookup("FRAUD_GRPC_TLS_KEY")) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.into(),
                key: key.into(),
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(SettingsError::Missing {
                    name: "FRAUD_GRPC_TLS_KEY",
                })
            }
            (None, Some(_)) => {
                return Err(SettingsError::Missing {
                    name: "FRAUD_GRPC_TLS_CERT",
                })
            }
        };
        if production && grpc_tls.is_none() && !grpc_addr.ip().is_loopback() {
            return Err(SettingsError::Missing {
                name: "FRAUD_GRPC_TLS_CERT",
            });
        }
        Ok(Self {
            grpc_addr,
            nats_url,
            nats_credentials,
            grpc_token: grpc_token.into(),
            grpc_tls,
            fingerprint_key: SecretString::from(fingerprint_key),
            scoring: scoring_from_lookup(&lookup)?,
            consumer: consumer_from_lookup(&lookup)?,
        })
    }

    /// Development settings on the given addresses (for tests that start the engine).
    pub fn development(grpc_addr: SocketAddr, nats_url: &str) -> Self {
        Self {
            grpc_addr,
            nats_url: nats_url.to_owned(),
            nats_credentials: Credentials::development(proto::nats::ENGINE),
            grpc_token: grpc_auth::DEVELOPMENT_TOKEN.into(),
            grpc_tls: None,
            fingerprint_key: SecretString::from(DEVELOPMENT_FINGERPRINT_KEY),
            scoring: ScoringSettings::default(),
            consumer: ConsumerSettings::default(),
        }
    }
}

/// Reads a whole number between `min` and `max`, or the default when unset.
fn bounded(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
    (min, max): (u32, u32),
) -> Result<u32, SettingsError> {
    match lookup(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|value| (min..=max).contains(value))
            .ok_or(SettingsError::Invalid {
                name,
                reason: format!("expected a whole number between {min} and {max}"),
            }),
    }
}

/// Applies the `FRAUD_CONSUMER_*` overrides to the default consumer settings.
fn consumer_from_lookup(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<ConsumerSettings, SettingsError> {
    let defaults = ConsumerSettings::default();
    Ok(ConsumerSettings {
        concurrency: bounded(
            lookup,
            "FRAUD_CONSUMER_CONCURRENCY",
            defaults.concurrency as u32,
            (1, 256),
        )? as usize,
        max_deliver: i64::from(bounded(
            lookup,
            "FRAUD_CONSUMER_MAX_DELIVER",
            defaults.max_deliver as u32,
            (1, 1_000),
        )?),
        ack_wait: Duration::from_secs(u64::from(bounded(
            lookup,
            "FRAUD_CONSUMER_ACK_WAIT_SECS",
            defaults.ack_wait.as_secs() as u32,
            (1, 3_600),
        )?)),
    })
}

/// Applies the `FRAUD_*` overrides to the default scoring settings.
fn scoring_from_lookup(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<ScoringSettings, SettingsError> {
    let mut s = ScoringSettings::default();
    let number = |name: &'static str, default: u32, max: u32| -> Result<u32, SettingsError> {
        match lookup(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|value| *value <= max)
                .ok_or(SettingsError::Invalid {
                    name,
                    reason: format!("expected a whole number between 0 and {max}"),
                }),
        }
    };
    // Every reason's weight, 0–100.
    for (name, weight) in [
        (
            "FRAUD_WEIGHT_FINGERPRINT_MISMATCH",
            &mut s.fingerprint_mismatch_weight,
        ),
        (
            "FRAUD_WEIGHT_IP_CHANGED_SAME_NETWORK",
            &mut s.same_network_ip_weight,
        ),
        ("FRAUD_WEIGHT_NEW_NETWORK", &mut s.new_network_weight),
        (
            "FRAUD_WEIGHT_MISSING_FINGERPRINT",
            &mut s.missing_fingerprint_weight,
        ),
        (
            "FRAUD_WEIGHT_JAVASCRIPT_DISABLED",
            &mut s.javascript_disabled_weight,
        ),
        (
            "FRAUD_WEIGHT_MISSING_USER_AGENT",
            &mut s.missing_user_agent_weight,
        ),
        (
            "FRAUD_WEIGHT_AUTOMATION_USER_AGENT",
            &mut s.automation_user_agent_weight,
        ),
        (
            "FRAUD_WEIGHT_REPEATED_ACCESS",
            &mut s.repeated_access_weight,
        ),
        ("FRAUD_WEIGHT_SHARED_DEVICE", &mut s.shared_device_weight),
        (
            "FRAUD_WEIGHT_NEW_DEVICE_AFTER_RSVP",
            &mut s.new_device_after_rsvp_weight,
        ),
    ] {
        *weight = number(name, *weight, 100)?;
    }
    s.repeated_access_threshold = number(
        "FRAUD_REPEATED_ACCESS_THRESHOLD",
        s.repeated_access_threshold,
        10_000,
    )?
    .max(1);
    let window_secs = number(
        "FRAUD_REPEATED_ACCESS_WINDOW_SECS",
        s.repeated_access_window.num_seconds() as u32,
        7 * 24 * 3600,
    )?;
    s.repeated_access_window = chrono::Duration::seconds(i64::from(window_secs.max(1)));
    s.shared_device_threshold = number(
        "FRAUD_SHARED_DEVICE_THRESHOLD",
        s.shared_device_threshold,
        10_000,
    )?
    .max(1);
    s.medium_from = number("FRAUD_BAND_MEDIUM_FROM", s.medium_from, 100)?;
    s.high_from = number("FRAUD_BAND_HIGH_FROM", s.high_from, 100)?;
    s.block_from = number("FRAUD_BAND_BLOCK_FROM", s.block_from, 100)?;
    s.flag_from = number("FRAUD_FLAG_FROM", s.flag_from, 100)?;
    if !(0 < s.medium_from && s.medium_from < s.high_from && s.high_from < s.block_from) {
        return Err(SettingsError::Invalid {
            name: "FRAUD_BAND_MEDIUM_FROM",
            reason: "band edges must rise: 0 < medium < high < block".into(),
        });
    }
    s.recent_access_limit = number(
        "FRAUD_RECENT_ACCESS_LIMIT",
        s.recent_access_limit as u32,
        1_000,
    )?
    .max(s.repeated_access_threshold) as usize;
    s.device_guest_limit = number(
        "FRAUD_DEVICE_GUEST_LIMIT",
        s.device_guest_limit as u32,
        1_000,
    )?
    .max(s.shared_device_threshold + 1) as usize;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn the_default_address_is_a_fixed_loopback_port() {
        let s = from(&[]).expect("defaults");
        assert_eq!(s.grpc_addr, "127.0.0.1:50059".parse().expect("addr"));
        assert_eq!(s.nats_url, "nats://127.0.0.1:42229");
        assert_eq!(s.scoring, ScoringSettings::default());
    }

    #[test]
    fn a_garbage_address_is_rejected_with_its_variable_name() {
        let err = from(&[("FRAUD_GRPC_ADDR", "not an address")]).expect_err("invalid");
        assert!(matches!(
            err,
            SettingsError::Invalid {
                name: "FRAUD_GRPC_ADDR",
                ..
            }
        ));
    }

    const SERVICE_CREDENTIALS: [(&str, &str); 3] = [
        ("NATS_USER", "guestguard-fraud"),
        ("NATS_PASSWORD", "a-real-nats-password"),
        ("FRAUD_GRPC_TOKEN", "a-real-grpc-token-of-at-least-32-bytes"),
    ];

    fn production(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars = vec![
            ("GUESTGUARD_ENV", "production"),
            ("NATS_URL", "nats://n:4"),
            (
                "FRAUD_FINGERPRINT_KEY",
                "a-real-production-key-of-enough-bytes!!",
            ),
        ];
        vars.extend(SERVICE_CREDENTIALS);
        for (name, value) in extra {
            vars.retain(|(key, _)| key != name);
            vars.push((name, value));
        }
        vars
    }

    #[test]
    fn production_refuses_to_start_without_service_credentials() {
        assert!(from(&production(&[])).is_ok());
        for missing in ["NATS_USER", "NATS_PASSWORD", "FRAUD_GRPC_TOKEN"] {
            let mut vars = production(&[]);
            vars.retain(|(name, _)| *name != missing);
            assert_eq!(
                from(&vars).expect_err(missing),
                SettingsError::Missing { name: missing }
            );
        }
        let weak = production(&[("FRAUD_GRPC_TOKEN", grpc_auth::DEVELOPMENT_TOKEN)]);
        assert!(from(&weak).is_err());
    }

    #[test]
    fn production_needs_tls_unless_the_engine_listens_on_loopback() {
        let exposed = production(&[("FRAUD_GRPC_ADDR", "0.0.0.0:50059")]);
        assert_eq!(
            from(&exposed).expect_err("no TLS"),
            SettingsError::Missing {
                name: "FRAUD_GRPC_TLS_CERT"
            }
        );
        let with_tls = production(&[
            ("FRAUD_GRPC_ADDR", "0.0.0.0:50059"),
            ("FRAUD_GRPC_TLS_CERT", "/run/secrets/fraud.crt"),
            ("FRAUD_GRPC_TLS_KEY", "/run/secrets/fraud.key"),
        ]);
        assert!(from(&with_tls).expect("TLS").grpc_tls.is_some());
        assert!(from(&production(&[])).expect("loopback").grpc_tls.is_none());
    }

    #[test]
    fn production_requires_a_real_fingerprint_key() {
        let base = [("GUESTGUARD_ENV", "production"), ("NATS_URL", "nats://n:4")];
        assert_eq!(
            from(&base).expect_err("missing"),
            SettingsError::Missing {
                name: "FRAUD_FINGERPRINT_KEY"
            }
        );
        let dev_key = production(&[("FRAUD_FINGERPRINT_KEY", DEVELOPMENT_FINGERPRINT_KEY)]);
        assert!(from(&dev_key).is_err());
        let short = production(&[("FRAUD_FINGERPRINT_KEY", "short")]);
        assert!(from(&short).is_err());
        assert!(from(&production(&[])).is_ok());
    }

    #[test]
    fn weights_and_band_edges_can_be_overridden() {
        let s = from(&[
            ("FRAUD_WEIGHT_FINGERPRINT_MISMATCH", "70"),
            ("FRAUD_BAND_HIGH_FROM", "50"),
            ("FRAUD_REPEATED_ACCESS_WINDOW_SECS", "60"),
        ])
        .expect("overrides");
        assert_eq!(s.scoring.fingerprint_mismatch_weight, 70);
        assert_eq!(s.scoring.high_from, 50);
        assert_eq!(
            s.scoring.repeated_access_window,
            chrono::Duration::seconds(60)
        );
    }

    #[test]
    fn out_of_range_or_unordered_overrides_are_rejected() {
        assert!(from(&[("FRAUD_WEIGHT_NEW_NETWORK", "500")]).is_err());
        assert!(from(&[("FRAUD_WEIGHT_NEW_NETWORK", "lots")]).is_err());
        assert!(from(&[("FRAUD_BAND_HIGH_FROM", "90")]).is_err());
    }

    #[test]
    fn the_consumer_limits_have_defaults_and_bounded_overrides() {
        assert_eq!(
            from(&[]).expect("defaults").consumer,
            ConsumerSettings::default()
        );
        let s = from(&[
            ("FRAUD_CONSUMER_CONCURRENCY", "4"),
            ("FRAUD_CONSUMER_MAX_DELIVER", "3"),
            ("FRAUD_CONSUMER_ACK_WAIT_SECS", "90"),
        ])
        .expect("overrides");
        assert_eq!(s.consumer.concurrency, 4);
        assert_eq!(s.consumer.max_deliver, 3);
        assert_eq!(s.consumer.ack_wait, Duration::from_secs(90));
        assert!(from(&[("FRAUD_CONSUMER_CONCURRENCY", "0")]).is_err());
        assert!(from(&[("FRAUD_CONSUMER_ACK_WAIT_SECS", "soon")]).is_err());
    }
}
