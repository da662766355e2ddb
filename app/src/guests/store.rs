//! PostgreSQL storage of guests, always scoped to the host that owns the event.

use super::{fields::GuestDraft, Guest, GuestCounts, GuestList, GuestStatus};
use crate::error::AppError;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct GuestRow {
    id: Uuid,
    event_id: Uuid,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    max_plus_ones: Option<i32>,
    allowed_plus_ones: i32,
    status: String,
    plus_ones: i32,
    note: String,
    responded_at: Option<DateTime<Utc>>,
    risk: Option<String>,
    held_reason: Option<String>,
    devices: i64,
    trusted: bool,
    created_at: DateTime<Utc>,
}

impl From<GuestRow> for Guest {
    fn from(row: GuestRow) -> Self {
        Self {
            id: row.id,
            event_id: row.event_id,
            name: row.name,
            email: row.email,
            phone: row.phone,
            max_plus_ones: row.max_plus_ones,
            allowed_plus_ones: row.allowed_plus_ones,
            status: GuestStatus::parse(&row.status).unwrap_or(GuestStatus::Pending),
            plus_ones: row.plus_ones,
            note: row.note,
            responded_at: row.responded_at,
            risk: row.risk.as_deref().and_then(crate::fraud::RiskBand::parse),
            held_reason: row.held_reason,
            devices: row.devices,
            device_conflict: row.devices >= 2 && !row.trusted,
            created_at: row.created_at,
        }
    }
}

const SELECT: &str = "SELECT g.id, g.event_id, g.name, g.email, g.phone, g.max_plus_ones,
        COALESCE(g.max_plus_ones, e.default_max_plus_ones) AS allowed_plus_ones,
        CASE WHEN r.status = 'held' THEN 'held'
             WHEN r.status = 'confirmed' THEN r.response
             ELSE 'pending' END AS status,
        COALESCE(r.plus_ones, 0) AS plus_ones,
        COALESCE(r.note, '') AS note, r.updated_at AS responded_at, r.risk, r.held_reason,
        (SELECT count(DISTINCT a.device_key) FROM access_attempts a
          WHERE a.guest_id = g.id AND a.device_key IS NOT NULL
            AND a.accessed_at > COALESCE(g.baseline_reset_at, '-infinity'::timestamptz))
            AS devices,
        g.trusted_device_key IS NOT NULL AS trusted,
        g.created_at
    FROM guests g
    JOIN events e ON e.id = g.event_id
    LEFT JOIN rsvps r ON r.guest_id = g.id";

/// The answer for a failed guest write: the email is on the list already (409), or the
/// event was deleted between its check and the write (404).
fn write_error(error: sqlx::Error) -> AppError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => AppError::Conflict {
            code: "email_taken".into(),
            message: "a guest with this email is already on the list".into(),
        },
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            crate::events::store::not_found()
        }
        _ => error.into(),
    }
}

/// The answer for a missing (or someone else's) guest.
pub fn not_found() -> AppError {
    AppError::NotFound("there is no such guest".into())
}

/// Fails with 404 unless the event exists and belongs to the host.
pub async fn require_event(pool: &PgPool, host_id: Uuid, event_id: Uuid) -> Result<(), AppError> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM events WHERE id = $1 AND host_id = $2")
            .bind(event_id)
            .bind(host_id)
            .fetch_optional(pool)
            .await?;
    found.map(drop).ok_or_else(crate::events::store::not_found)
}

async fn insert_one(
    tx: &mut Transaction<'_, Postgres>,
    host_id: Uuid,
    event_id: Uuid,
    draft: &GuestDraft,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO guests (id, event_id, host_id, name, email, phone, max_plus_ones)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(event_id)
    .bind(host_id)
    .bind(draft.name.as_str())
    .bind(draft.email.as_ref().map(|e| e.as_str()))
    .bind(draft.phone.as_ref().map(|p| p.as_str()))
    .bind(draft.max_plus_ones.map(|n| i32::from(n.get())))
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Adds a guest to one of the host's events.
pub async fn insert(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Uuid,
    draft: &GuestDraft,
) -> Result<Guest, AppError> {
    require_event(pool, host_id, event_id).await?;
    let mut tx = pool.begin().await?;
    let id = insert_one(&mut tx, host_id, event_id, draft)
        .await
        .map_err(write_error)?;
    tx.commit().await?;
    get(pool, host_id, event_id, id).await
}

/// Adds many guests in one transaction: all or none.
pub async fn insert_many(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Uuid,
    drafts: &[GuestDraft],
) -> Result<usize, AppError> {
    require_event(pool, host_id, event_id).await?;
    let mut tx = pool.begin().await?;
    for draft in drafts {
        insert_one(&mut tx, host_id, event_id, draft)
            .await
            .map_err(write_error)?;
    }
    tx.commit().await?;
    Ok(drafts.len())
}

/// Lower-cased emails already on the event's list.
pub async fn existing_emails(pool: &PgPool, event_id: Uuid) -> Result<Vec<String>, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT lower(email) FROM guests WHERE event_id = $1 AND email IS NOT NULL",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?)
}

/// One guest of one of the host's events.
pub async fn get(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Uuid,
    guest_id: Uuid,
) -> Result<Guest, AppError> {
    let row: Option<GuestRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE g.host_id = $1 AND g.event_id = $2 AND g.id = $3"
    ))
    .bind(host_id)
    .bind(event_id)
    .bind(guest_id)
    .fetch_optional(pool)
    .await?;
    row.map(Guest::from).ok_or_else(not_found)
}

/// The guest list of an event (already read as its host's), optionally filtered by
/// status and by a search in name, email and phone; counts cover the whole list.
pub async fn list(
    pool: &PgPool,
    event: &crate::events::Event,
    status: Option<GuestStatus>,
    search: Option<&str>,
) -> Result<GuestList, AppError> {
    let rows: Vec<GuestRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE g.event_id = $1 ORDER BY lower(g.name), g.created_at"
    ))
    .bind(event.id)
    .fetch_all(pool)
    .await?;
    let all: Vec<Guest> = rows.into_iter().map(Guest::from).collect();
    let mut counts = GuestCounts {
        total: all.len() as i64,
        ..GuestCounts::default()
    };
    for guest in &all {
        match guest.status {
            GuestStatus::Attending => {
                counts.attending += 1;
                counts.plus_ones += i64::from(guest.plus_ones);
            }
            GuestStatus::Declined => counts.declined += 1,
            GuestStatus::Maybe => counts.maybe += 1,
            GuestStatus::Pending => counts.pending += 1,
            GuestStatus::Held => counts.held += 1,
        }
    }
    let needle = search
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let guests = all
        .into_iter()
        .filter(|g| status.is_none_or(|s| g.status == s))
        .filter(|g| {
            needle.as_deref().is_none_or(|needle| {
                g.name.to_lowercase().contains(needle)
                    || g.email.as_deref().is_some_and(|e| e.contains(needle))
                    || g.phone.as_deref().is_some_and(|p| p.contains(needle))
            })
        })
        .collect();
    Ok(GuestList { guests, counts })
}

/// Replaces a guest's fields.
pub async fn update(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Uuid,
    guest_id: Uuid,
    draft: &GuestDraft,
) -> Result<Guest, AppError> {
    let updated = sqlx::query(
        "UPDATE guests SET name = $4, email = $5, phone = $6, max_plus_ones = $7, updated_at = now()
         WHERE host_id = $1 AND event_id = $2 AND id = $3",
    )
    .bind(host_id)
    .bind(event_id)
    .bind(guest_id)
    .bind(draft.name.as_str())
    .bind(draft.email.as_ref().map(|e| e.as_str()))
    .bind(draft.phone.as_ref().map(|p| p.as_str()))
    .bind(draft.max_plus_ones.map(|n| i32::from(n.get())))
    .execute(pool)
    .await
    .map_err(write_error)?
    .rows_affected();
    if updated == 0 {
        return Err(not_found());
    }
    get(pool, host_id, event_id, guest_id).await
}

/// Removes a guest with their links and answer.
pub async fn delete(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Uuid,
    guest_id: Uuid,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let deleted =
        sqlx::query("DELETE FROM guests WHERE host_id = $1 AND event_id = $2 AND id = $3")
            .bind(host_id)
            .bind(event_id)
            .bind(guest_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if deleted != 1 {
        return Err(not_found());
    }
    // The engine forgets the guest too (baselines, device and origin indexes).
    crate::outbox::forget_guests(&mut tx, &[guest_id]).await?;
    tx.commit().await?;
    Ok(())
}
