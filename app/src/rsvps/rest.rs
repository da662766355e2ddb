//! REST transport of answers (public, for guests): `POST /api/v1/rsvp/{token}`.

use super::{store, RsvpOutcome, RsvpRequest, RsvpResponse, NOTE_MAX_CHARS};
use crate::{
    access::{
        self,
        store::{AttemptKind, NewAttempt},
    },
    edge::client::ClientIp,
    error::AppError,
    fraud,
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

/// Checks a guest's answer with the fraud engine and stores it through their token.
/// Shared by the REST route and the page.
///
/// parse → resolve the link → validate → score (deadline, fail open) → a block score
/// records the refused attempt and answers 403; any other outcome stores the answer,
/// its attempt and its events in one transaction.
pub async fn submit_answer(
    state: &AppState,
    token: &str,
    request: &RsvpRequest,
    facts: &access::store::RequestFacts,
) -> Result<(RsvpOutcome, bool), AppError> {
    let invitation = resolve::live_invitation(state, token).await?;
    let guest = access::store::guest(&state.pool, &invitation).await?;
    let valid = validate(request, guest.max_plus_ones)?;
    let signals = match request.access_log_id {
        Some(opening) => access::store::signals_of(&state.pool, &invitation, opening).await?,
        None => Default::default(),
    };
    let attempt = NewAttempt::now(AttemptKind::Rsvp, &invitation, facts, signals);
    let verdict = fraud::client::score(state, attempt.score_request()).await;
    if verdict.blocks() {
        access::store::record_blocked(&state.pool, &attempt, &verdict).await?;
        tracing::warn!(access_log_id = %attempt.id, score = ?verdict.score, "answer blocked");
        return Err(AppError::Blocked { fraud: verdict });
    }
    let (rsvp, created) = store::submit(&state.pool, &attempt, &valid, &verdict).await?;
    state.outbox_wake.notify_one();
    tracing::info!(rsvp_id = %rsvp.id, response = rsvp.response.as_str(), scored = verdict.used, "answer recorded");
    Ok((
        RsvpOutcome {
            rsvp,
            fraud: verdict,
            blocked: false,
        },
        created,
    ))
}

#[utoipa::path(post, path = "/api/v1/rsvp/{token}", tag = "guest-side", summary = "Answer an invitation", description = "The first answer is 201, a change 200. The guest can change the answer until the RSVP deadline. Two simultaneous answers for one link never make two RSVPs; capacity is enforced. Every answer is scored by the fraud engine within 250 ms: a score in the block band is refused with 403 `{blocked: true, fraud}` (nothing recorded, the link stays active); when the engine is slow or down the answer is recorded unscored (`fraud.used: false`) and scored later.", params(("token" = String, Path, description = "The guest's token")), request_body = super::RsvpRequest, responses((status = 201, description = "Recorded", body = super::RsvpOutcome), (status = 200, description = "Changed", body = super::RsvpOutcome), (status = 400, description = "Malformed token or body", body = crate::api_docs::openapi::ErrorBody), (status = 403, description = "Refused for its fraud score (`rsvp_blocked`): `{error, blocked: true, fraud}`", body = crate::api_docs::openapi::ErrorBody), (status = 404, description = "Unknown token or bad signature", body = crate::api_docs::openapi::ErrorBody), (status = 409, description = "Answers are closed (`rsvp_closed`) or the event is full (`event_full`)", body = crate::api_docs::openapi::ErrorBody), (status = 410, description = "Revoked or expired link", body = crate::api_docs::openapi::ErrorBody), (status = 422, description = "A field is invalid; `field` names it", body = crate::api_docs::openapi::ErrorBody), (status = 429, description = "Too many requests", body = crate::api_docs::openapi::ErrorBody)))]
/// `POST /api/v1/rsvp/{token} {response, plus_ones, note?, access_log_id?}` → 201 (first
/// answer) or 200 (changed answer) with `{rsvp: {..., risk_score}, fraud, blocked}`, or
/// 403 `{error, blocked: true, fraud}`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    ApiPath(token): ApiPath<String>,
    JsonBody(request): JsonBody<RsvpRequest>,
) -> Result<(StatusCode, Json<RsvpOutcome>), AppError> {
    access::rest::limit(&state, client).await?;
    let facts = access::rest::facts(client, &headers);
    let (outcome, created) = submit_answer(&state, &token, &request, &facts).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(outcome)))
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
