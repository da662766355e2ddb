//! PostgreSQL storage of invitation links: only the SHA-256 of a token is stored.

use super::{LinkStatus, LinkSummary};
use crate::error::AppError;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// An invitation as stored, with what a guest-facing request needs to know.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Invitation {
    pub id: Uuid,
    pub guest_id: Uuid,
    pub event_id: Uuid,
    pub host_id: Uuid,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub answered: bool,
}

const SELECT: &str = "SELECT i.id, i.guest_id, i.event_id, i.host_id, i.token_hash, i.expires_at,
        i.revoked_at, i.created_at,
        EXISTS (SELECT 1 FROM rsvps r WHERE r.guest_id = i.guest_id) AS answered
    FROM invitations i";

impl Invitation {
    /// The link's state at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> LinkStatus {
        if self.revoked_at.is_some() {
            LinkStatus::Revoked
        } else if self.expires_at <= now {
            LinkStatus::Expired
        } else if self.answered {
            LinkStatus::Used
        } else {
            LinkStatus::Active
        }
    }
}

/// Stores a new link for a guest and revokes the guest's earlier links, in one
/// transaction (issuing is rotating: only the newest link works).
#[expect(clippy::too_many_arguments, reason = "one column per argument")]
pub async fn insert_rotating(
    pool: &PgPool,
    id: Uuid,
    host_id: Uuid,
    event_id: Uuid,
    guest_id: Uuid,
    token_hash: &[u8],
    key_id: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    // The event, then the guest, in the order a deletion locks them (no deadlock with
    // one), so neither can vanish before the link is stored. The guest's lock also makes
    // issuings for one guest take turns: without it, two at once each revoke only the
    // links committed before they started, and both new links stay live. (NO KEY
    // UPDATE, not UPDATE: answers and openings that reference the guest go on.)
    let event: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM events WHERE id = $1 AND host_id = $2 FOR KEY SHARE")
            .bind(event_id)
            .bind(host_id)
            .fetch_optional(&mut *tx)
            .await?;
    event.ok_or_else(crate::events::store::not_found)?;
    let guest: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM guests WHERE id = $1 AND event_id = $2 FOR NO KEY UPDATE",
    )
    .bind(guest_id)
    .bind(event_id)
    .fetch_optional(&mut *tx)
    .await?;
    guest.ok_or_else(crate::guests::store::not_found)?;
    let rotated = sqlx::query(
        "UPDATE invitations SET revoked_at = now()
         WHERE guest_id = $1 AND host_id = $2 AND revoked_at IS NULL",
    )
    .bind(guest_id)
    .bind(host_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if rotated > 0 {
        crate::review::store::audit(
            &mut tx,
            crate::review::store::Subject {
                host_id,
                event_id,
                guest_id,
            },
            crate::review::AuditAction::LinkRotated,
            "a new link replaced the guest's earlier one, which stopped working",
        )
        .await?;
    }
    sqlx::query(
        "INSERT INTO invitations (id, guest_id, event_id, host_id, token_hash, key_id, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(guest_id)
    .bind(event_id)
    .bind(host_id)
    .bind(token_hash)
    .bind(key_id)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes one of the host's links; `false` when there is no such link for this guest.
pub async fn revoke(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Uuid,
    guest_id: Uuid,
    id: Uuid,
) -> Result<bool, AppError> {
    let found = sqlx::query(
        "UPDATE invitations SET revoked_at = coalesce(revoked_at, now())
         WHERE id = $1 AND guest_id = $2 AND event_id = $3 AND host_id = $4",
    )
    .bind(id)
    .bind(guest_id)
    .bind(event_id)
    .bind(host_id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(found == 1)
}

/// The links of one of the host's guests, newest first.
pub async fn list(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Uuid,
    guest_id: Uuid,
) -> Result<Vec<LinkSummary>, AppError> {
    let rows: Vec<Invitation> = sqlx::query_as(&format!(
        "{SELECT} WHERE i.host_id = $1 AND i.event_id = $2 AND i.guest_id = $3 ORDER BY i.created_at DESC"
    ))
    .bind(host_id)
    .bind(event_id)
    .bind(guest_id)
    .fetch_all(pool)
    .await?;
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|row| LinkSummary {
            id: row.id,
            status: row.status(now),
            expires_at: row.expires_at,
            created_at: row.created_at,
        })
        .collect())
}

/// The invitation with this token id.
pub async fn by_id(pool: &PgPool, id: Uuid) -> Result<Option<Invitation>, AppError> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE i.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// An invitation with the id of the key that signed its token.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SignedInvitation {
    #[sqlx(flatten)]
    pub invitation: Invitation,
    pub key_id: String,
}

/// The newest link of every guest of one of the host's events (a live one wins over a
/// revoked one issued in the same instant).
pub async fn newest_per_guest(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Uuid,
) -> Result<Vec<SignedInvitation>, AppError> {
    Ok(sqlx::query_as(
        "SELECT DISTINCT ON (i.guest_id)
                i.id, i.guest_id, i.event_id, i.host_id, i.token_hash, i.expires_at,
                i.revoked_at, i.created_at, i.key_id,
                EXISTS (SELECT 1 FROM rsvps r WHERE r.guest_id = i.guest_id) AS answered
         FROM invitations i
         WHERE i.host_id = $1 AND i.event_id = $2
         ORDER BY i.guest_id, (i.revoked_at IS NULL) DESC, i.created_at DESC",
    )
    .bind(host_id)
    .bind(event_id)
    .fetch_all(pool)
    .await?)
}
