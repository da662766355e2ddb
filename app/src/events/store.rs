//! PostgreSQL storage of events. Every query is scoped to the host that owns the event:
//! another host's event is simply not found.

use super::{validate::ValidEvent, Event};
use crate::error::AppError;
use sqlx::PgPool;
use uuid::Uuid;

const COLUMNS: &str = "id, name, slug, starts_at AS event_date, time_zone, venue, description, \
                       capacity, rsvp_deadline, default_max_plus_ones, fraud_on_unavailable, \
                       fraud_sensitivity, fraud_shadow, language, reminder_hours, \
                       created_at, updated_at";

fn slug_taken(error: sqlx::Error) -> AppError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => AppError::Conflict {
            code: "slug_taken".into(),
            message: "you already have an event with this slug".into(),
        },
        _ => error.into(),
    }
}

/// Creates an event for the host.
pub async fn insert(pool: &PgPool, host_id: Uuid, event: &ValidEvent) -> Result<Event, AppError> {
    sqlx::query_as(&format!(
        "INSERT INTO events (id, host_id, name, slug, starts_at, time_zone, venue, description,
                             capacity, rsvp_deadline, default_max_plus_ones,
                             fraud_on_unavailable, fraud_sensitivity, fraud_shadow,
                             language, reminder_hours)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(host_id)
    .bind(&event.name)
    .bind(&event.slug)
    .bind(event.event_date)
    .bind(&event.time_zone)
    .bind(&event.venue)
    .bind(&event.description)
    .bind(event.capacity)
    .bind(event.rsvp_deadline)
    .bind(event.default_max_plus_ones)
    .bind(event.fraud_policy.on_engine_unavailable.as_str())
    .bind(event.fraud_policy.sensitivity.as_str())
    .bind(event.fraud_policy.shadow)
    .bind(&event.language)
    .bind(event.reminder_hours)
    .fetch_one(pool)
    .await
    .map_err(slug_taken)
}

/// The host's events, soonest first.
pub async fn list(pool: &PgPool, host_id: Uuid) -> Result<Vec<Event>, AppError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM events WHERE host_id = $1 ORDER BY starts_at, name"
    ))
    .bind(host_id)
    .fetch_all(pool)
    .await?)
}

/// One of the host's events.
pub async fn get(pool: &PgPool, host_id: Uuid, id: Uuid) -> Result<Event, AppError> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM events WHERE id = $1 AND host_id = $2"
    ))
    .bind(id)
    .bind(host_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(not_found)
}

/// Replaces the fields of one of the host's events.
pub async fn update(
    pool: &PgPool,
    host_id: Uuid,
    id: Uuid,
    event: &ValidEvent,
) -> Result<Event, AppError> {
    sqlx::query_as(&format!(
        "UPDATE events SET name = $3, slug = $4, starts_at = $5, time_zone = $6, venue = $7,
                description = $8, capacity = $9, rsvp_deadline = $10,
                default_max_plus_ones = $11, fraud_on_unavailable = $12,
                fraud_sensitivity = $13, fraud_shadow = $14, language = $15,
                reminder_hours = $16,
                -- A new reminder time schedules the reminder again (each guest still
                -- gets one at most).
                reminders_queued_at = CASE
                    WHEN reminder_hours IS DISTINCT FROM $16
                      OR rsvp_deadline IS DISTINCT FROM $10
                      OR starts_at IS DISTINCT FROM $5 THEN NULL
                    ELSE reminders_queued_at END,
                updated_at = now()
         WHERE id = $1 AND host_id = $2 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(host_id)
    .bind(&event.name)
    .bind(&event.slug)
    .bind(event.event_date)
    .bind(&event.time_zone)
    .bind(&event.venue)
    .bind(&event.description)
    .bind(event.capacity)
    .bind(event.rsvp_deadline)
    .bind(event.default_max_plus_ones)
    .bind(event.fraud_policy.on_engine_unavailable.as_str())
    .bind(event.fraud_policy.sensitivity.as_str())
    .bind(event.fraud_policy.shadow)
    .bind(&event.language)
    .bind(event.reminder_hours)
    .fetch_optional(pool)
    .await
    .map_err(slug_taken)?
    .ok_or_else(not_found)
}

/// Deletes one of the host's events with its guests, links and responses.
pub async fn delete(pool: &PgPool, host_id: Uuid, id: Uuid) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    // The event row first, as every writer locks it before its guests (no deadlock);
    // its lock keeps new guests out until the deletion commits.
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM events WHERE id = $1 AND host_id = $2 FOR UPDATE")
            .bind(id)
            .bind(host_id)
            .fetch_optional(&mut *tx)
            .await?;
    found.ok_or_else(not_found)?;
    let guests: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM guests WHERE event_id = $1")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM events WHERE id = $1 AND host_id = $2")
        .bind(id)
        .bind(host_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted != 1 {
        return Err(not_found());
    }
    // The engine forgets the event's guests too.
    crate::outbox::forget_guests(&mut tx, &guests).await?;
    tx.commit().await?;
    Ok(())
}

/// Guests of each of the host's events that have any: (event id, guests, guests who
/// answered "attending").
pub async fn guest_counts(pool: &PgPool, host_id: Uuid) -> Result<Vec<(Uuid, i64, i64)>, AppError> {
    Ok(sqlx::query_as(
        "SELECT g.event_id, count(*),
                count(r.id) FILTER (WHERE r.response = 'attending' AND r.status = 'confirmed')
           FROM guests g LEFT JOIN rsvps r ON r.guest_id = g.id
          WHERE g.host_id = $1
          GROUP BY g.event_id",
    )
    .bind(host_id)
    .fetch_all(pool)
    .await?)
}

/// The answer for a missing (or someone else's) event.
pub fn not_found() -> AppError {
    AppError::NotFound("there is no such event".into())
}
