//! How the services connect to NATS: who they are (the users of
//! `deploy/nats/nats-server.conf`), the inbox prefix each may receive replies on, and
//! their credentials.
//!
//! The server config grants each user exactly the subjects its service needs (only
//! the web server publishes `access.attempted` / `rsvp.confirmed`, only the engine
//! `fraud.scored`), and lets each subscribe only to its own inbox prefix; a client
//! must therefore connect with the matching [`Identity`].

use async_nats::ConnectOptions;
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;

/// One service's identity on NATS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The user name in the server config.
    pub user: &'static str,
    /// The only inbox prefix the user may subscribe to.
    pub inbox_prefix: &'static str,
    /// The password used in development (`scripts/dev.sh`, tests); production has none.
    pub development_password: &'static str,
}

/// The web server.
pub const SERVER: Identity = Identity {
    user: "guestguard-server",
    inbox_prefix: "_INBOX_guestguard_server",
    development_password: "development-only-nats-server-password",
};

/// The fraud engine.
pub const ENGINE: Identity = Identity {
    user: "guestguard-fraud",
    inbox_prefix: "_INBOX_guestguard_fraud",
    development_password: "development-only-nats-fraud-password",
};

/// The notification worker.
pub const NOTIFY: Identity = Identity {
    user: "guestguard-notify",
    inbox_prefix: "_INBOX_guestguard_notify",
    development_password: "development-only-nats-notify-password",
};

/// Operators (and the test harness): every subject.
pub const OPS: Identity = Identity {
    user: "guestguard-ops",
    inbox_prefix: "_INBOX",
    development_password: "development-only-nats-ops-password",
};

/// How a service proves who it is to NATS.
#[derive(Clone)]
pub enum Credentials {
    /// `NATS_USER` / `NATS_PASSWORD`.
    Password {
        user: String,
        password: SecretString,
    },
    /// `NATS_CREDS_FILE`: a decentralised-auth credentials file (JWT + NKey seed).
    File(PathBuf),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password { user, .. } => write!(f, "Password {{ user: {user:?}, .. }}"),
            Self::File(path) => write!(f, "File({})", path.display()),
        }
    }
}

/// Why credentials could not be read from the environment.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("{0} must be set in production")]
    Missing(&'static str),
}

impl Credentials {
    /// Reads `NATS_CREDS_FILE`, or `NATS_USER` and `NATS_PASSWORD`, from `lookup`. In
    /// development a missing user or password falls back to `identity`'s development
    /// ones; in production they are required.
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
        identity: Identity,
        production: bool,
    ) -> Result<Self, CredentialsError> {
        if let Some(path) = lookup("NATS_CREDS_FILE") {
            return Ok(Self::File(path.into()));
        }
        let user = match lookup("NATS_USER") {
            Some(user) => user,
            None if production => return Err(CredentialsError::Missing("NATS_USER")),
            None => identity.user.to_owned(),
        };
        let password = match lookup("NATS_PASSWORD") {
            Some(password) => password,
            None if production => return Err(CredentialsError::Missing("NATS_PASSWORD")),
            None => identity.development_password.to_owned(),
        };
        Ok(Self::Password {
            user,
            password: password.into(),
        })
    }

    /// The development credentials of a service.
    pub fn development(identity: Identity) -> Self {
        Self::Password {
            user: identity.user.to_owned(),
            password: identity.development_password.into(),
        }
    }

    /// Options that authenticate as these credentials and receive replies on
    /// `identity`'s own inbox prefix.
    pub async fn connect_options(&self, identity: Identity) -> std::io::Result<ConnectOptions> {
        let options = match self {
            Self::Password { user, password } => ConnectOptions::with_user_and_password(
                user.clone(),
                password.expose_secret().to_owned(),
            ),
            Self::File(path) => ConnectOptions::with_credentials_file(path.clone()).await?,
        };
        Ok(options.custom_inbox_prefix(identity.inbox_prefix))
    }
}

/// A NATS URL fit for logs: any `user:password@` part removed.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://{host}"),
            None => url.to_owned(),
        },
        None => match url.rsplit_once('@') {
            Some((_, host)) => host.to_owned(),
            None => url.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn development_falls_back_to_the_services_own_development_user() {
        let credentials =
            Credentials::from_lookup(&lookup(&[]), SERVER, false).expect("development");
        match credentials {
            Credentials::Password { user, password } => {
                assert_eq!(user, "guestguard-server");
                assert_eq!(password.expose_secret(), SERVER.development_password);
            }
            Credentials::File(_) => panic!("expected a password"),
        }
    }

    #[test]
    fn production_requires_a_user_and_a_password_or_a_credentials_file() {
        assert_eq!(
            Credentials::from_lookup(&lookup(&[]), ENGINE, true).err(),
            Some(CredentialsError::Missing("NATS_USER"))
        );
        assert_eq!(
            Credentials::from_lookup(&lookup(&[("NATS_USER", "u")]), ENGINE, true).err(),
            Some(CredentialsError::Missing("NATS_PASSWORD"))
        );
        assert!(matches!(
            Credentials::from_lookup(
                &lookup(&[("NATS_CREDS_FILE", "/run/x.creds")]),
                ENGINE,
                true
            ),
            Ok(Credentials::File(_))
        ));
    }

    #[test]
    fn urls_lose_their_credentials_in_logs() {
        assert_eq!(redact("nats://u:secret@nats:4222"), "nats://nats:4222");
        assert_eq!(redact("nats://nats:4222"), "nats://nats:4222");
        assert_eq!(redact("tls://a:b@x:1"), "tls://x:1");
        assert!(!format!("{:?}", Credentials::development(SERVER)).contains("password-"));
    }
}
