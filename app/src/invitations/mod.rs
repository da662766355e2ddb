//! Personal invitation links: the signed token in `/i/<token>`, its states (active,
//! used, revoked, expired), issuing, revoking and rotating, and turning a token from a
//! request into the invitation it stands for (`resolve`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod resolve;
#[cfg(feature = "ssr")]
pub mod rest;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod token;

/// Where a link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LinkStatus {
    /// Works; the guest has not answered yet.
    Active,
    /// Works; the guest has answered (and may change the answer until the deadline).
    Used,
    /// The host revoked it (or issued a new one).
    Revoked,
    /// Past its expiry.
    Expired,
}

/// A newly issued link: the only time the token itself is shown.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IssuedLink {
    pub id: Uuid,
    pub token: String,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Body of `POST .../tokens` (optional).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IssueLink {
    /// RFC 3339; defaults to one day after the event starts.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::api_docs::schemas::date_time_or_null))]
    pub expires_at: Option<String>,
}

/// A link as the host sees it in the guest's details (never the token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LinkSummary {
    pub id: Uuid,
    pub status: LinkStatus,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A guest's newest link as the host's dashboard shows it. `url` is the full personal
/// link while it works (re-derived from the stored row and the signing keys, see
/// `token::Keyring::reissue`), `None` once it is revoked or expired or when it cannot
/// be re-derived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GuestLink {
    pub id: Uuid,
    pub status: LinkStatus,
    pub expires_at: DateTime<Utc>,
    pub url: Option<String>,
}

impl LinkStatus {
    /// The lowercase name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Used => "used",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// Whether a link in this state still opens the invitation.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Active | Self::Used)
    }
}
