//! Retention: what the web server logs is kept only as long as it is useful, then
//! deleted by a job every replica runs (`GUESTGUARD_RETENTION_EVERY_MINUTES`; the
//! deletes are idempotent, so replicas running it at once do no harm):
//!
//! | what | deleted when | setting (default) |
//! |---|---|---|
//! | access attempts (openings and answers, with their addresses and device keys) | older than | `GUESTGUARD_RETAIN_ACCESS_DAYS` (180) |
//! | published outbox rows | published longer ago than | `GUESTGUARD_RETAIN_OUTBOX_DAYS` (7) |
//! | ended sessions (expired, idle past their limit, or revoked) | ended longer ago than | `GUESTGUARD_RETAIN_SESSIONS_DAYS` (30) |
//!
//! Rate-limit counters are purged every minute by `edge::rate_limit`; the fraud
//! engine's memory of guests expires in its own buckets (30 days after the event).
//! Deleting a guest or an event deletes everything about them at once.

use crate::settings::Retention;
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Rows deleted per statement, so no purge holds locks for long.
const BATCH: i64 = 5_000;

/// What one purge deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub access_attempts: u64,
    pub outbox: u64,
    pub sessions: u64,
}

/// Deletes everything past its retention, in batches.
pub async fn purge(
    pool: &PgPool,
    keep: &Retention,
    session_idle: Duration,
) -> Result<Purged, sqlx::Error> {
    let secs = |d: Duration| d.as_secs_f64();
    let access_attempts = in_batches(
        pool,
        "DELETE FROM access_attempts WHERE id IN (
             SELECT id FROM access_attempts
              WHERE accessed_at < now() - make_interval(secs => $1) LIMIT $2)",
        secs(keep.access_attempts),
    )
    .await?;
    let outbox = in_batches(
        pool,
        "DELETE FROM outbox WHERE id IN (
             SELECT id FROM outbox
              WHERE published_at < now() - make_interval(secs => $1) LIMIT $2)",
        secs(keep.outbox),
    )
    .await?;
    // A session ended when it expired, was revoked, or went unused past the idle limit.
    let sessions = in_batches(
        pool,
        &format!(
            "DELETE FROM host_sessions WHERE token_hash IN (
                 SELECT token_hash FROM host_sessions
                  WHERE LEAST(expires_at, COALESCE(revoked_at, 'infinity'::timestamptz),
                              last_seen_at + make_interval(secs => {idle}))
                        < now() - make_interval(secs => $1)
                  LIMIT $2)",
            idle = secs(session_idle)
        ),
        secs(keep.sessions),
    )
    .await?;
    Ok(Purged {
        access_attempts,
        outbox,
        sessions,
    })
}

/// Runs a batched delete until nothing is left to delete; returns how many rows went.
async fn in_batches(pool: &PgPool, statement: &str, age_secs: f64) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let deleted = sqlx::query(statement)
            .bind(age_secs)
            .bind(BATCH)
            .execute(pool)
            .await?
            .rows_affected();
        total += deleted;
        if deleted < BATCH as u64 {
            return Ok(total);
        }
    }
}

/// Purges on schedule until `stop`: once a minute after start, then every `keep.every`.
pub async fn run(pool: PgPool, keep: Retention, session_idle: Duration, stop: CancellationToken) {
    let mut wait = Duration::from_secs(60).min(keep.every);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = keep.every;
        match purge(&pool, &keep, session_idle).await {
            Ok(purged) if purged != Purged::default() => tracing::info!(
                access_attempts = purged.access_attempts,
                outbox = purged.outbox,
                sessions = purged.sessions,
                "records past their retention deleted"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "the retention job failed; it runs again later"),
        }
    }
}
