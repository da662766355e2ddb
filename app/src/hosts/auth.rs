//! Which host a request acts for: a session cookie (`gg_session`, HttpOnly, SameSite=Lax,
//! Secure in production) or an API key (`Authorization: Bearer ggk_...`).
//!
//! Cookie-authenticated requests that change state must come from our own pages: their
//! `Origin` (or `Referer`) must be the origin of `GUESTGUARD_PUBLIC_URL` (what browsers
//! send behind a reverse proxy, whatever `Host` it passes on) or name the `Host` the
//! request was sent to. API keys are not sent by browsers on their own, so they need no
//! such proof — but they cannot manage credentials: creating or revoking API keys,
//! changing the password and signing out everywhere need a signed-in session, so a
//! leaked key cannot mint its own successor.
//!
//! Sessions end 14 days after sign-in, after `GUESTGUARD_SESSION_IDLE_MINUTES` without
//! use, at logout, and for every device at "sign out everywhere" or a password change.

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
    /// The digest of the session cookie, when the host signed in with one.
    pub session: Option<[u8; 32]>,
}

impl CurrentHost {
    /// Refuses API keys (403 `session_required`): credentials are managed only from a
    /// signed-in session.
    pub fn require_session(&self) -> Result<[u8; 32], AppError> {
        self.session.ok_or(AppError::SessionRequired)
    }
}

impl FromRequestParts<AppState> for CurrentHost {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let host = authenticate(&parts.headers, state).await?;
        if host.method == AuthMethod::Session && !parts.method.is_safe() {
            require_same_origin(
                &parts.method,
                &parts.headers,
                state.settings.public_origin(),
            )?;
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
            session: None,
        });
    }
    let token = session_cookie(headers).ok_or(AppError::Unauthenticated)?;
    let digest = credentials::digest(&token);
    let id = store::session_host(&state.pool, &digest, state.settings.session_idle)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok(CurrentHost {
        id,
        method: AuthMethod::Session,
        session: Some(digest),
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
/// `Referer`) must be the public origin (`public_origin`, e.g.
/// `https://guests.example.org`) or name the `Host` the request was sent to.
pub fn require_same_origin(
    method: &Method,
    headers: &HeaderMap,
    public_origin: &str,
) -> Result<(), AppError> {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let (source_origin, source_host) = match source.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split('/').next().unwrap_or_default();
            (format!("{scheme}://{authority}"), authority)
        }
        None => (String::new(), ""),
    };
    let from_public_origin =
        !source_origin.is_empty() && source_origin.eq_ignore_ascii_case(public_origin);
    let from_this_host = !host.is_empty() && source_host.eq_ignore_ascii_case(host);
    if from_public_origin || from_this_host {
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
        const PUBLIC: &str = "https://guests.example.org";
        let check = |map: &HeaderMap| require_same_origin(&Method::POST, map, PUBLIC);
        let same = headers(&[
            (header::HOST, "gg.test"),
            (header::ORIGIN, "https://gg.test"),
        ]);
        assert!(check(&same).is_ok());
        let referer = headers(&[
            (header::HOST, "gg.test"),
            (header::REFERER, "https://gg.test/x"),
        ]);
        assert!(check(&referer).is_ok());
        let other = headers(&[
            (header::HOST, "gg.test"),
            (header::ORIGIN, "https://evil.test"),
        ]);
        assert!(check(&other).is_err());
        let lookalike = headers(&[
            (header::HOST, "gg.test"),
            (header::ORIGIN, "https://gg.test.evil"),
        ]);
        assert!(check(&lookalike).is_err());
        assert!(check(&headers(&[(header::HOST, "gg.test")])).is_err());
    }

    #[test]
    fn behind_a_proxy_that_rewrites_host_the_public_origin_is_ours() {
        let check =
            |map: &HeaderMap| require_same_origin(&Method::POST, map, "https://guests.example.org");
        let proxied = headers(&[
            (header::HOST, "web1:3000"),
            (header::ORIGIN, "https://guests.example.org"),
        ]);
        assert!(check(&proxied).is_ok());
        let prefix_trick = headers(&[
            (header::HOST, "web1:3000"),
            (header::ORIGIN, "https://guests.example.org.evil.test"),
        ]);
        assert!(check(&prefix_trick).is_err());
        let other_scheme = headers(&[
            (header::HOST, "web1:3000"),
            (header::ORIGIN, "http://guests.example.org"),
        ]);
        assert!(check(&other_scheme).is_err());
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
