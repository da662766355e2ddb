//! PostgreSQL storage of answers. Submitting locks the event row, so capacity checks and
//! the one-answer-per-guest rule hold under concurrent submissions, and writes the
//! answer's events to the outbox in the same transaction.

use super::{RsvpResponse, RsvpView};
use crate::{
    access::{self, store::NewAttempt},
    error::AppError,
    fraud::{FraudVerdict, RiskBand},
    outbox,
};
use chrono::{DateTime, Utc};
use proto::events::{RsvpConfirmed, ACCESS_ATTEMPTED, RSVP_CONFIRMED};
use sqlx::PgPool;
use uuid::Uuid;

/// A validated answer, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidRsvp {
    pub response: RsvpResponse,
    pub plus_ones: i32,
    pub note: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    response: String,
    plus_ones: i32,
    note: String,
    risk_score: Option<i32>,
    updated_at: DateTime<Utc>,
}

/// A stored answer and whether storing it created it.
#[derive(sqlx::FromRow)]
struct Upserted {
    #[sqlx(flatten)]
    row: Row,
    created: bool,
}

impl From<Row> for RsvpView {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            response: RsvpResponse::parse(&row.response).unwrap_or(RsvpResponse::Maybe),
            plus_ones: row.plus_ones,
            note: row.note,
            risk_score: row.risk_score,
            updated_at: row.updated_at,
        }
    }
}

/// The guest's current answer.
pub async fn current(pool: &PgPool, guest_id: Uuid) -> Result<Option<RsvpView>, AppError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, response, plus_ones, note, risk_score, updated_at FROM rsvps WHERE guest_id = $1",
    )
    .bind(guest_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(RsvpView::from))
}

/// Stores (or replaces) the guest's answer with its fraud verdict, in one transaction
/// with the attempt it was scored as, its `rsvp.confirmed` event and, when it could not
/// be scored in time, the `access.attempted` event that scores it later. `true` in the
/// pair when it is the guest's first answer.
pub async fn submit(
    pool: &PgPool,
    attempt: &NewAttempt<'_>,
    rsvp: &ValidRsvp,
    verdict: &FraudVerdict,
) -> Result<(RsvpView, bool), AppError> {
    let invitation = attempt.invitation;
    let mut tx = pool.begin().await?;
    // One submission per event at a time: the capacity count below stays true. (NO KEY
    // UPDATE, not UPDATE: guests can still be added and links opened meanwhile.)
    let event: Option<(Option<i32>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT capacity, rsvp_deadline FROM events WHERE id = $1 FOR NO KEY UPDATE",
    )
    .bind(invitation.event_id)
    .fetch_optional(&mut *tx)
    .await?;
    // The guest (or the event) may have been deleted since the link was checked; the
    // lock keeps the guest until the answer is stored.
    let guest: Option<i32> = sqlx::query_scalar("SELECT 1 FROM guests WHERE id = $1 FOR KEY SHARE")
        .bind(invitation.guest_id)
        .fetch_optional(&mut *tx)
        .await?;
    let (Some((capacity, deadline)), Some(_)) = (event, guest) else {
        return Err(crate::invitations::resolve::unknown());
    };
    if deadline.is_some_and(|deadline| Utc::now() > deadline) {
        return Err(AppError::conflict(
            "rsvp_closed",
            "the RSVP deadline has passed; contact your host to change your answer",
        ));
    }
    if let (Some(capacity), RsvpResponse::Attending) = (capacity, rsvp.response) {
        let taken: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(1 + plus_ones), 0) FROM rsvps
             WHERE event_id = $1 AND response = 'attending' AND guest_id <> $2",
        )
        .bind(invitation.event_id)
        .bind(invitation.guest_id)
        .fetch_one(&mut *tx)
        .await?;
        if taken + 1 + i64::from(rsvp.plus_ones) > i64::from(capacity) {
            let left = (i64::from(capacity) - taken).max(0);
            return Err(AppError::conflict(
                "event_full",
                format!("the event is full: {left} place(s) left, including you"),
            ));
        }
    }
    access::store::insert(&mut tx, attempt, Some(verdict), false).await?;
    // `xmax = 0` holds for a row this statement inserted, not for one it updated.
    let Upserted { row, created } = sqlx::query_as(
        "INSERT INTO rsvps (id, guest_id, event_id, invitation_id, response, plus_ones, note,
                            risk_score, risk, access_attempt_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (guest_id) DO UPDATE SET
             invitation_id = EXCLUDED.invitation_id, response = EXCLUDED.response,
             plus_ones = EXCLUDED.plus_ones, note = EXCLUDED.note,
             risk_score = EXCLUDED.risk_score, risk = EXCLUDED.risk,
             access_attempt_id = EXCLUDED.access_attempt_id, updated_at = now()
         RETURNING id, response, plus_ones, note, risk_score, updated_at, (xmax = 0) AS created",
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
    .fetch_one(&mut *tx)
    .await?;
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
    };
    outbox::enqueue(&mut tx, Uuid::new_v4(), RSVP_CONFIRMED, &confirmed, None).await?;
    if !verdict.used {
        // Scored later, through the engine's consumer, under the attempt's own id.
        outbox::enqueue(
            &mut tx,
            attempt.id,
            ACCESS_ATTEMPTED,
            &attempt.event(),
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok((row.into(), created))
}
