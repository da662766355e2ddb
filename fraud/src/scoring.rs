//! The `FraudService` gRPC implementation. Each call is parse → one [`FraudEngine`]
//! operation → answer:
//!
//! | RPC | does |
//! |---|---|
//! | `Score` | scores an access against the guest's, device's and origin's baselines and records it |
//! | `ApproveDevice` | makes a device the guest's trusted one (its address the trusted network) |
//! | `ResetGuest` | forgets the guest (`forget`: also leaves every device and origin index) |
//!
//! Bad input is `INVALID_ARGUMENT` (a device key must be the web server's keyed hash, 64
//! lowercase hex digits); trouble with NATS is `UNAVAILABLE`, which callers treat as
//! "scoring unavailable" and fail open. The `access.attempted` consumer
//! ([`crate::consumer`]) turns its events into a [`ScoreRequest`] and shares [`parse`].

use crate::{
    engine::{DeviceApproval, FraudEngine},
    heuristics::{AccessAttempt, AutomationTrait, DeviceKey, RiskBand, Sensitivity},
};
use chrono::{DateTime, Utc};
use proto::fraud::v1::{
    self as pb, fraud_service_server::FraudService, ApproveDeviceRequest, ApproveDeviceResponse,
    ResetGuestRequest, ResetGuestResponse, Risk, ScoreRequest, ScoreResponse,
};
use std::net::IpAddr;
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// Longest user agent accepted, in bytes.
const MAX_TEXT_BYTES: usize = 2_048;

/// Why a request is rejected before it reaches the engine.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("{field} must be a UUID")]
    NotAUuid { field: &'static str },
    #[error("{field} must be an RFC 3339 time")]
    NotATime { field: &'static str },
    #[error("{field} must be an IPv4 or IPv6 address")]
    NotAnIp { field: &'static str },
    #[error("{field} must be 64 lowercase hex digits (the keyed hash of a fingerprint)")]
    NotADeviceKey { field: &'static str },
    #[error("{field} is longer than {MAX_TEXT_BYTES} bytes")]
    TooLong { field: &'static str },
    #[error("sensitivity {0} is not a known preset")]
    UnknownSensitivity(i32),
}

impl From<RequestError> for Status {
    fn from(error: RequestError) -> Self {
        Status::invalid_argument(error.to_string())
    }
}

fn uuid(field: &'static str, raw: &str) -> Result<Uuid, RequestError> {
    Uuid::parse_str(raw).map_err(|_| RequestError::NotAUuid { field })
}

/// An optional UUID: empty means none.
fn optional_uuid(field: &'static str, raw: &str) -> Result<Option<Uuid>, RequestError> {
    match raw.trim() {
        "" => Ok(None),
        raw => uuid(field, raw).map(Some),
    }
}

/// An optional RFC 3339 time: empty means none.
fn optional_time(field: &'static str, raw: &str) -> Result<Option<DateTime<Utc>>, RequestError> {
    match raw.trim() {
        "" => Ok(None),
        raw => DateTime::parse_from_rfc3339(raw)
            .map(|at| Some(at.with_timezone(&Utc)))
            .map_err(|_| RequestError::NotATime { field }),
    }
}

/// An optional address: empty means unknown.
fn optional_ip(field: &'static str, raw: &str) -> Result<Option<IpAddr>, RequestError> {
    match raw.trim() {
        "" => Ok(None),
        raw => raw
            .parse::<IpAddr>()
            .map(|ip| Some(ip.to_canonical()))
            .map_err(|_| RequestError::NotAnIp { field }),
    }
}

/// An optional device key: empty means the page reported none; anything else must be
/// a keyed hash.
fn optional_device(field: &'static str, raw: &str) -> Result<Option<DeviceKey>, RequestError> {
    if raw.is_empty() {
        return Ok(None);
    }
    DeviceKey::parse(raw)
        .map(Some)
        .map_err(|_| RequestError::NotADeviceKey { field })
}

/// The preset of a request; unspecified is standard.
fn sensitivity(raw: i32) -> Result<Sensitivity, RequestError> {
    match pb::Sensitivity::try_from(raw) {
        Ok(pb::Sensitivity::Unspecified | pb::Sensitivity::Standard) => Ok(Sensitivity::Standard),
        Ok(pb::Sensitivity::Relaxed) => Ok(Sensitivity::Relaxed),
        Ok(pb::Sensitivity::Strict) => Ok(Sensitivity::Strict),
        Err(_) => Err(RequestError::UnknownSensitivity(raw)),
    }
}

/// Turns a score request into an access attempt. An empty `accessed_at` means now; an
/// empty `ip` means unknown; an empty `access_log_id` means the access is not guarded
/// against being recorded twice; an empty `device_key` means no fingerprint; unknown
/// automation words are ignored.
pub fn parse(request: &ScoreRequest, now: DateTime<Utc>) -> Result<AccessAttempt, RequestError> {
    let event_id = uuid("event_id", &request.event_id)?;
    let guest_id = uuid("guest_id", &request.guest_id)?;
    uuid("token_id", &request.token_id)?;
    let access_id = optional_uuid("access_log_id", &request.access_log_id)?;
    let accessed_at = optional_time("accessed_at", &request.accessed_at)?.unwrap_or(now);
    let ip = optional_ip("ip", &request.ip)?;
    if request.user_agent.len() > MAX_TEXT_BYTES {
        return Err(RequestError::TooLong {
            field: "user_agent",
        });
    }
    let signals = request.signals.clone().unwrap_or_default();
    Ok(AccessAttempt {
        access_id,
        event_id,
        guest_id,
        accessed_at,
        ip,
        user_agent: request.user_agent.clone(),
        device: optional_device("signals.device_key", &signals.device_key)?,
        javascript_ran: signals.js_enabled,
        automation: AutomationTrait::from_words(signals.automation.iter().map(String::as_str)),
        is_rsvp: request.is_rsvp,
        sensitivity: sensitivity(request.sensitivity)?,
        event_starts_at: optional_time("event_starts_at", &request.event_starts_at)?,
    })
}

/// Turns an approval request into a device approval; the device key is required.
pub fn parse_approval(request: &ApproveDeviceRequest) -> Result<DeviceApproval, RequestError> {
    uuid("event_id", &request.event_id)?;
    let field = "device_key";
    Ok(DeviceApproval {
        guest_id: uuid("guest_id", &request.guest_id)?,
        device: DeviceKey::parse(&request.device_key)
            .map_err(|_| RequestError::NotADeviceKey { field })?,
        ip: optional_ip("ip", &request.ip)?,
        event_starts_at: optional_time("event_starts_at", &request.event_starts_at)?,
    })
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

/// Logs a failed operation once, here at the edge.
fn log_failure(what: &'static str) -> impl FnOnce(&Status) {
    move |status| tracing::warn!(code = ?status.code(), message = status.message(), "{what} failed")
}

#[tonic::async_trait]
impl FraudService for FraudEngine {
    #[tracing::instrument(skip_all, fields(guest_id = %request.get_ref().guest_id, is_rsvp = request.get_ref().is_rsvp))]
    async fn score(
        &self,
        request: Request<ScoreRequest>,
    ) -> Result<Response<ScoreResponse>, Status> {
        let attempt = parse(request.get_ref(), Utc::now())?;
        let assessment = self
            .score_access(attempt)
            .await
            .map_err(Status::from)
            .inspect_err(log_failure("scoring"))?;
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

    #[tracing::instrument(skip_all, fields(guest_id = %request.get_ref().guest_id))]
    async fn approve_device(
        &self,
        request: Request<ApproveDeviceRequest>,
    ) -> Result<Response<ApproveDeviceResponse>, Status> {
        let approval = parse_approval(request.get_ref())?;
        FraudEngine::approve_device(self, &approval)
            .await
            .map_err(Status::from)
            .inspect_err(log_failure("approving a device"))?;
        tracing::info!(with_address = approval.ip.is_some(), "device approved");
        Ok(Response::new(ApproveDeviceResponse {}))
    }

    #[tracing::instrument(skip_all, fields(guest_id = %request.get_ref().guest_id, forget = request.get_ref().forget))]
    async fn reset_guest(
        &self,
        request: Request<ResetGuestRequest>,
    ) -> Result<Response<ResetGuestResponse>, Status> {
        let guest_id = uuid("guest_id", &request.get_ref().guest_id)?;
        FraudEngine::reset_guest(self, guest_id, request.get_ref().forget)
            .await
            .map_err(Status::from)
            .inspect_err(log_failure("resetting a guest"))?;
        tracing::info!("guest reset");
        Ok(Response::new(ResetGuestResponse {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::fraud::v1::ClientSignals;

    const ID: &str = "0b9d2f7e-4a6b-4c1e-9d8f-2a3b4c5d6e7f";

    fn key() -> String {
        "5e".repeat(32)
    }

    fn request() -> ScoreRequest {
        ScoreRequest {
            event_id: ID.into(),
            guest_id: ID.into(),
            token_id: ID.into(),
            accessed_at: "2026-11-23T12:00:00Z".into(),
            ip: "203.0.113.7".into(),
            user_agent: "Mozilla/5.0".into(),
            signals: Some(ClientSignals {
                device_key: key(),
                js_enabled: true,
                automation: vec!["webdriver".into(), "from-the-future".into()],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_request_with_a_malformed_guest_id_is_rejected() {
        let request = ScoreRequest {
            guest_id: "robert'); DROP TABLE guests;--".into(),
            ..request()
        };
        assert_eq!(
            parse(&request, Utc::now()).err(),
            Some(RequestError::NotAUuid { field: "guest_id" })
        );
    }

    #[test]
    fn a_valid_request_becomes_an_attempt_with_the_device_key_as_sent() {
        let attempt = parse(&request(), Utc::now()).expect("valid");
        assert_eq!(attempt.ip, Some("203.0.113.7".parse().expect("ip")));
        assert_eq!(
            attempt.device.as_ref().map(DeviceKey::as_str),
            Some(key().as_str())
        );
        assert!(attempt.javascript_ran);
        assert_eq!(attempt.automation, [AutomationTrait::Webdriver]);
        assert_eq!(attempt.sensitivity, Sensitivity::Standard);
        assert_eq!(attempt.event_starts_at, None);
    }

    #[test]
    fn a_device_key_that_is_not_a_keyed_hash_is_rejected() {
        for bad in [
            "raw-fingerprint".to_owned(),
            key().to_uppercase(),
            key()[1..].to_owned(),
        ] {
            let request = ScoreRequest {
                signals: Some(ClientSignals {
                    device_key: bad,
                    ..Default::default()
                }),
                ..request()
            };
            assert_eq!(
                parse(&request, Utc::now()).err(),
                Some(RequestError::NotADeviceKey {
                    field: "signals.device_key"
                })
            );
        }
    }

    #[test]
    fn malformed_times_addresses_and_presets_are_rejected() {
        let cases = [
            (
                ScoreRequest {
                    accessed_at: "yesterday".into(),
                    ..request()
                },
                RequestError::NotATime {
                    field: "accessed_at",
                },
            ),
            (
                ScoreRequest {
                    event_starts_at: "soon".into(),
                    ..request()
                },
                RequestError::NotATime {
                    field: "event_starts_at",
                },
            ),
            (
                ScoreRequest {
                    ip: "999.1.1.1".into(),
                    ..request()
                },
                RequestError::NotAnIp { field: "ip" },
            ),
            (
                ScoreRequest {
                    sensitivity: 42,
                    ..request()
                },
                RequestError::UnknownSensitivity(42),
            ),
        ];
        for (request, error) in cases {
            assert_eq!(parse(&request, Utc::now()).err(), Some(error));
        }
    }

    #[test]
    fn the_preset_and_the_event_start_are_read() {
        let strict = ScoreRequest {
            sensitivity: pb::Sensitivity::Strict as i32,
            event_starts_at: "2026-12-01T18:00:00+01:00".into(),
            ..request()
        };
        let attempt = parse(&strict, Utc::now()).expect("valid");
        assert_eq!(attempt.sensitivity, Sensitivity::Strict);
        assert_eq!(
            attempt.event_starts_at,
            Some("2026-12-01T17:00:00Z".parse().expect("time"))
        );
    }

    #[test]
    fn an_access_log_id_is_optional_but_must_be_a_uuid_when_given() {
        let anonymous = parse(&request(), Utc::now()).expect("valid");
        assert_eq!(anonymous.access_id, None);
        let logged = ScoreRequest {
            access_log_id: ID.into(),
            ..request()
        };
        let attempt = parse(&logged, Utc::now()).expect("valid");
        assert_eq!(attempt.access_id, Some(Uuid::parse_str(ID).expect("uuid")));
        let garbage = ScoreRequest {
            access_log_id: "log-17".into(),
            ..request()
        };
        assert_eq!(
            parse(&garbage, Utc::now()).err(),
            Some(RequestError::NotAUuid {
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
        let attempt = parse(&bare, now).expect("valid");
        assert_eq!(attempt.device, None);
        assert!(!attempt.javascript_ran);
        assert_eq!(attempt.accessed_at, now);
        assert_eq!(attempt.ip, None);
    }

    #[test]
    fn an_approval_needs_a_device_key_and_takes_an_optional_address() {
        let approval = ApproveDeviceRequest {
            event_id: ID.into(),
            guest_id: ID.into(),
            device_key: key(),
            ip: String::new(),
            event_starts_at: String::new(),
        };
        let parsed = parse_approval(&approval).expect("valid");
        assert_eq!((parsed.ip, parsed.event_starts_at), (None, None));
        let keyless = ApproveDeviceRequest {
            device_key: String::new(),
            ..approval.clone()
        };
        assert_eq!(
            parse_approval(&keyless).err(),
            Some(RequestError::NotADeviceKey {
                field: "device_key"
            })
        );
        let bad_ip = ApproveDeviceRequest {
            ip: "home".into(),
            ..approval
        };
        assert_eq!(
            parse_approval(&bad_ip).err(),
            Some(RequestError::NotAnIp { field: "ip" })
        );
    }
}
