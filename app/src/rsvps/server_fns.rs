//! Server-function transport of answers, for the RSVP form on the guest's page: the same
//! validation and storage as `POST /api/v1/rsvp/{token}` ([`super::rest::submit_answer`]).
//!
//! The form works without wasm too: a plain HTML form post is answered with a redirect
//! back to `/i/<token>?saved=1`, where the page shows the saved answer (a refused answer
//! goes back to the page with the error, which the form then shows beside its field).

use super::RsvpView;
use crate::error::AppError;
use leptos::prelude::*;

/// Saves the guest's answer through their link. The fields are the form's: `response`
/// (`attending`, `declined` or `maybe`), `plus_ones` (text of a whole number; empty or
/// absent means none), an optional `note` and the page's `access_log_id` (whose browser
/// signals the fraud check uses).
#[server(prefix = "/api/fn", endpoint = "submit_rsvp")]
pub async fn submit_rsvp(
    token: String,
    response: Option<String>,
    plus_ones: Option<String>,
    note: Option<String>,
    access_log_id: Option<String>,
) -> Result<RsvpView, AppError> {
    use crate::{
        access::{rest::limit, server_fns::ssr},
        rsvps::{rest::submit_answer, RsvpRequest},
    };

    let (state, parts, client) = ssr::request()?;
    let plain_form_post = crate::server_fns::wants_html(&parts);
    let saved = async {
        limit(&state, client).await?;
        let request = RsvpRequest {
            response: response.unwrap_or_default(),
            plus_ones: form::plus_ones(plus_ones.as_deref())?,
            note,
            // The page's own opening; anything unreadable just means "no signals".
            access_log_id: access_log_id.and_then(|id| id.trim().parse().ok()),
        };
        let facts = crate::access::rest::facts(client, &parts.headers);
        // The guest's page never shows a verdict, whoever is signed in.
        let recorded = submit_answer(&state, &token, &request, &facts, None).await?;
        Ok::<_, AppError>(recorded.rsvp)
    }
    .await;
    match &saved {
        // The token has just been verified, so it is a valid header value.
        Ok(_) if plain_form_post => leptos_axum::redirect(&format!("/i/{token}?saved=1")),
        // A plain form post is sent back to the page with the error (a redirect); the
        // server-function client gets the error's own status.
        Err(error) if !plain_form_post => crate::server_fns::set_status(error),
        _ => {}
    }
    saved
}

/// Reading the form's fields.
#[cfg(feature = "ssr")]
mod form {
    use crate::error::AppError;

    /// The number of plus-ones typed in the form: empty or absent is none.
    pub(super) fn plus_ones(text: Option<&str>) -> Result<i64, AppError> {
        match text.map(str::trim).unwrap_or_default() {
            "" => Ok(0),
            text => text.parse().map_err(|_| {
                AppError::invalid(
                    "plus_ones",
                    "invalid_plus_ones",
                    "the number of plus-ones must be a whole number",
                )
            }),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::{plus_ones, AppError};

        #[test]
        fn an_empty_plus_ones_field_means_none() {
            assert_eq!(plus_ones(None).ok(), Some(0));
            assert_eq!(plus_ones(Some("  ")).ok(), Some(0));
            assert_eq!(plus_ones(Some(" 2 ")).ok(), Some(2));
        }

        #[test]
        fn plus_ones_that_are_not_whole_numbers_are_refused_on_their_field() {
            for bad in ["two", "1.5", "1e3"] {
                let error = plus_ones(Some(bad)).expect_err(bad);
                assert!(
                    matches!(&error, AppError::Invalid { field: Some(field), .. } if field == "plus_ones"),
                    "{error:?}"
                );
            }
        }
    }
}
