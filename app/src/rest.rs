//! Shared pieces of the REST API's transport: JSON and raw body extractors whose
//! failures are the API's own JSON errors (never axum's plain-text rejections), the
//! answer for a method an address does not take. (Who the client is: `edge::client`.)

use crate::error::AppError;
use axum::{
    body::Bytes,
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Request},
    http::{request::Parts, StatusCode},
};
use serde::de::DeserializeOwned;

/// A JSON request body; malformed or mistyped bodies are a 400 JSON error, one over the
/// body limit a 413.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> AppError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => AppError::bad_request(
            "unsupported_media_type",
            "send the body as application/json",
        ),
        JsonRejection::JsonDataError(error) => AppError::bad_request(
            "invalid_body",
            format!("the body does not fit: {}", error.body_text()),
        ),
        JsonRejection::JsonSyntaxError(_) => {
            AppError::bad_request("invalid_json", "the body is not valid JSON")
        }
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        _ => AppError::bad_request("invalid_body", "the body could not be read"),
    }
}

/// A raw request body (CSV files, optional JSON); one over the body limit is a 413 JSON
/// error.
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        Bytes::from_request(request, state)
            .await
            .map(Self)
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge
                } else {
                    AppError::bad_request("invalid_body", "the body could not be read")
                }
            })
    }
}

/// Answer for a method an API address does not take (e.g. `PUT /api/v1/events`).
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// A path parameter; one that does not parse (e.g. not a UUID) is a JSON 404, since
/// nothing can live at such an address.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|_| AppError::NotFound("there is nothing at this address".into()))
    }
}

/// A query string; one that does not fit is a JSON 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| AppError::bad_request("invalid_query", rejection.body_text()))
    }
}
