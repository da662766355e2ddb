//! The REST API under `/api/v1`: each concern's routes (defined beside its domain in
//! `app/src/<concern>/rest.rs`) mounted in one place. Anything under `/api/` that no
//! route claims answers a JSON 404 (never the HTML error page), so integrations always
//! get a parseable body.

use app::{error::AppError, state::AppState};
use axum::{extract::DefaultBodyLimit, response::IntoResponse, Router};

/// Largest accepted request body (CSV imports included).
pub const MAX_BODY_BYTES: usize = 1_048_576;

/// Every `/api/v1` route.
pub fn v1() -> Router<AppState> {
    Router::new()
        .merge(app::hosts::rest::routes())
        .merge(app::events::rest::routes())
        .merge(app::guests::rest::routes())
        .merge(app::invitations::rest::routes())
        .merge(app::access::rest::routes())
        .merge(app::rsvps::rest::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Fallback for unknown `/api/...` addresses.
pub async fn not_found() -> impl IntoResponse {
    AppError::NotFound("there is no API endpoint at this address".into())
}
