//! Per-client rate limiting of sensitive routes (login, sign-up, invitation tokens):
//! a fixed window per (route, client) key, kept in memory.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How many attempts a client gets per window.
#[derive(Clone, Copy, Debug)]
pub struct Quota {
    pub attempts: u32,
    pub window: Duration,
}

/// Shared limiter; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct RateLimiter {
    windows: Arc<Mutex<HashMap<String, (Instant, u32)>>>,
}

impl RateLimiter {
    /// Counts one attempt for `key`; `Err(seconds)` when the quota is used up, with the
    /// seconds until the window resets.
    pub fn check(&self, key: &str, quota: Quota, now: Instant) -> Result<(), u64> {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < quota.window);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= quota.window {
            *entry = (now, 0);
        }
        if entry.1 >= quota.attempts {
            let reset = quota.window.saturating_sub(now.duration_since(entry.0));
            return Err(reset.as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_stopped_after_its_quota_and_let_through_after_the_window() {
        let limiter = RateLimiter::default();
        let quota = Quota {
            attempts: 2,
            window: Duration::from_secs(60),
        };
        let start = Instant::now();
        assert!(limiter.check("login:1.2.3.4", quota, start).is_ok());
        assert!(limiter.check("login:1.2.3.4", quota, start).is_ok());
        let retry = limiter.check("login:1.2.3.4", quota, start + Duration::from_secs(10));
        assert_eq!(retry, Err(50));
        assert!(
            limiter.check("login:5.6.7.8", quota, start).is_ok(),
            "other clients are not affected"
        );
        assert!(limiter
            .check("login:1.2.3.4", quota, start + Duration::from_secs(61))
            .is_ok());
    }
}
