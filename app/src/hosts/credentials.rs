//! Secrets of host accounts: argon2id password hashes, and random session / API-key
//! values that are stored only as SHA-256 digests.

use crate::{error::AppError, settings::HashingLimits};
use argon2::{
    password_hash::{self, Output, ParamsString, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use std::{
    sync::{mpsc, Arc, Mutex},
    time::Duration,
};
use tokio::sync::{oneshot, Semaphore};

/// Prefix of every API key, so leaked keys are easy to recognise.
pub const API_KEY_PREFIX: &str = "ggk_";

/// Password hashing with bounded cost: argon2id takes ~19 MiB and tens of
/// milliseconds per hash, so a fixed pool of `concurrency` threads computes them, each
/// with one working memory it reuses for every hash (the allocator would otherwise keep
/// a fresh 19 MiB per hash: about 160 MiB per thread). The process's footprint stays at
/// about `concurrency` × 19 MiB however many requests arrive; a request that cannot get
/// a turn within `queue_wait` is answered 503 with `Retry-After` instead of piling up.
#[derive(Clone)]
pub struct PasswordHashing {
    turns: Arc<Semaphore>,
    queue_wait: Duration,
    jobs: mpsc::Sender<Job>,
}

/// Work for a pool thread, given the thread's argon2 working memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

impl std::fmt::Debug for PasswordHashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHashing")
            .field("free_turns", &self.turns.available_permits())
            .field("queue_wait", &self.queue_wait)
            .finish()
    }
}

/// Largest working memory a stored hash may ask for (its `m` parameter), in KiB; our
/// own hashes use argon2's default, 19 MiB.
const MAX_MEMORY_KIB: usize = 64 * 1024;

impl PasswordHashing {
    /// Starts the pool's threads; they end when the last clone is dropped.
    pub fn new(limits: HashingLimits) -> Self {
        let threads = limits.concurrency.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hashing-{n}"))
                .spawn(move || {
                    let mut memory = Vec::new();
                    loop {
                        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match next {
                            Ok(job) => job(&mut memory),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password-hashing thread");
            }
        }
        Self {
            turns: Arc::new(Semaphore::new(threads)),
            queue_wait: limits.queue_wait,
            jobs,
        }
    }

    /// Hashes a password with argon2id (default parameters), as a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.run(move |memory| {
            hash_with(memory, password.as_bytes()).map_err(|error| {
                tracing::error!(%error, "password hashing failed");
                AppError::Internal
            })
        })
        .await?
    }

    /// Checks a password against a stored hash. A `None` hash still spends the time of
    /// a real check, so response times do not reveal whether an account exists.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        self.run(move |memory| {
            const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                                 ZGV0ZXJtaW5pc3RpY2R1bW15aGFzaGZvcnRpbWluZw";
            let matches = verify_with(
                memory,
                password.as_bytes(),
                stored.as_deref().unwrap_or(DUMMY),
            );
            matches && stored.is_some()
        })
        .await
    }

    /// Runs `work` on one of the pool's threads once a turn is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
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
        let (done, outcome) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(memory)));
            drop(turn);
            let _ = done.send(result);
        });
        self.jobs.send(job).map_err(|_| AppError::Internal)?;
        match outcome.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(AppError::Internal),
        }
    }
}

/// The working memory for `params`, grown once and then reused.
fn blocks_for<'m>(memory: &'m mut Vec<Block>, params: &Params) -> &'m mut [Block] {
    let needed = params.block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::default());
    }
    &mut memory[..needed]
}

/// argon2id with default parameters and a fresh salt, as a PHC string.
fn hash_with(memory: &mut Vec<Block>, password: &[u8]) -> password_hash::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_buffer = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buffer)?;
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2.hash_password_into_with_memory(
        password,
        salt_bytes,
        &mut output,
        blocks_for(memory, &params),
    )?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output)?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `stored` (constant-time comparison).
fn verify_with(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> bool {
    let mut check = || -> password_hash::Result<bool> {
        let hash = PasswordHash::new(stored)?;
        let algorithm = Algorithm::try_from(hash.algorithm)?;
        let version = hash
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let params = Params::try_from(&hash)?;
        if params.block_count() > MAX_MEMORY_KIB {
            return Ok(false);
        }
        let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
            return Ok(false);
        };
        let mut salt_buffer = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buffer)?;
        let mut output = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
            password,
            salt_bytes,
            &mut output,
            blocks_for(memory, &params),
        )?;
        // `Output`'s equality is constant-time.
        Ok(Output::new(&output)? == expected)
    };
    check().unwrap_or(false)
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

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let mut memory = Vec::new();
        let ours = hash_with(&mut memory, b"correct horse battery").expect("hash");
        let parsed = PasswordHash::new(&ours).expect("a PHC string");
        assert!(Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok());
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .expect("hash")
            .to_string();
        assert!(verify_with(&mut memory, b"correct horse battery", &theirs));
        assert!(!verify_with(&mut memory, b"correct horse batterY", &theirs));
        assert!(!verify_with(&mut memory, b"x", "not a hash"));
        assert_eq!(
            memory.len(),
            Params::default().block_count(),
            "one memory, reused"
        );
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
