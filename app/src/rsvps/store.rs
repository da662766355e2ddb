//! PostgreSQL storage of answers. Submitting locks the event row, so capacity checks and
//! the one-answer-per-guest rule hold under concurrent submissions, and writes the
//! answer's events to the outbox in the same transaction. Only confirmed answers count
//! towards capacity; a held one waits for the host (or for its score).

use super::{RsvpResponse, RsvpView};
use crate::{
    access::{self, store::NewAttempt},
    error::AppError,
    fraud::{
        policy::{held, AnswerStatus},
        FraudVerdict, RiskBand,
    },
    outbox,
};
use chrono::{DateTime, Utc};
use proto::events::{RsvpConfirmed, RsvpHeld, ACCESS_ATTEMPTED, RSVP_CONFIRMED, RSVP_HELD};
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

/// A validated answer, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidRsvp {
    pub response: RsvpResponse,
    pub plus_ones: i32,
    pub note: String,
}

/// How an answer is to be stored: its status (and why, when held) and the policy that
/// decided it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filing<'a> {
    pub status: AnswerStatus,
    pub held_reason: Option<&'static str>,
    pub policy: &'a str,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    response: String,
    plus_ones: i32,
    note: String,
    status: String,
    updated_at: DateTime<Utc>,
}

/// A stored answer and whether storing it created it.
#[derive(sqlx::FromRow)]
struct Upserted {
    #[sqlx(flatten)]
    row: Row,
    created: bool,
    /// The answer counts for the first time (it is confirmed, and no earlier one was).
    first_counted: bool,
}

impl From<Row> for RsvpView {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            response: RsvpResponse::parse(&row.response).unwrap_or(RsvpResponse::Maybe),
            plus_ones: row.plus_ones,
            note: row.note,
            status: AnswerStatus::parse(&row.status).unwrap_or(AnswerStatus::Confirmed),
            updated_at: row.updated_at,
        }
    }
}

/// The guest's current answer.
pub async fn current(pool: &PgPool, guest_id: Uuid) -> Result<Option<RsvpView>, AppError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, response, plus_ones, note, status, updated_at FROM rsvps WHERE guest_id = $1",
    )
    .bind(guest_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(RsvpView::from))
}

/// Places taken at an event by confirmed "attending" answers of guests other than
/// `except` (the caller holds the event's row lock).
pub async fn places_taken(
    conn: &mut PgConnection,
    event_id: Uuid,
    except: Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE(SUM(1 + plus_ones), 0) FROM rsvps
         WHERE event_id = $1 AND response = 'attending' AND status = 'confirmed'
           AND guest_id <> $2",
    )
    .bind(event_id)
    .bind(except)
    .fetch_one(conn)
    .await
}

/// The answer of a full event, saying how many places are left.
pub fn event_full(capacity: i32, taken: i64) -> AppError {
    let left = (i64::from(capacity) - taken).max(0);
    AppError::conflict(
        "event_full",
        format!("the event is full: {left} place(s) left, including you"),
    )
}

/// Stores (or replaces) the guest's answer with its fraud verdict and `filing`, in one
/// transaction with the attempt it was scored as, its `rsvp.confirmed` or `rsvp.held`
/// event and, when it could not be scored in time, the `access.attempted` event that
/// scores it later. A low-risk answer from a device makes that device the guest's
/// trusted one. `true` in the pair when it is the guest's first answer.
pub async fn submit(
    pool: &PgPool,
    attempt: &NewAttempt<'_>,
    rsvp: &ValidRsvp,
    verdict: &FraudVerdict,
    filing: Filing<'_>,
) -> Result<(RsvpView, bool), AppError> {
    let invitation = attempt.invitation;
    let mut tx = pool.begin().await?;
    // The event and the guest stay while the answer is stored (KEY SHARE: they cannot
    // be deleted meanwhile; answers to the same event do not wait for each other).
    let locked = access::store::lock_guest(&mut tx, invitation).await?;
    if !locked.event.accepts_answers(Utc::now()) {
        return Err(AppError::conflict(
            "rsvp_closed",
            "the RSVP deadline has passed; contact your host to change your answer",
        ));
    }
    if let (Some(_), RsvpResponse::Attending, AnswerStatus::Confirmed) =
        (locked.capacity, rsvp.response, filing.status)
    {
        // Only an answer that takes places counts them, one per event at a time, so
        // the count stays true (NO KEY UPDATE, not UPDATE: guests can still be added and
        // links opened meanwhile). The capacity is read again under the lock: the host
        // may just have changed it.
        let capacity: Option<i32> =
            sqlx::query_scalar("SELECT capacity FROM events WHERE id = $1 FOR NO KEY UPDATE")
                .bind(invitation.event_id)
                .fetch_one(&mut *tx)
                .await?;
        if let Some(capacity) = capacity {
            let taken = places_taken(&mut tx, invitation.event_id, invitation.guest_id).await?;
            if taken + 1 + i64::from(rsvp.plus_ones) > i64::from(capacity) {
                return Err(event_full(capacity, taken));
            }
        }
    }
    // A low-risk answer from a device makes it the guest's trusted one (unless it is).
    let trusted = match verdict.risk {
        Some(RiskBand::Low) => attempt.signals.device_key.clone(),
        _ => None,
    };
    // One statement: the attempt ($1 to $23), the trusted device and the answer.
    // `xmax = 0` holds for a row this statement inserted, not for one it updated.
    const _: () = assert!(access::store::ATTEMPT_PARAMS == 23);
    let sql = format!(
        "WITH {attempt_cte}, trusted AS (
             UPDATE guests SET trusted_device_key = $36
             WHERE id = $25 AND $36::text IS NOT NULL AND trusted_device_key IS DISTINCT FROM $36
         )
         INSERT INTO rsvps (id, guest_id, event_id, invitation_id, response, plus_ones, note,
                            risk_score, risk, access_attempt_id, status, held_reason,
                            first_confirmed_at)
         VALUES ($24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35,
                 CASE WHEN $34 = 'confirmed' THEN now() END)
         ON CONFLICT (guest_id) DO UPDATE SET
             invitation_id = EXCLUDED.invitation_id, response = EXCLUDED.response,
             plus_ones = EXCLUDED.plus_ones, note = EXCLUDED.note,
             risk_score = EXCLUDED.risk_score, risk = EXCLUDED.risk,
             access_attempt_id = EXCLUDED.access_attempt_id, status = EXCLUDED.status,
             held_reason = EXCLUDED.held_reason, reviewed_at = NULL, updated_at = now(),
             first_confirmed_at = CASE WHEN EXCLUDED.status = 'confirmed'
                 THEN coalesce(rsvps.first_confirmed_at, now())
                 ELSE rsvps.first_confirmed_at END
         RETURNING id, response, plus_ones, note, status, updated_at, (xmax = 0) AS created,
                   (status = 'confirmed' AND first_confirmed_at = now()) AS first_counted",
        attempt_cte = access::store::ATTEMPT_CTE,
    );
    let stored = access::store::bind_attempt(
        sqlx::query(&sql),
        attempt,
        Some(verdict),
        false,
        Some(filing.policy),
    )
    .bind(Uuid::new_v4())
    .bind(invitation.guest_id)
    .bind(invitation.event_id)
    .bind(invitation.id)
    .bind(rsvp.response.as_str())
    .bind(rsvp.plus_ones)
    .bind(&rsvp.note)
    .bind(verdict.score.map(|score| score.min(100) as i32))
    .bind(verdict.risk.map(RiskBand::as_str))
    .bind(attempt.id)
    .bind(filing.status.as_str())
    .bind(filing.held_reason)
    .bind(trusted)
    .fetch_one(&mut *tx)
    .await?;
    let Upserted {
        row,
        created,
        first_counted,
    } = Upserted::from_row(&stored)?;
    let mut queued = Vec::with_capacity(2);
    match filing.status {
        AnswerStatus::Held => {
            let held = RsvpHeld {
                rsvp_id: row.id,
                event_id: invitation.event_id,
                guest_id: invitation.guest_id,
                access_log_id: attempt.id,
                reason: filing
                    .held_reason
                    .unwrap_or(held::ENGINE_UNAVAILABLE)
                    .to_owned(),
                held_at: row.updated_at,
            };
            queued.push(outbox::Queued::new(Uuid::new_v4(), RSVP_HELD, &held, None)?);
        }
        _ => {
            let confirmed = RsvpConfirmed {
                rsvp_id: row.id,
                event_id: invitation.event_id,
                guest_id: invitation.guest_id,
                token_id: invitation.id,
                access_log_id: attempt.id,
                response: row.response.clone(),
                plus_ones: row.plus_ones,
                risk_score: verdict.score,
                risk: verdict.risk.map(|risk| risk.as_str().to_owned()),
                confirmed_at: row.updated_at,
                created: first_counted,
            };
            queued.push(outbox::Queued::new(
                Uuid::new_v4(),
                RSVP_CONFIRMED,
                &confirmed,
                None,
            )?);
        }
    }
    if !verdict.used {
        // Scored later, through the engine's consumer, under the attempt's own id.
        queued.push(outbox::Queued::new(
            attempt.id,
            ACCESS_ATTEMPTED,
            &attempt.event(),
            None,
        )?);
    }
    outbox::insert(&mut tx, &queued).await?;
    tx.commit().await?;
    Ok((row.into(), created))
}

/// Records that the guest answered, low risk, from `device`: the engine now trusts it,
/// and so does the host's view of the guest's devices.
pub async fn trust_device(
    conn: &mut PgConnection,
    guest_id: Uuid,
    device: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE guests SET trusted_device_key = $2
         WHERE id = $1 AND trusted_device_key IS DISTINCT FROM $2",
    )
    .bind(guest_id)
    .bind(device)
    .execute(conn)
    .await
    .map(drop)
}
