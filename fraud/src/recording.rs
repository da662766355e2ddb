//! Recording a scored access after answering. A `Score` call answers as soon as the
//! access is assessed (its reads come from the engine's copy of the baselines); writing
//! what it teaches into the guest's, device's and origin's baselines — two or three
//! compare-and-set round trips to JetStream, most of a call's time — goes on in the
//! background. Two rules keep that as sound as writing before answering:
//!
//! - **Same keys take turns** ([`KeyLocks`]): within one engine, an access whose guest,
//!   device or origin has a recording under way waits until it is stored, so it is
//!   assessed against it (a burst on one link is seen as a burst). Approving a device
//!   and resetting a guest wait for the guest's recordings the same way, so a guest
//!   being forgotten is never written back by a recording that was still under way.
//!   Engines share the bucket: across engines every write stays a compare-and-set.
//! - **Bounded** ([`Recorder`]): at most [`MAX_PENDING`] recordings are under way; past
//!   that, scoring waits for one to finish (JetStream slowing down slows the answers
//!   instead of piling up work), and a stopping engine waits for all of them
//!   ([`Recorder::settled`]).
//!
//! A recording that fails (NATS away, contention) is logged: the answer has gone, the
//! access stays recorded with its score in the web server's database, and the guest's
//! next access is assessed without it. The same holds for the few recordings under way
//! when an engine is killed (SIGKILL); a stopped engine finishes them first.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// Most recordings under way at once in one engine.
pub const MAX_PENDING: usize = 1_024;

/// One lock per key in use, and how many holders or waiters it has (the entry goes
/// when the last one leaves).
type LockMap = HashMap<String, (Arc<tokio::sync::Mutex<()>>, usize)>;

/// Per-key locks of one engine, taken in key order (so two holders of overlapping keys
/// never wait for each other in a circle).
#[derive(Clone, Debug, Default)]
pub struct KeyLocks {
    map: Arc<Mutex<LockMap>>,
}

/// The keys of one operation, held until dropped.
#[derive(Debug)]
pub struct Held {
    _keys: Vec<KeyGuard>,
}

#[derive(Debug)]
struct KeyGuard {
    key: String,
    locks: KeyLocks,
    guard: Option<OwnedMutexGuard<()>>,
}

impl KeyLocks {
    fn map(&self) -> MutexGuard<'_, LockMap> {
        // The map is only touched by the short critical sections here, which cannot
        // leave it half changed: a poisoned lock is still consistent.
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for every earlier holder of any of `keys`, then holds them all.
    pub async fn hold(&self, mut keys: Vec<String>) -> Held {
        keys.sort_unstable();
        keys.dedup();
        let mut held = Vec::with_capacity(keys.len());
        for key in keys {
            let lock = {
                let mut map = self.map();
                let entry = map.entry(key.clone()).or_default();
                entry.1 += 1;
                entry.0.clone()
            };
            // Registered before waiting: a wait that is given up still leaves the map.
            let mut guard = KeyGuard {
                key,
                locks: self.clone(),
                guard: None,
            };
            guard.guard = Some(lock.lock_owned().await);
            held.push(guard);
        }
        Held { _keys: held }
    }

    /// How many keys are held or waited for (none once everything ended).
    #[cfg(test)]
    fn in_use(&self) -> usize {
        self.map().len()
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        self.guard.take();
        let mut map = self.locks.map();
        if let Some(entry) = map.get_mut(&self.key) {
            entry.1 -= 1;
            if entry.1 == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// The recordings under way in one engine.
#[derive(Clone, Debug)]
pub struct Recorder {
    pub locks: KeyLocks,
    slots: Arc<Semaphore>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            locks: KeyLocks::default(),
            slots: Arc::new(Semaphore::new(MAX_PENDING)),
        }
    }
}

/// Room for one recording, kept until it is stored or has failed.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Recorder {
    /// Waits for room for one more recording.
    pub async fn slot(&self) -> Slot {
        // The semaphore is never closed, so acquiring only waits.
        match self.slots.clone().acquire_owned().await {
            Ok(permit) => Slot { _permit: permit },
            Err(_) => unreachable!("the recording semaphore is never closed"),
        }
    }

    /// How many recordings are under way.
    pub fn pending(&self) -> usize {
        MAX_PENDING - self.slots.available_permits()
    }

    /// Waits until every recording started before now has been stored (or has failed).
    pub async fn settled(&self) {
        let all = u32::try_from(MAX_PENDING).unwrap_or(u32::MAX);
        if let Ok(permits) = self.slots.acquire_many(all).await {
            drop(permits);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[tokio::test]
    async fn holders_of_a_shared_key_take_turns_and_others_do_not_wait() {
        let locks = KeyLocks::default();
        let first = locks.hold(keys(&["guest.1", "device.a"])).await;
        // A different guest on another device goes at once.
        let other = tokio::time::timeout(
            Duration::from_secs(5),
            locks.hold(keys(&["guest.2", "device.b"])),
        )
        .await
        .expect("unrelated keys do not wait");
        drop(other);
        // The same device waits for the first holder.
        let waiting = tokio::spawn({
            let locks = locks.clone();
            async move { locks.hold(keys(&["device.a", "guest.3"])).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "a shared key waits for its holder");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the key is free once released")
            .expect("the waiter ran");
        drop(second);
        assert_eq!(locks.in_use(), 0, "no lock outlives its holders");
    }

    #[tokio::test]
    async fn a_wait_given_up_leaves_nothing_behind() {
        let locks = KeyLocks::default();
        let holder = locks.hold(keys(&["guest.1"])).await;
        let given_up =
            tokio::time::timeout(Duration::from_millis(20), locks.hold(keys(&["guest.1"]))).await;
        assert!(given_up.is_err(), "the key was held");
        drop(holder);
        assert_eq!(locks.in_use(), 0);
        let again = tokio::time::timeout(Duration::from_secs(5), locks.hold(keys(&["guest.1"])))
            .await
            .expect("the key is free");
        drop(again);
        assert_eq!(locks.in_use(), 0);
    }

    #[tokio::test]
    async fn settled_waits_for_every_recording_under_way() {
        let recorder = Recorder::default();
        let slot = recorder.slot().await;
        assert_eq!(recorder.pending(), 1);
        let settled = tokio::spawn({
            let recorder = recorder.clone();
            async move { recorder.settled().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!settled.is_finished(), "a recording is under way");
        drop(slot);
        tokio::time::timeout(Duration::from_secs(5), settled)
            .await
            .expect("settled once the recording ends")
            .expect("ran");
        assert_eq!(recorder.pending(), 0);
    }
}
