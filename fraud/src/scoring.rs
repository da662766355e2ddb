//! The `FraudService` gRPC implementation: one `Score` call is
//! validate → load the baselines → run the heuristics → record the access → answer.
//!
//! Bad input is `INVALID_ARGUMENT`; trouble with NATS is `UNAVAILABLE`, which callers
//! treat as "scoring unavailable" and fail open. The JetStream consumer
//! ([`crate::consumer`]) shares the same [`FraudEngine`] and the same [`parse`].

use crate::{
    baselines::{BaselineError, BaselineStore, FingerprintHasher, Read},
    heuristics::{
        self, AccessAttempt, Assessment, DeviceGuests, GuestBaseline, RiskBand, ScoringSettings,
    },
};
use chrono::{DateTime, Utc};
use proto::fraud::v1::{fraud_service_server::FraudService, Risk, ScoreRequest, ScoreResponse};
use std::{net::IpAddr, sync::Arc};
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// Longest user agent or fingerprint accepted, in bytes.
const MAX_TEXT_BYTES: usize = 2_048;

/// The fraud engine: baselines, fingerprint key and scoring settings, shared by the gRPC
/// service and the JetStream consumer.
#[derive(Clone, Debug)]
pub struct FraudEngine {
    store: BaselineStore,
    hasher: FingerprintHasher,
    settings: Arc<ScoringSettings>,
}

/// Why a score request is rejected before scoring.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScoreRequestError {
    #[error("{field} must be a UUID")]
    NotAUuid { field: &'static str },
    #[error("accessed_at must be an RFC 3339 time")]
    NotATime,
    #[error("ip must be an IPv4 or IPv6 address")]
    NotAnIp,
    #[error("{field} is longer than {MAX_TEXT_BYTES} bytes")]
    TooLong { field: &'static str },
}

impl From<ScoreRequestError> for Status {
    fn from(error: ScoreRequestError) -> Self {
        Status::invalid_argument(error.to_string())
    }
}

/// Checks the identifiers of a request (`access_log_id` may be empty).
pub fn validate(request: &ScoreRequest) -> Result<(), ScoreRequestError> {
    for (field, value) in [
        ("event_id", &request.event_id),
        ("guest_id", &request.guest_id),
        ("token_id", &request.token_id),
    ] {
        Uuid::parse_str(value).map_err(|_| ScoreRequestError::NotAUuid { field })?;
    }
    if !request.access_log_id.trim().is_empty() {
        Uuid::parse_str(request.access_log_id.trim()).map_err(|_| ScoreRequestError::NotAUuid {
            field: "access_log_id",
        })?;
    }
    Ok(())
}

/// Turns a request into an access attempt, hashing the fingerprint on the way in.
/// An empty `accessed_at` means now; an empty `ip` means unknown; an empty
/// `access_log_id` means the access is not guarded against being recorded twice.
pub fn parse(
    request: &ScoreRequest,
    hasher: &FingerprintHasher,
    now: DateTime<Utc>,
) -> Result<AccessAttempt, ScoreRequestError> {
    validate(request)?;
    let guest_id = Uuid::parse_str(&request.guest_id)
        .map_err(|_| ScoreRequestError::NotAUuid { field: "guest_id" })?;
    let access_id = match request.access_log_id.trim() {
        "" => None,
        raw => Some(
            Uuid::parse_str(raw).map_err(|_| ScoreRequestError::NotAUuid {
                field: "access_log_id",
            })?,
        ),
    };
    let accessed_at = match request.accessed_at.trim() {
        "" => now,
        raw => DateTime::parse_from_rfc3339(raw)
            .map_err(|_| ScoreRequestError::NotATime)?
            .with_timezone(&Utc),
    };
    let ip = match request.ip.trim() {
        "" => None,
        raw => Some(
            raw.parse::<IpAddr>()
                .map_err(|_| ScoreRequestError::NotAnIp)?
                .to_canonical(),
        ),
    };
    if request.user_agent.len() > MAX_TEXT_BYTES {
        return Err(ScoreRequestError::TooLong {
            field: "user_agent",
        });
    }
    let signals = request.signals.clone().unwrap_or_default();
    let fingerprint = signals.device_key.trim();
    if fingerprint.len() > MAX_TEXT_BYTES {
        return Err(ScoreRequestError::TooLong {
            field: "signals.device_key",
        });
    }
    Ok(AccessAttempt {
        access_id,
        guest_id,
        accessed_at,
        ip,
        user_agent: request.user_agent.clone(),
        device: (!fingerprint.is_empty()).then(|| hasher.device(fingerprint)),
        javascript_ran: signals.js_enabled,
        is_rsvp: request.is_rsvp,
    })
}

impl FraudEngine {
    pub fn new(store: BaselineStore, hasher: FingerprintHasher, settings: ScoringSettings) -> Self {
        Self {
            store,
            hasher,
            settings: Arc::new(settings),
        }
    }

    /// The fingerprint key.
    pub fn hasher(&self) -> &FingerprintHasher {
        &self.hasher
    }

    /// Scores one access and records it in the shared baselines.
    pub async fn score_access(&self, attempt: &AccessAttempt) -> Result<Assessment, Status> {
        let (assessment, seen) = self.assess(attempt).await?;
        self.remember(attempt, assessment.band, Some(seen)).await?;
        Ok(assessment)
    }

    /// Scores one access against the current baselines, without recording it; also
    /// gives the baselines as read, so that recording can start from them.
    pub async fn assess(
        &self,
        attempt: &AccessAttempt,
    ) -> Result<(Assessment, SeenBaselines), BaselineError> {
        let seen = match &attempt.device {
            Some(device) => {
                let (guest, device) = tokio::try_join!(
                    self.store.guest(attempt.guest_id),
                    self.store.device_guests(device)
                )?;
                SeenBaselines {
                    guest,
                    device: Some(device),
                }
            }
            None => SeenBaselines {
                guest: self.store.guest(attempt.guest_id).await?,
                device: None,
            },
        };
        let no_device = DeviceGuests::default();
        let assessment = heuristics::assess(
            attempt,
            &seen.guest.value,
            seen.device.as_ref().map_or(&no_device, |read| &read.value),
            &self.settings,
        );
        Ok((assessment, seen))
    }

    /// Records an access scored in `band` in the guest's and the device's baselines,
    /// starting from `seen` when the caller just read them (a compare-and-set still
    /// re-reads if anything changed meanwhile). Recording an access with an id twice has
    /// one effect.
    pub async fn remember(
        &self,
        attempt: &AccessAttempt,
        band: RiskBand,
        seen: Option<SeenBaselines>,
    ) -> Result<(), BaselineError> {
        let settings = &self.settings;
        let (seen_guest, seen_device) = match seen {
            Some(seen) => (Some(seen.guest), seen.device),
            None => (None, None),
        };
        let remember_guest = self
            .store
            .update_guest(attempt.guest_id, seen_guest, |baseline| {
                heuristics::remember_access(baseline, attempt, band, settings)
            });
        match &attempt.device {
            Some(device) => {
                let remember_device = self.store.update_device(device, seen_device, |guests| {
                    heuristics::remember_device_guest(
                        guests,
                        attempt.guest_id,
                        settings.device_guest_limit,
                    )
                });
                tokio::try_join!(remember_guest, remember_device)?;
            }
            None => {
                remember_guest.await?;
            }
        }
        Ok(())
    }
}

/// The baselines an assessment was made against, as read.
#[derive(Clone, Debug)]
pub struct SeenBaselines {
    guest: Read<GuestBaseline>,
    device: Option<Read<DeviceGuests>>,
}

/// The protobuf value of a band.
pub fn risk_of(band: RiskBand) -> Risk {
    match band {
        RiskBand::Low => Risk::Low,
        RiskBand::Medium => Risk::Medium,
        RiskBand::High => Risk::High,
        RiskBand::Block => Risk::Block,
    }
}

#[tonic::async_trait]
impl FraudService for FraudEngine {
    #[tracing::instrument(skip_all, fields(guest_id = %request.get_ref().guest_id, is_rsvp = request.get_ref().is_rsvp))]
    async fn score(
        &self,
        request: Request<ScoreRequest>,
    ) -> Result<Response<ScoreResponse>, Status> {
        let attempt = parse(request.get_ref(), &self.hasher, Utc::now())?;
        let assessment = self.score_access(&attempt).await.inspect_err(|status| {
            tracing::warn!(code = ?status.code(), message = status.message(), "scoring failed");
        })?;
        let reasons: Vec<String> = assessment
            .reasons
            .iter()
            .map(|reason| reason.code.to_owned())
            .collect();
        tracing::info!(
            score = assessment.score,
            band = ?assessment.band,
            flagged = assessment.flagged,
            reasons = ?reasons,
            "access scored"
        );
        Ok(Response::new(ScoreResponse {
            score: assessment.score,
            risk: risk_of(assessment.band) as i32,
            reasons,
            flagged: assessment.flagged,
        }))
    }

    async fn approve_device(
        &self,
        _request: Request<proto::fraud::v1::ApproveDeviceRequest>,
    ) -> Result<Response<proto::fraud::v1::ApproveDeviceResponse>, Status> {
        Err(Status::unimplemented(
            "approving a device is not available yet",
        ))
    }

    async fn reset_guest(
        &self,
        _request: Request<proto::fraud::v1::ResetGuestRequest>,
    ) -> Result<Response<proto::fraud::v1::ResetGuestResponse>, Status> {
        Err(Status::unimplemented(
            "resetting a guest is not available yet",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::fraud::v1::ClientSignals;

    const ID: &str = "0b9d2f7e-4a6b-4c1e-9d8f-2a3b4c5d6e7f";

    fn request() -> ScoreRequest {
        ScoreRequest {
            event_id: ID.into(),
            guest_id: ID.into(),
            token_id: ID.into(),
            accessed_at: "2026-11-23T12:00:00Z".into(),
            ip: "203.0.113.7".into(),
            user_agent: "Mozilla/5.0".into(),
            signals: Some(ClientSignals {
                device_key: "raw-fingerprint".into(),
                js_enabled: true,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn hasher() -> FingerprintHasher {
        FingerprintHasher::new("test key".into())
    }

    #[test]
    fn a_request_with_a_malformed_guest_id_is_rejected() {
        let request = ScoreRequest {
            guest_id: "robert'); DROP TABLE guests;--".into(),
            ..request()
        };
        assert_eq!(
            validate(&request),
            Err(ScoreRequestError::NotAUuid { field: "guest_id" })
        );
    }

    #[test]
    fn a_valid_request_becomes_an_attempt_with_a_hashed_device() {
        let attempt = parse(&request(), &hasher(), Utc::now()).expect("valid");
        assert_eq!(attempt.ip, Some("203.0.113.7".parse().expect("ip")));
        assert_eq!(attempt.device, Some(hasher().device("raw-fingerprint")));
        assert!(attempt.javascript_ran);
    }

    #[test]
    fn malformed_times_and_addresses_are_rejected() {
        let bad_time = ScoreRequest {
            accessed_at: "yesterday".into(),
            ..request()
        };
        let bad_ip = ScoreRequest {
            ip: "999.1.1.1".into(),
            ..request()
        };
        assert_eq!(
            parse(&bad_time, &hasher(), Utc::now()).err(),
            Some(ScoreRequestError::NotATime)
        );
        assert_eq!(
            parse(&bad_ip, &hasher(), Utc::now()).err(),
            Some(ScoreRequestError::NotAnIp)
        );
    }

    #[test]
    fn an_access_log_id_is_optional_but_must_be_a_uuid_when_given() {
        let anonymous = parse(&request(), &hasher(), Utc::now()).expect("valid");
        assert_eq!(anonymous.access_id, None);
        let logged = ScoreRequest {
            access_log_id: ID.into(),
            ..request()
        };
        let attempt = parse(&logged, &hasher(), Utc::now()).expect("valid");
        assert_eq!(attempt.access_id, Some(Uuid::parse_str(ID).expect("uuid")));
        let garbage = ScoreRequest {
            access_log_id: "log-17".into(),
            ..request()
        };
        assert_eq!(
            parse(&garbage, &hasher(), Utc::now()).err(),
            Some(ScoreRequestError::NotAUuid {
                field: "access_log_id"
            })
        );
    }

    #[test]
    fn missing_signals_mean_no_device_and_no_javascript() {
        let bare = ScoreRequest {
            signals: None,
            accessed_at: String::new(),
            ip: String::new(),
            ..request()
        };
        let now = Utc::now();
        let attempt = parse(&bare, &hasher(), now).expect("valid");
        assert_eq!(attempt.device, None);
        assert!(!attempt.javascript_ran);
        assert_eq!(attempt.accessed_at, now);
        assert_eq!(attempt.ip, None);
    }
}
