//! REST transport of host accounts: `/api/v1/auth/*` and `/api/v1/api-keys`.

use super::{
    auth::{self, CurrentHost},
    credentials, store, ApiKeySummary, CreateApiKey, HostProfile, LoginRequest, NewApiKey,
    SignupRequest, PASSWORD_CHARS,
};
use crate::{
    error::AppError,
    guests::fields::{EmailAddress, GuestName},
    rate_limit::Quota,
    rest::{ApiPath, ClientIp, JsonBody},
    state::AppState,
};
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{AppendHeaders, IntoResponse},
    routing::{delete, get, post},
    Json, Router,
};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Sign-up and login attempts per client per minute.
const AUTH_QUOTA: Quota = Quota {
    attempts: 10,
    window: Duration::from_secs(60),
};

/// Routes of this module, mounted under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/signup", post(signup))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
        .route("/api-keys", post(create_api_key).get(list_api_keys))
        .route("/api-keys/{id}", delete(revoke_api_key))
}

/// Counts one sign-up or login attempt of `client` (`route` is `"signup"` or
/// `"login"`); the REST routes and the dashboard's server functions share the counters.
pub fn limit(state: &AppState, client: ClientIp, route: &str) -> Result<(), AppError> {
    state
        .rate_limiter
        .check(&client.key(route), AUTH_QUOTA, Instant::now())
        .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })
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
    let hash = credentials::hash_password(request.password).await?;
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
        && credentials::verify_password(request.password, hash).await;
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
        auth::require_same_origin(&axum::http::Method::POST, headers)?;
        store::revoke_session(&state.pool, &credentials::digest(&token)).await?;
    }
    Ok(auth::session_clear_cookie(state.settings.environment))
}

/// Creates an API key for the host; the returned key is the only copy there will be.
pub async fn issue_api_key(
    state: &AppState,
    host_id: Uuid,
    name: &str,
) -> Result<NewApiKey, AppError> {
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
    let prefix: String = key.chars().take(12).collect();
    let id = store::insert_api_key(
        &state.pool,
        host_id,
        name,
        &prefix,
        &credentials::digest(&key),
    )
    .await?;
    Ok(NewApiKey {
        id,
        name: name.to_owned(),
        key,
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

#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", summary = "Create a host account", description = "Creates the account and starts a session (HttpOnly `gg_session` cookie). Rate limited per client.", request_body = super::SignupRequest, responses((status = 201, description = "Account created; `Set-Cookie` carries the session", body = super::HostProfile), (status = 400, description = "Malformed request body", body = crate::api_docs::openapi::ErrorBody), (status = 422, description = "A field is invalid; `field` names it", body = crate::api_docs::openapi::ErrorBody), (status = 409, description = "The email already has an account", body = crate::api_docs::openapi::ErrorBody), (status = 429, description = "Too many attempts; see `Retry-After`", body = crate::api_docs::openapi::ErrorBody)))]
/// `POST /api/v1/auth/signup {email, name, password}` → 201 + session cookie.
pub(crate) async fn signup(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(request): JsonBody<SignupRequest>,
) -> Result<impl IntoResponse, AppError> {
    limit(&state, client, "signup")?;
    let host = register(&state, request).await?;
    start_session(&state, host, StatusCode::CREATED).await
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", summary = "Log in", description = "Checks email and password and starts a session. Rate limited per client.", request_body = super::LoginRequest, responses((status = 200, description = "Signed in; `Set-Cookie` carries the session", body = super::HostProfile), (status = 400, description = "Malformed request body", body = crate::api_docs::openapi::ErrorBody), (status = 401, description = "Wrong email or password (never says which)", body = crate::api_docs::openapi::ErrorBody), (status = 429, description = "Too many attempts; see `Retry-After`", body = crate::api_docs::openapi::ErrorBody)))]
/// `POST /api/v1/auth/login {email, password}` → 200 + session cookie.
pub(crate) async fn login(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<impl IntoResponse, AppError> {
    limit(&state, client, "login")?;
    let host = check_credentials(&state, request).await?;
    start_session(&state, host, StatusCode::OK).await
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", summary = "Log out", description = "Revokes the session at once and clears the cookie.", responses((status = 204, description = "Signed out"), (status = 403, description = "Cross-site request refused", body = crate::api_docs::openapi::ErrorBody)))]
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

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", summary = "The signed-in host", security(("api_key" = []), ("session" = [])), responses((status = 200, description = "The host", body = super::HostProfile), (status = 401, description = "Not signed in, or the key or session is not valid", body = crate::api_docs::openapi::ErrorBody)))]
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

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", summary = "Create an API key", description = "The key is in this answer only; it is stored as a hash.", request_body = super::CreateApiKey, security(("api_key" = []), ("session" = [])), responses((status = 201, description = "The new key (shown once)", body = super::NewApiKey), (status = 400, description = "Malformed request body", body = crate::api_docs::openapi::ErrorBody), (status = 401, description = "Not signed in, or the key or session is not valid", body = crate::api_docs::openapi::ErrorBody), (status = 422, description = "A field is invalid; `field` names it", body = crate::api_docs::openapi::ErrorBody)))]
/// `POST /api/v1/api-keys {name}` → 201 `{id, name, key}`; the key is shown only here.
pub(crate) async fn create_api_key(
    State(state): State<AppState>,
    host: CurrentHost,
    JsonBody(request): JsonBody<CreateApiKey>,
) -> Result<impl IntoResponse, AppError> {
    let key = issue_api_key(&state, host.id, &request.name).await?;
    Ok((StatusCode::CREATED, Json(key)))
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", summary = "List API keys", description = "Names, prefixes and use; never the keys.", security(("api_key" = []), ("session" = [])), responses((status = 200, description = "The host's keys, newest first", body = Vec<super::ApiKeySummary>), (status = 401, description = "Not signed in, or the key or session is not valid", body = crate::api_docs::openapi::ErrorBody)))]
/// `GET /api/v1/api-keys` → the host's keys (never the keys themselves).
pub(crate) async fn list_api_keys(
    State(state): State<AppState>,
    host: CurrentHost,
) -> Result<Json<Vec<ApiKeySummary>>, AppError> {
    Ok(Json(store::list_api_keys(&state.pool, host.id).await?))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys", summary = "Revoke an API key", params(("id" = uuid::Uuid, Path, description = "Key id")), security(("api_key" = []), ("session" = [])), responses((status = 204, description = "Revoked; the key stops working at once"), (status = 401, description = "Not signed in, or the key or session is not valid", body = crate::api_docs::openapi::ErrorBody), (status = 404, description = "No such resource for this host", body = crate::api_docs::openapi::ErrorBody)))]
/// `DELETE /api/v1/api-keys/{id}` → 204; the key stops working at once.
pub(crate) async fn revoke_api_key(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    revoke_key(&state, host.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes one of the host's API keys; another host's key is not found.
pub async fn revoke_key(state: &AppState, host_id: Uuid, id: Uuid) -> Result<(), AppError> {
    if store::revoke_api_key(&state.pool, host_id, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("there is no such API key".into()))
    }
}
