//! Server-function transport of a host's review of a guest, for the event page: the
//! same work as the REST routes (`rest.rs`).

use super::{GuestReview, HeldAnswer};
use crate::{error::AppError, fraud::devices::GuestDevices};
use leptos::prelude::*;
use uuid::Uuid;

/// The guest's devices and audit trail.
#[server(prefix = "/api/fn", endpoint = "review/guest")]
pub async fn review_guest(event_id: Uuid, guest_id: Uuid) -> Result<GuestReview, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let subject = ssr::subject(host.id, event_id, guest_id);
        Ok(GuestReview {
            devices: super::rest::guest_devices(&state, subject).await?,
            audit: super::store::trail(&state.pool, subject).await?,
        })
    })
    .await
}

/// Approves one of the guest's devices.
#[server(prefix = "/api/fn", endpoint = "review/approve_device")]
pub async fn approve_guest_device(
    event_id: Uuid,
    guest_id: Uuid,
    device_key: String,
) -> Result<GuestDevices, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let subject = ssr::subject(host.id, event_id, guest_id);
        super::rest::approve_device(&state, subject, &device_key).await
    })
    .await
}

/// Makes the engine forget what it learned about the guest.
#[server(prefix = "/api/fn", endpoint = "review/reset")]
pub async fn reset_guest_checks(event_id: Uuid, guest_id: Uuid) -> Result<GuestDevices, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::rest::reset_guest(&state, ssr::subject(host.id, event_id, guest_id)).await
    })
    .await
}

/// The event's answers held for review.
#[server(prefix = "/api/fn", endpoint = "review/held")]
pub async fn held_answers(event_id: Uuid) -> Result<Vec<HeldAnswer>, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        crate::events::store::get(&state.pool, host.id, event_id).await?;
        super::store::held(&state.pool, host.id, event_id).await
    })
    .await
}

/// Accepts (`accept` true) or rejects a held answer.
#[server(prefix = "/api/fn", endpoint = "review/decide")]
pub async fn decide_held_answer(
    event_id: Uuid,
    guest_id: Uuid,
    accept: bool,
) -> Result<(), AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::store::decide_held(
            &state.pool,
            ssr::subject(host.id, event_id, guest_id),
            accept,
        )
        .await?;
        state.outbox_wake.notify_one();
        Ok(())
    })
    .await
}

#[cfg(feature = "ssr")]
mod ssr {
    use crate::review::store::Subject;
    use uuid::Uuid;

    pub(super) fn subject(host_id: Uuid, event_id: Uuid, guest_id: Uuid) -> Subject {
        Subject {
            host_id,
            event_id,
            guest_id,
        }
    }
}
