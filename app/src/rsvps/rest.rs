//! REST transport of answers (public, for guests): `POST /api/v1/rsvp/{token}`.

use super::{store, RsvpOutcome, RsvpRequest, RsvpResponse, NOTE_MAX_CHARS};
use crate::{
    access,
    error::AppError,
    invitations::resolve,
    rest::{ApiPath, ClientIp, JsonBody},
    state::AppState,
};
use axum::{extract::State, http::StatusCode, routing::post, Json, Router};

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
        risk_score: None,
        risk: None,
    })
}

/// Stores a guest's answer through their token. Shared by the REST route and the page.
pub async fn submit_answer(
    state: &AppState,
    token: &str,
    request: &RsvpRequest,
) -> Result<(RsvpOutcome, bool), AppError> {
    let invitation = resolve::live_invitation(state, token).await?;
    let guest = access::store::guest(&state.pool, &invitation).await?;
    let valid = validate(request, guest.max_plus_ones)?;
    let (rsvp, created) = store::submit(&state.pool, &invitation, &valid).await?;
    tracing::info!(rsvp_id = %rsvp.id, response = rsvp.response.as_str(), "answer recorded");
    Ok((
        RsvpOutcome {
            rsvp,
            blocked: false,
        },
        created,
    ))
}

#[utoipa::path(post, path = "/api/v1/rsvp/{token}", tag = "guest-side", summary = "Answer an invitation", description = "The first answer is 201, a change 200. The guest can change the answer until the RSVP deadline. Two simultaneous answers for one link never make two RSVPs; capacity is enforced.", params(("token" = String, Path, description = "The guest's token")), request_body = super::RsvpRequest, responses((status = 201, description = "Recorded", body = super::RsvpOutcome), (status = 200, description = "Changed", body = super::RsvpOutcome), (status = 400, description = "Malformed token or body", body = crate::api_docs::openapi::ErrorBody), (status = 404, description = "Unknown token or bad signature", body = crate::api_docs::openapi::ErrorBody), (status = 409, description = "Answers are closed (`rsvp_closed`) or the event is full (`event_full`)", body = crate::api_docs::openapi::ErrorBody), (status = 410, description = "Revoked or expired link", body = crate::api_docs::openapi::ErrorBody), (status = 422, description = "A field is invalid; `field` names it", body = crate::api_docs::openapi::ErrorBody), (status = 429, description = "Too many requests", body = crate::api_docs::openapi::ErrorBody)))]
/// `POST /api/v1/rsvp/{token} {response, plus_ones, note?}` → 201 (first answer) or 200
/// (changed answer) with `{rsvp: {id, response, plus_ones, risk_score, ...}, blocked}`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    client: ClientIp,
    ApiPath(token): ApiPath<String>,
    JsonBody(request): JsonBody<RsvpRequest>,
) -> Result<(StatusCode, Json<RsvpOutcome>), AppError> {
    access::rest::limit(&state, client)?;
    let (outcome, created) = submit_answer(&state, &token, &request).await?;
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
