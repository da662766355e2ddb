//! Hosts: accounts (sign up, log in, log out), their sessions and API keys, and how a
//! request proves which host it acts for (session cookie or `Authorization: Bearer`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod credentials;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod rest;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod store;

/// Body of `POST /api/v1/auth/signup`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SignupRequest {
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::email))]
    pub email: String,
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::person_name))]
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::new_password))]
    pub password: String,
}

/// Body of `POST /api/v1/auth/login`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A host as shown to themself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HostProfile {
    pub id: Uuid,
    pub email: String,
    pub name: String,
}

/// Body of `POST /api/v1/api-keys`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreateApiKey {
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::key_name))]
    pub name: String,
    /// Days until the key stops working (1–3650); absent: it never expires.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 3650))]
    pub expires_in_days: Option<u32>,
}

/// Body of `POST /api/v1/auth/password`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChangePassword {
    pub current_password: String,
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::new_password))]
    pub new_password: String,
}

/// Longest lifetime of an API key, in days.
pub const API_KEY_MAX_DAYS: u32 = 3650;

/// A freshly created API key: the only time the key itself is shown.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewApiKey {
    pub id: Uuid,
    pub name: String,
    pub key: String,
    /// When the key stops working; `null`: never.
    #[serde(default)]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// An API key in the list (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ApiKeySummary {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the key stops working; `null`: never.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked: bool,
}

/// Answer of `POST /api/v1/auth/logout-everywhere`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionsEnded {
    /// How many sessions ended (the caller's own included).
    pub ended: u64,
}

/// Shortest and longest accepted password, in characters.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 10..=256;
