//! This engine's copy of the baselines it has read lately, kept coherent with the
//! bucket (and so with every other engine) by a watch on it.
//!
//! A score reads three baselines and writes them back; without a copy each read is a
//! round trip to JetStream. With it, a read is served from memory when the copy is
//! known to be current:
//!
//! - the watch (an ordered consumer of every key, from the moment it starts) applies
//!   each change any engine makes, newest revision wins, so what one engine learns is
//!   held by all of them (an opening scored by one engine, the RSVP by another);
//! - a value read from the bucket is kept only if nothing newer is known: held, or
//!   remembered for a while after its key was evicted; a read started before the watch
//!   last (re)started is never kept;
//! - this engine's own writes are kept at the revision the stream acknowledged;
//! - while the watch is not running (starting, broken, NATS away) nothing is served or
//!   kept, and everything held is dropped when it breaks.
//!
//! The copy is an optimisation, never the source of truth: every write is still a
//! compare-and-set on the bucket's revision, so a copy that is behind makes the write
//! fail and the caller reads the bucket again ([`crate::baselines`]). It holds at most
//! [`CAPACITY`] keys.

use async_nats::jetstream::kv::{self, Operation};
use bytes::Bytes;
use futures::StreamExt as _;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};
use tokio_util::sync::{CancellationToken, DropGuard};

/// Most keys held at once.
pub const CAPACITY: usize = 100_000;
/// How long the revision of an evicted key is remembered (longer than any read).
const RECENT_KEEP: Duration = Duration::from_secs(30);
/// Remembered evictions beyond which the old ones are forgotten.
const RECENT_MAX: usize = 100_000;
/// Longest wait before a broken watch is started again.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(2);

/// A key's latest value as known here: its bytes (`None`: deleted, purged or expired)
/// and its revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cached {
    pub bytes: Option<Bytes>,
    pub revision: u64,
}

/// A ticket taken before reading the bucket: the read is kept only if the watch did
/// not restart meanwhile.
#[derive(Clone, Copy, Debug)]
pub struct Ticket {
    epoch: u64,
}

#[derive(Default)]
struct State {
    /// Whether the watch is running: only then is anything served or kept.
    live: bool,
    /// Bumped whenever the watch starts or breaks.
    epoch: u64,
    entries: HashMap<String, Cached>,
    /// Revisions of keys evicted lately, and when.
    recent: HashMap<String, (u64, Instant)>,
}

/// The copy, shared by every clone of the store; its watch stops when the last clone
/// is dropped.
#[derive(Clone)]
pub struct BaselineCache {
    state: Arc<Mutex<State>>,
    _watch: Arc<DropGuard>,
}

impl std::fmt::Debug for BaselineCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("BaselineCache")
            .field("live", &state.live)
            .field("keys", &state.entries.len())
            .finish()
    }
}

impl BaselineCache {
    /// Starts watching `kv` in the background; the copy serves reads once the watch
    /// runs.
    pub fn watch(kv: kv::Store) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let stop = CancellationToken::new();
        tokio::spawn(run_watch(kv, Arc::downgrade(&state), stop.clone()));
        Self {
            state,
            _watch: Arc::new(stop.drop_guard()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Whether the watch is running (reads are served from the copy).
    pub fn is_live(&self) -> bool {
        self.lock().live
    }

    /// The key's latest value as known here, when the copy is current.
    pub fn get(&self, key: &str) -> Option<Cached> {
        let state = self.lock();
        if !state.live {
            return None;
        }
        state.entries.get(key).cloned()
    }

    /// Taken before reading the bucket, handed to [`Self::offer`] after.
    pub fn ticket(&self) -> Ticket {
        Ticket {
            epoch: self.lock().epoch,
        }
    }

    /// Keeps a value read from the bucket (or just written to it), unless something
    /// newer is known or the watch restarted since `ticket`.
    pub fn offer(&self, ticket: Ticket, key: &str, value: Cached) {
        let mut state = self.lock();
        if !state.live || state.epoch != ticket.epoch {
            return;
        }
        if let Some((seen, _)) = state.recent.get(key) {
            if *seen > value.revision {
                return;
            }
        }
        state.hold(key, value);
    }

    /// Forgets a key (its next read goes to the bucket).
    pub fn forget(&self, key: &str) {
        let mut state = self.lock();
        if let Some(gone) = state.entries.remove(key) {
            state.remember_eviction(key.to_owned(), gone.revision);
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock cannot leave the maps half changed in a way
    // that matters: at worst a value is missing, and the bucket has it.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl State {
    /// Holds `value` unless something newer is held; makes room by evicting a key (its
    /// revision remembered, so that a read of it in flight is not kept).
    fn hold(&mut self, key: &str, value: Cached) {
        if let Some(held) = self.entries.get_mut(key) {
            if value.revision > held.revision {
                *held = value;
            }
            return;
        }
        if self.entries.len() >= CAPACITY {
            if let Some(evicted) = self.entries.keys().next().cloned() {
                if let Some(gone) = self.entries.remove(&evicted) {
                    self.remember_eviction(evicted, gone.revision);
                }
            }
        }
        self.entries.insert(key.to_owned(), value);
    }

    fn remember_eviction(&mut self, key: String, revision: u64) {
        if self.recent.len() >= RECENT_MAX {
            let now = Instant::now();
            self.recent
                .retain(|_, (_, at)| now.duration_since(*at) < RECENT_KEEP);
            if self.recent.len() >= RECENT_MAX {
                self.recent.clear();
                // Nothing remembers the evictions any more: reads in flight must not
                // be kept.
                self.epoch += 1;
            }
        }
        self.recent.insert(key, (revision, Instant::now()));
    }

    /// The watch started or broke: nothing held can be trusted.
    fn reset(&mut self, live: bool) {
        self.live = live;
        self.epoch += 1;
        self.entries.clear();
        self.recent.clear();
    }
}

/// Watches every key until `stop`, or until the copy is gone; restarts a broken watch
/// with backoff.
async fn run_watch(kv: kv::Store, state: std::sync::Weak<Mutex<State>>, stop: CancellationToken) {
    let mut delay = Duration::from_millis(100);
    loop {
        let watch = tokio::select! {
            () = stop.cancelled() => return,
            watch = kv.watch_all() => watch,
        };
        match watch {
            Ok(mut watch) => {
                let Some(shared) = state.upgrade() else {
                    return;
                };
                lock(&shared).reset(true);
                drop(shared);
                delay = Duration::from_millis(100);
                loop {
                    let next = tokio::select! {
                        () = stop.cancelled() => return,
                        next = watch.next() => next,
                    };
                    let Some(shared) = state.upgrade() else {
                        return;
                    };
                    match next {
                        Some(Ok(entry)) => {
                            let bytes = (entry.operation == Operation::Put).then_some(entry.value);
                            lock(&shared).hold(
                                &entry.key,
                                Cached {
                                    bytes,
                                    revision: entry.revision,
                                },
                            );
                        }
                        Some(Err(error)) => {
                            tracing::warn!(%error, "the baselines watch broke; reads go to the bucket until it restarts");
                            lock(&shared).reset(false);
                            break;
                        }
                        None => {
                            tracing::warn!("the baselines watch ended; reads go to the bucket until it restarts");
                            lock(&shared).reset(false);
                            break;
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot watch the baselines; reads go to the bucket");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(MAX_RESTART_DELAY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(revision: u64) -> Cached {
        Cached {
            bytes: Some(Bytes::from(revision.to_string())),
            revision,
        }
    }

    fn live() -> State {
        let mut state = State::default();
        state.reset(true);
        state
    }

    #[test]
    fn a_held_value_is_replaced_only_by_a_newer_one() {
        let mut state = live();
        state.hold("guest.a", cached(5));
        state.hold("guest.a", cached(4));
        assert_eq!(state.entries["guest.a"].revision, 5);
        state.hold("guest.a", cached(7));
        assert_eq!(state.entries["guest.a"].revision, 7);
    }

    #[test]
    fn a_full_copy_evicts_a_key_and_refuses_an_older_read_of_it() {
        let mut state = live();
        for n in 0..CAPACITY {
            state.hold(&format!("guest.{n}"), cached(10));
        }
        state.hold("guest.new", cached(11));
        assert_eq!(state.entries.len(), CAPACITY);
        let (evicted, (revision, _)) = state.recent.iter().next().expect("one eviction");
        assert_eq!(*revision, 10);
        let evicted = evicted.clone();
        let cache = BaselineCache {
            state: Arc::new(Mutex::new(state)),
            _watch: Arc::new(CancellationToken::new().drop_guard()),
        };
        cache.offer(cache.ticket(), &evicted, cached(9));
        assert_eq!(cache.get(&evicted), None, "older than what was evicted");
        cache.offer(cache.ticket(), &evicted, cached(12));
        assert_eq!(cache.get(&evicted), Some(cached(12)));
    }

    #[test]
    fn a_read_older_than_a_change_the_watch_already_saw_is_not_kept() {
        let cache = BaselineCache {
            state: Arc::new(Mutex::new(live())),
            _watch: Arc::new(CancellationToken::new().drop_guard()),
        };
        let ticket = cache.ticket();
        // Another engine wrote revision 9 while our read (revision 8) was in flight.
        cache.lock().hold("guest.a", cached(9));
        cache.offer(ticket, "guest.a", cached(8));
        assert_eq!(cache.get("guest.a"), Some(cached(9)));
    }

    #[test]
    fn nothing_is_served_or_kept_across_a_restart_of_the_watch() {
        let cache = BaselineCache {
            state: Arc::new(Mutex::new(live())),
            _watch: Arc::new(CancellationToken::new().drop_guard()),
        };
        cache.offer(cache.ticket(), "guest.a", cached(3));
        let before = cache.ticket();
        cache.lock().reset(false);
        assert_eq!(cache.get("guest.a"), None, "a broken watch serves nothing");
        cache.lock().reset(true);
        cache.offer(before, "guest.b", cached(4));
        assert_eq!(cache.get("guest.b"), None, "a read from before the restart");
        assert_eq!(cache.get("guest.a"), None, "dropped when the watch broke");
    }
}
