//! Which host a request acts for: a session cookie (`gg_session`, HttpOnly, SameSite=Lax,
//! Secure in production) or an API key (`Authorization: Bearer ggk_...`).
//!
//! Cookie-authenticated requests that change state must come from our own pages: their
//! `Origin` (or `Referer`) must name this server. API keys are not sent by browsers on
//! their own, so they need no such proof.

use super::{credentials, store};
use crate::{error::AppError, settings::Environment, state::AppState};
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, Method},
};
use uuid::Uuid;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "gg_session";

/// How the host proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Session,
    ApiKey,
}

/// The signed-in host of a request. Extracting it fails with 401 when there is none.
#[derive(Clone, Copy, Debug)]
pub struct CurrentHost {
    pub id: Uuid,
    pub method: AuthMethod,
}

impl FromRequestParts<AppState> for CurrentHost {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let host = authenticate(&parts.headers, state).await?;
        if host.method == AuthMethod::Session && !parts.method.is_safe() {
            require_same_origin(&parts.method, &parts.headers)?;
        }
        Ok(host)
    }
}

/// The signed-in host of the server function being run: the same rules as
/// [`CurrentHost`] for REST (session cookie or API key, and same-origin proof for
/// cookie-authenticated writes; server functions are POSTs), with the application state.
pub async fn require_host() -> Result<(CurrentHost, AppState), AppError> {
    let (state, mut parts) = crate::server_fns::request()?;
    let host = CurrentHost::from_request_parts(&mut parts, &state).await?;
    Ok((host, state))
}

/// Resolves the bearer key or session cookie of a request.
pub async fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<CurrentHost, AppError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let key = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key)
            .map(str::trim)
            .filter(|key| key.starts_with(credentials::API_KEY_PREFIX) && key.len() < 100)
            .ok_or(AppError::Unauthenticated)?;
        let id = store::api_key_host(&state.pool, &credentials::digest(key))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        return Ok(CurrentHost {
            id,
            method: AuthMethod::ApiKey,
        });
    }
    let token = session_cookie(headers).ok_or(AppError::Unauthenticated)?;
    let id = store::session_host(&state.pool, &credentials::digest(&token))
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok(CurrentHost {
        id,
        method: AuthMethod::Session,
    })
}

/// The session cookie's value, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty() && value.len() < 100)
        .map(|(_, value)| value.to_owned())
}

/// `Set-Cookie` value starting a session.
pub fn session_set_cookie(token: &str, environment: Environment) -> String {
    let secure = if environment == Environment::Production {
        "; Secure"
    } else {
        ""
    };
    let max_age = store::SESSION_LIFETIME.num_seconds();
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// `Set-Cookie` value ending a session.
pub fn session_clear_cookie(environment: Environment) -> String {
    let secure = if environment == Environment::Production {
        "; Secure"
    } else {
        ""
    };
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

/// CSRF defence for cookie-authenticated writes: the `Origin` (or, without it, the
/// `Referer`) must be this server's own address.
pub fn require_same_origin(method: &Method, headers: &HeaderMap) -> Result<(), AppError> {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let source_host = source
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or_default())
        .unwrap_or_default();
    if !host.is_empty() && source_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        tracing::warn!(%method, "cross-site write refused");
        Err(AppError::Forbidden(
            "this request must come from GuestGuard's own pages".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let map = headers(&[(header::COOKIE, "a=1; gg_session=abc; b=2")]);
        assert_eq!(session_cookie(&map).as_deref(), Some("abc"));
        assert_eq!(
            session_cookie(&headers(&[(header::COOKIE, "gg_session=")])),
            None
        );
    }

    #[test]
    fn writes_from_another_site_are_refused() {
        let same = headers(&[
            (header::HOST, "gg.test"),
            (header::ORIGIN, "https://gg.test"),
        ]);
        assert!(require_same_origin(&Method::POST, &same).is_ok());
        let referer = headers(&[
            (header::HOST, "gg.test"),
            (header::REFERER, "https://gg.test/x"),
        ]);
        assert!(require_same_origin(&Method::POST, &referer).is_ok());
        let other = headers(&[
            (header::HOST, "gg.test"),
            (header::ORIGIN, "https://evil.test"),
        ]);
        assert!(require_same_origin(&Method::POST, &other).is_err());
        let lookalike = headers(&[
            (header::HOST, "gg.test"),
            (header::ORIGIN, "https://gg.test.evil"),
        ]);
        assert!(require_same_origin(&Method::POST, &lookalike).is_err());
        assert!(
            require_same_origin(&Method::POST, &headers(&[(header::HOST, "gg.test")])).is_err()
        );
    }

    #[test]
    fn production_cookies_are_secure() {
        assert!(session_set_cookie("t", Environment::Production).contains("; Secure"));
        let dev = session_set_cookie("t", Environment::Development);
        assert!(
            dev.contains("HttpOnly") && dev.contains("SameSite=Lax") && !dev.contains("Secure")
        );
    }
}
