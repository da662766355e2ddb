//! Server-function transport of hosts' webhooks for the dashboard: the same work as the
//! REST routes (`rest.rs`).

#[cfg(feature = "ssr")]
use super::{NewWebhook, RotateSecret, WebhookChanges};
use super::{Webhook, WebhookWithSecret};
use crate::{error::AppError, notifications::Notification};
use leptos::prelude::*;
use uuid::Uuid;

/// The host's webhooks.
#[server(prefix = "/api/fn", endpoint = "webhooks/list")]
pub async fn list_webhooks() -> Result<Vec<Webhook>, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::rest::list_webhooks(&state, host.id, None).await
    })
    .await
}

/// Registers a webhook; the answer carries its secret.
#[server(prefix = "/api/fn", endpoint = "webhooks/register")]
pub async fn register_webhook(
    url: String,
    event_types: Vec<String>,
    event_id: Option<Uuid>,
    description: Option<String>,
) -> Result<WebhookWithSecret, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::rest::register(
            &state,
            host.id,
            &NewWebhook {
                url,
                event_types,
                event_id,
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

/// A webhook's deliveries, newest first.
#[server(prefix = "/api/fn", endpoint = "webhooks/deliveries")]
pub async fn webhook_deliveries(id: Uuid) -> Result<Vec<Notification>, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::store::get(&state.pool, host.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound("this host has no such webhook".into()))?;
        Ok(crate::notifications::store::list(
            &state.pool,
            host.id,
            crate::notifications::store::Scope::Webhook(id),
            50,
        )
        .await?)
    })
    .await
}
