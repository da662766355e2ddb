//! Announcing a change of an event's feed to every web server: a small
//! [`ActivityNotice`] on core NATS (`activity.<event id>`), published after the change
//! is committed. At most once by design: a notice lost while NATS is away only delays
//! the row until the monitor's next catch-up (it reconnects and asks for what changed).

use proto::events::{activity_subject, ActivityNotice};
use std::time::Duration;
use uuid::Uuid;

/// How long a publication may wait for a NATS connection before it is given up.
const PUBLISH_WAIT: Duration = Duration::from_secs(2);

/// Tells every web server that `access_log_id` of `event_id` was recorded or scored.
/// Returns at once; the publication happens in the background.
pub fn announce(nats: &async_nats::Client, event_id: Uuid, access_log_id: Uuid) {
    let notice = ActivityNotice {
        event_id,
        access_log_id,
    };
    let Ok(payload) = serde_json::to_vec(&notice) else {
        return;
    };
    let nats = nats.clone();
    tokio::spawn(async move {
        let published = tokio::time::timeout(
            PUBLISH_WAIT,
            nats.publish(activity_subject(event_id), payload.into()),
        )
        .await;
        match published {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(%error, %event_id, "activity notice not sent"),
            Err(_) => tracing::debug!(%event_id, "activity notice not sent: NATS is away"),
        }
    });
}
