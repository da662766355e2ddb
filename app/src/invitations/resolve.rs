//! From the token in a request to the invitation it stands for, with the answers every
//! guest-facing route shares:
//!
//! | token | answer |
//! | --- | --- |
//! | not even shaped like a token (`gg1_` + 128 of `[A-Za-z0-9_-]`) | 400 `malformed_token` (no crypto, no database) |
//! | bad signature (or a payload no key of ours signs), or signed but unknown | 404 `not_found`, the same for both (no oracle) |
//! | revoked (or replaced by a newer link) | 410 `link_revoked` |
//! | past its expiry | 410 `link_expired` |

use super::{
    store::{self, Invitation},
    token::{self, TokenError},
    LinkStatus,
};
use crate::{error::AppError, state::AppState};
use chrono::Utc;
use subtle::ConstantTimeEq as _;

/// The one answer for forged and unknown tokens (also for a link whose guest or event is
/// deleted while a request uses it).
pub(crate) fn unknown() -> AppError {
    AppError::NotFound("this invitation link is not valid".into())
}

/// The answer for a token that is not shaped like one of ours.
fn malformed() -> AppError {
    AppError::bad_request("malformed_token", "this is not an invitation link")
}

/// Resolves a live invitation (active or used) from a raw token.
pub async fn live_invitation(state: &AppState, raw: &str) -> Result<Invitation, AppError> {
    let unverified = token::parse_format(raw).map_err(|error| match error {
        TokenError::Malformed => malformed(),
        TokenError::BadSignature => unknown(),
    })?;
    let now = Utc::now();
    let claims = state
        .keyring
        .verify(&unverified, now)
        .map_err(|error| match error {
            TokenError::Malformed => malformed(),
            TokenError::BadSignature => unknown(),
        })?;
    let invitation = store::by_id(&state.pool, claims.token_id)
        .await?
        .ok_or_else(unknown)?;
    let hash = token::hash_for_lookup(raw);
    let same: bool = invitation
        .token_hash
        .as_slice()
        .ct_eq(hash.as_slice())
        .into();
    if !same || invitation.guest_id != claims.guest_id || invitation.event_id != claims.event_id {
        return Err(unknown());
    }
    match invitation.status(now) {
        LinkStatus::Revoked => Err(AppError::Gone {
            code: "link_revoked".into(),
            message: "this invitation link was withdrawn; ask your host for a new one".into(),
        }),
        LinkStatus::Active | LinkStatus::Used if !claims.is_expired(now) => Ok(invitation),
        LinkStatus::Active | LinkStatus::Used | LinkStatus::Expired => Err(AppError::Gone {
            code: "link_expired".into(),
            message: "this invitation link has expired".into(),
        }),
    }
}
