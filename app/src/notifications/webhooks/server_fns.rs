//! Server-function transport of hosts' webhooks for the dashboard: the same work as the
//! REST routes (`rest.rs`).

#[cfg(feature = "ssr")]
use super::{EventType, NewWebhook, RotateSecret, WebhookChanges};
use super::{Webhook, WebhookOverview, WebhookWithSecret};
use crate::{error::AppError, notifications::Notification};
use leptos::prelude::*;
use uuid::Uuid;

/// The host's webhooks, each with its ten latest deliveries.
#[server(prefix = "/api/fn", endpoint = "webhooks/overview")]
pub async fn webhooks_overview() -> Result<Vec<WebhookOverview>, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let mut overview = Vec::new();
        for webhook in super::rest::list_webhooks(&state, host.id, None).await? {
            let deliveries = crate::notifications::store::list(
                &state.pool,
                host.id,
                crate::notifications::store::Scope::Webhook(webhook.id),
                10,
            )
            .await?;
            overview.push(WebhookOverview {
                webhook,
                deliveries,
            });
        }
        Ok(overview)
    })
    .await
}

/// Registers a webhook from the dashboard's form (one checkbox per event type); the
/// answer carries its secret.
#[server(prefix = "/api/fn", endpoint = "webhooks/register")]
pub async fn register_webhook(
    url: String,
    description: Option<String>,
    rsvp_created: Option<String>,
    rsvp_changed: Option<String>,
    access_flagged: Option<String>,
    rsvp_blocked: Option<String>,
    rsvp_held: Option<String>,
) -> Result<WebhookWithSecret, AppError> {
    let event_types: Vec<String> = [
        (rsvp_created, EventType::RsvpCreated),
        (rsvp_changed, EventType::RsvpChanged),
        (access_flagged, EventType::AccessFlagged),
        (rsvp_blocked, EventType::RsvpBlocked),
        (rsvp_held, EventType::RsvpHeld),
    ]
    .into_iter()
    .filter(|(checked, _)| checked.is_some())
    .map(|(_, kind)| kind.as_str().to_owned())
    .collect();
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::rest::register(
            &state,
            host.id,
            &NewWebhook {
                url,
                event_types,
                event_id: None,
                description,
            },
        )
        .await
    })
    .await
}

/// Pauses or resumes a webhook.
#[server(prefix = "/api/fn", endpoint = "webhooks/enable")]
pub async fn enable_webhook(id: Uuid, enabled: bool) -> Result<Webhook, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::rest::update(
            &state,
            host.id,
            id,
            &WebhookChanges {
                enabled: Some(enabled),
                ..Default::default()
            },
        )
        .await
    })
    .await
}

/// Deletes a webhook.
#[server(prefix = "/api/fn", endpoint = "webhooks/delete")]
pub async fn delete_webhook(id: Uuid) -> Result<(), AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        if super::store::delete(&state.pool, host.id, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("this host has no such webhook".into()))
        }
    })
    .await
}

/// A new secret (the previous one keeps signing for 24 hours).
#[server(prefix = "/api/fn", endpoint = "webhooks/rotate")]
pub async fn rotate_webhook_secret(id: Uuid) -> Result<WebhookWithSecret, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::rest::rotate_secret(&state, host.id, id, &RotateSecret::default()).await
    })
    .await
}

/// Queues a test delivery.
#[server(prefix = "/api/fn", endpoint = "webhooks/test")]
pub async fn test_webhook(id: Uuid) -> Result<Notification, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::rest::send_test(&state, host.id, id).await
    })
    .await
}
