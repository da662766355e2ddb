//! Typed configuration of the web server, read once from the environment at startup.
//!
//! Development has explicit defaults that point at the local stack started by
//! `scripts/dev.sh`. Production (`GUESTGUARD_ENV=production`) has no default for any
//! secret and refuses to start without a real signing key.

use crate::edge::client::TrustedProxies;
use crate::invitations::token::{KeyId, Keyring};
use proto::{grpc_auth, nats::Credentials};
use secrecy::{ExposeSecret, SecretString};
use std::{path::PathBuf, time::Duration};

/// Signing key used only in development; production refuses it.
pub const DEVELOPMENT_SIGNING_KEY: &str = "development-only-signing-key-do-not-use-in-production";
/// Shortest signing key accepted in production, in bytes.
pub const MIN_SIGNING_KEY_BYTES: usize = 32;
/// Key of the device hashes used only in development; production refuses it.
pub const DEVELOPMENT_FINGERPRINT_KEY: &str =
    "development-only-fingerprint-key-do-not-use-in-production";
/// Key from which webhook secrets are derived, used only in development.
pub const DEVELOPMENT_WEBHOOK_KEY: &str = "development-only-webhook-key-do-not-use-in-production";
/// The operators' token of `/healthz/detail` in development.
pub const DEVELOPMENT_OPS_TOKEN: &str = "development-only-ops-token";

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
    /// How long a request waits for a database connection before it is answered 503
    /// `unavailable` (`GUESTGUARD_DB_ACQUIRE_TIMEOUT_MS`, 500): with PostgreSQL down,
    /// requests fail fast instead of queueing.
    pub database_acquire_timeout: Duration,
    /// How long each `/healthz` check may take before it counts as down.
    pub health_check_timeout: Duration,
    /// Public address of the site, used in invitation links (`GUESTGUARD_PUBLIC_URL`).
    pub public_url: String,
    /// How long an RSVP waits for its fraud score before it is recorded unscored
    /// (`GUESTGUARD_FRAUD_DEADLINE_MS`, 250 by default).
    pub fraud_deadline: Duration,
    /// When the circuit breaker of the `Score` call opens and how long it stays open
    /// (`GUESTGUARD_FRAUD_BREAKER_FAILURES`, 5; `GUESTGUARD_FRAUD_BREAKER_PAUSE_MS`, 2000).
    pub fraud_breaker: crate::fraud::breaker::BreakerSettings,
    /// How long a link opening waits for the page's browser signals before it is sent
    /// for scoring without them (`GUESTGUARD_SIGNALS_GRACE_MS`, 3000 by default).
    pub signals_grace: Duration,
    /// Who the web server is on NATS (`NATS_USER` + `NATS_PASSWORD`, or
    /// `NATS_CREDS_FILE`; development: the `guestguard-server` user of the local stack).
    pub nats_credentials: Credentials,
    /// The shared secret presented to the fraud engine on every call
    /// (`FRAUD_GRPC_TOKEN`).
    pub fraud_grpc_token: SecretString,
    /// The CA certificate (PEM) that signed the engine's certificate, for an
    /// `https://` `FRAUD_GRPC_URL` (`FRAUD_GRPC_CA_CERT`).
    pub fraud_grpc_ca_cert: Option<PathBuf>,
    /// Reverse proxies whose `X-Forwarded-For` names the client
    /// (`GUESTGUARD_TRUSTED_PROXIES`, CIDR list; none by default).
    pub trusted_proxies: TrustedProxies,
    /// Timeouts and limits of the HTTP server.
    pub http: HttpLimits,
    /// How many passwords are hashed at once, and how long a request may wait for its
    /// turn before it is answered 503.
    pub password_hashing: HashingLimits,
    /// A session not used for this long ends (`GUESTGUARD_SESSION_IDLE_MINUTES`).
    pub session_idle: Duration,
    /// HMAC key under which browser fingerprints become device keys, the only form in
    /// which they are stored or published (`GUESTGUARD_FINGERPRINT_KEY`).
    pub fingerprint_key: SecretString,
    /// Bearer token of the operators' `/healthz/detail` (`GUESTGUARD_OPS_TOKEN`).
    pub ops_token: SecretString,
    /// How long the web server keeps what it logs.
    pub retention: Retention,
    /// Hosts' webhooks: the key of their secrets, which receivers are allowed.
    pub webhooks: WebhookSettings,
}

/// How long records are kept before the retention job deletes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Access attempts (`GUESTGUARD_RETAIN_ACCESS_DAYS`, 180).
    pub access_attempts: Duration,
    /// Published outbox rows (`GUESTGUARD_RETAIN_OUTBOX_DAYS`, 7).
    pub outbox: Duration,
    /// Ended sessions, expired or revoked (`GUESTGUARD_RETAIN_SESSIONS_DAYS`, 30).
    pub sessions: Duration,
    /// How often the job runs (`GUESTGUARD_RETENTION_EVERY_MINUTES`, 60).
    pub every: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Self {
            access_attempts: Duration::from_secs(180 * DAY),
            outbox: Duration::from_secs(7 * DAY),
            sessions: Duration::from_secs(30 * DAY),
            every: Duration::from_secs(3600),
        }
    }
}

/// Timeouts and limits of the HTTP server (`server/src/serve.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time a client has to send a request's headers, counted from when the connection
    /// waits for them (`GUESTGUARD_HEADER_TIMEOUT_SECS`, 10).
    pub header_timeout: Duration,
    /// Time a request may take to be answered (`GUESTGUARD_REQUEST_TIMEOUT_SECS`, 30).
    pub request_timeout: Duration,
    /// A kept-alive connection with no request in flight for this long is closed
    /// (`GUESTGUARD_IDLE_TIMEOUT_SECS`, 60; HTTP/1 connections are also bound by the
    /// header timeout while they wait for their next request).
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the listen queue
    /// (`GUESTGUARD_MAX_CONNECTIONS`, 4096).
    pub max_connections: usize,
    /// On SIGTERM, how long in-flight requests may take to finish
    /// (`GUESTGUARD_SHUTDOWN_GRACE_SECS`, 20).
    pub shutdown_grace: Duration,
    /// On SIGTERM, how long connections that were kept alive stay open after the
    /// listener closed, answering with `Connection: close` (`GUESTGUARD_DRAIN_LINGER_SECS`,
    /// 5). A reverse proxy may send a request on a kept-alive connection at the very
    /// moment the server closes it, and does not retry a POST it already sent: the
    /// server never closes a kept-alive connection itself before the proxy's own
    /// keepalive timeout (4 s in deploy/nginx/guestguard.conf) would have.
    pub drain_linger: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(20),
            drain_linger: Duration::from_secs(5),
        }
    }
}

/// Bounds of password hashing (argon2id takes ~19 MiB and tens of milliseconds each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashingLimits {
    /// Hashes computed at once (`GUESTGUARD_HASH_CONCURRENCY`, the number of cores).
    pub concurrency: usize,
    /// How long a request waits for a free slot before 503 + `Retry-After`
    /// (`GUESTGUARD_HASH_QUEUE_MS`, 2000).
    pub queue_wait: Duration,
}

impl Default for HashingLimits {
    fn default() -> Self {
        Self {
            concurrency: std::thread::available_parallelism().map_or(2, usize::from),
            queue_wait: Duration::from_millis(2_000),
        }
    }
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
        let environment = environment(&lookup)?;
        let production = environment == Environment::Production;
        let required = |name: &'static str, development_default: &str| match lookup(name) {
            Some(value) => Ok(value),
            None if production => Err(SettingsError::Missing { name }),
            None => Ok(development_default.to_owned()),
        };

        let SigningKeys {
            key: signing_key,
            key_id: signing_key_id,
            previous: previous_signing_key,
        } = SigningKeys::from_lookup(&lookup, production)?;

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
        let database_acquire_timeout =
            millis("GUESTGUARD_DB_ACQUIRE_TIMEOUT_MS", 500, 60_000)?.max(Duration::from_millis(10));
        let breaker_defaults = crate::fraud::breaker::BreakerSettings::default();
        let breaker_pause = millis(
            "GUESTGUARD_FRAUD_BREAKER_PAUSE_MS",
            breaker_defaults.pause.as_millis() as u64,
            600_000,
        )?;

        let public_url = public_url(&lookup, production)?;

        let database_url = required(
            "DATABASE_URL",
            "postgres://guestguard@127.0.0.1:54329/guestguard",
        )?;
        let nats_url = required("NATS_URL", "nats://127.0.0.1:42229")?;
        let nats_credentials = Credentials::from_lookup(&lookup, proto::nats::SERVER, production)
            .map_err(|proto::nats::CredentialsError::Missing(name)| {
            SettingsError::Missing { name }
        })?;
        let fraud_grpc_url = required("FRAUD_GRPC_URL", "http://127.0.0.1:50059")?;
        let fraud_grpc_token = required("FRAUD_GRPC_TOKEN", grpc_auth::DEVELOPMENT_TOKEN)?;
        if production
            && (fraud_grpc_token == grpc_auth::DEVELOPMENT_TOKEN
                || fraud_grpc_token.len() < grpc_auth::MIN_TOKEN_BYTES)
        {
            return Err(SettingsError::Invalid {
                name: "FRAUD_GRPC_TOKEN",
                reason: format!(
                    "must be at least {} bytes and not the development token",
                    grpc_auth::MIN_TOKEN_BYTES
                ),
            });
        }
        let fraud_grpc_ca_cert = lookup("FRAUD_GRPC_CA_CERT").map(PathBuf::from);
        check_fraud_transport(&fraud_grpc_url, fraud_grpc_ca_cert.is_some(), production)?;
        let trusted_proxies =
            TrustedProxies::parse(&lookup("GUESTGUARD_TRUSTED_PROXIES").unwrap_or_default())
                .map_err(|reason| SettingsError::Invalid {
                    name: "GUESTGUARD_TRUSTED_PROXIES",
                    reason,
                })?;

        // A whole number within bounds.
        let whole = |name: &'static str, default: u64, (min, max): (u64, u64)| match lookup(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or(SettingsError::Invalid {
                    name,
                    reason: format!("expected a whole number between {min} and {max}"),
                }),
        };
        let defaults = HttpLimits::default();
        let secs = |name, default: Duration, max| {
            whole(name, default.as_secs(), (1, max)).map(Duration::from_secs)
        };
        let http = HttpLimits {
            header_timeout: secs(
                "GUESTGUARD_HEADER_TIMEOUT_SECS",
                defaults.header_timeout,
                300,
            )?,
            request_timeout: secs(
                "GUESTGUARD_REQUEST_TIMEOUT_SECS",
                defaults.request_timeout,
                3_600,
            )?,
            idle_timeout: secs("GUESTGUARD_IDLE_TIMEOUT_SECS", defaults.idle_timeout, 3_600)?,
            max_connections: whole(
                "GUESTGUARD_MAX_CONNECTIONS",
                defaults.max_connections as u64,
                (1, 1_000_000),
            )? as usize,
            shutdown_grace: secs(
                "GUESTGUARD_SHUTDOWN_GRACE_SECS",
                defaults.shutdown_grace,
                600,
            )?,
            drain_linger: whole(
                "GUESTGUARD_DRAIN_LINGER_SECS",
                defaults.drain_linger.as_secs(),
                (0, 60),
            )
            .map(Duration::from_secs)?,
        };
        let hashing_defaults = HashingLimits::default();
        let password_hashing = HashingLimits {
            concurrency: whole(
                "GUESTGUARD_HASH_CONCURRENCY",
                hashing_defaults.concurrency as u64,
                (1, 1_024),
            )? as usize,
            queue_wait: millis("GUESTGUARD_HASH_QUEUE_MS", 2_000, 60_000)?,
        };
        let fraud_breaker = crate::fraud::breaker::BreakerSettings {
            failures: whole(
                "GUESTGUARD_FRAUD_BREAKER_FAILURES",
                u64::from(breaker_defaults.failures),
                (1, 10_000),
            )? as u32,
            pause: breaker_pause,
        };
        let session_idle = Duration::from_secs(
            60 * whole(
                "GUESTGUARD_SESSION_IDLE_MINUTES",
                24 * 60,
                (1, 14 * 24 * 60),
            )?,
        );
        let fingerprint_key = required("GUESTGUARD_FINGERPRINT_KEY", DEVELOPMENT_FINGERPRINT_KEY)?;
        if production
            && (fingerprint_key == DEVELOPMENT_FINGERPRINT_KEY
                || fingerprint_key.len() < MIN_SIGNING_KEY_BYTES)
        {
            return Err(SettingsError::Invalid {
                name: "GUESTGUARD_FINGERPRINT_KEY",
                reason: format!(
                    "must be at least {MIN_SIGNING_KEY_BYTES} bytes and not the development key"
                ),
            });
        }
        let ops_token = required("GUESTGUARD_OPS_TOKEN", DEVELOPMENT_OPS_TOKEN)?;
        if production && (ops_token == DEVELOPMENT_OPS_TOKEN || ops_token.len() < 24) {
            return Err(SettingsError::Invalid {
                name: "GUESTGUARD_OPS_TOKEN",
                reason: "must be at least 24 bytes and not the development token".into(),
            });
        }
        let keep = Retention::default();
        let days = |name, default: Duration| {
            whole(name, default.as_secs() / 86_400, (1, 3_650))
                .map(|days| Duration::from_secs(days * 86_400))
        };
        let retention = Retention {
            access_attempts: days("GUESTGUARD_RETAIN_ACCESS_DAYS", keep.access_attempts)?,
            outbox: days("GUESTGUARD_RETAIN_OUTBOX_DAYS", keep.outbox)?,
            sessions: days("GUESTGUARD_RETAIN_SESSIONS_DAYS", keep.sessions)?,
            every: Duration::from_secs(
                60 * whole("GUESTGUARD_RETENTION_EVERY_MINUTES", 60, (1, 24 * 60))?,
            ),
        };

        Ok(Self {
            environment,
            previous_signing_key,
            public_url,
            database_url: database_url.into(),
            database_acquire_timeout,
            nats_url,
            fraud_grpc_url,
            nats_credentials,
            fraud_grpc_token: fraud_grpc_token.into(),
            fraud_grpc_ca_cert,
            trusted_proxies,
            http,
            password_hashing,
            session_idle,
            fingerprint_key: fingerprint_key.into(),
            ops_token: ops_token.into(),
            retention,
            webhooks: WebhookSettings::from_lookup(&lookup, production)?,
            signing_key,
            signing_key_id,
            health_check_timeout,
            fraud_deadline,
            fraud_breaker,
            signals_grace,
        })
    }

    /// The keys that sign invitation links.
    pub fn signing_keys(&self) -> SigningKeys {
        SigningKeys {
            key: self.signing_key.clone(),
            key_id: self.signing_key_id.clone(),
            previous: self.previous_signing_key.clone(),
        }
    }

    /// The database URL, for the pool only.
    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }

    /// The origin (`scheme://host[:port]`) of the public URL, which our own pages send
    /// as `Origin` whatever `Host` a reverse proxy passes on.
    pub fn public_origin(&self) -> &str {
        let after_scheme = self.public_url.find("://").map_or(0, |at| at + 3);
        match self.public_url[after_scheme..].find('/') {
            Some(slash) => &self.public_url[..after_scheme + slash],
            None => &self.public_url,
        }
    }
}

/// Settings of hosts' webhooks, read the same way by the web server (which shows a
/// webhook's secret and checks its URL) and the notification worker (which signs and
/// delivers).
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Every webhook's secret is derived from this key, its id and its version
    /// (`GUESTGUARD_WEBHOOK_KEY`), so no secret is stored.
    pub key: SecretString,
    /// Whether receivers may be on loopback or private addresses
    /// (`GUESTGUARD_WEBHOOKS_ALLOW_PRIVATE`): true by default in development (local
    /// receivers), never in production.
    pub allow_private: bool,
}

impl WebhookSettings {
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
        production: bool,
    ) -> Result<Self, SettingsError> {
        let key = match lookup("GUESTGUARD_WEBHOOK_KEY") {
            Some(key) => key,
            None if production => {
                return Err(SettingsError::Missing {
                    name: "GUESTGUARD_WEBHOOK_KEY",
                })
            }
            None => DEVELOPMENT_WEBHOOK_KEY.to_owned(),
        };
        if production && (key == DEVELOPMENT_WEBHOOK_KEY || key.len() < MIN_SIGNING_KEY_BYTES) {
            return Err(SettingsError::Invalid {
                name: "GUESTGUARD_WEBHOOK_KEY",
                reason: format!(
                    "must be at least {MIN_SIGNING_KEY_BYTES} bytes and not the development key"
                ),
            });
        }
        let allow_private = match lookup("GUESTGUARD_WEBHOOKS_ALLOW_PRIVATE").as_deref() {
            None => !production,
            Some("true" | "1" | "yes") if production => {
                return Err(SettingsError::Invalid {
                    name: "GUESTGUARD_WEBHOOKS_ALLOW_PRIVATE",
                    reason: "receivers on private addresses are never allowed in production".into(),
                })
            }
            Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(_) => {
                return Err(SettingsError::Invalid {
                    name: "GUESTGUARD_WEBHOOKS_ALLOW_PRIVATE",
                    reason: "expected true or false".into(),
                })
            }
        };
        Ok(Self {
            key: key.into(),
            allow_private,
        })
    }
}

/// The keys that sign invitation links (`GUESTGUARD_SIGNING_KEY`, `..._KEY_ID`, and a
/// retired `GUESTGUARD_PREVIOUS_SIGNING_KEY` with its id and end of validity), read the
/// same way by the web server and the notification worker.
#[derive(Clone, Debug)]
pub struct SigningKeys {
    pub key: SecretString,
    pub key_id: String,
    pub previous: Option<PreviousKey>,
}

impl SigningKeys {
    /// Reads the keys; production refuses the development key and short keys.
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
        production: bool,
    ) -> Result<Self, SettingsError> {
        let signing_key = match lookup("GUESTGUARD_SIGNING_KEY") {
            Some(key) => key,
            None if production => {
                return Err(SettingsError::Missing {
                    name: "GUESTGUARD_SIGNING_KEY",
                })
            }
            None => DEVELOPMENT_SIGNING_KEY.to_owned(),
        };
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
        Ok(Self {
            key: signing_key.into(),
            key_id: lookup("GUESTGUARD_SIGNING_KEY_ID").unwrap_or_else(|| "k1".into()),
            previous: previous_signing_key,
        })
    }

    /// The keyring that signs and verifies links with these keys.
    pub fn keyring(&self) -> Result<Keyring, SettingsError> {
        let invalid = |name: &'static str| {
            move |error: &dyn std::fmt::Display| SettingsError::Invalid {
                name,
                reason: error.to_string(),
            }
        };
        let current =
            KeyId::parse(&self.key_id).map_err(|e| invalid("GUESTGUARD_SIGNING_KEY_ID")(&e))?;
        let mut keyring = Keyring::new(current, self.key.clone())
            .map_err(|e| invalid("GUESTGUARD_SIGNING_KEY")(&e))?;
        if let Some(previous) = &self.previous {
            let id = KeyId::parse(&previous.id)
                .map_err(|e| invalid("GUESTGUARD_PREVIOUS_SIGNING_KEY_ID")(&e))?;
            keyring = keyring
                .with_previous(id, previous.key.clone(), previous.valid_until)
                .map_err(|e| invalid("GUESTGUARD_PREVIOUS_SIGNING_KEY")(&e))?;
        }
        Ok(keyring)
    }
}

/// `GUESTGUARD_PUBLIC_URL`: where guests and hosts reach the site (links in pages and
/// emails), without a trailing slash.
pub fn public_url(
    lookup: &impl Fn(&str) -> Option<String>,
    production: bool,
) -> Result<String, SettingsError> {
    let public_url = match lookup("GUESTGUARD_PUBLIC_URL") {
        Some(url) => url,
        None if production => {
            return Err(SettingsError::Missing {
                name: "GUESTGUARD_PUBLIC_URL",
            })
        }
        None => "http://127.0.0.1:3000".to_owned(),
    }
    .trim_end_matches('/')
    .to_owned();
    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
        return Err(SettingsError::Invalid {
            name: "GUESTGUARD_PUBLIC_URL",
            reason: "must start with http:// or https://".into(),
        });
    }
    Ok(public_url)
}

/// `GUESTGUARD_ENV`: development (default) or production.
pub fn environment(lookup: &impl Fn(&str) -> Option<String>) -> Result<Environment, SettingsError> {
    match lookup("GUESTGUARD_ENV").as_deref() {
        None | Some("development") | Some("dev") => Ok(Environment::Development),
        Some("production") | Some("prod") => Ok(Environment::Production),
        Some(other) => Err(SettingsError::Invalid {
            name: "GUESTGUARD_ENV",
            reason: format!("expected development or production, got {other:?}"),
        }),
    }
}

/// The engine's address must be loopback or TLS (`https://` with the CA that signed the
/// engine's certificate) in production, so the service token never crosses a network
/// in clear.
fn check_fraud_transport(url: &str, has_ca: bool, production: bool) -> Result<(), SettingsError> {
    let invalid = |reason: &str| SettingsError::Invalid {
        name: "FRAUD_GRPC_URL",
        reason: reason.to_owned(),
    };
    let uri: axum::http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
    match uri.scheme_str() {
        Some("https") if !has_ca => Err(SettingsError::Missing {
            name: "FRAUD_GRPC_CA_CERT",
        }),
        Some("https") => Ok(()),
        Some("http") => {
            let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
            let loopback = host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if production && !loopback {
                Err(invalid(
                    "must be https:// (with FRAUD_GRPC_CA_CERT) when the engine is not on loopback",
                ))
            } else {
                Ok(())
            }
        }
        _ => Err(invalid("must start with http:// or https://")),
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

    /// Every setting production requires, valid.
    fn production_vars() -> Vec<(&'static str, &'static str)> {
        vec![
            ("GUESTGUARD_ENV", "production"),
            (
                "GUESTGUARD_SIGNING_KEY",
                "a-real-key-that-is-long-enough-for-hmac-sha256",
            ),
            ("GUESTGUARD_PUBLIC_URL", "https://guests.example.org"),
            ("DATABASE_URL", "postgres://db/x"),
            ("NATS_URL", "nats://nats:4222"),
            ("NATS_USER", "guestguard-server"),
            ("NATS_PASSWORD", "a-real-password"),
            ("FRAUD_GRPC_URL", "http://127.0.0.1:50059"),
            ("FRAUD_GRPC_TOKEN", "a-real-grpc-token-of-at-least-32-bytes"),
            (
                "GUESTGUARD_FINGERPRINT_KEY",
                "a-real-fingerprint-key-of-at-least-32-bytes",
            ),
            ("GUESTGUARD_OPS_TOKEN", "a-real-operators-token-1234"),
            (
                "GUESTGUARD_WEBHOOK_KEY",
                "a-real-webhook-key-of-at-least-32-bytes",
            ),
        ]
    }

    fn with(
        mut vars: Vec<(&'static str, &'static str)>,
        changes: &[(&'static str, Option<&'static str>)],
    ) -> Result<Settings, SettingsError> {
        for (name, value) in changes {
            vars.retain(|(key, _)| key != name);
            if let Some(value) = value {
                vars.push((name, value));
            }
        }
        settings(&vars)
    }

    #[test]
    fn production_starts_with_every_required_setting() {
        let s = with(production_vars(), &[]).expect("complete production settings");
        assert_eq!(s.environment, Environment::Production);
        assert_eq!(s.public_origin(), "https://guests.example.org");
    }

    #[test]
    fn production_refuses_to_start_without_service_credentials() {
        for name in [
            "NATS_USER",
            "NATS_PASSWORD",
            "FRAUD_GRPC_TOKEN",
            "GUESTGUARD_FINGERPRINT_KEY",
            "GUESTGUARD_OPS_TOKEN",
            "GUESTGUARD_WEBHOOK_KEY",
        ] {
            assert_eq!(
                with(production_vars(), &[(name, None)]).expect_err(name),
                SettingsError::Missing { name }
            );
        }
        assert!(with(
            production_vars(),
            &[("FRAUD_GRPC_TOKEN", Some(grpc_auth::DEVELOPMENT_TOKEN))]
        )
        .is_err());
    }

    #[test]
    fn webhooks_may_reach_private_addresses_only_in_development() {
        assert!(settings(&[]).expect("development").webhooks.allow_private);
        let off = settings(&[("GUESTGUARD_WEBHOOKS_ALLOW_PRIVATE", "false")]).expect("off");
        assert!(!off.webhooks.allow_private);
        let production = with(production_vars(), &[]).expect("production");
        assert!(!production.webhooks.allow_private);
        assert!(with(
            production_vars(),
            &[("GUESTGUARD_WEBHOOKS_ALLOW_PRIVATE", Some("true"))]
        )
        .is_err());
        assert!(with(
            production_vars(),
            &[("GUESTGUARD_WEBHOOK_KEY", Some(DEVELOPMENT_WEBHOOK_KEY))]
        )
        .is_err());
    }

    #[test]
    fn production_talks_to_a_remote_engine_over_tls_only() {
        let plain = with(
            production_vars(),
            &[("FRAUD_GRPC_URL", Some("http://fraud:50059"))],
        );
        assert!(matches!(
            plain,
            Err(SettingsError::Invalid {
                name: "FRAUD_GRPC_URL",
                ..
            })
        ));
        let no_ca = with(
            production_vars(),
            &[("FRAUD_GRPC_URL", Some("https://fraud:50059"))],
        );
        assert_eq!(
            no_ca.expect_err("no CA"),
            SettingsError::Missing {
                name: "FRAUD_GRPC_CA_CERT"
            }
        );
        assert!(with(
            production_vars(),
            &[
                ("FRAUD_GRPC_URL", Some("https://fraud:50059")),
                ("FRAUD_GRPC_CA_CERT", Some("/run/secrets/ca.pem")),
            ]
        )
        .is_ok());
    }

    #[test]
    fn limits_have_defaults_and_bounded_overrides() {
        let s = settings(&[
            ("GUESTGUARD_HEADER_TIMEOUT_SECS", "3"),
            ("GUESTGUARD_MAX_CONNECTIONS", "10"),
            ("GUESTGUARD_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
        ])
        .expect("overrides");
        assert_eq!(s.http.header_timeout, Duration::from_secs(3));
        assert_eq!(s.http.max_connections, 10);
        assert!(s.trusted_proxies.contains("10.2.3.4".parse().expect("ip")));
        assert!(settings(&[("GUESTGUARD_HEADER_TIMEOUT_SECS", "0")]).is_err());
        assert!(settings(&[("GUESTGUARD_TRUSTED_PROXIES", "proxy")]).is_err());
        assert_eq!(settings(&[]).expect("defaults").http, HttpLimits::default());
        assert_eq!(
            settings(&[]).expect("defaults").database_acquire_timeout,
            Duration::from_millis(500)
        );
        assert_eq!(
            settings(&[("GUESTGUARD_DB_ACQUIRE_TIMEOUT_MS", "200")])
                .expect("override")
                .database_acquire_timeout,
            Duration::from_millis(200)
        );
        assert!(settings(&[("GUESTGUARD_DB_ACQUIRE_TIMEOUT_MS", "soon")]).is_err());
    }

    #[test]
    fn the_fraud_breaker_has_defaults_and_bounded_overrides() {
        use crate::fraud::breaker::BreakerSettings;
        assert_eq!(
            settings(&[]).expect("defaults").fraud_breaker,
            BreakerSettings::default()
        );
        let s = settings(&[
            ("GUESTGUARD_FRAUD_BREAKER_FAILURES", "3"),
            ("GUESTGUARD_FRAUD_BREAKER_PAUSE_MS", "500"),
        ])
        .expect("overrides");
        assert_eq!(
            s.fraud_breaker,
            BreakerSettings {
                failures: 3,
                pause: Duration::from_millis(500)
            }
        );
        for (name, value) in [
            ("GUESTGUARD_FRAUD_BREAKER_FAILURES", "0"),
            ("GUESTGUARD_FRAUD_BREAKER_FAILURES", "many"),
            ("GUESTGUARD_FRAUD_BREAKER_PAUSE_MS", "-1"),
            ("GUESTGUARD_FRAUD_BREAKER_PAUSE_MS", "999999999"),
        ] {
            assert!(settings(&[(name, value)]).is_err(), "{name}={value}");
        }
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
