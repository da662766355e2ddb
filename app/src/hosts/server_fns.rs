//! Server functions of the host's account pages: sign up, log in, log out, who is
//! signed in, and API keys. They run the same code as the REST routes in `rest.rs`
//! (argon2id, sessions in PostgreSQL, the shared sign-up / login rate limit); only the
//! transport differs: form posts from our own pages, answered with a session cookie
//! and a redirect.
//!
//! Sign-up, login and logout also insist that the post comes from our own pages (its
//! `Origin` or `Referer`), so another site cannot sign a visitor in or out.

use super::{ApiKeySummary, HostProfile, NewApiKey};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// Where a host lands after signing up or logging in.
pub const HOME: &str = "/events";

/// The signed-in host, or `None` for a visitor (never an error for a visitor).
#[server(prefix = "/api/fn", endpoint = "hosts/current")]
pub async fn current_host() -> Result<Option<HostProfile>, AppError> {
    crate::server_fns::answer(async {
        let (state, parts) = crate::server_fns::request()?;
        match super::auth::authenticate(&parts.headers, &state).await {
            Ok(host) => Ok(super::store::host_by_id(&state.pool, host.id).await?),
            Err(AppError::Unauthenticated) => Ok(None),
            Err(error) => Err(error),
        }
    })
    .await
}

/// Creates an account, signs it in and sends the host to their events.
#[server(prefix = "/api/fn", endpoint = "hosts/signup")]
pub async fn sign_up(
    name: String,
    email: String,
    password: String,
) -> Result<HostProfile, AppError> {
    crate::server_fns::answer(async {
        let (state, parts) = crate::server_fns::request()?;
        super::auth::require_same_origin(
            &parts.method,
            &parts.headers,
            state.settings.public_origin(),
        )?;
        let client = crate::edge::client::ClientIp::of(&parts);
        super::rest::limit(&state, client, "signup").await?;
        let request = super::SignupRequest {
            email,
            name,
            password,
        };
        let host = super::rest::register(&state, request).await?;
        ssr::start_session(&state, host.id).await?;
        Ok(host)
    })
    .await
}

/// Signs a host in and sends them to their events.
#[server(prefix = "/api/fn", endpoint = "hosts/login")]
pub async fn log_in(email: String, password: String) -> Result<HostProfile, AppError> {
    crate::server_fns::answer(async {
        let (state, parts) = crate::server_fns::request()?;
        super::auth::require_same_origin(
            &parts.method,
            &parts.headers,
            state.settings.public_origin(),
        )?;
        let client = crate::edge::client::ClientIp::of(&parts);
        super::rest::limit(&state, client, "login").await?;
        let request = super::LoginRequest { email, password };
        let host = super::rest::check_credentials(&state, request).await?;
        ssr::start_session(&state, host.id).await?;
        Ok(host)
    })
    .await
}

/// Ends the session (it stops working at once), clears the cookie and goes to the
/// login page.
#[server(prefix = "/api/fn", endpoint = "hosts/logout")]
pub async fn log_out() -> Result<(), AppError> {
    crate::server_fns::answer(async {
        let (state, parts) = crate::server_fns::request()?;
        let cookie = super::rest::close_session(&state, &parts.headers).await?;
        ssr::set_cookie(&cookie)?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Creates an API key; the answer is the only time the key itself is shown.
/// `expires_in_days`: the form's choice, empty for a key that never expires.
#[server(prefix = "/api/fn", endpoint = "hosts/api_keys/create")]
pub async fn issue_api_key(
    name: String,
    expires_in_days: Option<String>,
) -> Result<NewApiKey, AppError> {
    crate::server_fns::answer(async {
        let (host, state) = super::auth::require_host().await?;
        let days = match expires_in_days.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse().map_err(|_| {
                AppError::invalid(
                    "expires_in_days",
                    "invalid_expiry",
                    "choose how long the key lasts",
                )
            })?),
        };
        super::rest::issue_api_key(&state, &host, &name, days).await
    })
    .await
}

/// Changes the password; every other session ends.
#[server(prefix = "/api/fn", endpoint = "hosts/password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    crate::server_fns::answer(async {
        let (host, state) = super::auth::require_host().await?;
        let request = super::ChangePassword {
            current_password,
            new_password,
        };
        super::rest::update_password(&state, &host, request).await
    })
    .await
}

/// Ends every session of the host, this one included, and goes to the login page.
#[server(prefix = "/api/fn", endpoint = "hosts/logout_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    crate::server_fns::answer(async {
        let (host, state) = super::auth::require_host().await?;
        super::rest::end_all_sessions(&state, &host).await?;
        ssr::set_cookie(&super::auth::session_clear_cookie(
            state.settings.environment,
        ))?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// The host's API keys, newest first (never the keys themselves).
#[server(prefix = "/api/fn", endpoint = "hosts/api_keys/list")]
pub async fn api_keys() -> Result<Vec<ApiKeySummary>, AppError> {
    crate::server_fns::answer(async {
        let (host, state) = super::auth::require_host().await?;
        host.require_session()?;
        Ok(super::store::list_api_keys(&state.pool, host.id).await?)
    })
    .await
}

/// Revokes one of the host's API keys; it stops working at once.
#[server(prefix = "/api/fn", endpoint = "hosts/api_keys/revoke")]
pub async fn revoke_api_key(id: Uuid) -> Result<(), AppError> {
    crate::server_fns::answer(async {
        let (host, state) = super::auth::require_host().await?;
        super::rest::revoke_key(&state, &host, id).await
    })
    .await
}

/// Server-side helpers of the dashboard's server functions (used by `events` too).
#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::{error::AppError, state::AppState};
    use axum::http::{header, HeaderValue};
    use leptos::prelude::use_context;
    use uuid::Uuid;

    /// Adds a `Set-Cookie` header to the server function's response.
    pub fn set_cookie(cookie: &str) -> Result<(), AppError> {
        let response = use_context::<leptos_axum::ResponseOptions>().ok_or(AppError::Internal)?;
        let value = HeaderValue::from_str(cookie).map_err(|_| AppError::Internal)?;
        response.append_header(header::SET_COOKIE, value);
        Ok(())
    }

    /// Starts a session: the cookie, and a redirect to the host's events (a real 302
    /// for a plain form post; the client router follows it otherwise).
    pub async fn start_session(state: &AppState, host_id: Uuid) -> Result<(), AppError> {
        let cookie = crate::hosts::rest::open_session(state, host_id).await?;
        set_cookie(&cookie)?;
        leptos_axum::redirect(super::HOME);
        Ok(())
    }
}
