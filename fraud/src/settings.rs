//! Typed configuration of the fraud engine, read once from the environment at startup.
//!
//! Development has explicit defaults pointing at the local stack of `scripts/dev.sh`.
//! Production (`GUESTGUARD_ENV=production`) refuses to start without NATS, its
//! credentials and a real service token. Every weight, curve, threshold and band edge
//! of the heuristics has its default in [`ScoringSettings::default`] and may be
//! overridden here (`FRAUD_WEIGHT_*`, ...), and so may the retention and bucket sizes
//! ([`StoreSettings::default`]) and the JetStream consumers' limits
//! ([`ConsumerSettings::default`], `FRAUD_CONSUMER_*`).
//!
//! The engine holds no fingerprint key: device keys arrive already keyed by the web
//! server and are stored as they came.

use crate::{
    baselines::StoreSettings,
    consumer::ConsumerSettings,
    heuristics::{BandEdges, Curve, ScoringSettings},
};
use proto::{grpc_auth, nats::Credentials};
use secrecy::SecretString;
use std::{net::SocketAddr, path::PathBuf, time::Duration};

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
    /// Weights, curves, thresholds and band edges of the heuristics.
    pub scoring: ScoringSettings,
    /// Retention of what the engine learns and the size of its buckets.
    pub store: StoreSettings,
    /// Limits of the `access.attempted` and `guest.forgotten` consumers.
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
            scoring: scoring_from_lookup(&lookup)?,
            store: store_from_lookup(&lookup)?,
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
            scoring: ScoringSettings::default(),
            store: StoreSettings::default(),
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

/// Reads a whole number of bytes between 1 MiB and 1 TiB, or the default when unset.
fn bytes(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: i64,
) -> Result<i64, SettingsError> {
    const RANGE: (i64, i64) = (1 << 20, 1 << 40);
    match lookup(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|value| (RANGE.0..=RANGE.1).contains(value))
            .ok_or(SettingsError::Invalid {
                name,
                reason: format!(
                    "expected a number of bytes between {} and {}",
                    RANGE.0, RANGE.1
                ),
            }),
    }
}

/// Applies the retention and bucket-size overrides to the default store settings.
fn store_from_lookup(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<StoreSettings, SettingsError> {
    const DAY: u64 = 24 * 60 * 60;
    let defaults = StoreSettings::default();
    let days = |name: &'static str, default: Duration| -> Result<Duration, SettingsError> {
        let default = u32::try_from(default.as_secs() / DAY).unwrap_or(u32::MAX);
        let days = bounded(lookup, name, default, (1, 3_650))?;
        Ok(Duration::from_secs(u64::from(days) * DAY))
    };
    Ok(StoreSettings {
        retention_after_event: days(
            "FRAUD_RETENTION_AFTER_EVENT_DAYS",
            defaults.retention_after_event,
        )?,
        retention_default: days("FRAUD_RETENTION_DEFAULT_DAYS", defaults.retention_default)?,
        baselines_max_bytes: bytes(
            lookup,
            "FRAUD_BASELINES_MAX_BYTES",
            defaults.baselines_max_bytes,
        )?,
        results_max_bytes: bytes(
            lookup,
            "FRAUD_RESULTS_MAX_BYTES",
            defaults.results_max_bytes,
        )?,
    })
}

/// Reads a growing weight: its base `FRAUD_WEIGHT_<REASON>`, its `FRAUD_<REASON>_STEP`
/// per count past the threshold and its cap `FRAUD_<REASON>_MAX`.
fn curve(
    lookup: &impl Fn(&str) -> Option<String>,
    [base, step, max]: [&'static str; 3],
    default: Curve,
) -> Result<Curve, SettingsError> {
    Ok(Curve {
        base: bounded(lookup, base, default.base, (0, 100))?,
        step: bounded(lookup, step, default.step, (0, 100))?,
        max: bounded(lookup, max, default.max, (0, 100))?,
    })
}

/// Reads one preset's band edges (`<prefix>MEDIUM_FROM`, `_HIGH_FROM`, `_BLOCK_FROM`
/// and `flag`), which must rise: 0 < medium < high < block.
fn band_edges(
    lookup: &impl Fn(&str) -> Option<String>,
    [medium, high, block, flag]: [&'static str; 4],
    default: BandEdges,
) -> Result<BandEdges, SettingsError> {
    let edges = BandEdges {
        medium_from: bounded(lookup, medium, default.medium_from, (0, 100))?,
        high_from: bounded(lookup, high, default.high_from, (0, 100))?,
        block_from: bounded(lookup, block, default.block_from, (0, 100))?,
        flag_from: bounded(lookup, flag, default.flag_from, (0, 100))?,
    };
    if !(0 < edges.medium_from
        && edges.medium_from < edges.high_from
        && edges.high_from < edges.block_from)
    {
        return Err(SettingsError::Invalid {
            name: medium,
            reason: "band edges must rise: 0 < medium < high < block".into(),
        });
    }
    Ok(edges)
}

/// Reads a window in seconds (1 s to a week).
fn window(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: chrono::Duration,
) -> Result<chrono::Duration, SettingsError> {
    let default = u32::try_from(default.num_seconds()).unwrap_or(u32::MAX);
    let secs = bounded(lookup, name, default, (1, 7 * 24 * 3600))?;
    Ok(chrono::Duration::seconds(i64::from(secs)))
}

/// Applies the `FRAUD_*` overrides to the default scoring settings.
fn scoring_from_lookup(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<ScoringSettings, SettingsError> {
    let mut s = ScoringSettings::default();
    // Every fixed weight, 0–100.
    for (name, weight) in [
        (
            "FRAUD_WEIGHT_FINGERPRINT_MISMATCH",
            &mut s.fingerprint_mismatch_weight,
        ),
        (
            "FRAUD_WEIGHT_NEW_DEVICE_AFTER_RSVP",
            &mut s.new_device_after_rsvp_weight,
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
            "FRAUD_WEIGHT_AUTOMATION_DRIVER",
            &mut s.automation_driver_weight,
        ),
    ] {
        *weight = bounded(lookup, name, *weight, (0, 100))?;
    }
    // Withholding the fingerprint weighs like a mismatch unless told otherwise.
    s.fingerprint_withheld_weight = bounded(
        lookup,
        "FRAUD_WEIGHT_FINGERPRINT_WITHHELD",
        s.fingerprint_mismatch_weight,
        (0, 100),
    )?;
    s.device_conflict = curve(
        lookup,
        [
            "FRAUD_WEIGHT_DEVICE_CONFLICT",
            "FRAUD_DEVICE_CONFLICT_STEP",
            "FRAUD_DEVICE_CONFLICT_MAX",
        ],
        s.device_conflict,
    )?;
    s.automation_signals = curve(
        lookup,
        [
            "FRAUD_WEIGHT_AUTOMATION_SIGNALS",
            "FRAUD_AUTOMATION_SIGNALS_STEP",
            "FRAUD_AUTOMATION_SIGNALS_MAX",
        ],
        s.automation_signals,
    )?;
    s.repeated_access = curve(
        lookup,
        [
            "FRAUD_WEIGHT_REPEATED_ACCESS",
            "FRAUD_REPEATED_ACCESS_STEP",
            "FRAUD_REPEATED_ACCESS_MAX",
        ],
        s.repeated_access,
    )?;
    s.shared_device = curve(
        lookup,
        [
            "FRAUD_WEIGHT_SHARED_DEVICE",
            "FRAUD_SHARED_DEVICE_STEP",
            "FRAUD_SHARED_DEVICE_MAX",
        ],
        s.shared_device,
    )?;
    s.rotating_fingerprints = curve(
        lookup,
        [
            "FRAUD_WEIGHT_ROTATING_FINGERPRINTS",
            "FRAUD_ROTATING_FINGERPRINTS_STEP",
            "FRAUD_ROTATING_FINGERPRINTS_MAX",
        ],
        s.rotating_fingerprints,
    )?;
    s.repeated_access_threshold = bounded(
        lookup,
        "FRAUD_REPEATED_ACCESS_THRESHOLD",
        s.repeated_access_threshold,
        (1, 10_000),
    )?;
    s.repeated_access_window = window(
        lookup,
        "FRAUD_REPEATED_ACCESS_WINDOW_SECS",
        s.repeated_access_window,
    )?;
    s.shared_device_threshold = bounded(
        lookup,
        "FRAUD_SHARED_DEVICE_THRESHOLD",
        s.shared_device_threshold,
        (1, 10_000),
    )?;
    s.rotating_fingerprints_threshold = bounded(
        lookup,
        "FRAUD_ROTATING_FINGERPRINTS_THRESHOLD",
        s.rotating_fingerprints_threshold,
        (2, 10_000),
    )?;
    s.rotating_fingerprints_window = window(
        lookup,
        "FRAUD_ROTATING_FINGERPRINTS_WINDOW_SECS",
        s.rotating_fingerprints_window,
    )?;
    s.standard = band_edges(
        lookup,
        [
            "FRAUD_BAND_MEDIUM_FROM",
            "FRAUD_BAND_HIGH_FROM",
            "FRAUD_BAND_BLOCK_FROM",
            "FRAUD_FLAG_FROM",
        ],
        s.standard,
    )?;
    s.relaxed = band_edges(
        lookup,
        [
            "FRAUD_RELAXED_MEDIUM_FROM",
            "FRAUD_RELAXED_HIGH_FROM",
            "FRAUD_RELAXED_BLOCK_FROM",
            "FRAUD_RELAXED_FLAG_FROM",
        ],
        s.relaxed,
    )?;
    s.strict = band_edges(
        lookup,
        [
            "FRAUD_STRICT_MEDIUM_FROM",
            "FRAUD_STRICT_HIGH_FROM",
            "FRAUD_STRICT_BLOCK_FROM",
            "FRAUD_STRICT_FLAG_FROM",
        ],
        s.strict,
    )?;
    let limit = |name: &'static str, default: usize, least: u32| {
        let default = u32::try_from(default).unwrap_or(u32::MAX);
        bounded(lookup, name, default, (0, 1_000)).map(|value| value.max(least) as usize)
    };
    s.recent_access_limit = limit(
        "FRAUD_RECENT_ACCESS_LIMIT",
        s.recent_access_limit,
        s.repeated_access_threshold,
    )?;
    s.device_guest_limit = limit(
        "FRAUD_DEVICE_GUEST_LIMIT",
        s.device_guest_limit,
        s.shared_device_threshold + 1,
    )?;
    s.guest_device_limit = limit("FRAUD_GUEST_DEVICE_LIMIT", s.guest_device_limit, 2)?;
    s.origin_entry_limit = limit(
        "FRAUD_ORIGIN_ENTRY_LIMIT",
        s.origin_entry_limit,
        s.rotating_fingerprints_threshold,
    )?;
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
        let mut vars = vec![("GUESTGUARD_ENV", "production"), ("NATS_URL", "nats://n:4")];
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
    fn the_engine_needs_no_fingerprint_key_any_more() {
        let s = from(&production(&[])).expect("production without a fingerprint key");
        assert_eq!(s.store, StoreSettings::default());
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
        assert_eq!(s.scoring.standard.high_from, 50);
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
        assert!(from(&[("FRAUD_STRICT_MEDIUM_FROM", "50")]).is_err());
        assert!(from(&[("FRAUD_RETENTION_AFTER_EVENT_DAYS", "0")]).is_err());
        assert!(from(&[("FRAUD_BASELINES_MAX_BYTES", "12")]).is_err());
    }

    #[test]
    fn each_preset_has_its_own_band_edges() {
        let s = from(&[
            ("FRAUD_RELAXED_MEDIUM_FROM", "45"),
            ("FRAUD_STRICT_FLAG_FROM", "40"),
            ("FRAUD_FLAG_FROM", "65"),
        ])
        .expect("overrides");
        assert_eq!(s.scoring.relaxed.medium_from, 45);
        assert_eq!(s.scoring.strict.flag_from, 40);
        assert_eq!(s.scoring.standard.flag_from, 65);
        assert_eq!(s.scoring.standard.medium_from, 30);
    }

    #[test]
    fn growing_weights_have_a_base_a_step_and_a_cap() {
        let s = from(&[
            ("FRAUD_WEIGHT_SHARED_DEVICE", "30"),
            ("FRAUD_SHARED_DEVICE_STEP", "5"),
            ("FRAUD_ROTATING_FINGERPRINTS_MAX", "95"),
            ("FRAUD_ROTATING_FINGERPRINTS_WINDOW_SECS", "600"),
        ])
        .expect("overrides");
        assert_eq!(
            s.scoring.shared_device,
            Curve {
                base: 30,
                step: 5,
                max: 80
            }
        );
        assert_eq!(s.scoring.rotating_fingerprints.max, 95);
        assert_eq!(
            s.scoring.rotating_fingerprints_window,
            chrono::Duration::minutes(10)
        );
    }

    #[test]
    fn a_withheld_fingerprint_weighs_like_a_mismatch_unless_set() {
        let s = from(&[("FRAUD_WEIGHT_FINGERPRINT_MISMATCH", "50")]).expect("overrides");
        assert_eq!(s.scoring.fingerprint_withheld_weight, 50);
        let s = from(&[("FRAUD_WEIGHT_FINGERPRINT_WITHHELD", "70")]).expect("overrides");
        assert_eq!(s.scoring.fingerprint_withheld_weight, 70);
    }

    #[test]
    fn retention_and_bucket_sizes_can_be_overridden() {
        let s = from(&[
            ("FRAUD_RETENTION_AFTER_EVENT_DAYS", "7"),
            ("FRAUD_RETENTION_DEFAULT_DAYS", "14"),
            ("FRAUD_RESULTS_MAX_BYTES", "104857600"),
        ])
        .expect("overrides");
        assert_eq!(
            s.store.retention_after_event,
            Duration::from_secs(7 * 24 * 3600)
        );
        assert_eq!(
            s.store.retention_default,
            Duration::from_secs(14 * 24 * 3600)
        );
        assert_eq!(s.store.results_max_bytes, 100 << 20);
        assert_eq!(s.store.baselines_max_bytes, 1 << 30);
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
