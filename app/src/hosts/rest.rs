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

fn limit(state: &AppState, client: ClientIp, route: &str) -> Result<(), AppError> {
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

async fn start_session(
    state: &AppState,
    host: HostProfile,
    status: StatusCode,
) -> Result<impl IntoResponse, AppError> {
    let token = credentials::random_secret();
    store::insert_session(&state.pool, host.id, &credentials::digest(&token)).await?;
    let cookie = auth::session_set_cookie(&token, state.settings.environment);
    Ok((
        status,
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        Json(host),
    ))
}

/// `POST /api/v1/auth/signup {email, name, password}` → 201 + session cookie.
async fn signup(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(request): JsonBody<SignupRequest>,
) -> Result<impl IntoResponse, AppError> {
    limit(&state, client, "signup")?;
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
    start_session(&state, host, StatusCode::CREATED).await
}

/// `POST /api/v1/auth/login {email, password}` → 200 + session cookie.
async fn login(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<impl IntoResponse, AppError> {
    limit(&state, client, "login")?;
    let found = if request.email.len() <= 254 {
        store::host_by_email(&state.pool, request.email.trim()).await?
    } else {
        None
    };
    let (host, hash) = match found {
        Some((host, hash)) => (Some(host), Some(hash)),
        None => (None, None),
    };
    let password_ok = request.password.len() <= 1024
        && credentials::verify_password(request.password, hash).await;
    match host {
        Some(host) if password_ok => start_session(&state, host, StatusCode::OK).await,
        _ => Err(AppError::InvalidCredentials),
    }
}

/// `POST /api/v1/auth/logout` → 204; the session stops working at once.
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, AppError> {
    if let Some(token) = auth::session_cookie(&headers) {
        auth::require_same_origin(&axum::http::Method::POST, &headers)?;
        store::revoke_session(&state.pool, &credentials::digest(&token)).await?;
    }
    let cookie = auth::session_clear_cookie(state.settings.environment);
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, cookie)]),
    ))
}

/// `GET /api/v1/auth/me` → the signed-in host.
async fn me(
    State(state): State<AppState>,
    host: CurrentHost,
) -> Result<Json<HostProfile>, AppError> {
    store::host_by_id(&state.pool, host.id)
        .await?
        .map(Json)
        .ok_or(AppError::Unauthenticated)
}

/// `POST /api/v1/api-keys {name}` → 201 `{id, name, key}`; the key is shown only here.
async fn create_api_key(
    State(state): State<AppState>,
    host: CurrentHost,
    JsonBody(request): JsonBody<CreateApiKey>,
) -> Result<impl IntoResponse, AppError> {
    let name = request.name.trim();
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
        host.id,
        name,
        &prefix,
        &credentials::digest(&key),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewApiKey {
            id,
            name: name.to_owned(),
            key,
        }),
    ))
}

/// `GET /api/v1/api-keys` → the host's keys (never the keys themselves).
async fn list_api_keys(
    State(state): State<AppState>,
    host: CurrentHost,
) -> Result<Json<Vec<ApiKeySummary>>, AppError> {
    Ok(Json(store::list_api_keys(&state.pool, host.id).await?))
}

/// `DELETE /api/v1/api-keys/{id}` → 204; the key stops working at once.
async fn revoke_api_key(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    if store::revoke_api_key(&state.pool, host.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("there is no such API key".into()))
    }
}
