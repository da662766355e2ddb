//! The security and cache headers of every answer.
//!
//! | header | value |
//! |---|---|
//! | `Content-Security-Policy` | pages: scripts only from our origin or with the page's nonce, wasm compilation (`'wasm-unsafe-eval'`, never `'unsafe-eval'`), styles, images and connections from our origin, no plugins, no framing; anything else: `default-src 'none'; frame-ancestors 'none'` |
//! | `X-Content-Type-Options` | `nosniff` |
//! | `X-Frame-Options` | `DENY` (older browsers; `frame-ancestors` for the others) |
//! | `Referrer-Policy` | `no-referrer` on invitation pages (`/i/...`: the address is a guest's live link), `strict-origin` elsewhere |
//! | `Strict-Transport-Security` | production only: two years, subdomains included |
//! | `Cache-Control` | pages and API answers `no-store` (personal data, live links); `/pkg/` assets `immutable` for a year when their names carry a hash, `no-cache` otherwise; the OpenAPI document `no-cache`; other static files an hour |
//!
//! Pages set their own policy with the nonce of their render ([`page_policy`], from the
//! document shell); [`secure`] adds everything else, without overwriting a header the
//! route chose.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};

/// What the header rules depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderPolicy {
    /// Production adds HSTS.
    pub production: bool,
    /// Whether `/pkg/` file names carry a content hash (cargo-leptos `hash-files`).
    pub hashed_assets: bool,
}

/// The policy of every answer that is not a page.
const NON_PAGE_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// The Content-Security-Policy of a page rendered with `nonce`. `live_reload_port`:
/// development's live-reload socket (cargo-leptos watch), which the page may connect to.
pub fn page_policy(nonce: &str, live_reload_port: Option<u32>) -> String {
    let reload = live_reload_port
        .map(|port| format!(" ws://127.0.0.1:{port} ws://localhost:{port}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; font-src 'self'; \
         connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Middleware: the headers of the module table on every answer.
pub async fn secure(State(policy): State<HeaderPolicy>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    apply(policy, &path, response.headers_mut());
    response
}

fn apply(policy: HeaderPolicy, path: &str, headers: &mut HeaderMap) {
    let cache = cache_control(policy, path, headers);
    let mut set_default = |name: HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set_default(header::CONTENT_SECURITY_POLICY, NON_PAGE_POLICY);
    set_default(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(header::X_FRAME_OPTIONS, "DENY");
    set_default(
        header::REFERRER_POLICY,
        if path.starts_with("/i/") {
            "no-referrer"
        } else {
            "strict-origin"
        },
    );
    if policy.production {
        set_default(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    set_default(header::CACHE_CONTROL, cache);
}

fn cache_control(policy: HeaderPolicy, path: &str, headers: &HeaderMap) -> &'static str {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if path.starts_with("/pkg/") {
        if policy.hashed_assets {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }
    } else if path == "/api/v1/openapi.json" {
        "no-cache"
    } else if path.starts_with("/api/")
        || path == "/healthz"
        || content_type.starts_with("text/html")
        || content_type.starts_with("application/json")
    {
        "no-store"
    } else {
        "public, max-age=3600"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(policy: HeaderPolicy, path: &str, content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("value"),
        );
        apply(policy, path, &mut headers);
        headers
    }

    const DEV: HeaderPolicy = HeaderPolicy {
        production: false,
        hashed_assets: false,
    };
    const PROD: HeaderPolicy = HeaderPolicy {
        production: true,
        hashed_assets: true,
    };

    fn get(headers: &HeaderMap, name: HeaderName) -> &str {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[test]
    fn invitation_pages_send_no_referrer_and_are_never_stored() {
        let page = answer(PROD, "/i/gg1_abc", "text/html; charset=utf-8");
        assert_eq!(get(&page, header::REFERRER_POLICY), "no-referrer");
        assert_eq!(get(&page, header::CACHE_CONTROL), "no-store");
        let other = answer(PROD, "/events", "text/html; charset=utf-8");
        assert_eq!(get(&other, header::REFERRER_POLICY), "strict-origin");
    }

    #[test]
    fn hashed_assets_are_immutable_and_unhashed_ones_revalidate() {
        let hashed = answer(PROD, "/pkg/guestguard.abc123.wasm", "application/wasm");
        assert_eq!(
            get(&hashed, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        let plain = answer(DEV, "/pkg/guestguard.wasm", "application/wasm");
        assert_eq!(get(&plain, header::CACHE_CONTROL), "no-cache");
    }

    #[test]
    fn hsts_only_in_production_and_every_answer_is_unframeable() {
        let dev = answer(DEV, "/api/v1/events", "application/json");
        assert!(dev.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        assert_eq!(get(&dev, header::CACHE_CONTROL), "no-store");
        assert_eq!(get(&dev, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert!(get(&dev, header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'"));
        let prod = answer(PROD, "/healthz", "application/json");
        assert!(get(&prod, header::STRICT_TRANSPORT_SECURITY).starts_with("max-age="));
    }

    #[test]
    fn a_page_policy_allows_its_nonce_and_wasm_but_never_eval() {
        let policy = page_policy("n0nce", None);
        assert!(policy.contains("'nonce-n0nce'"));
        assert!(policy.contains("'wasm-unsafe-eval'"));
        assert!(!policy.contains("'unsafe-eval'"));
        assert!(!policy.contains("'unsafe-inline'"));
        assert!(page_policy("n", Some(3001)).contains("ws://127.0.0.1:3001"));
    }

    #[test]
    fn a_header_the_route_chose_is_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
        apply(PROD, "/api/v1/events", &mut headers);
        assert_eq!(get(&headers, header::CACHE_CONTROL), "private");
    }
}
