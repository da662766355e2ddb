//! The one error type of the application's boundaries. Every failure a client can see
//! maps to an HTTP status and a stable JSON body `{"error": {"code", "message"}}`; the
//! message never carries SQL or other internals (those are logged instead).

use serde::{Deserialize, Serialize};

/// A failure a client (host, guest or integration) can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    /// The request is malformed or a field is invalid (400 / 422).
    #[error("{message}")]
    Invalid {
        code: String,
        message: String,
        /// The offending field, when there is one.
        field: Option<String>,
    },
    /// Not signed in, or the session / API key is not valid (401).
    #[error("sign in to continue")]
    Unauthenticated,
    /// Wrong email or password (401); never says which.
    #[error("the email or password is not right")]
    InvalidCredentials,
    /// A state-changing request without proof it came from our own pages (403).
    #[error("{0}")]
    Forbidden(String),
    /// An API key tried to manage credentials (API keys, the password, sessions): only
    /// a signed-in session may (403).
    #[error("sign in to the dashboard to manage API keys, your password and sessions")]
    SessionRequired,
    /// Nothing visible to the caller at this address (404). Also used for other hosts'
    /// resources, so existence never leaks across tenants.
    #[error("{0}")]
    NotFound(String),
    /// The thing existed but is gone for good: expired or revoked link (410).
    #[error("{message}")]
    Gone { code: String, message: String },
    /// The request conflicts with the current state (409).
    #[error("{message}")]
    Conflict { code: String, message: String },
    /// The request body is larger than the server accepts (413).
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The address exists but does not take this HTTP method (405).
    #[error("this address does not take this method")]
    MethodNotAllowed,
    /// An RSVP refused because the fraud engine scored it in the block band (403). No
    /// answer was recorded; the link stays active. The guest is told only that; the
    /// verdict (`fraud`) is given to the event's host alone.
    #[error("we could not confirm this answer; please contact your host")]
    Refused {
        fraud: Option<Box<crate::fraud::FraudVerdict>>,
    },
    /// An RSVP the fraud check could not look at in time, for an event that refuses
    /// such answers (503): nothing was recorded; try again in a few minutes.
    #[error("we could not confirm your answer right now; please try again in a few minutes")]
    TryAgainLater,
    /// Too many attempts; retry after this many seconds (429).
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// Too much work at once (password hashing is saturated); retry after this many
    /// seconds (503 with `Retry-After`).
    #[error("GuestGuard is busy; try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// A dependency (the database) cannot be reached right now; retry after this many
    /// seconds (503 with `Retry-After`).
    #[error("GuestGuard cannot answer right now; try again in {retry_after_secs} s")]
    Unavailable { retry_after_secs: u64 },
    /// The request took longer than the server's request deadline (503).
    #[error("the request took too long; please try again")]
    TimedOut,
    /// Something failed on our side (500). Details are in the server log.
    #[error("something went wrong on our side; please try again")]
    Internal,
    /// The browser could not reach the server, or its answer could not be read
    /// (only ever built on the client side of a server function; 503).
    #[error("GuestGuard could not be reached; check your connection and try again")]
    Unreachable,
}

impl AppError {
    /// An invalid field (422).
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code: code.to_owned(),
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }

    /// A malformed request (400).
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code: code.to_owned(),
            message: message.into(),
            field: None,
        }
    }

    /// A conflict (409).
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// The stable machine-readable code of the error.
    pub fn code(&self) -> &str {
        match self {
            Self::Invalid { code, .. } | Self::Gone { code, .. } | Self::Conflict { code, .. } => {
                code
            }
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden(_) => "forbidden",
            Self::SessionRequired => "session_required",
            Self::Refused { .. } => "rsvp_refused",
            Self::TryAgainLater => "try_again_later",
            Self::NotFound(_) => "not_found",
            Self::PayloadTooLarge => "payload_too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RateLimited { .. } => "rate_limited",
            Self::Busy { .. } => "busy",
            Self::Unavailable { .. } => "unavailable",
            Self::TimedOut => "timed_out",
            Self::Internal => "internal",
            Self::Unreachable => "unreachable",
        }
    }

    /// The HTTP status code of the error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid { field: Some(_), .. } => 422,
            Self::Invalid { field: None, .. } => 400,
            Self::Unauthenticated | Self::InvalidCredentials => 401,
            Self::Forbidden(_) | Self::SessionRequired | Self::Refused { .. } => 403,
            Self::NotFound(_) => 404,
            Self::Gone { .. } => 410,
            Self::Conflict { .. } => 409,
            Self::PayloadTooLarge => 413,
            Self::MethodNotAllowed => 405,
            Self::RateLimited { .. } => 429,
            Self::Busy { .. } | Self::Unavailable { .. } | Self::TimedOut | Self::TryAgainLater => {
                503
            }
            Self::Internal => 500,
            Self::Unreachable => 503,
        }
    }
}

impl From<crate::guests::fields::FieldError> for AppError {
    fn from(error: crate::guests::fields::FieldError) -> Self {
        Self::invalid(error.field(), error.code(), error.to_string())
    }
}

/// Server functions fail with [`AppError`] too, so the dashboard shows the same codes
/// and messages as the REST API.
impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(error: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr;
        match error {
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::Deserialization(message) => {
                Self::bad_request("invalid_request", message)
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => Self::Unreachable,
            _ => Self::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use axum::{
        http::{header, HeaderValue, StatusCode},
        response::{IntoResponse, Response},
        Json,
    };

    impl From<sqlx::Error> for AppError {
        fn from(error: sqlx::Error) -> Self {
            if database_unreachable(&error) {
                // The database cannot be reached (down, restarting, every connection
                // busy): the request may well succeed in a moment.
                tracing::warn!(%error, "database unavailable");
                let unavailable = Self::Unavailable {
                    retry_after_secs: 1,
                };
                unavailable.mark_page_unavailable();
                unavailable
            } else {
                tracing::error!(%error, "database error");
                Self::Internal
            }
        }
    }

    /// Whether `error` says the database cannot be reached now, rather than that this
    /// request's SQL failed: no connection in time, a refused or broken connection, or
    /// the server shutting down, starting up or out of connections.
    fn database_unreachable(error: &sqlx::Error) -> bool {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
            sqlx::Error::Database(error) => error.code().is_some_and(|code| {
                // Class 08: connection exception; 57P01-57P03: the server is shutting
                // down, crashed or is not accepting connections yet; 53300: too many
                // connections.
                code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
            }),
            _ => false,
        }
    }

    impl AppError {
        /// A page (or server function) being rendered when the database could not be
        /// reached answers 503 with `Retry-After`, whatever the page shows of it.
        fn mark_page_unavailable(&self) {
            let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
            else {
                return;
            };
            response.set_status(self.http_status());
            if let Self::Unavailable { retry_after_secs } = self {
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.insert_header(header::RETRY_AFTER, value);
                }
            }
        }
    }

    impl AppError {
        /// The HTTP status code of the error, typed.
        pub fn http_status(&self) -> StatusCode {
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let status = self.http_status();
            let mut body = serde_json::json!({
                "error": { "code": self.code(), "message": self.to_string() }
            });
            if let Self::Invalid {
                field: Some(field), ..
            } = &self
            {
                body["error"]["field"] = serde_json::Value::String(field.clone());
            }
            // The event's host also learns the verdict of a refused answer.
            if let Self::Refused { fraud: Some(fraud) } = &self {
                body["blocked"] = serde_json::Value::Bool(true);
                body["fraud"] = serde_json::to_value(fraud).unwrap_or_default();
            }
            let mut response = (status, Json(body)).into_response();
            let retry_after_secs = match self {
                Self::RateLimited { retry_after_secs }
                | Self::Busy { retry_after_secs }
                | Self::Unavailable { retry_after_secs } => Some(retry_after_secs),
                Self::TimedOut => Some(1),
                Self::TryAgainLater => Some(60),
                _ => None,
            };
            if let Some(seconds) = retry_after_secs {
                if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AppError;

    #[test]
    fn every_error_has_a_stable_code_and_status() {
        assert_eq!(AppError::invalid("name", "invalid_name", "x").status(), 422);
        assert_eq!(AppError::bad_request("malformed_token", "x").status(), 400);
        assert_eq!(AppError::NotFound("x".into()).code(), "not_found");
        assert_eq!(
            AppError::RateLimited {
                retry_after_secs: 3
            }
            .status(),
            429
        );
        assert_eq!(AppError::PayloadTooLarge.status(), 413);
        assert_eq!(AppError::MethodNotAllowed.code(), "method_not_allowed");
        assert_eq!(AppError::Internal.status(), 500);
        assert_eq!(
            AppError::Busy {
                retry_after_secs: 1
            }
            .status(),
            503
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn an_unreachable_database_is_a_503_and_a_failing_query_a_500() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for unreachable in [sqlx::Error::PoolTimedOut, sqlx::Error::Io(refused)] {
            let error = AppError::from(unreachable);
            assert_eq!((error.status(), error.code()), (503, "unavailable"));
        }
        let error = AppError::from(sqlx::Error::RowNotFound);
        assert_eq!((error.status(), error.code()), (500, "internal"));
    }
}
