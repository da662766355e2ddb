//! PostgreSQL storage of access attempts and of what a guest's page shows. Recording an
//! attempt also queues its `access.attempted` event in the outbox (same transaction).
//! Devices are stored as device keys only (`fraud::devices`), never as fingerprints.

use super::{EventView, GuestView, LoggedAccess};
use crate::{
    error::AppError,
    fraud::{
        policy::{FraudPolicy, Sensitivity, WhenUnavailable},
        FraudVerdict, RiskBand,
    },
    invitations::store::Invitation,
    outbox,
};
use chrono::{DateTime, Utc};
use proto::{
    events::{AccessAttempted, Signals, ACCESS_ATTEMPTED},
    fraud::v1::{ClientSignals, ScoreRequest},
};
use sqlx::{PgConnection, PgPool};
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

/// What scoring an attempt needs to know about its event: when it starts (the engine's
/// retention) and its fraud policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventFacts {
    pub starts_at: DateTime<Utc>,
    pub policy: FraudPolicy,
}

/// The columns of [`EventFacts`] in a query over `events e`.
const EVENT_FACTS: &str =
    "e.starts_at, e.fraud_on_unavailable, e.fraud_sensitivity, e.fraud_shadow";

#[derive(sqlx::FromRow)]
struct EventFactsRow {
    starts_at: DateTime<Utc>,
    fraud_on_unavailable: String,
    fraud_sensitivity: String,
    fraud_shadow: bool,
}

impl From<EventFactsRow> for EventFacts {
    fn from(row: EventFactsRow) -> Self {
        Self {
            starts_at: row.starts_at,
            policy: FraudPolicy {
                on_engine_unavailable: WhenUnavailable::parse(&row.fraud_on_unavailable)
                    .unwrap_or_default(),
                sensitivity: Sensitivity::parse(&row.fraud_sensitivity).unwrap_or_default(),
                shadow: row.fraud_shadow,
            },
        }
    }
}

/// Whether an attempt is a link opening or an RSVP submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptKind {
    Open,
    Rsvp,
}

impl AttemptKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Rsvp => "rsvp",
        }
    }
}

/// One access attempt about to be recorded.
#[derive(Clone, Debug)]
pub struct NewAttempt<'a> {
    pub id: Uuid,
    pub kind: AttemptKind,
    pub invitation: &'a Invitation,
    pub facts: &'a RequestFacts,
    pub signals: Signals,
    pub accessed_at: DateTime<Utc>,
    pub event: EventFacts,
}

impl<'a> NewAttempt<'a> {
    /// A new attempt of `kind` on `invitation` of an event with `event`'s facts, now.
    pub fn now(
        kind: AttemptKind,
        invitation: &'a Invitation,
        facts: &'a RequestFacts,
        signals: Signals,
        event: EventFacts,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            kind,
            invitation,
            facts,
            signals,
            accessed_at: Utc::now(),
            event,
        }
    }

    /// The `access.attempted` event asking the engine to score this attempt.
    pub fn event(&self) -> AccessAttempted {
        AccessAttempted {
            access_log_id: self.id,
            event_id: self.invitation.event_id,
            guest_id: self.invitation.guest_id,
            token_id: self.invitation.id,
            accessed_at: self.accessed_at,
            ip: self.facts.ip.map(|ip| ip.to_string()),
            user_agent: clip(&self.facts.user_agent, 512),
            accept_language: clip(&self.facts.accept_language, 128),
            signals: self.signals.clone(),
            is_rsvp: self.kind == AttemptKind::Rsvp,
            sensitivity: Some(self.event.policy.sensitivity.as_str().to_owned()),
            event_starts_at: Some(self.event.starts_at),
        }
    }

    /// The `Score` request of this attempt (the synchronous check of an RSVP).
    pub fn score_request(&self) -> ScoreRequest {
        let event = self.event();
        ScoreRequest {
            event_id: event.event_id.to_string(),
            guest_id: event.guest_id.to_string(),
            token_id: event.token_id.to_string(),
            access_log_id: event.access_log_id.to_string(),
            accessed_at: event.accessed_at.to_rfc3339(),
            ip: event.ip.unwrap_or_default(),
            user_agent: event.user_agent,
            accept_language: event.accept_language,
            signals: Some(ClientSignals {
                device_key: event.signals.device_key.unwrap_or_default(),
                time_zone: event.signals.time_zone.unwrap_or_default(),
                screen: event.signals.screen.unwrap_or_default(),
                js_enabled: event.signals.js_enabled,
                automation: event.signals.automation,
            }),
            is_rsvp: event.is_rsvp,
            sensitivity: match self.event.policy.sensitivity {
                Sensitivity::Relaxed => proto::fraud::v1::Sensitivity::Relaxed,
                Sensitivity::Standard => proto::fraud::v1::Sensitivity::Standard,
                Sensitivity::Strict => proto::fraud::v1::Sensitivity::Strict,
            } as i32,
            event_starts_at: self.event.starts_at.to_rfc3339(),
        }
    }
}

/// The attempt row as a data-modifying `WITH` query named `attempt`, with parameters
/// `$1` to `$23` ([`ATTEMPT_PARAMS`]) bound by [`bind_attempt`]: statements that record
/// an attempt together with what follows from it (the answer, the outbox rows) send it
/// to PostgreSQL once.
pub(crate) const ATTEMPT_CTE: &str = "attempt AS (
    INSERT INTO access_attempts
        (id, invitation_id, guest_id, event_id, host_id, accessed_at, ip, user_agent,
         accept_language, device_key, time_zone, screen, js_enabled, kind,
         risk_score, risk, reasons, flagged, scored_at, blocked, scoring_error,
         automation, policy)
    VALUES ($1, $2, $3, $4, $5, $6, $7::inet, $8, $9, $10, $11, $12, $13, $14,
            $15, $16, COALESCE($17, '{}'::text[]), $18, $19, $20, $21, $22, $23))";

/// The parameters [`ATTEMPT_CTE`] takes; what follows it is numbered from here plus one.
pub(crate) const ATTEMPT_PARAMS: usize = 23;

/// Binds an attempt (with the synchronous verdict when there was one, `blocked` when
/// the RSVP was refused for it, and the policy that decided it) to [`ATTEMPT_CTE`]'s
/// parameters.
pub(crate) fn bind_attempt<'q>(
    query: outbox::PgQuery<'q>,
    attempt: &NewAttempt<'_>,
    verdict: Option<&FraudVerdict>,
    blocked: bool,
    policy: Option<&str>,
) -> outbox::PgQuery<'q> {
    let invitation = attempt.invitation;
    let scored = verdict.filter(|verdict| verdict.used);
    query
        .bind(attempt.id)
        .bind(invitation.id)
        .bind(invitation.guest_id)
        .bind(invitation.event_id)
        .bind(invitation.host_id)
        .bind(attempt.accessed_at)
        .bind(attempt.facts.ip.map(|ip| ip.to_string()))
        .bind(clip(&attempt.facts.user_agent, 512))
        .bind(clip(&attempt.facts.accept_language, 128))
        .bind(attempt.signals.device_key.clone())
        .bind(attempt.signals.time_zone.clone())
        .bind(attempt.signals.screen.clone())
        .bind(attempt.signals.js_enabled)
        .bind(attempt.kind.as_str())
        .bind(
            scored
                .and_then(|v| v.score)
                .map(|score| score.min(100) as i32),
        )
        .bind(scored.and_then(|v| v.risk).map(RiskBand::as_str))
        .bind(verdict.map(|v| v.reasons.clone()))
        .bind(scored.map(|v| v.flagged))
        .bind(scored.map(|_| Utc::now()))
        .bind(blocked)
        .bind(verdict.and_then(|v| v.unavailable.clone()))
        .bind(attempt.signals.automation.clone())
        .bind(policy.map(str::to_owned))
}

/// Writes an attempt row and its `queued` outbox events inside the caller's
/// transaction, in one statement; see [`bind_attempt`] for the other arguments.
pub async fn insert(
    conn: &mut PgConnection,
    attempt: &NewAttempt<'_>,
    verdict: Option<&FraudVerdict>,
    blocked: bool,
    policy: Option<&str>,
    queued: &[outbox::Queued],
) -> Result<(), sqlx::Error> {
    let sql = if queued.is_empty() {
        format!("WITH {ATTEMPT_CTE} SELECT 1")
    } else {
        format!(
            "WITH {ATTEMPT_CTE} {}",
            outbox::insert_sql(ATTEMPT_PARAMS + 1, queued.len())
        )
    };
    let query = bind_attempt(sqlx::query(&sql), attempt, verdict, blocked, policy);
    outbox::bind(query, queued).execute(conn).await?;
    Ok(())
}

/// What a guest's page shows of the guest and the event, in a query over `events e`
/// and `guests g` (rows of [`PageRow`]).
const PAGE: &str = "g.name AS guest_name,
    COALESCE(g.max_plus_ones, e.default_max_plus_ones) AS max_plus_ones,
    e.id, e.name, e.starts_at AS event_date, e.time_zone, e.venue, e.description,
    e.rsvp_deadline";

#[derive(sqlx::FromRow)]
struct PageRow {
    guest_name: String,
    max_plus_ones: i32,
    #[sqlx(flatten)]
    event: EventView,
}

impl PageRow {
    fn into_views(self, guest_id: Uuid) -> (GuestView, EventView) {
        let guest = GuestView {
            id: guest_id,
            name: self.guest_name,
            max_plus_ones: self.max_plus_ones,
        };
        (guest, self.event)
    }
}

/// The event and the guest of an invitation, locked by [`lock_guest`].
#[derive(Clone, Debug)]
pub struct Locked {
    /// What scoring needs to know about the event.
    pub facts: EventFacts,
    /// The event's capacity, if it has one.
    pub capacity: Option<i32>,
    /// The guest and the event as the guest's page shows them.
    pub guest: GuestView,
    pub event: EventView,
}

/// Locks the event and its guest (KEY SHARE, in the order a deletion takes them: they
/// cannot be deleted while the caller's transaction writes about them, and nothing
/// else waits), in one statement; returns what the caller records and shows. A 404 when
/// either is gone since the link was checked.
pub async fn lock_guest(
    conn: &mut PgConnection,
    invitation: &Invitation,
) -> Result<Locked, AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        facts: EventFactsRow,
        capacity: Option<i32>,
        #[sqlx(flatten)]
        page: PageRow,
    }
    let row: Row = sqlx::query_as(&format!(
        "SELECT {EVENT_FACTS}, e.capacity, {PAGE}
         FROM events e JOIN guests g ON g.event_id = e.id
         WHERE e.id = $1 AND g.id = $2
         FOR KEY SHARE OF e, g"
    ))
    .bind(invitation.event_id)
    .bind(invitation.guest_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(crate::invitations::resolve::unknown)?;
    let (guest, event) = row.page.into_views(invitation.guest_id);
    Ok(Locked {
        facts: row.facts.into(),
        capacity: row.capacity,
        guest,
        event,
    })
}

/// A recorded opening of a link: the attempt's id, and the guest and the event as the
/// guest's page shows them.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub access_log_id: Uuid,
    pub guest: GuestView,
    pub event: EventView,
}

/// Records one opening of a link and queues its `access.attempted` event, due once the
/// page had `signals_grace` to report its browser signals.
pub async fn record(
    pool: &PgPool,
    invitation: &Invitation,
    facts: &RequestFacts,
    signals_grace: std::time::Duration,
) -> Result<Recorded, AppError> {
    let mut tx = pool.begin().await?;
    let locked = lock_guest(&mut tx, invitation).await?;
    let attempt = NewAttempt::now(
        AttemptKind::Open,
        invitation,
        facts,
        Signals::default(),
        locked.facts,
    );
    let due = attempt.accessed_at
        + chrono::Duration::from_std(signals_grace).unwrap_or(chrono::Duration::zero());
    let queued = [outbox::Queued::new(
        attempt.id,
        ACCESS_ATTEMPTED,
        &attempt.event(),
        Some(due),
    )?];
    insert(&mut tx, &attempt, None, false, None, &queued).await?;
    tx.commit().await?;
    Ok(Recorded {
        access_log_id: attempt.id,
        guest: locked.guest,
        event: locked.event,
    })
}

/// Records an RSVP that was refused — for its score (`blocked`), or because the engine
/// was unavailable and the event refuses such answers — and nothing else but its
/// `rsvp.blocked` event (hosts' webhooks). An answer the engine could not score is
/// queued to be scored later, for the host's eyes.
pub async fn record_refused(
    pool: &PgPool,
    attempt: &NewAttempt<'_>,
    verdict: &FraudVerdict,
    policy: &str,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    lock_guest(&mut tx, attempt.invitation).await?;
    let blocked = proto::events::RsvpBlocked {
        event_id: attempt.invitation.event_id,
        guest_id: attempt.invitation.guest_id,
        access_log_id: attempt.id,
        reason: if verdict.used {
            "fraud_block"
        } else {
            "engine_unavailable"
        }
        .to_owned(),
        score: verdict.score,
        risk: verdict.risk.map(|risk| risk.as_str().to_owned()),
        reasons: verdict.reasons.clone(),
        blocked_at: attempt.accessed_at,
    };
    let mut queued = vec![outbox::Queued::new(
        Uuid::new_v4(),
        proto::events::RSVP_BLOCKED,
        &blocked,
        None,
    )?];
    if !verdict.used {
        queued.push(outbox::Queued::new(
            attempt.id,
            ACCESS_ATTEMPTED,
            &attempt.event(),
            None,
        )?);
    }
    insert(
        &mut tx,
        attempt,
        Some(verdict),
        verdict.used,
        Some(policy),
        &queued,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Attaches browser signals (already keyed and checked) to a recent opening of the
/// same link and releases its waiting `access.attempted` event with them, in one
/// statement; `false` when there is no such opening (or it already has signals). When
/// the event already left without signals it is too late for it; the stored row still
/// has them for hosts to see.
pub async fn attach_signals(
    pool: &PgPool,
    invitation: &Invitation,
    access_log_id: Uuid,
    signals: Signals,
) -> Result<bool, AppError> {
    let attached: bool = sqlx::query_scalar(
        "WITH opening AS (
             UPDATE access_attempts a
             SET device_key = $3, time_zone = $4, screen = $5, automation = $6,
                 js_enabled = true
             WHERE a.id = $1 AND a.invitation_id = $2 AND a.kind = 'open'
               AND NOT a.js_enabled AND a.accessed_at > now() - interval '1 hour'
             RETURNING a.id
         ), released AS (
             UPDATE outbox o
             SET payload = jsonb_set(o.payload, '{signals}', $7), available_at = now()
             FROM opening
             WHERE o.id = opening.id AND o.published_at IS NULL
             RETURNING o.id
         )
         SELECT EXISTS (SELECT 1 FROM opening)",
    )
    .bind(access_log_id)
    .bind(invitation.id)
    .bind(signals.device_key.as_deref())
    .bind(signals.time_zone.as_deref())
    .bind(signals.screen.as_deref())
    .bind(&signals.automation)
    .bind(sqlx::types::Json(&signals))
    .fetch_one(pool)
    .await?;
    Ok(attached)
}

/// Filter of the access log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Only one guest's attempts.
    pub guest: Option<Uuid>,
    /// Only flagged attempts.
    pub flagged: bool,
    /// At most this many, newest first.
    pub limit: i64,
}

/// The access log of an event (already read as its host's), newest first.
pub async fn log(
    pool: &PgPool,
    event: &crate::events::Event,
    filter: LogFilter,
) -> Result<Vec<LoggedAccess>, AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        guest_id: Uuid,
        guest_name: String,
        kind: String,
        accessed_at: DateTime<Utc>,
        ip: Option<String>,
        user_agent: String,
        js_enabled: bool,
        risk_score: Option<i32>,
        risk: Option<String>,
        reasons: Vec<String>,
        flagged: Option<bool>,
        blocked: bool,
        scored_at: Option<DateTime<Utc>>,
        device_key: Option<String>,
        automation: Vec<String>,
        policy: Option<String>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.id, a.guest_id, g.name AS guest_name, a.kind, a.accessed_at, host(a.ip) AS ip,
                a.user_agent, a.js_enabled, a.risk_score, a.risk, a.reasons, a.flagged,
                a.blocked, a.scored_at, a.device_key, a.automation, a.policy
         FROM access_attempts a JOIN guests g ON g.id = a.guest_id
         WHERE a.event_id = $1 AND ($2 = false OR a.flagged)
           AND ($4::uuid IS NULL OR a.guest_id = $4)
         ORDER BY a.accessed_at DESC, a.id
         LIMIT $3",
    )
    .bind(event.id)
    .bind(filter.flagged)
    .bind(filter.limit)
    .bind(filter.guest)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let risk = row.risk.as_deref().and_then(RiskBand::parse);
            LoggedAccess {
                id: row.id,
                guest_id: row.guest_id,
                guest_name: row.guest_name,
                kind: row.kind,
                accessed_at: row.accessed_at,
                ip: row.ip,
                user_agent: row.user_agent,
                js_enabled: row.js_enabled,
                risk_score: row.risk_score,
                risk,
                verdict: risk.map(|band| band.label().to_owned()),
                reasons: row.reasons,
                flagged: row.flagged.unwrap_or(false),
                blocked: row.blocked,
                scored_at: row.scored_at,
                device: row.device_key.as_deref().map(crate::fraud::devices::label),
                device_key: row.device_key,
                automation: row.automation,
                policy: row.policy,
            }
        })
        .collect())
}

/// The guest behind an invitation, with their effective plus-one limit, their event's
/// facts (for scoring their answer) and the browser signals that `opening` of this link
/// (the page the answer comes from) reported: none when it is unknown, or reported
/// nothing. One statement.
pub async fn guest_for_answer(
    pool: &PgPool,
    invitation: &Invitation,
    opening: Option<Uuid>,
) -> Result<(GuestView, EventFacts, Signals), AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        guest: GuestView,
        #[sqlx(flatten)]
        event: EventFactsRow,
        device_key: Option<String>,
        time_zone: Option<String>,
        screen: Option<String>,
        js_enabled: bool,
        automation: Vec<String>,
    }
    let row: Row = sqlx::query_as(&format!(
        "SELECT g.id, g.name, COALESCE(g.max_plus_ones, e.default_max_plus_ones) AS max_plus_ones,
                {EVENT_FACTS}, a.device_key, a.time_zone, a.screen,
                COALESCE(a.js_enabled, false) AS js_enabled,
                COALESCE(a.automation, '{{}}'::text[]) AS automation
         FROM guests g JOIN events e ON e.id = g.event_id
         LEFT JOIN access_attempts a
             ON a.id = $2 AND a.invitation_id = $3 AND a.kind = 'open'
         WHERE g.id = $1"
    ))
    .bind(invitation.guest_id)
    .bind(opening)
    .bind(invitation.id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(crate::invitations::resolve::unknown)?;
    let signals = Signals {
        device_key: row.device_key,
        time_zone: row.time_zone,
        screen: row.screen,
        js_enabled: row.js_enabled,
        automation: row.automation,
    };
    Ok((row.guest, row.event.into(), signals))
}

/// The guest and event behind an invitation.
pub async fn guest_and_event(
    pool: &PgPool,
    invitation: &Invitation,
) -> Result<(GuestView, EventView), AppError> {
    let row: PageRow = sqlx::query_as(&format!(
        "SELECT {PAGE} FROM guests g JOIN events e ON e.id = g.event_id
         WHERE g.id = $1 AND e.id = $2"
    ))
    .bind(invitation.guest_id)
    .bind(invitation.event_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(crate::invitations::resolve::unknown)?;
    Ok(row.into_views(invitation.guest_id))
}
