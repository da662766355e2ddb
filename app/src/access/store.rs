//! PostgreSQL storage of access attempts and of what a guest's page shows.

use super::{BrowserSignals, EventView, GuestView};
use crate::{error::AppError, invitations::store::Invitation};
use sqlx::PgPool;
use std::net::IpAddr;
use uuid::Uuid;

/// Request facts of one opening of a link.
#[derive(Clone, Debug, Default)]
pub struct RequestFacts {
    pub ip: Option<IpAddr>,
    pub user_agent: String,
    pub accept_language: String,
}

fn clip(value: &str, max: usize) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect()
}

/// Records one opening of a link; returns the attempt's id.
pub async fn record(
    pool: &PgPool,
    invitation: &Invitation,
    facts: &RequestFacts,
) -> Result<Uuid, AppError> {
    let id = Uuid::new_v4();
    let mut tx = pool.begin().await?;
    // Lock the event, then the guest, in the order a deletion does, so that deleting
    // them while the link is opened waits for this (rather than deadlocking with it);
    // either may be gone since the link was checked.
    let event: Option<i32> = sqlx::query_scalar("SELECT 1 FROM events WHERE id = $1 FOR KEY SHARE")
        .bind(invitation.event_id)
        .fetch_optional(&mut *tx)
        .await?;
    let guest: Option<i32> = sqlx::query_scalar("SELECT 1 FROM guests WHERE id = $1 FOR KEY SHARE")
        .bind(invitation.guest_id)
        .fetch_optional(&mut *tx)
        .await?;
    if event.is_none() || guest.is_none() {
        return Err(crate::invitations::resolve::unknown());
    }
    sqlx::query(
        "INSERT INTO access_attempts
            (id, invitation_id, guest_id, event_id, host_id, ip, user_agent, accept_language)
         VALUES ($1, $2, $3, $4, $5, $6::inet, $7, $8)",
    )
    .bind(id)
    .bind(invitation.id)
    .bind(invitation.guest_id)
    .bind(invitation.event_id)
    .bind(invitation.host_id)
    .bind(facts.ip.map(|ip| ip.to_string()))
    .bind(clip(&facts.user_agent, 512))
    .bind(clip(&facts.accept_language, 128))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Attaches browser signals to a recent attempt of the same link; `false` when there is
/// no such attempt (or it already has signals).
pub async fn attach_signals(
    pool: &PgPool,
    invitation: &Invitation,
    signals: &BrowserSignals,
) -> Result<bool, AppError> {
    let updated = sqlx::query(
        "UPDATE access_attempts
         SET fingerprint_hash = $3, time_zone = $4, screen = $5, js_enabled = true
         WHERE id = $1 AND invitation_id = $2 AND NOT js_enabled
           AND accessed_at > now() - interval '1 hour'",
    )
    .bind(signals.access_log_id)
    .bind(invitation.id)
    .bind(signals.fingerprint_hash.as_deref().map(|v| clip(v, 128)))
    .bind(signals.time_zone.as_deref().map(|v| clip(v, 64)))
    .bind(signals.screen.as_deref().map(|v| clip(v, 32)))
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// The guest behind an invitation, with their effective plus-one limit.
pub async fn guest(pool: &PgPool, invitation: &Invitation) -> Result<GuestView, AppError> {
    sqlx::query_as(
        "SELECT g.id, g.name, COALESCE(g.max_plus_ones, e.default_max_plus_ones) AS max_plus_ones
         FROM guests g JOIN events e ON e.id = g.event_id WHERE g.id = $1",
    )
    .bind(invitation.guest_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(crate::invitations::resolve::unknown)
}

/// The guest and event behind an invitation.
pub async fn guest_and_event(
    pool: &PgPool,
    invitation: &Invitation,
) -> Result<(GuestView, EventView), AppError> {
    let guest = guest(pool, invitation).await?;
    let event: EventView = sqlx::query_as(
        "SELECT id, name, starts_at AS event_date, time_zone, venue, description, rsvp_deadline
         FROM events WHERE id = $1",
    )
    .bind(invitation.event_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(crate::invitations::resolve::unknown)?;
    Ok((guest, event))
}
