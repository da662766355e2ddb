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

/// A JSON request body: an object (a struct is never read from an array), in which a
/// whole number written as `7.0` is the integer 7, as JSON Schema counts it. Malformed or
/// mistyped bodies are a 400 JSON error, one over the body limit a 413.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        if !json_content_type(request.headers()) {
            return Err(AppError::bad_request(
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let ApiBytes(bytes) = ApiBytes::from_request(request, state).await?;
        read_json(&bytes).map(Self)
    }
}

/// `application/json` or `application/<anything>+json`, parameters aside.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// Reads a JSON object into `T` (see [`JsonBody`]).
pub fn read_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let value = match axum::Json::<T>::from_bytes(bytes) {
        Ok(axum::Json(value)) => value,
        Err(rejection) => {
            return with_whole_numbers(bytes).ok_or_else(|| json_rejection(&rejection));
        }
    };
    let first = bytes
        .iter()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'));
    if first == Some(&b'{') {
        Ok(value)
    } else {
        Err(AppError::bad_request(
            "invalid_body",
            "the body must be a JSON object",
        ))
    }
}

/// An optional JSON body: nothing (or `null`) is `T::default()`; anything else that is
/// not a `T` is a 400 `invalid_body` saying `hint`.
pub fn optional_json<T: DeserializeOwned + Default>(
    bytes: &[u8],
    hint: &str,
) -> Result<T, AppError> {
    let trimmed = bytes.trim_ascii();
    if trimmed.is_empty() || trimmed == b"null" {
        return Ok(T::default());
    }
    read_json(bytes).map_err(|_| AppError::bad_request("invalid_body", hint))
}

/// `bytes` as a `T` once every whole number written with a fraction (`7.0`, `1e2`) is
/// an integer, if there is such a number and the object then fits.
fn with_whole_numbers<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    fn whole(value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::Number(number) if !number.is_i64() && !number.is_u64() => {
                // Integers up to 2^53 are exact in a float.
                match number.as_f64() {
                    Some(float)
                        if float.fract() == 0.0 && float.abs() <= 9_007_199_254_740_992.0 =>
                    {
                        let integer = float as i64;
                        *value = serde_json::Value::from(integer);
                        true
                    }
                    _ => false,
                }
            }
            serde_json::Value::Array(items) => {
                items.iter_mut().fold(false, |any, item| whole(item) | any)
            }
            serde_json::Value::Object(fields) => fields
                .values_mut()
                .fold(false, |any, item| whole(item) | any),
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if !value.is_object() || !whole(&mut value) {
        return None;
    }
    serde_json::from_value(value).ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, Eq, serde::Deserialize)]
    struct Body {
        #[serde(default)]
        count: Option<i64>,
    }

    #[test]
    fn a_whole_number_written_with_a_fraction_is_the_integer() {
        for raw in [
            r#"{"count": 7}"#,
            r#"{"count": 7.0}"#,
            r#"{"count": 0.7e1}"#,
        ] {
            let body: Body = read_json(raw.as_bytes()).expect(raw);
            assert_eq!(body.count, Some(7), "{raw}");
        }
        for raw in [
            r#"{"count": 7.5}"#,
            r#"{"count": 1e300}"#,
            r#"{"count": "7"}"#,
        ] {
            let error = read_json::<Body>(raw.as_bytes()).expect_err(raw);
            assert_eq!(error.code(), "invalid_body", "{raw}");
        }
    }

    #[test]
    fn a_body_is_an_object_never_an_array() {
        let error = read_json::<Body>(b"[7]").expect_err("an array");
        assert_eq!((error.status(), error.code()), (400, "invalid_body"));
        assert_eq!(
            read_json::<Body>(b" \n{}").expect("an object"),
            Body::default()
        );
    }

    #[test]
    fn an_optional_body_may_be_empty_or_null() {
        for raw in ["", "  ", "null", " null\n"] {
            let body: Body = optional_json(raw.as_bytes(), "hint").expect(raw);
            assert_eq!(body, Body::default());
        }
        let error = optional_json::<Body>(b"{not json", "hint").expect_err("not JSON");
        assert_eq!(error.code(), "invalid_body");
    }
}
