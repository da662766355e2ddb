//! The REST API under `/api/v1`: each concern's routes (defined beside its domain in
//! `app/src/<concern>/rest.rs`) mounted in one place. Anything under `/api/` that no
//! route claims answers a JSON 404 (never the HTML error page), and a method an address
//! does not take a JSON 405, so integrations always get a parseable body.

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
        .merge(app::review::rest::routes())
        .merge(app::notifications::rest::routes())
        .merge(app::monitor::rest::routes())
        .route("/openapi.json", axum::routing::get(openapi))
        .method_not_allowed_fallback(app::rest::method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// `GET /api/v1/openapi.json`: the OpenAPI document generated from the handlers
/// (browsable at `/docs/api`).
pub async fn openapi() -> impl IntoResponse {
    axum::Json(app::api_docs::openapi::document_json())
}

/// Fallback for unknown `/api/...` addresses.
pub async fn not_found() -> impl IntoResponse {
    AppError::NotFound("there is no API endpoint at this address".into())
}
