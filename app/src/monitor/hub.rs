//! This server's fan-out of activity to its own monitor sockets: one subscription to
//! every event's notices (`activity.*`) per server, and one bounded broadcast channel
//! per event that has a socket open here.
//!
//! A notice for an event nobody watches on this server costs a map lookup. Notices are
//! taken in batches: every notice already waiting when the hub is free (up to
//! [`MAX_BATCH`]), so a busy hub does less work per notice, not more. For each watched
//! event of a batch the changed rows are read in one query and the counters once; a
//! row announced twice in the batch (recorded, then scored) is read and pushed once, in
//! its newest state. The same JSON text is handed to every socket of that event.
//! Channels hold [`CHANNEL_CAPACITY`] messages: a socket that falls further behind is
//! closed (`close::TOO_SLOW`) rather than buffered without bound, and its page
//! reconnects and catches up from the database.

use super::{store, LiveMessage};
use futures::{FutureExt as _, StreamExt as _};
use proto::events::{ActivityNotice, ACTIVITY_WILDCARD};
use sqlx::PgPool;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Messages a socket may fall behind by before it is dropped.
pub const CHANNEL_CAPACITY: usize = 64;
/// Longest wait before subscribing again after the subscription ended.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Notices handled together at most, when that many are waiting.
pub const MAX_BATCH: usize = 256;

/// One pushed message, already serialized (shared by every socket of the event: a
/// clone is a reference count, not a copy).
pub type Frame = axum::extract::ws::Utf8Bytes;

/// The per-event channels of this server; cheap to clone (one shared registry).
#[derive(Clone, Default)]
pub struct Hub {
    channels: Arc<Mutex<HashMap<Uuid, broadcast::Sender<Frame>>>>,
    /// Cancelled when the server stops: every socket closes with `close::RESTARTING`.
    closing: CancellationToken,
}

impl Hub {
    /// A hub with no channels (no I/O; [`Self::run`] subscribes).
    pub fn new() -> Self {
        Self::default()
    }

    /// Receives every message pushed for `event_id` from now on.
    pub fn subscribe(&self, event_id: Uuid) -> broadcast::Receiver<Frame> {
        let mut channels = self.lock();
        channels.retain(|_, sender| sender.receiver_count() > 0);
        channels
            .entry(event_id)
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe()
    }

    /// Resolves when the server is stopping.
    pub async fn closing(&self) {
        self.closing.cancelled().await;
    }

    /// Sockets open on this server for `event_id`.
    pub fn watchers(&self, event_id: Uuid) -> usize {
        self.lock()
            .get(&event_id)
            .map_or(0, broadcast::Sender::receiver_count)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, broadcast::Sender<Frame>>> {
        // A panic while holding the lock leaves the map itself intact.
        self.channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The channel of a watched event, if any socket of it is open here.
    fn watched(&self, event_id: Uuid) -> Option<broadcast::Sender<Frame>> {
        self.lock()
            .get(&event_id)
            .filter(|sender| sender.receiver_count() > 0)
            .cloned()
    }

    /// Pushes everything announced on NATS to this server's sockets until `stop`, then
    /// closes them. Subscribes again whenever the subscription ends.
    pub async fn run(self, nats: async_nats::Client, pool: PgPool, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        while !stop.is_cancelled() {
            match nats.subscribe(ACTIVITY_WILDCARD).await {
                Ok(mut notices) => {
                    backoff = Duration::from_millis(100);
                    loop {
                        let next = tokio::select! {
                            _ = stop.cancelled() => break,
                            next = notices.next() => next,
                        };
                        let Some(first) = next else { break };
                        let mut batch = vec![first];
                        while batch.len() < MAX_BATCH {
                            match notices.next().now_or_never() {
                                Some(Some(message)) => batch.push(message),
                                _ => break,
                            }
                        }
                        self.dispatch(&pool, &batch).await;
                    }
                    let _ = notices.unsubscribe().await;
                }
                Err(error) => tracing::warn!(%error, "cannot subscribe to activity notices"),
            }
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        self.closing.cancel();
        tracing::info!("activity hub stopped");
    }

    /// Reads the announced rows and the counters and pushes them to their events'
    /// sockets: per watched event, one query for its rows and one for its counters.
    async fn dispatch(&self, pool: &PgPool, batch: &[async_nats::Message]) {
        let payloads = batch.iter().map(|message| message.payload.as_ref());
        for (event_id, ids) in self.watched_changes(payloads) {
            let Some(sender) = self.watched(event_id) else {
                continue;
            };
            let loaded = async {
                let items = store::items(pool, event_id, &ids).await?;
                let counts = store::counts(pool, event_id).await?;
                Ok::<_, crate::error::AppError>((items, counts))
            }
            .await;
            let (items, counts) = match loaded {
                Ok(loaded) => loaded,
                Err(error) => {
                    tracing::warn!(%error, %event_id, "activity not pushed");
                    continue;
                }
            };
            for item in items {
                let message = LiveMessage::Activity {
                    item: Box::new(item),
                    counts,
                };
                if let Ok(text) = serde_json::to_string(&message) {
                    // No receiver left is not an error: the last socket just closed.
                    let _ = sender.send(Frame::from(text));
                }
            }
        }
    }

    /// The rows each watched event of a batch announced, in the order first announced,
    /// each once (unreadable notices and unwatched events are left out).
    fn watched_changes<'a>(
        &self,
        payloads: impl IntoIterator<Item = &'a [u8]>,
    ) -> Vec<(Uuid, Vec<Uuid>)> {
        let mut changes: Vec<(Uuid, Vec<Uuid>)> = Vec::new();
        for payload in payloads {
            let Ok(notice) = serde_json::from_slice::<ActivityNotice>(payload) else {
                tracing::debug!("unreadable activity notice ignored");
                continue;
            };
            match changes
                .iter_mut()
                .find(|(event, _)| *event == notice.event_id)
            {
                Some((_, ids)) if ids.contains(&notice.access_log_id) => {}
                Some((_, ids)) => ids.push(notice.access_log_id),
                None if self.watched(notice.event_id).is_some() => {
                    changes.push((notice.event_id, vec![notice.access_log_id]))
                }
                None => {}
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_exists_only_while_someone_listens() {
        let hub = Hub::new();
        let event = Uuid::new_v4();
        assert_eq!(hub.watchers(event), 0);
        let first = hub.subscribe(event);
        let second = hub.subscribe(event);
        assert_eq!(hub.watchers(event), 2);
        drop((first, second));
        assert!(hub.watched(event).is_none());
        let _other = hub.subscribe(Uuid::new_v4());
        assert!(
            hub.lock().get(&event).is_none(),
            "an unwatched channel is pruned"
        );
    }

    #[tokio::test]
    async fn a_listener_that_falls_behind_learns_it_lagged() {
        let hub = Hub::new();
        let event = Uuid::new_v4();
        let mut slow = hub.subscribe(event);
        let sender = hub.watched(event).expect("watched");
        for n in 0..=CHANNEL_CAPACITY {
            let _ = sender.send(Frame::from(n.to_string()));
        }
        assert!(matches!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }

    fn notice(event_id: Uuid, access_log_id: Uuid) -> Vec<u8> {
        serde_json::to_vec(&ActivityNotice {
            event_id,
            access_log_id,
        })
        .expect("notice")
    }

    #[test]
    fn a_batch_reads_each_watched_row_once_in_the_order_announced() {
        let hub = Hub::new();
        let (watched, other, unwatched) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let _first = hub.subscribe(watched);
        let _second = hub.subscribe(other);
        let (opened, answered, elsewhere) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let batch = [
            notice(watched, opened),
            notice(unwatched, Uuid::new_v4()),
            notice(other, elsewhere),
            b"not a notice".to_vec(),
            notice(watched, answered),
            // The opening again, now scored: read once, in its newest state.
            notice(watched, opened),
        ];
        assert_eq!(
            hub.watched_changes(batch.iter().map(Vec::as_slice)),
            vec![(watched, vec![opened, answered]), (other, vec![elsewhere])]
        );
    }
}
