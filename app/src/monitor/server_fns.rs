//! Server-function transport of the monitor page: its first render and its catch-up
//! after a reconnection read the feed through the same code as
//! `GET /api/v1/events/{id}/activity` (`rest::read`), for the signed-in host.

use super::ActivityPage;
use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What the monitor page shows first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorSnapshot {
    pub event_id: Uuid,
    pub event_name: String,
    /// When the event starts, in its time zone.
    pub starts_at_local: String,
    /// The newest rows and the counters.
    pub page: ActivityPage,
}

/// The monitor of one of the host's events: its name and the newest rows.
#[server(prefix = "/api/fn", endpoint = "monitor/view")]
pub async fn monitor_view(event_id: Uuid) -> Result<MonitorSnapshot, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let event = crate::events::store::get(&state.pool, host.id, event_id).await?;
        let page = super::store::page(
            &state.pool,
            event.id,
            super::store::Query {
                limit: super::store::DEFAULT_LIMIT,
                ..Default::default()
            },
        )
        .await?;
        Ok(MonitorSnapshot {
            event_id: event.id,
            starts_at_local: crate::guests::server_fns::ssr::local_time(
                event.event_date,
                &event.time_zone,
            ),
            event_name: event.name,
            page,
        })
    })
    .await
}

/// Rows of the feed: older than `before` (a `next_cursor`), or changed since `since`.
#[server(prefix = "/api/fn", endpoint = "monitor/activity")]
pub async fn monitor_activity(
    event_id: Uuid,
    before: Option<String>,
    since: Option<DateTime<Utc>>,
) -> Result<ActivityPage, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let query = super::rest::ActivityQuery {
            limit: Some(super::store::MAX_LIMIT),
            before,
            since,
            ..Default::default()
        }
        .parse()?;
        super::rest::read(&state, host.id, event_id, query).await
    })
    .await
}
