//! Typed configuration of the notification worker, read once from the environment.
//!
//! Development defaults point at the local stack of `scripts/dev.sh` (its SMTP catcher
//! on 127.0.0.1:2525). Production (`GUESTGUARD_ENV=production`) has no default for any
//! secret or address, refuses plain SMTP to anything but loopback, and refuses webhook
//! receivers on private addresses.

use crate::settings::{self, Environment, SettingsError, SigningKeys, WebhookSettings};
use proto::nats::Credentials;
use secrecy::{ExposeSecret, SecretString};
use std::{path::PathBuf, time::Duration};

/// How the connection to the SMTP server is protected (`SMTP_TLS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a relay on loopback (or the development catcher).
    None,
    /// Plain text first, then `STARTTLS`, which is required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// The SMTP server the worker hands emails to.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// `SMTP_HOST` (development: 127.0.0.1).
    pub host: String,
    /// `SMTP_PORT` (development: 2525; otherwise 587 for STARTTLS, 465 for TLS).
    pub port: u16,
    /// `SMTP_TLS`: `none`, `starttls` or `tls` (development: none; production: starttls).
    pub tls: SmtpTls,
    /// `SMTP_USERNAME` and `SMTP_PASSWORD`, both or neither.
    pub credentials: Option<(String, SecretString)>,
    /// `SMTP_CA_CERT`: a PEM file of the CA that signed the server's certificate, when
    /// it is not a public one.
    pub ca_cert: Option<PathBuf>,
    /// `MAIL_FROM`, e.g. `GuestGuard <invitations@example.org>`.
    pub from: String,
    /// How long one SMTP conversation may take (`SMTP_TIMEOUT_SECS`, 15).
    pub timeout: Duration,
}

/// A Twilio-compatible SMS API (`SMS_API_URL`, `SMS_ACCOUNT_SID`, `SMS_AUTH_TOKEN`,
/// `SMS_FROM`: all four or none; without them guests get emails only).
#[derive(Clone, Debug)]
pub struct SmsSettings {
    /// Base URL, e.g. `https://api.twilio.com`.
    pub api_url: String,
    pub account_sid: String,
    pub auth_token: SecretString,
    /// The sending number (E.164).
    pub from: String,
}

/// How delivery is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a notification is marked failed (`NOTIFY_MAX_ATTEMPTS`, 8).
    pub max_attempts: i32,
    /// Wait after the first failure; doubles with every further one
    /// (`NOTIFY_RETRY_BASE_MS`, 30 000).
    pub base: Duration,
    /// Longest wait between attempts (`NOTIFY_RETRY_MAX_MS`, 3 600 000).
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_secs(30),
            max: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`, after `attempts` failed ones: the
    /// exponential step, of which a random part (`jitter` in 0..=1) is waited beyond
    /// its first half ("equal jitter"), so many failures at once do not retry at once.
    pub fn delay(&self, attempts: i32, jitter: f64) -> Duration {
        let exponent = attempts.saturating_sub(1).clamp(0, 30) as u32;
        let step = self
            .base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.max);
        let half = step / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// Everything the notification worker needs to know.
#[derive(Clone, Debug)]
pub struct NotifySettings {
    pub environment: Environment,
    /// `DATABASE_URL`.
    pub database_url: SecretString,
    /// `NATS_URL`.
    pub nats_url: String,
    /// `NATS_USER` + `NATS_PASSWORD` or `NATS_CREDS_FILE` (development: the
    /// `guestguard-notify` user of the local stack).
    pub nats_credentials: Credentials,
    /// `GUESTGUARD_PUBLIC_URL`: links in emails point here.
    pub public_url: String,
    /// The keys that sign invitation links (the same as the web server's).
    pub signing_keys: SigningKeys,
    pub webhooks: WebhookSettings,
    pub smtp: SmtpSettings,
    pub sms: Option<SmsSettings>,
    pub retry: RetryPolicy,
    /// Notifications sent at once (`NOTIFY_CONCURRENCY`, 8).
    pub concurrency: usize,
    /// How often due notifications are looked for when nobody rang
    /// (`NOTIFY_POLL_MS`, 2000).
    pub poll: Duration,
    /// How often due reminders are looked for (`NOTIFY_REMINDER_POLL_MS`, 60 000).
    pub reminder_poll: Duration,
    /// How long one webhook request may take (`WEBHOOK_TIMEOUT_SECS`, 10).
    pub webhook_timeout: Duration,
}

/// Scores from which the host is alerted (the "60 or more").
pub const ALERT_SCORE: u32 = 60;

impl NotifySettings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Builds the settings from any variable lookup.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let environment = settings::environment(&lookup)?;
        let production = environment == Environment::Production;
        let required = |name: &'static str, development_default: &str| match lookup(name) {
            Some(value) => Ok(value),
            None if production => Err(SettingsError::Missing { name }),
            None => Ok(development_default.to_owned()),
        };
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
        let nats_credentials = Credentials::from_lookup(&lookup, proto::nats::NOTIFY, production)
            .map_err(|proto::nats::CredentialsError::Missing(name)| {
            SettingsError::Missing { name }
        })?;

        let smtp_host = required("SMTP_HOST", "127.0.0.1")?;
        let tls = match lookup("SMTP_TLS").as_deref() {
            None if production => SmtpTls::StartTls,
            None | Some("none") => SmtpTls::None,
            Some("starttls") => SmtpTls::StartTls,
            Some("tls") => SmtpTls::Tls,
            Some(other) => {
                return Err(SettingsError::Invalid {
                    name: "SMTP_TLS",
                    reason: format!("expected none, starttls or tls, got {other:?}"),
                })
            }
        };
        if production && tls == SmtpTls::None && !is_loopback(&smtp_host) {
            return Err(SettingsError::Invalid {
                name: "SMTP_TLS",
                reason: "plain SMTP is only allowed to a relay on loopback in production".into(),
            });
        }
        let default_port = match (tls, production) {
            (SmtpTls::None, false) => 2525,
            (SmtpTls::None, true) => 25,
            (SmtpTls::StartTls, _) => 587,
            (SmtpTls::Tls, _) => 465,
        };
        let credentials = match (lookup("SMTP_USERNAME"), lookup("SMTP_PASSWORD")) {
            (Some(user), Some(password)) => Some((user, SecretString::from(password))),
            (None, None) => None,
            (Some(_), None) => {
                return Err(SettingsError::Missing {
                    name: "SMTP_PASSWORD",
                })
            }
            (None, Some(_)) => {
                return Err(SettingsError::Missing {
                    name: "SMTP_USERNAME",
                })
            }
        };
        let from = required("MAIL_FROM", "GuestGuard <invitations@guestguard.localhost>")?;
        if crate::notifications::mail::parse_mailbox(&from).is_none() {
            return Err(SettingsError::Invalid {
                name: "MAIL_FROM",
                reason: "expected an address like `GuestGuard <invitations@example.org>`".into(),
            });
        }
        let smtp = SmtpSettings {
            host: smtp_host,
            port: whole("SMTP_PORT", default_port, (1, 65_535))? as u16,
            tls,
            credentials,
            ca_cert: lookup("SMTP_CA_CERT").map(PathBuf::from),
            from,
            timeout: Duration::from_secs(whole("SMTP_TIMEOUT_SECS", 15, (1, 300))?),
        };

        let sms_parts = [
            lookup("SMS_API_URL"),
            lookup("SMS_ACCOUNT_SID"),
            lookup("SMS_AUTH_TOKEN"),
            lookup("SMS_FROM"),
        ];
        let sms = match sms_parts {
            [Some(api_url), Some(account_sid), Some(auth_token), Some(from)] => {
                if production && !api_url.starts_with("https://") {
                    return Err(SettingsError::Invalid {
                        name: "SMS_API_URL",
                        reason: "must be https:// in production".into(),
                    });
                }
                Some(SmsSettings {
                    api_url: api_url.trim_end_matches('/').to_owned(),
                    account_sid,
                    auth_token: auth_token.into(),
                    from,
                })
            }
            [None, None, None, None] => None,
            _ => {
                return Err(SettingsError::Invalid {
                    name: "SMS_API_URL",
                    reason:
                        "set SMS_API_URL, SMS_ACCOUNT_SID, SMS_AUTH_TOKEN and SMS_FROM together"
                            .into(),
                })
            }
        };

        let defaults = RetryPolicy::default();
        let retry = RetryPolicy {
            max_attempts: whole("NOTIFY_MAX_ATTEMPTS", defaults.max_attempts as u64, (1, 50))?
                as i32,
            base: Duration::from_millis(whole(
                "NOTIFY_RETRY_BASE_MS",
                defaults.base.as_millis() as u64,
                (10, 86_400_000),
            )?),
            max: Duration::from_millis(whole(
                "NOTIFY_RETRY_MAX_MS",
                defaults.max.as_millis() as u64,
                (10, 7 * 86_400_000),
            )?),
        };

        Ok(Self {
            environment,
            database_url: required(
                "DATABASE_URL",
                "postgres://guestguard@127.0.0.1:54329/guestguard",
            )?
            .into(),
            nats_url: required("NATS_URL", "nats://127.0.0.1:42229")?,
            nats_credentials,
            public_url: settings::public_url(&lookup, production)?,
            signing_keys: SigningKeys::from_lookup(&lookup, production)?,
            webhooks: WebhookSettings::from_lookup(&lookup, production)?,
            smtp,
            sms,
            retry,
            concurrency: whole("NOTIFY_CONCURRENCY", 8, (1, 256))? as usize,
            poll: Duration::from_millis(whole("NOTIFY_POLL_MS", 2_000, (10, 600_000))?),
            reminder_poll: Duration::from_millis(whole(
                "NOTIFY_REMINDER_POLL_MS",
                60_000,
                (10, 3_600_000),
            )?),
            webhook_timeout: Duration::from_secs(whole("WEBHOOK_TIMEOUT_SECS", 10, (1, 60))?),
        })
    }

    /// The database URL, for the pool only.
    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<NotifySettings, SettingsError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        NotifySettings::from_lookup(|name| map.get(name).cloned())
    }

    fn production(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars = vec![
            ("GUESTGUARD_ENV", "production"),
            ("DATABASE_URL", "postgres://db/x"),
            ("NATS_URL", "nats://nats:4222"),
            ("NATS_USER", "guestguard-notify"),
            ("NATS_PASSWORD", "a-real-password"),
            ("GUESTGUARD_PUBLIC_URL", "https://guests.example.org"),
            (
                "GUESTGUARD_SIGNING_KEY",
                "a-real-key-that-is-long-enough-for-hmac-sha256",
            ),
            (
                "GUESTGUARD_WEBHOOK_KEY",
                "a-real-webhook-key-of-at-least-32-bytes",
            ),
            ("SMTP_HOST", "smtp.example.org"),
            ("SMTP_USERNAME", "mailer"),
            ("SMTP_PASSWORD", "a-real-smtp-password"),
            ("MAIL_FROM", "GuestGuard <invitations@example.org>"),
        ];
        for (name, value) in extra {
            vars.retain(|(key, _)| key != name);
            vars.push((name, value));
        }
        vars
    }

    #[test]
    fn development_delivers_to_the_local_catcher() {
        let s = settings(&[]).expect("development defaults");
        assert_eq!((s.smtp.host.as_str(), s.smtp.port), ("127.0.0.1", 2525));
        assert_eq!(s.smtp.tls, SmtpTls::None);
        assert!(s.sms.is_none());
        assert!(s.webhooks.allow_private);
    }

    #[test]
    fn production_requires_its_secrets_and_encrypted_smtp() {
        let s = settings(&production(&[])).expect("complete production settings");
        assert_eq!((s.smtp.tls, s.smtp.port), (SmtpTls::StartTls, 587));
        assert!(!s.webhooks.allow_private);
        for name in [
            "SMTP_HOST",
            "MAIL_FROM",
            "GUESTGUARD_WEBHOOK_KEY",
            "GUESTGUARD_SIGNING_KEY",
            "NATS_PASSWORD",
        ] {
            let mut vars = production(&[]);
            vars.retain(|(key, _)| *key != name);
            assert_eq!(
                settings(&vars).expect_err(name),
                SettingsError::Missing { name }
            );
        }
        assert!(settings(&production(&[("SMTP_TLS", "none")])).is_err());
        assert!(settings(&production(&[
            ("SMTP_TLS", "none"),
            ("SMTP_HOST", "127.0.0.1")
        ]))
        .is_ok());
        let mut no_password = production(&[]);
        no_password.retain(|(key, _)| *key != "SMTP_PASSWORD");
        assert!(settings(&no_password).is_err());
        assert!(settings(&production(&[("MAIL_FROM", "not an address")])).is_err());
    }

    #[test]
    fn sms_needs_all_four_settings() {
        assert!(settings(&[("SMS_API_URL", "http://127.0.0.1:9")]).is_err());
        let s = settings(&[
            ("SMS_API_URL", "http://127.0.0.1:9/"),
            ("SMS_ACCOUNT_SID", "AC123"),
            ("SMS_AUTH_TOKEN", "token"),
            ("SMS_FROM", "+15550000000"),
        ])
        .expect("sms");
        assert_eq!(s.sms.expect("sms").api_url, "http://127.0.0.1:9");
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 8,
            base: Duration::from_secs(10),
            max: Duration::from_secs(60),
        };
        assert_eq!(policy.delay(1, 0.0), Duration::from_secs(5));
        assert_eq!(policy.delay(1, 1.0), Duration::from_secs(10));
        assert_eq!(policy.delay(2, 1.0), Duration::from_secs(20));
        assert_eq!(policy.delay(3, 0.5), Duration::from_secs(30));
        assert_eq!(policy.delay(20, 1.0), Duration::from_secs(60));
        assert_eq!(policy.delay(20, 0.0), Duration::from_secs(30));
    }
}
