//! PostgreSQL storage of a host's review of a guest: the guest's devices (from the
//! access log), the host's trust decisions mirrored from the engine, held answers and
//! the audit trail. Every query is scoped to the host that owns the event.

use super::{AuditAction, AuditEntry, HeldAnswer};
use crate::{
    error::AppError,
    fraud::{
        devices::{label, GuestDevice},
        policy::{held, AnswerStatus},
        RiskBand,
    },
    outbox,
    rsvps::RsvpResponse,
};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The guest a decision is about, and whose it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject {
    pub host_id: Uuid,
    pub event_id: Uuid,
    pub guest_id: Uuid,
}

/// What the review of a guest starts from.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct GuestTrust {
    /// The device the guest answered from (low risk) or the host approved.
    pub trusted_device_key: Option<String>,
    /// When the host last reset what the engine learned (devices before it are done).
    pub baseline_reset_at: Option<DateTime<Utc>>,
    pub event_starts_at: DateTime<Utc>,
}

/// Records a decision about a guest in the caller's transaction.
pub async fn audit(
    conn: &mut PgConnection,
    subject: Subject,
    action: AuditAction,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO guest_audit (id, guest_id, event_id, host_id, action, detail)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::new_v4())
    .bind(subject.guest_id)
    .bind(subject.event_id)
    .bind(subject.host_id)
    .bind(action.as_str())
    .bind(detail)
    .execute(conn)
    .await
    .map(drop)
}

/// A guest's audit trail, newest first.
pub async fn trail(pool: &PgPool, subject: Subject) -> Result<Vec<AuditEntry>, AppError> {
    let rows: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT action, detail, created_at FROM guest_audit
         WHERE guest_id = $1 AND host_id = $2 ORDER BY created_at DESC, id",
    )
    .bind(subject.guest_id)
    .bind(subject.host_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(action, detail, at)| {
            Some(AuditEntry {
                action: AuditAction::parse(&action)?,
                detail,
                at,
            })
        })
        .collect())
}

/// The trust state of one of the host's guests; 404 for another host's.
pub async fn trust(pool: &PgPool, subject: Subject) -> Result<GuestTrust, AppError> {
    sqlx::query_as(
        "SELECT g.trusted_device_key, g.baseline_reset_at, e.starts_at AS event_starts_at
         FROM guests g JOIN events e ON e.id = g.event_id
         WHERE g.id = $1 AND g.event_id = $2 AND g.host_id = $3",
    )
    .bind(subject.guest_id)
    .bind(subject.event_id)
    .bind(subject.host_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(crate::guests::store::not_found)
}

/// The devices that opened a guest's link since the last reset, first seen first.
pub async fn devices(
    pool: &PgPool,
    guest_id: Uuid,
    trust: &GuestTrust,
) -> Result<Vec<GuestDevice>, AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        device_key: String,
        first_seen: DateTime<Utc>,
        last_seen: DateTime<Utc>,
        openings: i64,
        last_ip: Option<String>,
        user_agent: Option<String>,
        last_risk: Option<String>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT device_key, min(accessed_at) AS first_seen, max(accessed_at) AS last_seen,
                count(*) FILTER (WHERE kind = 'open') AS openings,
                (array_agg(host(ip) ORDER BY accessed_at DESC))[1] AS last_ip,
                (array_agg(user_agent ORDER BY accessed_at DESC))[1] AS user_agent,
                (array_agg(risk ORDER BY accessed_at DESC) FILTER (WHERE risk IS NOT NULL))[1]
                    AS last_risk
         FROM access_attempts
         WHERE guest_id = $1 AND device_key IS NOT NULL
           AND accessed_at > COALESCE($2, '-infinity'::timestamptz)
         GROUP BY device_key
         ORDER BY first_seen",
    )
    .bind(guest_id)
    .bind(trust.baseline_reset_at)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| GuestDevice {
            label: label(&row.device_key),
            trusted: trust.trusted_device_key.as_deref() == Some(row.device_key.as_str()),
            device_key: row.device_key,
            first_seen: row.first_seen,
            last_seen: row.last_seen,
            openings: row.openings,
            last_ip: row.last_ip,
            user_agent: row.user_agent.unwrap_or_default(),
            last_risk: row.last_risk.as_deref().and_then(RiskBand::parse),
        })
        .collect())
}

/// Records that the host approved `device_key` for the guest (the engine already knows).
pub async fn approved(pool: &PgPool, subject: Subject, device_key: &str) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE guests SET trusted_device_key = $2 WHERE id = $1")
        .bind(subject.guest_id)
        .bind(device_key)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        subject,
        AuditAction::DeviceApproved,
        &format!("device {} is the guest's own", label(device_key)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records that the engine forgot what it learned about the guest.
pub async fn reset(pool: &PgPool, subject: Subject) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE guests SET trusted_device_key = NULL, baseline_reset_at = now() WHERE id = $1",
    )
    .bind(subject.guest_id)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        subject,
        AuditAction::BaselineReset,
        "the fraud checks forgot the guest's devices and networks; the next answer is scored fresh",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The event's answers held for review, oldest first.
pub async fn held(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Uuid,
) -> Result<Vec<HeldAnswer>, AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        guest_id: Uuid,
        guest_name: String,
        response: String,
        plus_ones: i32,
        note: String,
        held_reason: Option<String>,
        risk_score: Option<i32>,
        risk: Option<String>,
        updated_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.guest_id, g.name AS guest_name, r.response, r.plus_ones, r.note,
                r.held_reason, r.risk_score, r.risk, r.updated_at
         FROM rsvps r JOIN guests g ON g.id = r.guest_id
         WHERE r.event_id = $1 AND g.host_id = $2 AND r.status = 'held'
         ORDER BY r.updated_at, r.id",
    )
    .bind(event_id)
    .bind(host_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let reason = row.held_reason.unwrap_or_default();
            HeldAnswer {
                guest_id: row.guest_id,
                guest_name: row.guest_name,
                response: RsvpResponse::parse(&row.response).unwrap_or(RsvpResponse::Maybe),
                plus_ones: row.plus_ones,
                note: row.note,
                explanation: held::describe(&reason).to_owned(),
                reason,
                risk_score: row.risk_score,
                risk: row.risk.as_deref().and_then(RiskBand::parse),
                answered_at: row.updated_at,
            }
        })
        .collect())
}

/// Accepts (it counts from now on, if the event has room: 409 `event_full` otherwise)
/// or rejects a held answer; 404 `no_held_answer` when the guest has none.
pub async fn decide_held(pool: &PgPool, subject: Subject, accept: bool) -> Result<(), AppError> {
    #[derive(sqlx::FromRow)]
    struct Held {
        id: Uuid,
        invitation_id: Uuid,
        access_attempt_id: Option<Uuid>,
        response: String,
        plus_ones: i32,
        risk_score: Option<i32>,
        risk: Option<String>,
        capacity: Option<i32>,
    }
    let mut tx = pool.begin().await?;
    // The event row first, as every answer does: the capacity count stays true.
    let event: Option<Option<i32>> = sqlx::query_scalar(
        "SELECT capacity FROM events WHERE id = $1 AND host_id = $2 FOR NO KEY UPDATE",
    )
    .bind(subject.event_id)
    .bind(subject.host_id)
    .fetch_optional(&mut *tx)
    .await?;
    event.ok_or_else(crate::events::store::not_found)?;
    let answer: Option<Held> = sqlx::query_as(
        "SELECT r.id, r.invitation_id, r.access_attempt_id, r.response, r.plus_ones,
                r.risk_score, r.risk, e.capacity
         FROM rsvps r JOIN events e ON e.id = r.event_id
         WHERE r.guest_id = $1 AND r.event_id = $2 AND r.status = 'held'
         FOR UPDATE OF r",
    )
    .bind(subject.guest_id)
    .bind(subject.event_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(answer) = answer else {
        return Err(AppError::NotFound(
            "this guest has no answer held for review".into(),
        ));
    };
    let status = if accept {
        if let (Some(capacity), "attending") = (answer.capacity, answer.response.as_str()) {
            let taken =
                crate::rsvps::store::places_taken(&mut tx, subject.event_id, subject.guest_id)
                    .await?;
            if taken + 1 + i64::from(answer.plus_ones) > i64::from(capacity) {
                return Err(crate::rsvps::store::event_full(capacity, taken));
            }
        }
        AnswerStatus::Confirmed
    } else {
        AnswerStatus::Rejected
    };
    let (updated_at, first_counted): (DateTime<Utc>, bool) = sqlx::query_as(
        "UPDATE rsvps SET status = $2, held_reason = NULL, reviewed_at = now(), updated_at = now(),
             first_confirmed_at = CASE WHEN $2 = 'confirmed'
                 THEN coalesce(first_confirmed_at, now()) ELSE first_confirmed_at END
         WHERE id = $1
         RETURNING updated_at, (status = 'confirmed' AND first_confirmed_at = now())",
    )
    .bind(answer.id)
    .bind(status.as_str())
    .fetch_one(&mut *tx)
    .await?;
    if accept {
        let confirmed = proto::events::RsvpConfirmed {
            rsvp_id: answer.id,
            event_id: subject.event_id,
            guest_id: subject.guest_id,
            token_id: answer.invitation_id,
            access_log_id: answer.access_attempt_id.unwrap_or(answer.id),
            response: answer.response.clone(),
            plus_ones: answer.plus_ones,
            risk_score: answer.risk_score.and_then(|s| u32::try_from(s).ok()),
            risk: answer.risk,
            confirmed_at: updated_at,
            created: first_counted,
        };
        outbox::enqueue(
            &mut tx,
            Uuid::new_v4(),
            proto::events::RSVP_CONFIRMED,
            &confirmed,
            None,
        )
        .await?;
    }
    let (action, detail) = if accept {
        (AuditAction::AnswerAccepted, "the held answer now counts")
    } else {
        (
            AuditAction::AnswerRejected,
            "the held answer does not count; the guest may answer again",
        )
    };
    audit(&mut tx, subject, action, detail).await?;
    tx.commit().await?;
    Ok(())
}
