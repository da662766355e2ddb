//! Server-function transport of notifications for the dashboard and the guests'
//! unsubscribe page: the same work as the REST routes (`rest.rs`).

#[cfg(feature = "ssr")]
use super::SendInvitations;
use super::{DeliveryAttempt, GuestDelivery, HostPreferences, InvitationsQueued, Notification};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Sends invitations: to `guest_ids`, or to every pending guest when `None`.
#[server(prefix = "/api/fn", endpoint = "notifications/send_invitations")]
pub async fn queue_invitations(
    event_id: Uuid,
    guest_ids: Option<Vec<Uuid>>,
) -> Result<InvitationsQueued, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::rest::send_invitations(&state, host.id, event_id, &SendInvitations { guest_ids })
            .await
    })
    .await
}

/// What was sent for the event, newest first.
#[server(prefix = "/api/fn", endpoint = "notifications/event")]
pub async fn event_notifications(event_id: Uuid) -> Result<Vec<Notification>, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        crate::events::store::get(&state.pool, host.id, event_id).await?;
        Ok(super::store::list(
            &state.pool,
            host.id,
            super::store::Scope::Event(event_id),
            200,
        )
        .await?)
    })
    .await
}

/// The newest invitation or reminder of every guest of the event.
#[server(prefix = "/api/fn", endpoint = "notifications/guests")]
pub async fn guest_deliveries(event_id: Uuid) -> Result<Vec<GuestDelivery>, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        Ok(super::store::guest_deliveries(&state.pool, host.id, event_id).await?)
    })
    .await
}

/// The delivery log of one notification.
#[server(prefix = "/api/fn", endpoint = "notifications/attempts")]
pub async fn notification_attempts(id: Uuid) -> Result<Vec<DeliveryAttempt>, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        Ok(super::store::attempts(&state.pool, host.id, id).await?)
    })
    .await
}

/// Which emails the host gets.
#[server(prefix = "/api/fn", endpoint = "notifications/preferences")]
pub async fn notification_preferences() -> Result<HostPreferences, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::rest::host_preferences(&state, host.id).await
    })
    .await
}

/// Saves which emails the host gets.
#[server(prefix = "/api/fn", endpoint = "notifications/save_preferences")]
pub async fn save_notification_preferences(
    rsvps: Option<String>,
    fraud: Option<String>,
) -> Result<HostPreferences, AppError> {
    let preferences = HostPreferences {
        rsvps: rsvps.is_some(),
        fraud: fraud.is_some(),
    };
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::rest::set_host_preferences(&state, host.id, preferences).await
    })
    .await
}

/// What the unsubscribe page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscription {
    pub event_name: String,
    /// The guest already asked for no more reminders.
    pub done: bool,
}

/// The reminder behind an unsubscribe address (404 for any other address).
#[server(prefix = "/api/fn", endpoint = "notifications/unsubscription")]
pub async fn unsubscribe_details(id: String) -> Result<Unsubscription, AppError> {
    crate::server_fns::answer(async move {
        let (state, _) = crate::server_fns::request()?;
        let missing = || AppError::NotFound("this unsubscribe link is not valid".into());
        let id: Uuid = id.parse().map_err(|_| missing())?;
        let (event_name, done) = super::unsubscribe::find(&state.pool, id)
            .await?
            .ok_or_else(missing)?;
        Ok(Unsubscription { event_name, done })
    })
    .await
}
