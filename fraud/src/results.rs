//! The score of every access scored from JetStream, kept for a week in the
//! `fraud_results` key-value bucket (key `access.<access log id>`).
//!
//! It is what makes the consumer idempotent: an access delivered again (a redelivery,
//! or a second engine racing the first) is answered with the score computed the first
//! time, not scored again against baselines that already contain it. The first writer
//! wins through the bucket's create-if-absent; everybody else reads its result.

use crate::heuristics::{Assessment, RiskBand};
use async_nats::jetstream::{
    self,
    kv::{self, CreateErrorKind, Operation},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// Name of the bucket holding the results.
pub const BUCKET: &str = "fraud_results";
/// How long a result is kept: far longer than any redelivery, short enough that the
/// bucket does not grow forever.
pub const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Why a result could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("the result store is unreachable: {0}")]
    Unavailable(String),
    #[error("the stored value of {key} cannot be read")]
    Corrupt { key: String },
}

/// The outcome of scoring one access, as first computed: its band is the one of the
/// event's sensitivity preset at that time, and stays so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredScore {
    /// 0 (no risk) to 100.
    pub score: u32,
    pub band: RiskBand,
    /// Stable reason codes.
    pub reasons: Vec<String>,
    pub flagged: bool,
    /// When the score was first computed.
    pub scored_at: DateTime<Utc>,
}

impl StoredScore {
    /// The stored form of an assessment made at `scored_at`.
    pub fn of(assessment: &Assessment, scored_at: DateTime<Utc>) -> Self {
        Self {
            score: assessment.score,
            band: assessment.band,
            reasons: assessment
                .reasons
                .iter()
                .map(|reason| reason.code.to_owned())
                .collect(),
            flagged: assessment.flagged,
            scored_at,
        }
    }
}

/// The results bucket.
#[derive(Clone, Debug)]
pub struct ResultStore {
    kv: kv::Store,
}

impl ResultStore {
    /// Opens the bucket, creating it when missing (and applying its size limit).
    pub async fn open(jetstream: &jetstream::Context, max_bytes: i64) -> Result<Self, ResultError> {
        let kv = crate::baselines::open_bucket(
            jetstream,
            BUCKET,
            "GuestGuard fraud engine: the score of each access",
            MAX_AGE,
            max_bytes,
        )
        .await
        .map_err(ResultError::Unavailable)?;
        Ok(Self { kv })
    }

    /// The key of an access's result.
    pub fn key(access_log_id: Uuid) -> String {
        format!("access.{access_log_id}")
    }

    /// The result of an access, if one was stored.
    pub async fn get(&self, access_log_id: Uuid) -> Result<Option<StoredScore>, ResultError> {
        let key = Self::key(access_log_id);
        let entry = self
            .kv
            .entry(&key)
            .await
            .map_err(|e| ResultError::Unavailable(e.to_string()))?;
        match entry {
            Some(entry) if entry.operation == Operation::Put => {
                serde_json::from_slice(&entry.value)
                    .map(Some)
                    .map_err(|_| ResultError::Corrupt { key })
            }
            _ => Ok(None),
        }
    }

    /// Stores the result of an access unless one is already there, and returns the
    /// result that counts: `score` if it was first, the earlier one otherwise.
    pub async fn first_of(
        &self,
        access_log_id: Uuid,
        score: StoredScore,
    ) -> Result<StoredScore, ResultError> {
        let key = Self::key(access_log_id);
        let bytes =
            serde_json::to_vec(&score).map_err(|e| ResultError::Unavailable(e.to_string()))?;
        match self.kv.create(&key, bytes.into()).await {
            Ok(_) => Ok(score),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                self.get(access_log_id).await?.ok_or_else(|| {
                    ResultError::Unavailable(format!("{key} exists but cannot be read yet"))
                })
            }
            Err(e) => Err(ResultError::Unavailable(e.to_string())),
        }
    }
}
