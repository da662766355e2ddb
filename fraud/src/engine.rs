//! The fraud engine's operations on the shared baselines, used by the gRPC service
//! ([`crate::scoring`]) and the JetStream consumers ([`crate::consumer`],
//! [`crate::forget`]):
//!
//! - score an access: read the guest, its device and its origin → run the heuristics →
//!   record the access in all three (each write a compare-and-set with a TTL); the gRPC
//!   `Score` answers before the recording is stored ([`crate::recording`]), the
//!   consumer acknowledges after;
//! - approve a device: the host confirms it as the guest's;
//! - reset a guest: forget what was learned about it, and with `forget` also remove it
//!   from the device and origin indexes (data deletion).

use crate::{
    baselines::{BaselineError, BaselineStore, Read, Retain},
    heuristics::{
        self, AccessAttempt, Assessment, DeviceGuests, DeviceKey, GuestBaseline, Known,
        OriginAccesses, RiskBand, ScoringSettings,
    },
    recording::{Held, Recorder},
};
use chrono::{DateTime, Utc};
use futures::future::try_join_all;
use std::{net::IpAddr, sync::Arc};
use uuid::Uuid;

/// The fraud engine: baselines and scoring settings, shared by the gRPC service and the
/// JetStream consumers.
#[derive(Clone, Debug)]
pub struct FraudEngine {
    store: BaselineStore,
    settings: Arc<ScoringSettings>,
    recorder: Recorder,
}

/// A host's approval of one of a guest's devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceApproval {
    pub guest_id: Uuid,
    pub device: DeviceKey,
    /// The address the device opened from, when known: the trusted network.
    pub ip: Option<IpAddr>,
    /// When the guest's event starts (retention).
    pub event_starts_at: Option<DateTime<Utc>>,
}

/// The baselines an assessment was made against, as read.
#[derive(Clone, Debug)]
pub struct SeenBaselines {
    guest: Read<GuestBaseline>,
    device: Option<Read<DeviceGuests>>,
    origin: Option<Read<OriginAccesses>>,
}

impl FraudEngine {
    pub fn new(store: BaselineStore, settings: ScoringSettings) -> Self {
        Self {
            store,
            settings: Arc::new(settings),
            recorder: Recorder::default(),
        }
    }

    /// Scores one access and answers; recording it in the shared baselines goes on in
    /// the background ([`crate::recording`]: after this engine's earlier recordings of
    /// the same guest, device and origin, which this assessment saw).
    pub async fn score_access(&self, attempt: AccessAttempt) -> Result<Assessment, BaselineError> {
        let slot = self.recorder.slot().await;
        let held = self.hold(&attempt).await;
        let (assessment, seen) = self.assess(&attempt).await?;
        let engine = self.clone();
        let band = assessment.band;
        tokio::spawn(async move {
            if let Err(error) = engine.remember(&attempt, band, Some(seen)).await {
                tracing::warn!(
                    %error,
                    guest_id = %attempt.guest_id,
                    "a scored access could not be recorded in the baselines"
                );
            }
            drop((held, slot));
        });
        Ok(assessment)
    }

    /// Waits for this engine's recordings of the access's guest, device and origin, and
    /// holds them until dropped: hold it while assessing and recording.
    pub async fn hold(&self, attempt: &AccessAttempt) -> Held {
        let mut keys = vec![BaselineStore::guest_key(attempt.guest_id)];
        keys.extend(attempt.device.as_ref().map(BaselineStore::device_key));
        keys.extend(attempt.origin().as_ref().map(BaselineStore::origin_key));
        self.recorder.locks.hold(keys).await
    }

    /// Waits until every recording under way has been stored (or has failed): a
    /// stopping engine finishes them first.
    pub async fn settled(&self) {
        self.recorder.settled().await;
    }

    /// How many recordings are under way.
    pub fn recordings_pending(&self) -> usize {
        self.recorder.pending()
    }

    /// Scores one access against the current baselines, without recording it; also
    /// gives the baselines as read, so that recording can start from them.
    pub async fn assess(
        &self,
        attempt: &AccessAttempt,
    ) -> Result<(Assessment, SeenBaselines), BaselineError> {
        let origin = attempt.origin();
        let (guest, device, origin) = tokio::try_join!(
            self.store.guest(attempt.guest_id),
            optional(attempt.device.as_ref(), |device| self
                .store
                .device_guests(device)),
            optional(origin.as_ref(), |origin| self.store.origin(origin)),
        )?;
        let seen = SeenBaselines {
            guest,
            device,
            origin,
        };
        let (no_device, no_origin) = (DeviceGuests::default(), OriginAccesses::default());
        let known = Known {
            guest: &seen.guest.value,
            device_guests: seen.device.as_ref().map_or(&no_device, |read| &read.value),
            origin: seen.origin.as_ref().map_or(&no_origin, |read| &read.value),
        };
        let assessment = heuristics::assess(attempt, &known, &self.settings);
        Ok((assessment, seen))
    }

    /// Records an access scored in `band` in the guest's, the device's and the
    /// origin's baselines, starting from `seen` when the caller just read them (a
    /// compare-and-set still re-reads if anything changed meanwhile). Recording an
    /// access twice has one effect in each.
    pub async fn remember(
        &self,
        attempt: &AccessAttempt,
        band: RiskBand,
        seen: Option<SeenBaselines>,
    ) -> Result<(), BaselineError> {
        let settings = &self.settings;
        let retain = self.store.retain_for(attempt.event_starts_at, Utc::now());
        let (seen_guest, seen_device, seen_origin) = match seen {
            Some(seen) => (Some(seen.guest), seen.device, seen.origin),
            None => (None, None, None),
        };
        let origin_id = attempt.origin();
        let guest = self
            .store
            .update_guest(attempt.guest_id, seen_guest, retain, |baseline| {
                heuristics::remember_access(baseline, attempt, band, settings)
            });
        let device = optional(attempt.device.as_ref(), move |device| {
            self.store
                .update_device(device, seen_device, retain, |guests| {
                    heuristics::remember_device_guest(
                        guests,
                        attempt.guest_id,
                        settings.device_guest_limit,
                    )
                })
        });
        let origin = optional(origin_id.as_ref(), move |origin| {
            self.store
                .update_origin(origin, seen_origin, retain, |accesses| {
                    heuristics::remember_origin_access(
                        accesses,
                        attempt,
                        settings.origin_entry_limit,
                    )
                })
        });
        tokio::try_join!(guest, device, origin)?;
        Ok(())
    }

    /// Makes a device the guest's trusted one (and its network the trusted network).
    pub async fn approve_device(&self, approval: &DeviceApproval) -> Result<(), BaselineError> {
        let _held = self.hold_guest(approval.guest_id).await;
        let retain = self.store.retain_for(approval.event_starts_at, Utc::now());
        self.store
            .update_guest(approval.guest_id, None, retain, |baseline| {
                heuristics::approve_device(baseline, &approval.device, approval.ip)
            })
            .await?;
        Ok(())
    }

    /// Forgets everything learned about a guest, so its next access is scored fresh;
    /// with `forget`, also removes it from the index of every device and origin it
    /// used. Resetting twice has the effect of once.
    pub async fn reset_guest(&self, guest_id: Uuid, forget: bool) -> Result<(), BaselineError> {
        // After this engine's recordings of the guest: none writes it back afterwards.
        let _held = self.hold_guest(guest_id).await;
        if forget {
            // Indexes first: if this fails half way, the baseline still names them.
            let known = self.store.guest(guest_id).await?.value;
            let devices = known.devices().into_iter().map(|device| {
                self.store
                    .update_device(device, None, Retain::AsStored, |guests| {
                        heuristics::forget_device_guest(guests, guest_id)
                    })
            });
            let origins = known.origins.iter().map(|origin| {
                self.store
                    .update_origin(origin, None, Retain::AsStored, |accesses| {
                        heuristics::forget_origin_guest(accesses, guest_id)
                    })
            });
            tokio::try_join!(try_join_all(devices), try_join_all(origins))?;
        }
        self.store.delete_guest(guest_id).await
    }

    async fn hold_guest(&self, guest_id: Uuid) -> Held {
        self.recorder
            .locks
            .hold(vec![BaselineStore::guest_key(guest_id)])
            .await
    }
}

/// Runs `read` on a value when there is one.
async fn optional<'a, K, T, F, Fut>(key: Option<&'a K>, read: F) -> Result<Option<T>, BaselineError>
where
    K: ?Sized,
    F: FnOnce(&'a K) -> Fut,
    Fut: std::future::Future<Output = Result<T, BaselineError>>,
{
    match key {
        Some(key) => read(key).await.map(Some),
        None => Ok(None),
    }
}
