//! PostgreSQL storage of hosts, sessions and API keys. Secrets arrive here already
//! digested (see `credentials`).

use super::{ApiKeySummary, HostProfile};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// How long a session lasts.
pub const SESSION_LIFETIME: chrono::Duration = chrono::Duration::days(14);

/// Creates a host; `Ok(None)` when the email is already registered.
pub async fn insert_host(
    pool: &PgPool,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<Option<HostProfile>, sqlx::Error> {
    let id = Uuid::new_v4();
    let inserted = sqlx::query(
        "INSERT INTO hosts (id, email, name, password_hash) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(email)
    .bind(name)
    .bind(password_hash)
    .execute(pool)
    .await?
    .rows_affected();
    Ok((inserted == 1).then(|| HostProfile {
        id,
        email: email.to_owned(),
        name: name.to_owned(),
    }))
}

/// A host and their password hash, by email (case-insensitive).
pub async fn host_by_email(
    pool: &PgPool,
    email: &str,
) -> Result<Option<(HostProfile, String)>, sqlx::Error> {
    let row: Option<(Uuid, String, String, String)> = sqlx::query_as(
        "SELECT id, email, name, password_hash FROM hosts WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id, email, name, hash)| (HostProfile { id, email, name }, hash)))
}

/// A host by id.
pub async fn host_by_id(pool: &PgPool, id: Uuid) -> Result<Option<HostProfile>, sqlx::Error> {
    let row: Option<(Uuid, String, String)> =
        sqlx::query_as("SELECT id, email, name FROM hosts WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(id, email, name)| HostProfile { id, email, name }))
}

/// Stores a new session; returns when it expires.
pub async fn insert_session(
    pool: &PgPool,
    host_id: Uuid,
    token_hash: &[u8],
) -> Result<DateTime<Utc>, sqlx::Error> {
    let expires_at = Utc::now() + SESSION_LIFETIME;
    sqlx::query("INSERT INTO host_sessions (token_hash, host_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(host_id)
        .bind(expires_at)
        .execute(pool)
        .await?;
    Ok(expires_at)
}

/// The host of a live session: not expired, not revoked, and used within `idle`.
/// Records the use (at most once a minute, so reading pages does not write a row
/// version per request).
pub async fn session_host(
    pool: &PgPool,
    token_hash: &[u8],
    idle: std::time::Duration,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH live AS (
             SELECT token_hash, host_id, last_seen_at FROM host_sessions
              WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
                AND last_seen_at > now() - make_interval(secs => $2)
         ), touched AS (
             UPDATE host_sessions s SET last_seen_at = now() FROM live
              WHERE s.token_hash = live.token_hash
                AND live.last_seen_at < now() - interval '1 minute'
         )
         SELECT host_id FROM live",
    )
    .bind(token_hash)
    .bind(idle.as_secs_f64())
    .fetch_optional(pool)
    .await
}

/// Revokes every live session of a host except `keep` (all of them when `None`);
/// returns how many ended.
pub async fn revoke_sessions(
    pool: &PgPool,
    host_id: Uuid,
    keep: Option<&[u8]>,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE host_sessions SET revoked_at = now()
         WHERE host_id = $1 AND revoked_at IS NULL AND token_hash IS DISTINCT FROM $2",
    )
    .bind(host_id)
    .bind(keep)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
}

/// A host's password hash.
pub async fn password_hash(pool: &PgPool, host_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT password_hash FROM hosts WHERE id = $1")
        .bind(host_id)
        .fetch_optional(pool)
        .await
}

/// Replaces a host's password hash and ends every other session, in one transaction.
pub async fn change_password(
    pool: &PgPool,
    host_id: Uuid,
    new_hash: &str,
    keep_session: &[u8],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE hosts SET password_hash = $2 WHERE id = $1")
        .bind(host_id)
        .bind(new_hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE host_sessions SET revoked_at = now()
         WHERE host_id = $1 AND revoked_at IS NULL AND token_hash <> $2",
    )
    .bind(host_id)
    .bind(keep_session)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Revokes one session (logout).
pub async fn revoke_session(pool: &PgPool, token_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE host_sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .execute(pool)
    .await
    .map(drop)
}

/// Stores a new API key (`expires_at`: when it stops working, if ever).
pub async fn insert_api_key(
    pool: &PgPool,
    host_id: Uuid,
    name: &str,
    prefix: &str,
    key_hash: &[u8],
    expires_at: Option<DateTime<Utc>>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO api_keys (id, host_id, name, prefix, key_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(host_id)
    .bind(name)
    .bind(prefix)
    .bind(key_hash)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(id)
}

/// The host of a live (not revoked, not expired) API key; records its use.
pub async fn api_key_host(pool: &PgPool, key_hash: &[u8]) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE api_keys SET last_used_at = now()
         WHERE key_hash = $1 AND revoked_at IS NULL
           AND (expires_at IS NULL OR expires_at > now())
         RETURNING host_id",
    )
    .bind(key_hash)
    .fetch_optional(pool)
    .await
}

/// The host's API keys, newest first.
pub async fn list_api_keys(
    pool: &PgPool,
    host_id: Uuid,
) -> Result<Vec<ApiKeySummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, prefix, created_at, last_used_at, expires_at,
                revoked_at IS NOT NULL AS revoked
           FROM api_keys WHERE host_id = $1 ORDER BY created_at DESC",
    )
    .bind(host_id)
    .fetch_all(pool)
    .await
}

/// Revokes one of the host's API keys; `false` when the host has no such key.
pub async fn revoke_api_key(pool: &PgPool, host_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let found = sqlx::query(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND host_id = $2",
    )
    .bind(id)
    .bind(host_id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(found == 1)
}
