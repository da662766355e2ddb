//! Secrets of host accounts: argon2id password hashes, and random session / API-key
//! values that are stored only as SHA-256 digests.

use crate::{error::AppError, settings::HashingLimits};
use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use std::{sync::Arc, time::Duration};
use tokio::sync::Semaphore;

/// Prefix of every API key, so leaked keys are easy to recognise.
pub const API_KEY_PREFIX: &str = "ggk_";

/// Password hashing with bounded cost: argon2id takes ~19 MiB and tens of
/// milliseconds per hash, so at most `concurrency` run at once (on blocking threads); a
/// request that cannot get a turn within `queue_wait` is answered 503 with
/// `Retry-After` instead of piling up threads and memory.
#[derive(Clone, Debug)]
pub struct PasswordHashing {
    turns: Arc<Semaphore>,
    queue_wait: Duration,
}

impl PasswordHashing {
    pub fn new(limits: HashingLimits) -> Self {
        Self {
            turns: Arc::new(Semaphore::new(limits.concurrency.max(1))),
            queue_wait: limits.queue_wait,
        }
    }

    /// Hashes a password with argon2id.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.run(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| {
                    tracing::error!(%error, "password hashing failed");
                    AppError::Internal
                })
        })
        .await?
    }

    /// Checks a password against a stored hash. A `None` hash still spends the time of
    /// a real check, so response times do not reveal whether an account exists.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        self.run(move || {
            const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                                 ZGV0ZXJtaW5pc3RpY2R1bW15aGFzaGZvcnRpbWluZw";
            let hash_text = stored.as_deref().unwrap_or(DUMMY);
            let matches = PasswordHash::new(hash_text)
                .map(|hash| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &hash)
                        .is_ok()
                })
                .unwrap_or(false);
            matches && stored.is_some()
        })
        .await
    }

    /// Runs `work` on a blocking thread once a turn is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let turn = tokio::time::timeout(self.queue_wait, self.turns.clone().acquire_owned())
            .await
            .map_err(|_| {
                tracing::warn!("password hashing is saturated; answering 503");
                AppError::Busy {
                    retry_after_secs: 1,
                }
            })?
            .map_err(|_| AppError::Internal)?;
        let outcome = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            work()
        })
        .await;
        match outcome {
            Ok(value) => Ok(value),
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
}

/// 32 random bytes, base64url without padding.
pub fn random_secret() -> String {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a secret, the only form in which it is stored.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashing(concurrency: usize, queue_wait: Duration) -> PasswordHashing {
        PasswordHashing::new(HashingLimits {
            concurrency,
            queue_wait,
        })
    }

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let hashing = hashing(2, Duration::from_secs(5));
        let hash = hashing
            .hash("correct horse battery".into())
            .await
            .expect("hashes");
        assert!(hash.starts_with("$argon2id$"));
        let verify =
            |password: &str, stored: Option<String>| hashing.verify(password.to_owned(), stored);
        assert!(verify("correct horse battery", Some(hash.clone()))
            .await
            .expect("runs"));
        assert!(!verify("wrong horse battery", Some(hash))
            .await
            .expect("runs"));
        assert!(!verify("anything", None).await.expect("runs"));
    }

    #[tokio::test]
    async fn a_request_that_finds_every_turn_taken_is_told_to_come_back() {
        let hashing = hashing(1, Duration::from_millis(1));
        let busy = hashing.turns.clone().acquire_owned().await.expect("turn");
        let refused = hashing.hash("correct horse battery".into()).await;
        assert_eq!(
            refused,
            Err(AppError::Busy {
                retry_after_secs: 1
            })
        );
        drop(busy);
        assert!(hashing.hash("correct horse battery".into()).await.is_ok());
    }

    #[test]
    fn secrets_are_random_and_stored_as_digests() {
        let (a, b) = (random_secret(), random_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(digest(&a).len(), 32);
        assert_ne!(digest(&a), digest(&b));
    }
}
