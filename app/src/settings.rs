//! Typed configuration of the web server, read once from the environment at startup.
//!
//! Development has explicit defaults that point at the local stack started by
//! `scripts/dev.sh`. Production (`GUESTGUARD_ENV=production`) has no default for any
//! secret and refuses to start without a real signing key.

use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// Signing key used only in development; production refuses it.
pub const DEVELOPMENT_SIGNING_KEY: &str = "development-only-signing-key-do-not-use-in-production";
/// Shortest signing key accepted in production, in bytes.
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

/// Where the server runs: development defaults or strict production rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    /// Local work: every setting has a default pointing at the local stack.
    Development,
    /// A real deployment: secrets are required and cookies are `Secure`.
    Production,
}

/// Why the settings could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("{name} must be set in production")]
    Missing { name: &'static str },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Everything the web server needs to know about its surroundings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub environment: Environment,
    /// PostgreSQL connection string (`DATABASE_URL`).
    pub database_url: SecretString,
    /// NATS server (`NATS_URL`).
    pub nats_url: String,
    /// The fraud engine's gRPC endpoint (`FRAUD_GRPC_URL`).
    pub fraud_grpc_url: String,
    /// HMAC key that signs invitation tokens (`GUESTGUARD_SIGNING_KEY`).
    pub signing_key: SecretString,
    /// Identifier of the signing key, embedded in tokens (`GUESTGUARD_SIGNING_KEY_ID`).
    pub signing_key_id: String,
    /// A retired signing key whose links stay valid until a moment
    /// (`GUESTGUARD_PREVIOUS_SIGNING_KEY`, `..._ID`, `..._VALID_UNTIL` in RFC 3339).
    pub previous_signing_key: Option<PreviousKey>,
    /// How long each `/healthz` check may take before it counts as down.
    pub health_check_timeout: Duration,
    /// Public address of the site, used in invitation links (`GUESTGUARD_PUBLIC_URL`).
    pub public_url: String,
    /// How long an RSVP waits for its fraud score before it is recorded unscored
    /// (`GUESTGUARD_FRAUD_DEADLINE_MS`, 250 by default).
    pub fraud_deadline: Duration,
    /// How long a link opening waits for the page's browser signals before it is sent
    /// for scoring without them (`GUESTGUARD_SIGNALS_GRACE_MS`, 3000 by default).
    pub signals_grace: Duration,
}

/// A signing key rotated out, still accepted until `valid_until`.
#[derive(Clone, Debug)]
pub struct PreviousKey {
    pub id: String,
    pub key: SecretString,
    pub valid_until: chrono::DateTime<chrono::Utc>,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Builds the settings from any variable lookup (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let environment = match lookup("GUESTGUARD_ENV").as_deref() {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => {
                return Err(SettingsError::Invalid {
                    name: "GUESTGUARD_ENV",
                    reason: format!("expected development or production, got {other:?}"),
                })
            }
        };
        let production = environment == Environment::Production;
        let required = |name: &'static str, development_default: &str| match lookup(name) {
            Some(value) => Ok(value),
            None if production => Err(SettingsError::Missing { name }),
            None => Ok(development_default.to_owned()),
        };

        let signing_key = required("GUESTGUARD_SIGNING_KEY", DEVELOPMENT_SIGNING_KEY)?;
        if production {
            if signing_key == DEVELOPMENT_SIGNING_KEY {
                return Err(SettingsError::Invalid {
                    name: "GUESTGUARD_SIGNING_KEY",
                    reason: "the development key cannot be used in production".into(),
                });
            }
            if signing_key.len() < MIN_SIGNING_KEY_BYTES {
                return Err(SettingsError::Invalid {
                    name: "GUESTGUARD_SIGNING_KEY",
                    reason: format!("must be at least {MIN_SIGNING_KEY_BYTES} bytes"),
                });
            }
        }

        // A duration in milliseconds, within bounds.
        let millis = |name: &'static str, default: u64, max: u64| match lookup(name) {
            None => Ok(Duration::from_millis(default)),
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms <= max)
                .map(Duration::from_millis)
                .ok_or(SettingsError::Invalid {
                    name,
                    reason: format!("expected milliseconds between 0 and {max}"),
                }),
        };
        let health_check_timeout =
            millis("GUESTGUARD_HEALTH_TIMEOUT_MS", 1_000, 60_000)?.max(Duration::from_millis(1));
        let fraud_deadline = millis("GUESTGUARD_FRAUD_DEADLINE_MS", 250, 10_000)?;
        let signals_grace = millis("GUESTGUARD_SIGNALS_GRACE_MS", 3_000, 60_000)?;

        let previous_signing_key = match lookup("GUESTGUARD_PREVIOUS_SIGNING_KEY") {
            None => None,
            Some(key) => {
                let id =
                    lookup("GUESTGUARD_PREVIOUS_SIGNING_KEY_ID").ok_or(SettingsError::Missing {
                        name: "GUESTGUARD_PREVIOUS_SIGNING_KEY_ID",
                    })?;
                let valid_until = lookup("GUESTGUARD_PREVIOUS_SIGNING_KEY_VALID_UNTIL").ok_or(
                    SettingsError::Missing {
                        name: "GUESTGUARD_PREVIOUS_SIGNING_KEY_VALID_UNTIL",
                    },
                )?;
                let valid_until = chrono::DateTime::parse_from_rfc3339(&valid_until)
                    .map_err(|e| SettingsError::Invalid {
                        name: "GUESTGUARD_PREVIOUS_SIGNING_KEY_VALID_UNTIL",
                        reason: e.to_string(),
                    })?
                    .with_timezone(&chrono::Utc);
                Some(PreviousKey {
                    id,
                    key: key.into(),
                    valid_until,
                })
            }
        };
        let public_url = required("GUESTGUARD_PUBLIC_URL", "http://127.0.0.1:3000")?
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(SettingsError::Invalid {
                name: "GUESTGUARD_PUBLIC_URL",
                reason: "must start with http:// or https://".into(),
            });
        }

        Ok(Self {
            environment,
            previous_signing_key,
            public_url,
            database_url: required(
                "DATABASE_URL",
                "postgres://guestguard@127.0.0.1:54329/guestguard",
            )?
            .into(),
            nats_url: required("NATS_URL", "nats://127.0.0.1:42229")?,
            fraud_grpc_url: required("FRAUD_GRPC_URL", "http://127.0.0.1:50059")?,
            signing_key: signing_key.into(),
            signing_key_id: lookup("GUESTGUARD_SIGNING_KEY_ID").unwrap_or_else(|| "k1".into()),
            health_check_timeout,
            fraud_deadline,
            signals_grace,
        })
    }

    /// The database URL, for the pool only.
    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn development_starts_with_explicit_local_defaults() {
        let s = settings(&[]).expect("development defaults");
        assert_eq!(s.environment, Environment::Development);
        assert_eq!(s.nats_url, "nats://127.0.0.1:42229");
        assert_eq!(s.signing_key.expose_secret(), DEVELOPMENT_SIGNING_KEY);
    }

    #[test]
    fn production_refuses_to_start_without_a_signing_key() {
        let err = settings(&[
            ("GUESTGUARD_ENV", "production"),
            ("DATABASE_URL", "postgres://db/x"),
            ("NATS_URL", "nats://n"),
            ("FRAUD_GRPC_URL", "http://f"),
        ])
        .expect_err("must refuse");
        assert_eq!(
            err,
            SettingsError::Missing {
                name: "GUESTGUARD_SIGNING_KEY"
            }
        );
    }

    #[test]
    fn production_refuses_the_development_key_and_short_keys() {
        for key in [DEVELOPMENT_SIGNING_KEY, "short"] {
            let err = settings(&[
                ("GUESTGUARD_ENV", "production"),
                ("GUESTGUARD_SIGNING_KEY", key),
                ("DATABASE_URL", "postgres://db/x"),
                ("NATS_URL", "nats://n"),
                ("FRAUD_GRPC_URL", "http://f"),
            ])
            .expect_err("must refuse");
            assert!(matches!(
                err,
                SettingsError::Invalid {
                    name: "GUESTGUARD_SIGNING_KEY",
                    ..
                }
            ));
        }
    }

    #[test]
    fn production_requires_every_service_address() {
        let err = settings(&[
            ("GUESTGUARD_ENV", "production"),
            (
                "GUESTGUARD_SIGNING_KEY",
                "a-real-key-that-is-long-enough-for-hmac-sha256",
            ),
            ("GUESTGUARD_PUBLIC_URL", "https://guests.example.org"),
        ])
        .expect_err("must refuse");
        assert_eq!(
            err,
            SettingsError::Missing {
                name: "DATABASE_URL"
            }
        );
    }

    #[test]
    fn production_requires_the_public_url_of_invitation_links() {
        let err = settings(&[
            ("GUESTGUARD_ENV", "production"),
            (
                "GUESTGUARD_SIGNING_KEY",
                "a-real-key-that-is-long-enough-for-hmac-sha256",
            ),
        ])
        .expect_err("must refuse");
        assert_eq!(
            err,
            SettingsError::Missing {
                name: "GUESTGUARD_PUBLIC_URL"
            }
        );
    }

    #[test]
    fn an_unknown_environment_name_is_rejected() {
        let err = settings(&[("GUESTGUARD_ENV", "staging")]).expect_err("must refuse");
        assert!(matches!(
            err,
            SettingsError::Invalid {
                name: "GUESTGUARD_ENV",
                ..
            }
        ));
    }
}
