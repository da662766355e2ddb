//! Rate limits shared by every web server replica: a GCRA ("generic cell rate
//! algorithm") per key, its one number of state — the theoretical arrival time of the
//! next request — kept in PostgreSQL's `rate_limits` table and advanced by one
//! atomic upsert per request.
//!
//! Why PostgreSQL: every replica already holds connections to it and it is on every
//! request's path; the limit holds in total however many replicas (or restarts) there
//! are. The table is `UNLOGGED` (a database crash forgets the counters, which only
//! grants a fresh window) and holds only keys seen within their window: rows whose
//! arrival time has passed are equivalent to absent ones and are deleted by
//! [`purge_expired`], so its size is bounded by the clients active in the last window.
//! (The `governor` crate implements the same algorithm, but in one process's memory:
//! it cannot share its state between replicas.)
//!
//! A quota of `attempts` per `window` lets a client send `attempts` requests at once,
//! then one every `window / attempts`.

use crate::error::AppError;
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How many attempts a client gets per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub attempts: u32,
    pub window: Duration,
}

impl Quota {
    /// The time between two requests at the sustained rate.
    fn interval(self) -> Duration {
        self.window / self.attempts.max(1)
    }
}

/// The shared limiter; cheap to clone.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    pool: PgPool,
}

impl RateLimiter {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Counts one attempt for `key`; [`AppError::RateLimited`] with the seconds until
    /// the next attempt is allowed when the quota is used up.
    pub async fn check(&self, key: &str, quota: Quota) -> Result<(), AppError> {
        let interval = quota.interval().as_secs_f64();
        let window = quota.window.as_secs_f64();
        let allowed = sqlx::query_scalar::<_, i32>(
            "INSERT INTO rate_limits AS r (key, tat)
                  VALUES ($1, now() + make_interval(secs => $2))
             ON CONFLICT (key) DO UPDATE
                  SET tat = GREATEST(r.tat, now()) + make_interval(secs => $2)
                WHERE GREATEST(r.tat, now()) + make_interval(secs => $2)
                      <= now() + make_interval(secs => $3)
             RETURNING 1",
        )
        .bind(key)
        .bind(interval)
        .bind(window)
        .fetch_optional(&self.pool)
        .await?;
        if allowed.is_some() {
            return Ok(());
        }
        let wait: Option<f64> = sqlx::query_scalar(
            "SELECT EXTRACT(EPOCH FROM GREATEST(tat, now()) + make_interval(secs => $2)
                                      - make_interval(secs => $3) - now())::float8
               FROM rate_limits WHERE key = $1",
        )
        .bind(key)
        .bind(interval)
        .bind(window)
        .fetch_optional(&self.pool)
        .await?;
        Err(AppError::RateLimited {
            retry_after_secs: wait.unwrap_or(1.0).ceil().max(1.0) as u64,
        })
    }
}

/// How often expired counters are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Deletes expired counters every minute until `stop` (every replica may run it; the
/// deletes are idempotent).
pub async fn purge_expired(pool: PgPool, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(PURGE_EVERY) => {}
        }
        match sqlx::query("DELETE FROM rate_limits WHERE tat < now()")
            .execute(&pool)
            .await
        {
            Ok(done) if done.rows_affected() > 0 => {
                tracing::debug!(
                    deleted = done.rows_affected(),
                    "expired rate-limit counters deleted"
                )
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not delete expired rate-limit counters"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Quota;
    use std::time::Duration;

    #[test]
    fn the_sustained_rate_spreads_the_window_over_the_attempts() {
        let quota = Quota {
            attempts: 120,
            window: Duration::from_secs(60),
        };
        assert_eq!(quota.interval(), Duration::from_millis(500));
    }
}
