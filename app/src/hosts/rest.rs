//! REST transport of host accounts: `/api/v1/auth/*` and `/api/v1/api-keys`.

use super::{
    auth::{self, CurrentHost},
    credentials, store, ApiKeySummary, ChangePassword, CreateApiKey, HostProfile, LoginRequest,
    NewApiKey, SessionsEnded, SignupRequest, API_KEY_MAX_DAYS, PASSWORD_CHARS,
};
use crate::{
    edge::{client::ClientIp, rate_limit::Quota},
    error::AppError,
    guests::fields::{EmailAddress, GuestName},
    rest::{ApiPath, JsonBody},
    state::AppState,
};
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{AppendHeaders, IntoResponse},
    routing::{delete, get, post},
    Json, Router,
};
use std::time::Duration;
use uuid::Uuid;

/// Sign-up and login attempts per client (IPv4 address or IPv6 /64) per minute.
const AUTH_QUOTA: Quota = Quota {
    attempts: 10,
    window: Duration::from_secs(60),
};

/// Login attempts per account, from anywhere, per ten minutes: guessing one host's
/// password from many addresses is as slow as from one.
const ACCOUNT_QUOTA: Quota = Quota {
    attempts: 10,
    window: Duration::from_secs(600),
};

/// Routes of this module, mounted under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/signup", post(signup))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/logout-everywhere", post(logout_everywhere))
        .route("/auth/password", post(change_password))
        .route("/auth/me", get(me))
        .route("/api-keys", post(create_api_key).get(list_api_keys))
        .route("/api-keys/{id}", delete(revoke_api_key))
}

/// Counts one sign-up or login attempt of `client` (`route` is `"signup"` or
/// `"login"`); the REST routes and the dashboard's server functions share the counters
/// (and so does every replica).
pub async fn limit(state: &AppState, client: ClientIp, route: &str) -> Result<(), AppError> {
    state
        .rate_limiter
        .check(&client.key(route), AUTH_QUOTA)
        .await
}

/// Counts one login attempt on the account of `email` (known or not: the answer must
/// not tell), keyed by a digest so any text makes a short key.
async fn limit_account(state: &AppState, email: &str) -> Result<(), AppError> {
    let digest = credentials::digest(&email.trim().to_lowercase());
    let key: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    state
        .rate_limiter
        .check(&format!("login-account:{key}"), ACCOUNT_QUOTA)
        .await
}

fn check_password(password: &str) -> Result<(), AppError> {
    let chars = password.chars().count();
    if PASSWORD_CHARS.contains(&chars) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "password",
            "invalid_password",
            format!(
                "the password must have {} to {} characters",
                PASSWORD_CHARS.start(),
                PASSWORD_CHARS.end()
            ),
        ))
    }
}

/// Creates an account (email, name and password checked, password hashed).
pub async fn register(state: &AppState, request: SignupRequest) -> Result<HostProfile, AppError> {
    let email = EmailAddress::parse(&request.email)?;
    let name = GuestName::parse(&request.name)?;
    check_password(&request.password)?;
    let hash = state.password_hashing.hash(request.password).await?;
    let host = store::insert_host(&state.pool, email.as_str(), name.as_str(), &hash)
        .await?
        .ok_or_else(|| {
            AppError::conflict("email_taken", "an account with this email already exists")
        })?;
    tracing::info!(host_id = %host.id, "host signed up");
    Ok(host)
}

/// The host whose email and password these are; [`AppError::InvalidCredentials`]
/// otherwise, taking as long whether or not the account exists.
pub async fn check_credentials(
    state: &AppState,
    request: LoginRequest,
) -> Result<HostProfile, AppError> {
    limit_account(state, &request.email).await?;
    // Every account's email passed this check at sign-up, so anything else (too long,
    // or with characters such as NUL that the database would refuse) has no account.
    let found = match EmailAddress::parse(&request.email) {
        Ok(email) => store::host_by_email(&state.pool, email.as_str()).await?,
        Err(_) => None,
    };
    let (host, hash) = match found {
        Some((host, hash)) => (Some(host), Some(hash)),
        None => (None, None),
    };
    let password_ok = request.password.len() <= 1024
        && state
            .password_hashing
            .verify(request.password, hash)
            .await?;
    match host {
        Some(host) if password_ok => Ok(host),
        _ => Err(AppError::InvalidCredentials),
    }
}

/// Starts a session for the host; returns the `Set-Cookie` value that carries it.
pub async fn open_session(state: &AppState, host_id: Uuid) -> Result<String, AppError> {
    let token = credentials::random_secret();
    store::insert_session(&state.pool, host_id, &credentials::digest(&token)).await?;
    Ok(auth::session_set_cookie(&token, state.settings.environment))
}

/// Ends the session the request carries (if any; a cookie-carrying request must come
/// from our own pages); returns the `Set-Cookie` value that clears the cookie.
pub async fn close_session(state: &AppState, headers: &HeaderMap) -> Result<String, AppError> {
    if let Some(token) = auth::session_cookie(headers) {
        auth::require_same_origin(
            &axum::http::Method::POST,
            headers,
            state.settings.public_origin(),
        )?;
        store::revoke_session(&state.pool, &credentials::digest(&token)).await?;
    }
    Ok(auth::session_clear_cookie(state.settings.environment))
}

/// Ends every session of the host, this one included; returns how many ended.
pub async fn end_all_sessions(state: &AppState, host: &CurrentHost) -> Result<u64, AppError> {
    host.require_session()?;
    let ended = store::revoke_sessions(&state.pool, host.id, None).await?;
    tracing::info!(host_id = %host.id, ended, "host signed out everywhere");
    Ok(ended)
}

/// Changes the host's password after checking the current one, and ends every other
/// session (the one making the change stays signed in).
pub async fn update_password(
    state: &AppState,
    host: &CurrentHost,
    request: ChangePassword,
) -> Result<(), AppError> {
    let session = host.require_session()?;
    let stored = store::password_hash(&state.pool, host.id).await?;
    let current_ok = request.current_password.len() <= 1024
        && state
            .password_hashing
            .verify(request.current_password, stored)
            .await?;
    if !current_ok {
        return Err(AppError::invalid(
            "current_password",
            "wrong_password",
            "the current password is not right",
        ));
    }
    check_password(&request.new_password).map_err(|_| {
        AppError::invalid(
            "new_password",
            "invalid_password",
            format!(
                "the new password must have {} to {} characters",
                PASSWORD_CHARS.start(),
                PASSWORD_CHARS.end()
            ),
        )
    })?;
    let hash = state.password_hashing.hash(request.new_password).await?;
    store::change_password(&state.pool, host.id, &hash, &session).await?;
    tracing::info!(host_id = %host.id, "password changed; other sessions ended");
    Ok(())
}

/// Creates an API key for the host (only from a signed-in session); the returned key
/// is the only copy there will be.
pub async fn issue_api_key(
    state: &AppState,
    host: &CurrentHost,
    name: &str,
    expires_in_days: Option<u32>,
) -> Result<NewApiKey, AppError> {
    host.require_session()?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "name",
            "invalid_name",
            "give the key a name of 1 to 100 characters",
        ));
    }
    let key = format!(
        "{}{}",
        credentials::API_KEY_PREFIX,
        credentials::random_secret()
    );
    let expires_at = match expires_in_days {
        None => None,
        Some(days @ 1..=API_KEY_MAX_DAYS) => {
            Some(chrono::Utc::now() + chrono::Duration::days(i64::from(days)))
        }
        Some(_) => {
            return Err(AppError::invalid(
                "expires_in_days",
                "invalid_expiry",
                format!("a key can last 1 to {API_KEY_MAX_DAYS} days, or leave it out"),
            ))
        }
    };
    let prefix: String = key.chars().take(12).collect();
    let id = store::insert_api_key(
        &state.pool,
        host.id,
        name,
        &prefix,
        &credentials::digest(&key),
        expires_at,
    )
    .await?;
    Ok(NewApiKey {
        id,
        name: name.to_owned(),
        key,
        expires_at,
    })
}

async fn start_session(
    state: &AppState,
    host: HostProfile,
    status: StatusCode,
) -> Result<impl IntoResponse, AppError> {
    let cookie = open_session(state, host.id).await?;
    Ok((
        status,
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        Json(host),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/signup",
    tag = "auth",
    summary = "Create a host account",
    description = "Creates the account and starts a session (HttpOnly `gg_session` cookie). Rate limited per client.",
    request_body = super::SignupRequest,
    responses(
        (status = 201, description = "Account created; `Set-Cookie` carries the session", body = super::HostProfile),
        crate::api_docs::responses::BodyErrors,
        (status = 409, description = "The email already has an account", body = crate::api_docs::openapi::ErrorBody),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/auth/signup {email, name, password}` → 201 + session cookie.
pub(crate) async fn signup(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(request): JsonBody<SignupRequest>,
) -> Result<impl IntoResponse, AppError> {
    limit(&state, client, "signup").await?;
    let host = register(&state, request).await?;
    start_session(&state, host, StatusCode::CREATED).await
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    summary = "Log in",
    description = "Checks email and password and starts a session. Rate limited per client.",
    request_body = super::LoginRequest,
    responses(
        (status = 200, description = "Signed in; `Set-Cookie` carries the session", body = super::HostProfile),
        crate::api_docs::responses::MalformedBody,
        (status = 401, description = "Wrong email or password (never says which)", body = crate::api_docs::openapi::ErrorBody),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/auth/login {email, password}` → 200 + session cookie.
pub(crate) async fn login(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<impl IntoResponse, AppError> {
    limit(&state, client, "login").await?;
    let host = check_credentials(&state, request).await?;
    start_session(&state, host, StatusCode::OK).await
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    summary = "Log out",
    description = "Revokes the session at once and clears the cookie.",
    responses(
        (status = 204, description = "Signed out"),
        (status = 403, description = "Cross-site request refused", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/auth/logout` → 204; the session stops working at once.
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, AppError> {
    let cookie = close_session(&state, &headers).await?;
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, cookie)]),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout-everywhere",
    tag = "auth",
    summary = "Sign out everywhere",
    description = "Ends every session of the host, on every device, this one included, and \
                   clears the cookie. Needs a signed-in session (an API key is refused).",
    security(("session" = [])),
    responses(
        (status = 200, description = "How many sessions ended", body = super::SessionsEnded),
        crate::api_docs::responses::NotSignedIn,
        crate::api_docs::responses::SessionRequired
    )
)]
/// `POST /api/v1/auth/logout-everywhere` → 200 `{ended}`; every session stops working.
pub(crate) async fn logout_everywhere(
    State(state): State<AppState>,
    host: CurrentHost,
) -> Result<impl IntoResponse, AppError> {
    let ended = end_all_sessions(&state, &host).await?;
    Ok((
        AppendHeaders([(
            header::SET_COOKIE,
            auth::session_clear_cookie(state.settings.environment),
        )]),
        Json(SessionsEnded { ended }),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/password",
    tag = "auth",
    summary = "Change the password",
    description = "Checks the current password, stores the new one and ends every other \
                   session (this one stays signed in). Needs a signed-in session.",
    request_body = super::ChangePassword,
    security(("session" = [])),
    responses(
        (status = 204, description = "Changed; other sessions ended"),
        crate::api_docs::responses::MalformedBody,
        crate::api_docs::responses::NotSignedIn,
        crate::api_docs::responses::SessionRequired,
        (status = 422, description = "Wrong current password (`wrong_password`) or invalid new one; `field` names it", body = crate::api_docs::openapi::ErrorBody),
        (status = 503, description = "Too many password checks at once; see `Retry-After`", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/auth/password {current_password, new_password}` → 204.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    host: CurrentHost,
    JsonBody(request): JsonBody<ChangePassword>,
) -> Result<StatusCode, AppError> {
    update_password(&state, &host, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    summary = "The signed-in host",
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The host", body = super::HostProfile),
        crate::api_docs::responses::AuthErrors
    )
)]
/// `GET /api/v1/auth/me` → the signed-in host.
pub(crate) async fn me(
    State(state): State<AppState>,
    host: CurrentHost,
) -> Result<Json<HostProfile>, AppError> {
    store::host_by_id(&state.pool, host.id)
        .await?
        .map(Json)
        .ok_or(AppError::Unauthenticated)
}

#[utoipa::path(
    post,
    path = "/api/v1/api-keys",
    tag = "api-keys",
    summary = "Create an API key",
    description = "The key is in this answer only; it is stored as a hash. Needs a signed-in \
                   session: an API key cannot create keys. `expires_in_days` (1–3650) makes \
                   the key stop working after that many days.",
    request_body = super::CreateApiKey,
    security(("session" = [])),
    responses(
        (status = 201, description = "The new key (shown once)", body = super::NewApiKey),
        crate::api_docs::responses::BodyErrors,
        crate::api_docs::responses::SessionErrors
    )
)]
/// `POST /api/v1/api-keys {name}` → 201 `{id, name, key}`; the key is shown only here.
pub(crate) async fn create_api_key(
    State(state): State<AppState>,
    host: CurrentHost,
    JsonBody(request): JsonBody<CreateApiKey>,
) -> Result<impl IntoResponse, AppError> {
    let key = issue_api_key(&state, &host, &request.name, request.expires_in_days).await?;
    Ok((StatusCode::CREATED, Json(key)))
}

#[utoipa::path(
    get,
    path = "/api/v1/api-keys",
    tag = "api-keys",
    summary = "List API keys",
    description = "Names, prefixes, expiry and use; never the keys. Needs a signed-in session.",
    security(("session" = [])),
    responses(
        (status = 200, description = "The host's keys, newest first", body = Vec<super::ApiKeySummary>),
        (status = 401, description = "Not signed in, or the session is not valid", body = crate::api_docs::openapi::ErrorBody),
        (status = 403, description = "An API key (`session_required`)", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/api-keys` → the host's keys (never the keys themselves).
pub(crate) async fn list_api_keys(
    State(state): State<AppState>,
    host: CurrentHost,
) -> Result<Json<Vec<ApiKeySummary>>, AppError> {
    host.require_session()?;
    Ok(Json(store::list_api_keys(&state.pool, host.id).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/api-keys/{id}",
    tag = "api-keys",
    summary = "Revoke an API key",
    description = "The key stops working at once. Needs a signed-in session: an API key cannot \
                   revoke keys.",
    params(("id" = uuid::Uuid, Path, description = "Key id")),
    security(("session" = [])),
    responses(
        (status = 204, description = "Revoked; the key stops working at once"),
        crate::api_docs::responses::SessionErrors,
        (status = 404, description = "No such resource for this host", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `DELETE /api/v1/api-keys/{id}` → 204; the key stops working at once.
pub(crate) async fn revoke_api_key(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    revoke_key(&state, &host, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes one of the host's API keys (only from a signed-in session); another host's
/// key is not found.
pub async fn revoke_key(state: &AppState, host: &CurrentHost, id: Uuid) -> Result<(), AppError> {
    host.require_session()?;
    if store::revoke_api_key(&state.pool, host.id, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("there is no such API key".into()))
    }
}
