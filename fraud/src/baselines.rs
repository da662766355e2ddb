//! Durable baselines of guests, devices and origins, shared by every engine instance
//! through a NATS JetStream key-value bucket.
//!
//! Three kinds of keys live in the bucket:
//! - `guest.<guest id>`: the [`GuestBaseline`] (trusted device and network, candidate
//!   devices, whether the guest responded, recent access times);
//! - `device.<device key>`: the [`DeviceGuests`] a device opened (the key is the web
//!   server's keyed hash, stored as it came);
//! - `origin.<event id>.<hash>`: the [`OriginAccesses`] of one browser on one network.
//!
//! Every write is a compare-and-set on the key's revision, retried on conflict, so
//! concurrent engines never lose each other's updates, and carries a per-message TTL
//! (`Nats-TTL`): a value expires a configured time after its event
//! ([`StoreSettings::expiry`]); the expiry is also kept inside the value so that a
//! rewrite without an event (forgetting a guest) keeps it. The bucket is opened with
//! limit markers, so an expired or purged key leaves a short-lived marker and readers
//! see it as absent.
//!
//! Reads are served from the engine's own copy of the keys it read lately when that copy
//! is current ([`crate::cache`]: a watch on the bucket keeps it coherent with every
//! engine's writes); a write that finds the key changed re-reads it from the bucket. A
//! change that leaves a value and its expiry as they were writes nothing.

use crate::{
    cache::{BaselineCache, Cached},
    heuristics::{DeviceGuests, DeviceKey, GuestBaseline, OriginAccesses, OriginId},
};
use async_nats::{
    header::{NATS_EXPECTED_LAST_SUBJECT_SEQUENCE, NATS_MESSAGE_TTL},
    jetstream::{self, context::PublishErrorKind, kv, kv::Operation},
    HeaderMap, HeaderValue,
};
use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// Name of the bucket holding the baselines.
pub const BUCKET: &str = "fraud_baselines";
/// How many times a compare-and-set is retried before giving up.
const MAX_CAS_ATTEMPTS: u32 = 64;
/// How long the marker of an expired or purged key stays.
const MARKER_TTL: Duration = Duration::from_secs(60 * 60);
/// The shortest TTL JetStream accepts.
const MIN_TTL: Duration = Duration::from_secs(1);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Why the baselines could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("the baseline store is unreachable: {0}")]
    Unavailable(String),
    #[error("the stored value of {key} cannot be read")]
    Corrupt { key: String },
    #[error("{key} changed concurrently {MAX_CAS_ATTEMPTS} times in a row")]
    Contention { key: String },
}

impl From<BaselineError> for tonic::Status {
    fn from(error: BaselineError) -> Self {
        match error {
            BaselineError::Unavailable(_) | BaselineError::Contention { .. } => {
                tonic::Status::unavailable(error.to_string())
            }
            BaselineError::Corrupt { .. } => tonic::Status::internal(error.to_string()),
        }
    }
}

fn unavailable(error: impl std::fmt::Display) -> BaselineError {
    BaselineError::Unavailable(error.to_string())
}

/// How long what the engine learns is kept, and how large its buckets may grow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreSettings {
    /// Kept this long after the event starts (`FRAUD_RETENTION_AFTER_EVENT_DAYS`).
    pub retention_after_event: Duration,
    /// Kept this long after an access of an event whose start is unknown
    /// (`FRAUD_RETENTION_DEFAULT_DAYS`).
    pub retention_default: Duration,
    /// Size limit of the baselines bucket, in bytes (`FRAUD_BASELINES_MAX_BYTES`).
    pub baselines_max_bytes: i64,
    /// Size limit of the results bucket, in bytes (`FRAUD_RESULTS_MAX_BYTES`).
    pub results_max_bytes: i64,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            retention_after_event: 30 * DAY,
            retention_default: 90 * DAY,
            baselines_max_bytes: 1 << 30,
            results_max_bytes: 256 << 20,
        }
    }
}

impl StoreSettings {
    /// When what is learned from an access at `now` expires: a while after its event,
    /// or, when the event's start is unknown, a longer while after now.
    pub fn expiry(
        &self,
        event_starts_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let after = |from: DateTime<Utc>, keep: Duration| {
            chrono::Duration::from_std(keep)
                .ok()
                .and_then(|keep| from.checked_add_signed(keep))
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        };
        match event_starts_at {
            Some(start) => after(start, self.retention_after_event),
            None => after(now, self.retention_default),
        }
    }
}

/// Until when a write keeps its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retain {
    /// At least until then (a later expiry already stored is kept).
    Until(DateTime<Utc>),
    /// Until the stored expiry (or the default retention for a value without one).
    AsStored,
}

/// Opens a key-value bucket of the engine with per-message TTLs and limit markers,
/// creating it when missing and updating its limits when they changed.
pub(crate) async fn open_bucket(
    jetstream: &jetstream::Context,
    bucket: &str,
    description: &str,
    max_age: Duration,
    max_bytes: i64,
) -> Result<kv::Store, String> {
    jetstream
        .create_or_update_key_value(kv::Config {
            bucket: bucket.to_owned(),
            description: description.to_owned(),
            history: 1,
            max_age,
            max_bytes,
            storage: jetstream::stream::StorageType::File,
            num_replicas: 1,
            limit_markers: Some(MARKER_TTL),
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())
}

/// A value as stored: the value's own fields and when it expires.
#[derive(Serialize, Deserialize)]
struct Stored<T> {
    #[serde(flatten)]
    value: T,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
}

/// A value as read from the bucket, with the revision it was read at, so that a later
/// compare-and-set can start from it instead of reading the key again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Read<T> {
    pub value: T,
    expires_at: Option<DateTime<Utc>>,
    /// The key's last sequence (a marker's for a deleted key); 0 when it never existed.
    revision: u64,
}

/// The baselines bucket.
#[derive(Clone, Debug)]
pub struct BaselineStore {
    kv: kv::Store,
    jetstream: jetstream::Context,
    settings: StoreSettings,
    cache: BaselineCache,
}

impl BaselineStore {
    /// Opens the bucket, creating it when missing.
    pub async fn open(
        jetstream: &jetstream::Context,
        settings: StoreSettings,
    ) -> Result<Self, BaselineError> {
        let kv = open_bucket(
            jetstream,
            BUCKET,
            "GuestGuard fraud engine: guest, device and origin baselines",
            Duration::ZERO,
            settings.baselines_max_bytes,
        )
        .await
        .map_err(BaselineError::Unavailable)?;
        Ok(Self {
            cache: BaselineCache::watch(kv.clone()),
            kv,
            jetstream: jetstream.clone(),
            settings,
        })
    }

    /// The expiry of what an access at `now` to an event starting then teaches.
    pub fn retain_for(&self, event_starts_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Retain {
        Retain::Until(self.settings.expiry(event_starts_at, now))
    }

    /// The key of a guest's baseline.
    pub fn guest_key(guest_id: Uuid) -> String {
        format!("guest.{guest_id}")
    }

    /// The key of a device's guests.
    pub fn device_key(device: &DeviceKey) -> String {
        format!("device.{}", device.as_str())
    }

    /// The key of an origin's accesses.
    pub fn origin_key(origin: &OriginId) -> String {
        format!("origin.{}", origin.as_str())
    }

    /// A guest's baseline (empty for a guest never seen).
    pub async fn guest(&self, guest_id: Uuid) -> Result<Read<GuestBaseline>, BaselineError> {
        self.read(&Self::guest_key(guest_id)).await
    }

    /// The guests a device opened (none for a device never seen).
    pub async fn device_guests(
        &self,
        device: &DeviceKey,
    ) -> Result<Read<DeviceGuests>, BaselineError> {
        self.read(&Self::device_key(device)).await
    }

    /// What an origin opened (nothing for an origin never seen).
    pub async fn origin(&self, origin: &OriginId) -> Result<Read<OriginAccesses>, BaselineError> {
        self.read(&Self::origin_key(origin)).await
    }

    /// Changes a guest's baseline with compare-and-set, retrying on conflict; the first
    /// attempt starts from `seen` when the caller has just read it.
    pub async fn update_guest(
        &self,
        guest_id: Uuid,
        seen: Option<Read<GuestBaseline>>,
        retain: Retain,
        change: impl Fn(&mut GuestBaseline),
    ) -> Result<GuestBaseline, BaselineError> {
        self.modify(&Self::guest_key(guest_id), seen, retain, change)
            .await
    }

    /// Changes a device's guests, as [`Self::update_guest`].
    pub async fn update_device(
        &self,
        device: &DeviceKey,
        seen: Option<Read<DeviceGuests>>,
        retain: Retain,
        change: impl Fn(&mut DeviceGuests),
    ) -> Result<DeviceGuests, BaselineError> {
        self.modify(&Self::device_key(device), seen, retain, change)
            .await
    }

    /// Changes an origin's accesses, as [`Self::update_guest`].
    pub async fn update_origin(
        &self,
        origin: &OriginId,
        seen: Option<Read<OriginAccesses>>,
        retain: Retain,
        change: impl Fn(&mut OriginAccesses),
    ) -> Result<OriginAccesses, BaselineError> {
        self.modify(&Self::origin_key(origin), seen, retain, change)
            .await
    }

    /// Deletes a guest's baseline (a purge: no earlier value remains).
    pub async fn delete_guest(&self, guest_id: Uuid) -> Result<(), BaselineError> {
        let key = Self::guest_key(guest_id);
        let purged = self
            .kv
            .purge_with_ttl(&key, MARKER_TTL)
            .await
            .map_err(unavailable);
        self.cache.forget(&key);
        purged
    }

    /// Whether reads are being served from the engine's copy (its watch runs).
    pub fn cache_is_live(&self) -> bool {
        self.cache.is_live()
    }

    /// Reads a value and its revision, from the engine's copy when it is current; a
    /// missing, deleted or expired key is the default value.
    async fn read<T: DeserializeOwned + Default>(
        &self,
        key: &str,
    ) -> Result<Read<T>, BaselineError> {
        if let Some(cached) = self.cache.get(key) {
            if let Some(read) = decode(key, &cached, Utc::now())? {
                return Ok(read);
            }
        }
        self.read_bucket(key).await
    }

    /// Reads a value and its revision from the bucket itself (and keeps it in the copy).
    async fn read_bucket<T: DeserializeOwned + Default>(
        &self,
        key: &str,
    ) -> Result<Read<T>, BaselineError> {
        let ticket = self.cache.ticket();
        let entry = self.kv.entry(key).await.map_err(unavailable)?;
        let cached = match entry {
            Some(entry) => Cached {
                bytes: (entry.operation == Operation::Put).then_some(entry.value),
                revision: entry.revision,
            },
            None => Cached {
                bytes: None,
                revision: 0,
            },
        };
        // Read from the bucket just now: a value past its expiry is one whose marker
        // is not written yet, and is absent all the same.
        let read = decode(key, &cached, Utc::now())?.unwrap_or_else(|| Read {
            revision: cached.revision,
            ..Read::default()
        });
        self.cache.offer(ticket, key, cached);
        Ok(read)
    }

    /// Read, change, write back only if nobody wrote in between; otherwise start again.
    async fn modify<T: Serialize + DeserializeOwned + Default + Clone + PartialEq>(
        &self,
        key: &str,
        mut seen: Option<Read<T>>,
        retain: Retain,
        change: impl Fn(&mut T),
    ) -> Result<T, BaselineError> {
        for attempt in 0..MAX_CAS_ATTEMPTS {
            // The first attempt may start from the copy; after a conflict, the bucket.
            let Read {
                mut value,
                expires_at: stored_expiry,
                revision,
            } = match seen.take() {
                Some(read) => read,
                None if attempt == 0 => self.read::<T>(key).await?,
                None => self.read_bucket::<T>(key).await?,
            };
            let before = value.clone();
            change(&mut value);
            let now = Utc::now();
            let expires_at = match (retain, stored_expiry) {
                (Retain::Until(wanted), Some(stored)) => wanted.max(stored),
                (Retain::Until(wanted), None) => wanted,
                (Retain::AsStored, Some(stored)) => stored,
                (Retain::AsStored, None) => self.settings.expiry(None, now),
            };
            let unchanged = revision != 0 && stored_expiry == Some(expires_at) && value == before;
            if unchanged {
                return Ok(value);
            }
            let ttl = (expires_at - now).to_std().unwrap_or(MIN_TTL).max(MIN_TTL);
            let bytes = serde_json::to_vec(&Stored {
                value: &value,
                expires_at: Some(expires_at),
            })
            .map_err(unavailable)?;
            if self.write(key, bytes, revision, ttl).await? {
                return Ok(value);
            }
            // Someone else wrote first (or the copy was behind): read the bucket again,
            // at once the first time, then backing off a little, spread by attempt.
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(u64::from(attempt % 8) + 1)).await;
            }
        }
        Err(BaselineError::Contention {
            key: key.to_owned(),
        })
    }

    /// Writes a value with a TTL if the key is still at `revision` (0: never written).
    /// `false` when someone else wrote first.
    ///
    /// `kv::Store::update` has no TTL, so this is its publish with `Nats-TTL` added.
    async fn write(
        &self,
        key: &str,
        bytes: Vec<u8>,
        revision: u64,
        ttl: Duration,
    ) -> Result<bool, BaselineError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
            HeaderValue::from(revision),
        );
        // Whole seconds, rounded up: a value never expires before its time.
        let seconds = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        headers.insert(NATS_MESSAGE_TTL, HeaderValue::from(seconds));
        let subject = format!("{}{key}", self.kv.prefix);
        let bytes = bytes::Bytes::from(bytes);
        let ticket = self.cache.ticket();
        let acknowledged = self
            .jetstream
            .publish_with_headers(subject, headers, bytes.clone())
            .await
            .map_err(unavailable)?
            .await;
        match acknowledged {
            Ok(ack) => {
                self.cache.offer(
                    ticket,
                    key,
                    Cached {
                        bytes: Some(bytes),
                        revision: ack.sequence,
                    },
                );
                Ok(true)
            }
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// A value as held in the copy or read from the bucket; `None` when it has expired
/// (its marker may not be written yet: the caller asks the bucket).
fn decode<T: DeserializeOwned + Default>(
    key: &str,
    cached: &Cached,
    now: DateTime<Utc>,
) -> Result<Option<Read<T>>, BaselineError> {
    let Some(bytes) = &cached.bytes else {
        return Ok(Some(Read {
            revision: cached.revision,
            ..Read::default()
        }));
    };
    let stored: Stored<T> = serde_json::from_slice(bytes).map_err(|_| BaselineError::Corrupt {
        key: key.to_owned(),
    })?;
    if stored
        .expires_at
        .is_some_and(|expires_at| expires_at <= now)
    {
        return Ok(None);
    }
    Ok(Some(Read {
        value: stored.value,
        expires_at: stored.expires_at,
        revision: cached.revision,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_a_while_after_their_event_or_after_now_without_one() {
        let settings = StoreSettings::default();
        let now: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().expect("time");
        let start: DateTime<Utc> = "2026-12-01T18:00:00Z".parse().expect("time");
        assert_eq!(
            settings.expiry(Some(start), now),
            start + chrono::Duration::days(30)
        );
        assert_eq!(settings.expiry(None, now), now + chrono::Duration::days(90));
    }

    #[test]
    fn a_stored_value_keeps_its_own_fields_beside_its_expiry() {
        let stored = Stored {
            value: DeviceGuests {
                guests: vec![Uuid::from_u128(1)],
            },
            expires_at: Some("2027-01-01T00:00:00Z".parse().expect("time")),
        };
        let json = serde_json::to_value(&stored).expect("JSON");
        assert_eq!(json["guests"][0], Uuid::from_u128(1).to_string());
        let old: Stored<DeviceGuests> =
            serde_json::from_str(r#"{"guests":[]}"#).expect("a value stored before expiries");
        assert_eq!(old.expires_at, None);
    }
}
