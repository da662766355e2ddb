//! Server functions of invitation links for the host's event page: issue (which also
//! rotates: every earlier link of the guest stops working) and revoke, plus the
//! server-side lookup of each guest's newest link with its re-derived URL.
//!
//! They run the same code as the REST routes in [`super::rest`] (server only), for the
//! signed-in host of the request.

use super::IssuedLink;
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server_fns::answer;
use leptos::prelude::*;
use uuid::Uuid;

/// Issues a new personal link for a guest. Any link the guest had stops working, so
/// this is also how a link is rotated. The answer is the only place the token shows
/// besides the re-derived URL of the guest table.
#[server(prefix = "/api/fn", endpoint = "issue_guest_link")]
pub async fn issue_guest_link(event_id: Uuid, guest_id: Uuid) -> Result<IssuedLink, AppError> {
    answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let link = super::rest::issue_link(&state, host.id, event_id, guest_id, None).await?;
        tracing::info!(%event_id, %guest_id, link_id = %link.id, "invitation link issued");
        Ok(link)
    })
    .await
}

/// Revokes one of a guest's links: it answers "withdrawn" (410) from then on.
#[server(prefix = "/api/fn", endpoint = "revoke_guest_link")]
pub async fn revoke_guest_link(
    event_id: Uuid,
    guest_id: Uuid,
    link_id: Uuid,
) -> Result<(), AppError> {
    answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        if super::store::revoke(&state.pool, host.id, event_id, guest_id, link_id).await? {
            tracing::info!(%event_id, %guest_id, %link_id, "invitation link revoked");
            Ok(())
        } else {
            Err(AppError::NotFound("there is no such link".into()))
        }
    })
    .await
}

/// Server-only helpers shared with the guest table.
#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::{
        error::AppError,
        invitations::{
            store::{self, SignedInvitation},
            token::{hash_for_lookup, KeyId, Keyring, TokenClaims},
            GuestLink,
        },
        state::AppState,
    };
    use chrono::{DateTime, Utc};
    use std::collections::HashMap;
    use uuid::Uuid;

    /// The newest link of every guest of one of the host's events, by guest id.
    pub async fn links_by_guest(
        state: &AppState,
        host_id: Uuid,
        event_id: Uuid,
    ) -> Result<HashMap<Uuid, GuestLink>, AppError> {
        let now = Utc::now();
        Ok(store::newest_per_guest(&state.pool, host_id, event_id)
            .await?
            .into_iter()
            .map(|row| {
                let status = row.invitation.status(now);
                let url = status
                    .is_live()
                    .then(|| rederive(&state.keyring, &row, now))
                    .flatten()
                    .map(|token| super::super::rest::link_url(state, &token));
                let link = GuestLink {
                    id: row.invitation.id,
                    status,
                    expires_at: row.invitation.expires_at,
                    url,
                };
                (row.invitation.guest_id, link)
            })
            .collect())
    }

    /// The token of a stored link, signed again from its row. Only a token whose hash is
    /// the stored one is the link that was issued: after a change of signing secret the
    /// same claims give another token, which would not work, so there is none.
    pub fn rederive(
        keyring: &Keyring,
        row: &SignedInvitation,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let invitation = &row.invitation;
        let claims = TokenClaims {
            token_id: invitation.id,
            guest_id: invitation.guest_id,
            event_id: invitation.event_id,
            expires_at: invitation.expires_at,
            key_id: KeyId::parse(&row.key_id).ok()?,
        };
        let token = keyring.reissue(&claims, now)?;
        (hash_for_lookup(&token).as_slice() == invitation.token_hash.as_slice()).then_some(token)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::invitations::store::Invitation;
        use chrono::Duration;
        use secrecy::SecretString;

        fn keyring(secret: &str) -> Keyring {
            Keyring::new(
                KeyId::parse("k1").expect("key id"),
                SecretString::from(secret),
            )
            .expect("keyring")
        }

        fn stored(keyring: &Keyring) -> (String, SignedInvitation) {
            let now = Utc::now();
            let (token, claims) = keyring.issue(
                Uuid::new_v4(),
                Uuid::new_v4(),
                Uuid::new_v4(),
                now + Duration::days(3),
            );
            let row = SignedInvitation {
                invitation: Invitation {
                    id: claims.token_id,
                    guest_id: claims.guest_id,
                    event_id: claims.event_id,
                    host_id: Uuid::new_v4(),
                    token_hash: hash_for_lookup(&token).to_vec(),
                    expires_at: claims.expires_at,
                    revoked_at: None,
                    created_at: now,
                    answered: false,
                },
                key_id: claims.key_id.as_str().to_owned(),
            };
            (token, row)
        }

        #[test]
        fn a_stored_link_is_rederived_to_the_token_that_was_issued() {
            let keyring = keyring("a-signing-secret-long-enough-for-tests");
            let (token, row) = stored(&keyring);
            assert_eq!(rederive(&keyring, &row, Utc::now()), Some(token));
        }

        #[test]
        fn a_link_signed_with_another_secret_is_not_rederived() {
            let (_, row) = stored(&keyring("a-signing-secret-long-enough-for-tests"));
            let changed = keyring("another-secret-entirely-for-the-same-key");
            assert_eq!(rederive(&changed, &row, Utc::now()), None);
        }

        #[test]
        fn a_row_with_a_broken_key_id_is_not_rederived() {
            let keyring = keyring("a-signing-secret-long-enough-for-tests");
            let (_, mut row) = stored(&keyring);
            row.key_id = "Not A Key".into();
            assert_eq!(rederive(&keyring, &row, Utc::now()), None);
        }
    }
}
