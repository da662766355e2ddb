//! Structured JSON logs. Every line written while a request is handled carries the
//! request's id (from `x-request-id`, generated when the client sent none).

use axum::http::Request;
use tower_http::trace::MakeSpan;
use tracing::Span;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Installs the global JSON subscriber; `RUST_LOG` overrides the default `info` level.
pub fn init(service: &'static str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,sqlx=warn,async_nats=warn"));
    let json = fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(true)
        .with_target(true);
    // A second call (tests start several apps in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(json)
        .try_init();
    tracing::debug!(service, "logging initialised");
}

/// Opens one span per request carrying its id, method and path (never its query string,
/// and with invitation tokens in the path replaced by `<token>`: both may hold secrets).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!(
            "request",
            request_id,
            method = %request.method(),
            path = %redact_path(request.uri().path()),
        )
    }
}

/// Path prefixes whose next segment is an invitation token.
const TOKEN_PATH_PREFIXES: [&str; 3] = ["/i/", "/api/v1/access/", "/api/v1/rsvp/"];

/// The request path with any invitation token replaced by `<token>`.
pub fn redact_path(path: &str) -> String {
    for prefix in TOKEN_PATH_PREFIXES {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |at| &rest[at..]);
            return format!("{prefix}<token>{tail}");
        }
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    use super::redact_path;

    #[test]
    fn invitation_tokens_never_reach_the_logs() {
        assert_eq!(redact_path("/i/gg1_secret"), "/i/<token>");
        assert_eq!(
            redact_path("/api/v1/access/gg1_secret"),
            "/api/v1/access/<token>"
        );
        assert_eq!(
            redact_path("/api/v1/rsvp/gg1_secret/x"),
            "/api/v1/rsvp/<token>/x"
        );
    }

    #[test]
    fn other_paths_are_logged_as_they_are() {
        assert_eq!(redact_path("/api/v1/events"), "/api/v1/events");
        assert_eq!(redact_path("/"), "/");
    }
}
