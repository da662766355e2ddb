//! REST transport of answers (public, for guests): `POST /api/v1/rsvp/{token}`.

use super::{
    store, RsvpAnswer, RsvpDecision, RsvpReceipt, RsvpRequest, RsvpResponse, NOTE_MAX_CHARS,
};
use crate::{
    access::{
        self,
        store::{AttemptKind, NewAttempt},
    },
    edge::client::ClientIp,
    error::AppError,
    fraud::{self, policy::Decision},
    invitations::resolve,
    rest::{ApiPath, JsonBody},
    state::AppState,
};
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
    Json, Router,
};

/// Routes of this module, mounted under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/rsvp/{token}", post(submit))
}

/// Checks an answer against the guest's plus-one limit.
pub fn validate(
    request: &RsvpRequest,
    allowed_plus_ones: i32,
) -> Result<store::ValidRsvp, AppError> {
    let response = RsvpResponse::parse(request.response.trim()).ok_or_else(|| {
        AppError::invalid(
            "response",
            "invalid_response",
            "the answer must be attending, declined or maybe",
        )
    })?;
    let plus_ones = match response {
        RsvpResponse::Declined => 0,
        _ => i32::try_from(request.plus_ones)
            .ok()
            .filter(|n| (0..=allowed_plus_ones).contains(n))
            .ok_or_else(|| {
                AppError::invalid(
                    "plus_ones",
                    "invalid_plus_ones",
                    format!("you can bring between 0 and {allowed_plus_ones} plus-ones"),
                )
            })?,
    };
    let note = request
        .note
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if note.chars().count() > NOTE_MAX_CHARS {
        return Err(AppError::invalid(
            "note",
            "invalid_note",
            format!("the note must have at most {NOTE_MAX_CHARS} characters"),
        ));
    }
    // Line breaks and tabs are text; other control characters (NUL, escapes) are not.
    if note
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::invalid(
            "note",
            "invalid_note",
            "the note must not contain control characters",
        ));
    }
    Ok(store::ValidRsvp {
        response,
        plus_ones,
        note,
    })
}

/// An answer the fraud check let through, recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub rsvp: super::RsvpView,
    /// Whether it is the guest's first answer.
    pub created: bool,
    /// The fraud check (only ever shown to the event's host).
    pub verdict: crate::fraud::FraudVerdict,
    /// The policy that decided.
    pub policy: String,
    /// Whether the caller is the event's host (who may see the verdict).
    pub for_host: bool,
}

/// Checks a guest's answer with the fraud engine and stores it through their token, as
/// the event's policy decides (`fraud::policy`). Shared by the REST route and the page.
///
/// parse → resolve the link → validate → score (deadline) → decide: record (confirmed
/// or held, with its attempt and events, in one transaction), or refuse — a block score
/// ([`AppError::Refused`], the refused attempt recorded) or an unavailable engine when
/// the event refuses such answers ([`AppError::TryAgainLater`]). The refusal carries
/// the verdict only when `caller` (a signed-in host, if any) is the event's host.
pub async fn submit_answer(
    state: &AppState,
    token: &str,
    request: &RsvpRequest,
    facts: &access::store::RequestFacts,
    caller: Option<uuid::Uuid>,
) -> Result<Recorded, AppError> {
    let invitation = resolve::live_invitation(state, token).await?;
    let for_host = caller == Some(invitation.host_id);
    // The signals the page reported when it opened (none without its opening's id).
    let (guest, event, signals) =
        access::store::guest_for_answer(&state.pool, &invitation, request.access_log_id).await?;
    let valid = validate(request, guest.max_plus_ones)?;
    let attempt = NewAttempt::now(AttemptKind::Rsvp, &invitation, facts, signals, event);
    let verdict = fraud::client::score(state, attempt.score_request()).await;
    let policy = if verdict.used {
        event.policy.describe()
    } else {
        event.policy.describe_unavailable()
    };
    let filing = match event.policy.decide(verdict.used, verdict.blocks()) {
        Decision::Record {
            status,
            held_reason,
        } => store::Filing {
            status,
            held_reason,
            policy: &policy,
        },
        Decision::RefuseBlocked => {
            access::store::record_refused(&state.pool, &attempt, &verdict, &policy).await?;
            announce(state, &attempt);
            tracing::warn!(access_log_id = %attempt.id, score = ?verdict.score, "answer refused for its score");
            return Err(AppError::Refused {
                fraud: for_host.then(|| Box::new(verdict)),
            });
        }
        Decision::RefuseUnavailable => {
            access::store::record_refused(&state.pool, &attempt, &verdict, &policy).await?;
            announce(state, &attempt);
            tracing::warn!(access_log_id = %attempt.id, "answer refused: scoring unavailable and the event refuses");
            return Err(AppError::TryAgainLater);
        }
    };
    let (rsvp, created) = store::submit(&state.pool, &attempt, &valid, &verdict, filing).await?;
    state.outbox_wake.notify_one();
    announce(state, &attempt);
    tracing::info!(
        rsvp_id = %rsvp.id,
        response = rsvp.response.as_str(),
        status = rsvp.status.as_str(),
        scored = verdict.used,
        "answer recorded"
    );
    Ok(Recorded {
        rsvp,
        created,
        verdict,
        policy,
        for_host,
    })
}

/// Tells the hosts' live monitors that the attempt was recorded.
fn announce(state: &AppState, attempt: &NewAttempt<'_>) {
    crate::monitor::notice::announce(&state.nats, attempt.invitation.event_id, attempt.id);
}

/// The host a request is signed in as (their API key, or their session from our own
/// pages), if any: the event's own host is shown an answer's fraud decision.
async fn signed_in_host(
    state: &AppState,
    method: &axum::http::Method,
    headers: &HeaderMap,
) -> Option<uuid::Uuid> {
    let host = crate::hosts::auth::authenticate(headers, state)
        .await
        .ok()?;
    let proven = host.method == crate::hosts::auth::AuthMethod::ApiKey
        || crate::hosts::auth::require_same_origin(method, headers, state.settings.public_origin())
            .is_ok();
    proven.then_some(host.id)
}

#[utoipa::path(
    post,
    path = "/api/v1/rsvp/{token}",
    tag = "guest-side",
    summary = "Answer an invitation",
    description = "The first answer is 201, a change 200. The guest can change the answer \
        until the RSVP deadline. Two simultaneous answers for one link never make two \
        RSVPs; capacity counts confirmed answers. Every answer is scored by the fraud \
        engine within 250 ms and decided by the event's `fraud_policy`: recorded as \
        `confirmed`, or `held` for the host's review (it does not count yet); refused with \
        403 `rsvp_refused` (nothing recorded, the link stays active); or, when the engine \
        is unavailable and the event refuses such answers, 503 `try_again_later`. \
        A guest learns only that (`RsvpReceipt`, and a neutral refusal); the event's \
        host, calling with their API key or session, also gets the whole decision \
        (`RsvpDecision`: score, band, reasons, policy), and a refusal's `fraud`.",
    params(("token" = String, Path, description = "The guest's token")),
    request_body = super::RsvpRequest,
    responses(
        (status = 201, description = "Recorded: a guest's receipt, or the host's decision", body = super::RsvpAnswer),
        (status = 200, description = "Changed: a guest's receipt, or the host's decision", body = super::RsvpAnswer),
        crate::api_docs::responses::LinkErrors,
        (status = 403, description = "Refused (`rsvp_refused`): \"please contact your host\"; the event's host also gets `{blocked: true, fraud}`", body = crate::api_docs::openapi::ErrorBody),
        (status = 404, description = "Unknown token or bad signature", body = crate::api_docs::openapi::ErrorBody),
        (status = 409, description = "Answers are closed (`rsvp_closed`) or the event is full (`event_full`)", body = crate::api_docs::openapi::ErrorBody),
        (status = 503, description = "The answer could not be checked now and the event refuses unchecked answers (`try_again_later`); see `Retry-After`", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/rsvp/{token} {response, plus_ones, note?, access_log_id?}` → 201 (first
/// answer) or 200 (changed answer) with a receipt (guests) or the decision (the host).
pub(crate) async fn submit(
    State(state): State<AppState>,
    client: ClientIp,
    method: axum::http::Method,
    headers: HeaderMap,
    ApiPath(token): ApiPath<String>,
    JsonBody(request): JsonBody<RsvpRequest>,
) -> Result<(StatusCode, Json<RsvpAnswer>), AppError> {
    access::rest::limit(&state, client).await?;
    let facts = access::rest::facts(client, &headers);
    let caller = signed_in_host(&state, &method, &headers).await;
    let recorded = submit_answer(&state, &token, &request, &facts, caller).await?;
    let status = if recorded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let answer = if recorded.for_host {
        RsvpAnswer::Host(RsvpDecision {
            rsvp: recorded.rsvp,
            fraud: recorded.verdict,
            policy: recorded.policy,
        })
    } else {
        RsvpAnswer::Guest(RsvpReceipt {
            rsvp: recorded.rsvp,
        })
    };
    Ok((status, Json(answer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(response: &str, plus_ones: i64) -> RsvpRequest {
        RsvpRequest {
            response: response.into(),
            plus_ones,
            note: None,
            access_log_id: None,
        }
    }

    #[test]
    fn plus_ones_are_bounded_by_the_guests_limit() {
        assert_eq!(
            validate(&request("attending", 2), 2)
                .expect("valid")
                .plus_ones,
            2
        );
        for bad in [-1, 3, i64::MAX, i64::MIN] {
            assert!(validate(&request("attending", bad), 2).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_declined_answer_brings_nobody() {
        assert_eq!(
            validate(&request("declined", 5), 2)
                .expect("valid")
                .plus_ones,
            0
        );
    }

    #[test]
    fn unknown_answers_and_long_notes_are_refused() {
        assert!(validate(&request("yes", 0), 2).is_err());
        let long = RsvpRequest {
            note: Some("x".repeat(NOTE_MAX_CHARS + 1)),
            ..request("maybe", 0)
        };
        assert!(validate(&long, 2).is_err());
    }
}
