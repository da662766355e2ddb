//! Reading an event's activity feed from PostgreSQL: access attempts (openings,
//! answers, refused answers) with their guest, link, score and the answer they stand
//! for, newest first, and the event's counters.
//!
//! Pages are cut by an opaque cursor (`<microseconds>_<attempt id>` of the last row
//! given), so rows arriving meanwhile never shift a page. `since` gives the rows that
//! happened or were scored at or after an instant: what a monitor missed while it was
//! disconnected.

use super::{ActivityCounts, ActivityItem, ActivityKind, ActivityLabel, ActivityPage};
use crate::{error::AppError, fraud::RiskBand, rsvps::RsvpResponse};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// The most rows one page holds.
pub const MAX_LIMIT: i64 = 200;
/// Rows of a page when the caller does not say.
pub const DEFAULT_LIMIT: i64 = 50;

/// Where a page starts: strictly older than this row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// The cursor after `item`.
    pub fn after(item: &ActivityItem) -> Self {
        Self {
            at: item.at,
            id: item.id,
        }
    }

    /// The opaque text form given to clients.
    pub fn encode(self) -> String {
        format!("{}_{}", self.at.timestamp_micros(), self.id.simple())
    }

    /// Parses what [`Self::encode`] made; anything else is a 400 `invalid_cursor`.
    pub fn parse(text: &str) -> Result<Self, AppError> {
        let invalid = || {
            AppError::bad_request(
                "invalid_cursor",
                "the cursor is not one this API gave (use next_cursor as it is)",
            )
        };
        let (micros, id) = text.split_once('_').ok_or_else(invalid)?;
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        let at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
        let id = Uuid::try_parse(id).map_err(|_| invalid())?;
        Ok(Self { at, id })
    }
}

/// What to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Older than this row (the next page).
    pub before: Option<Cursor>,
    /// Only rows that happened or were scored at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only flagged rows.
    pub flagged: bool,
    /// Only this guest's rows.
    pub guest: Option<Uuid>,
    /// Only rows of this kind.
    pub kind: Option<ActivityKind>,
    /// At most this many rows (1–[`MAX_LIMIT`]).
    pub limit: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    kind: String,
    blocked: bool,
    guest_id: Uuid,
    guest_name: String,
    link_id: Uuid,
    accessed_at: DateTime<Utc>,
    changed_at: DateTime<Utc>,
    risk_score: Option<i32>,
    risk: Option<String>,
    reasons: Vec<String>,
    flagged: bool,
    unavailable: bool,
    response: Option<String>,
    plus_ones: Option<i32>,
    status: Option<String>,
    device_key: Option<String>,
    ip: Option<String>,
    policy: Option<String>,
    time_zone: String,
}

impl From<Row> for ActivityItem {
    fn from(row: Row) -> Self {
        let risk = row.risk.as_deref().and_then(RiskBand::parse);
        let kind = match (row.kind.as_str(), row.blocked) {
            ("open", _) => ActivityKind::Opened,
            (_, true) => ActivityKind::Blocked,
            _ => ActivityKind::Answered,
        };
        Self {
            id: row.id,
            kind,
            guest_id: row.guest_id,
            guest_name: row.guest_name,
            link_id: row.link_id,
            at: row.accessed_at,
            at_local: local_time(row.accessed_at, &row.time_zone),
            changed_at: row.changed_at,
            label: ActivityLabel::of(risk, row.unavailable),
            risk_score: row.risk_score,
            risk,
            reasons: row.reasons,
            flagged: row.flagged,
            response: row.response.as_deref().and_then(RsvpResponse::parse),
            plus_ones: row.plus_ones,
            status: row.status,
            device: row.device_key.as_deref().map(crate::fraud::devices::label),
            ip: row.ip,
            policy: row.policy,
        }
    }
}

/// `at` in the event's time zone, to the second (UTC, said so, for an unknown zone).
pub fn local_time(at: DateTime<Utc>, time_zone: &str) -> String {
    const FORMAT: &str = "%a %-d %b, %H:%M:%S";
    match time_zone.parse::<chrono_tz::Tz>() {
        Ok(zone) => at.with_timezone(&zone).format(FORMAT).to_string(),
        Err(_) => format!("{} UTC", at.format(FORMAT)),
    }
}

const SELECT: &str = "
    SELECT a.id, a.kind, a.blocked, a.guest_id, g.name AS guest_name, a.invitation_id AS link_id,
           a.accessed_at, GREATEST(a.accessed_at, COALESCE(a.scored_at, a.accessed_at)) AS changed_at,
           a.risk_score, a.risk, a.reasons, COALESCE(a.flagged, false) AS flagged,
           (a.scoring_error IS NOT NULL) AS unavailable,
           r.response, r.plus_ones, r.status, a.device_key, host(a.ip) AS ip, a.policy,
           e.time_zone
    FROM access_attempts a
    JOIN guests g ON g.id = a.guest_id
    JOIN events e ON e.id = a.event_id
    LEFT JOIN rsvps r ON r.access_attempt_id = a.id";

/// One page of the feed of an event (already checked to be the caller's), newest first.
pub async fn page(pool: &PgPool, event_id: Uuid, query: Query) -> Result<ActivityPage, AppError> {
    let limit = query.limit.clamp(1, MAX_LIMIT);
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT}
         WHERE a.event_id = $1
           AND ($2::timestamptz IS NULL OR (a.accessed_at, a.id) < ($2::timestamptz, $3::uuid))
           AND ($4::timestamptz IS NULL
                OR GREATEST(a.accessed_at, COALESCE(a.scored_at, a.accessed_at)) >= $4)
           AND ($5 = false OR a.flagged)
           AND ($6::uuid IS NULL OR a.guest_id = $6)
           AND ($7::text IS NULL OR $7 = CASE WHEN a.kind = 'open' THEN 'opened'
                                               WHEN a.blocked THEN 'blocked'
                                               ELSE 'answered' END)
         ORDER BY a.accessed_at DESC, a.id DESC
         LIMIT $8"
    ))
    .bind(event_id)
    .bind(query.before.map(|c| c.at))
    .bind(query.before.map(|c| c.id))
    .bind(query.since)
    .bind(query.flagged)
    .bind(query.guest)
    .bind(query.kind.map(ActivityKind::as_str))
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    let mut items: Vec<ActivityItem> = rows.into_iter().map(ActivityItem::from).collect();
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|item| Cursor::after(item).encode())
    } else {
        None
    };
    Ok(ActivityPage {
        items,
        next_cursor,
        counts: counts(pool, event_id).await?,
    })
}

/// The rows `ids` of an event's feed that exist, oldest first (as they happened).
pub async fn items(
    pool: &PgPool,
    event_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<ActivityItem>, AppError> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE a.event_id = $1 AND a.id = ANY($2) ORDER BY a.accessed_at, a.id"
    ))
    .bind(event_id)
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(ActivityItem::from).collect())
}

/// The event's counters now.
pub async fn counts(pool: &PgPool, event_id: Uuid) -> Result<ActivityCounts, AppError> {
    let (attending, declined, maybe, pending, plus_ones, flagged): (i64, i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT
                count(*) FILTER (WHERE r.status = 'confirmed' AND r.response = 'attending'),
                count(*) FILTER (WHERE r.status = 'confirmed' AND r.response = 'declined'),
                count(*) FILTER (WHERE r.status = 'confirmed' AND r.response = 'maybe'),
                count(*) FILTER (WHERE r.id IS NULL OR r.status <> 'confirmed'),
                COALESCE(sum(r.plus_ones) FILTER (
                    WHERE r.status = 'confirmed' AND r.response = 'attending'), 0)::bigint,
                (SELECT count(*) FROM access_attempts a WHERE a.event_id = $1 AND a.flagged)
             FROM guests g LEFT JOIN rsvps r ON r.guest_id = g.id
             WHERE g.event_id = $1",
        )
        .bind(event_id)
        .fetch_one(pool)
        .await?;
    Ok(ActivityCounts {
        attending,
        declined,
        maybe,
        pending,
        plus_ones,
        flagged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_itself_and_anything_else_is_refused() {
        let cursor = Cursor {
            at: DateTime::from_timestamp_micros(1_780_000_000_123_456).expect("an instant"),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::parse(&cursor.encode()), Ok(cursor));
        for bad in [
            "",
            "_",
            "12",
            "abc_def",
            "1_not-a-uuid",
            "9999999999999999999_x",
        ] {
            let error = Cursor::parse(bad).expect_err(bad);
            assert_eq!(error.code(), "invalid_cursor");
        }
    }

    #[test]
    fn times_are_written_in_the_event_zone_to_the_second() {
        let at = DateTime::parse_from_rfc3339("2027-06-12T16:04:09Z")
            .expect("an instant")
            .with_timezone(&Utc);
        assert_eq!(local_time(at, "Europe/Paris"), "Sat 12 Jun, 18:04:09");
        assert_eq!(local_time(at, "Nowhere/Else"), "Sat 12 Jun, 16:04:09 UTC");
    }
}
