//! Durable baselines of guests and devices, shared by every engine instance through a
//! NATS JetStream key-value bucket.
//!
//! Two kinds of keys live in the bucket:
//! - `guest.<guest id>`: the [`GuestBaseline`] (trusted device and network, whether the
//!   guest responded, recent access times);
//! - `device.<keyed hash>`: the [`DeviceGuests`] a device opened.
//!
//! Every write is a compare-and-set on the key's revision, retried on conflict, so
//! concurrent engines never lose each other's updates. Fingerprints only ever reach the
//! bucket as HMAC-SHA256 hashes under the engine's secret key ([`FingerprintHasher`]).

use crate::heuristics::{DeviceGuests, DeviceKey, GuestBaseline};
use async_nats::jetstream::{
    self,
    kv::{self, CreateErrorKind, Operation, UpdateErrorKind},
};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{de::DeserializeOwned, Serialize};
use sha2::Sha256;
use std::{fmt::Write as _, time::Duration};
use uuid::Uuid;

/// Name of the bucket holding the baselines.
pub const BUCKET: &str = "fraud_baselines";
/// How many times a compare-and-set is retried before giving up.
const MAX_CAS_ATTEMPTS: u32 = 64;

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

/// Turns raw browser fingerprints into keyed hashes, the only form ever stored.
#[derive(Clone)]
pub struct FingerprintHasher {
    key: SecretString,
}

impl std::fmt::Debug for FingerprintHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintHasher(..)")
    }
}

impl FingerprintHasher {
    pub fn new(key: SecretString) -> Self {
        Self { key }
    }

    /// The device of a raw fingerprint: HMAC-SHA256 under the secret key, in hex.
    pub fn device(&self, raw_fingerprint: &str) -> DeviceKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(raw_fingerprint.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(digest.len() * 2);
        for byte in digest {
            let _ = write!(hex, "{byte:02x}");
        }
        DeviceKey::from_keyed_hash(hex)
    }
}

/// Opens a key-value bucket of the engine, creating it when missing and updating its
/// limits when they changed (`max_age` zero: values never expire).
pub(crate) async fn open_bucket(
    jetstream: &jetstream::Context,
    bucket: &str,
    description: &str,
    max_age: Duration,
) -> Result<kv::Store, String> {
    jetstream
        .create_or_update_key_value(kv::Config {
            bucket: bucket.to_owned(),
            description: description.to_owned(),
            history: 1,
            max_age,
            storage: jetstream::stream::StorageType::File,
            num_replicas: 1,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())
}

/// A value as read from the bucket, with the revision it was read at, so that a later
/// compare-and-set can start from it instead of reading the key again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Read<T> {
    pub value: T,
    /// `None` when the key did not exist.
    revision: Option<u64>,
}

/// The baselines bucket.
#[derive(Clone, Debug)]
pub struct BaselineStore {
    kv: kv::Store,
}

impl BaselineStore {
    /// Opens the bucket, creating it when missing.
    pub async fn open(jetstream: &jetstream::Context) -> Result<Self, BaselineError> {
        let kv = open_bucket(
            jetstream,
            BUCKET,
            "GuestGuard fraud engine: guest and device baselines",
            Duration::ZERO,
        )
        .await
        .map_err(BaselineError::Unavailable)?;
        Ok(Self { kv })
    }

    /// The key of a guest's baseline.
    pub fn guest_key(guest_id: Uuid) -> String {
        format!("guest.{guest_id}")
    }

    /// The key of a device's guests.
    pub fn device_key(device: &DeviceKey) -> String {
        format!("device.{}", device.as_str())
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

    /// Changes a guest's baseline with compare-and-set, retrying on conflict; the first
    /// attempt starts from `seen` when the caller has just read it.
    pub async fn update_guest(
        &self,
        guest_id: Uuid,
        seen: Option<Read<GuestBaseline>>,
        change: impl Fn(&mut GuestBaseline),
    ) -> Result<GuestBaseline, BaselineError> {
        self.modify(&Self::guest_key(guest_id), seen, change).await
    }

    /// Changes a device's guests with compare-and-set, retrying on conflict; the first
    /// attempt starts from `seen` when the caller has just read it.
    pub async fn update_device(
        &self,
        device: &DeviceKey,
        seen: Option<Read<DeviceGuests>>,
        change: impl Fn(&mut DeviceGuests),
    ) -> Result<DeviceGuests, BaselineError> {
        self.modify(&Self::device_key(device), seen, change).await
    }

    /// Reads a value and its revision; a missing or deleted key is the default value.
    async fn read<T: DeserializeOwned + Default>(
        &self,
        key: &str,
    ) -> Result<Read<T>, BaselineError> {
        let entry = self
            .kv
            .entry(key)
            .await
            .map_err(|e| BaselineError::Unavailable(e.to_string()))?;
        match entry {
            Some(entry) if entry.operation == Operation::Put => {
                let value =
                    serde_json::from_slice(&entry.value).map_err(|_| BaselineError::Corrupt {
                        key: key.to_owned(),
                    })?;
                Ok(Read {
                    value,
                    revision: Some(entry.revision),
                })
            }
            _ => Ok(Read::default()),
        }
    }

    /// Read, change, write back only if nobody wrote in between; otherwise start again.
    async fn modify<T: Serialize + DeserializeOwned + Default>(
        &self,
        key: &str,
        mut seen: Option<Read<T>>,
        change: impl Fn(&mut T),
    ) -> Result<T, BaselineError> {
        for attempt in 0..MAX_CAS_ATTEMPTS {
            let Read {
                mut value,
                revision,
            } = match seen.take() {
                Some(read) => read,
                None => self.read::<T>(key).await?,
            };
            change(&mut value);
            let bytes = serde_json::to_vec(&value)
                .map_err(|e| BaselineError::Unavailable(e.to_string()))?;
            let written = match revision {
                Some(revision) => match self.kv.update(key, bytes.into(), revision).await {
                    Ok(_) => true,
                    Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => false,
                    Err(e) => return Err(BaselineError::Unavailable(e.to_string())),
                },
                None => match self.kv.create(key, bytes.into()).await {
                    Ok(_) => true,
                    Err(e) if e.kind() == CreateErrorKind::AlreadyExists => false,
                    Err(e) => return Err(BaselineError::Unavailable(e.to_string())),
                },
            };
            if written {
                return Ok(value);
            }
            // Someone else wrote first: back off a little, spread by attempt.
            tokio::time::sleep(Duration::from_millis(u64::from(attempt % 8) + 1)).await;
        }
        Err(BaselineError::Contention {
            key: key.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_hash_depends_on_the_key_and_never_contains_the_raw_value() {
        let one = FingerprintHasher::new("key one".into());
        let two = FingerprintHasher::new("key two".into());
        let device = one.device("abc123fingerprint");
        assert_eq!(device, one.device("abc123fingerprint"));
        assert_ne!(device, two.device("abc123fingerprint"));
        assert_eq!(device.as_str().len(), 64);
        assert!(!device.as_str().contains("abc123fingerprint"));
    }
}
