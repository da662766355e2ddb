//! Shared pieces of the server functions' transport (the counterpart of `rest.rs` for
//! `/api/fn/...`): the state and request of the function being run, and the HTTP status
//! its failure answers with.

use crate::{error::AppError, state::AppState};
use axum::http::{header, request::Parts};
use leptos::prelude::use_context;
use std::future::Future;

/// The application state of the server function being run (or the page being rendered).
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or(AppError::Internal)
}

/// The application state and the request of the server function being run.
pub fn request() -> Result<(AppState, Parts), AppError> {
    Ok((state()?, use_context::<Parts>().ok_or(AppError::Internal)?))
}

/// Whether the request asks for HTML: a browser's plain form post (no wasm yet) or a
/// page being rendered. The server-function client in the browser asks for JSON.
pub fn wants_html(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Runs a server function's work, giving a failure its own HTTP status (401, 404, 422,
/// ...) when the function was called over HTTP by the browser bundle. Requests that ask
/// for HTML keep theirs: a plain form post (no wasm yet) is answered with a redirect
/// back to its page, which then shows the error, and a page being rendered on the
/// server decides its own status.
pub async fn answer<T>(work: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
    let result = work.await;
    if let Err(error) = &result {
        let called_over_http = use_context::<Parts>()
            .is_some_and(|parts| parts.uri.path().starts_with("/api/fn/") && !wants_html(&parts));
        if called_over_http {
            set_status(error);
        }
    }
    result
}

/// Gives the response being built the HTTP status of `error` (404, 422, ...).
pub fn set_status(error: &AppError) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(error.http_status());
    }
}

#[cfg(test)]
mod tests {
    use super::wants_html;
    use axum::http::{header, Request};

    #[test]
    fn browsers_posting_a_form_ask_for_html_and_the_server_function_client_for_json() {
        let parts = |accept: &str| {
            Request::builder()
                .header(header::ACCEPT, accept)
                .body(())
                .expect("request")
                .into_parts()
                .0
        };
        assert!(wants_html(&parts(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(!wants_html(&parts("application/json")));
    }
}
