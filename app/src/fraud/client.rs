//! The synchronous fraud check of an RSVP: one `Score` call to the engine within the
//! configured deadline (250 ms by default). It never fails: an engine that is slow,
//! down or failing gives an "unavailable" verdict and the answer is recorded unscored
//! (fail open), to be scored later through the asynchronous path. While the engine
//! keeps failing, the [`breaker`](super::breaker) skips the call altogether, so answers
//! are not held for a deadline that will pass anyway.

use super::{breaker::Admission, FraudVerdict, RiskBand};
use crate::state::AppState;
use proto::fraud::v1::{Risk, ScoreRequest};
use std::time::Instant;

/// The connection to the engine: a lazily connected channel (TLS when the engine is not
/// on loopback) whose every call carries the service token.
pub type EngineChannel = tonic::service::interceptor::InterceptedService<
    tonic::transport::Channel,
    proto::grpc_auth::AttachToken,
>;

/// Why an answer was not scored while the breaker is open.
pub const SKIPPED: &str =
    "the fraud engine is failing; the check was skipped until it recovers (circuit open)";

/// Asks the engine for a score within the deadline, unless the breaker is open.
#[tracing::instrument(skip_all, fields(access_log_id = %request.access_log_id))]
pub async fn score(state: &AppState, request: ScoreRequest) -> FraudVerdict {
    let admitted = match state.fraud_breaker.admit() {
        Admission::Call(admitted) => admitted,
        Admission::Skip => {
            tracing::warn!("answer not scored: the fraud engine breaker is open; failing open");
            return FraudVerdict::unavailable(SKIPPED);
        }
    };
    let deadline = state.settings.fraud_deadline;
    let started = Instant::now();
    let mut call = tonic::Request::new(request);
    // The engine sees the deadline too (grpc-timeout) and stops working past it.
    call.set_timeout(deadline);
    let answer = tokio::time::timeout(deadline, state.fraud.clone().score(call)).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    // Any answer shows the engine is there, even a refusal of this one request.
    let engine_answered = match &answer {
        Ok(Ok(_)) => true,
        Ok(Err(status)) => status.code() == tonic::Code::InvalidArgument,
        Err(_) => false,
    };
    if engine_answered {
        admitted.succeeded();
    } else {
        admitted.failed();
    }
    let verdict = match answer {
        Ok(Ok(response)) => {
            let response = response.into_inner();
            match band_of(response.risk) {
                Some(band) => FraudVerdict::scored(
                    response.score.min(100),
                    band,
                    response.reasons,
                    response.flagged,
                ),
                None => FraudVerdict::unavailable("the fraud engine answered without a risk band"),
            }
        }
        // tonic reports its own timeout as either.
        Ok(Err(status))
            if matches!(
                status.code(),
                tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
            ) =>
        {
            FraudVerdict::unavailable(too_slow(deadline))
        }
        Ok(Err(status)) => FraudVerdict::unavailable(format!(
            "the fraud engine could not score the answer ({:?})",
            status.code()
        )),
        Err(_) => FraudVerdict::unavailable(too_slow(deadline)),
    };
    match &verdict.unavailable {
        None => {
            tracing::info!(elapsed_ms, score = ?verdict.score, risk = ?verdict.risk, "answer scored")
        }
        Some(why) => tracing::warn!(elapsed_ms, reason = %why, "answer not scored; failing open"),
    }
    verdict
}

fn too_slow(deadline: std::time::Duration) -> String {
    format!(
        "the fraud engine did not answer within {} ms",
        deadline.as_millis()
    )
}

/// The band of the engine's protobuf risk; `None` for an unspecified one.
pub fn band_of(risk: i32) -> Option<RiskBand> {
    match Risk::try_from(risk).ok()? {
        Risk::Low => Some(RiskBand::Low),
        Risk::Medium => Some(RiskBand::Medium),
        Risk::High => Some(RiskBand::High),
        Risk::Block => Some(RiskBand::Block),
        Risk::Unspecified => None,
    }
}

/// How long a host's trust decision waits for the engine.
const TRUST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// Tells the engine a host approved `device_key` for a guest; 503 `unavailable` when
/// the engine cannot take it now (nothing changed: the host may try again).
pub async fn approve_device(
    state: &AppState,
    request: proto::fraud::v1::ApproveDeviceRequest,
) -> Result<(), crate::error::AppError> {
    let mut call = tonic::Request::new(request);
    call.set_timeout(TRUST_DEADLINE);
    engine_answer(
        tokio::time::timeout(TRUST_DEADLINE, state.fraud.clone().approve_device(call)).await,
        "approving a device",
    )
}

/// Tells the engine to forget what it learned about a guest (`forget`: also drop the
/// guest from its device indexes); 503 `unavailable` when it cannot take it now.
pub async fn reset_guest(
    state: &AppState,
    guest_id: uuid::Uuid,
    forget: bool,
) -> Result<(), crate::error::AppError> {
    let mut call = tonic::Request::new(proto::fraud::v1::ResetGuestRequest {
        guest_id: guest_id.to_string(),
        forget,
    });
    call.set_timeout(TRUST_DEADLINE);
    engine_answer(
        tokio::time::timeout(TRUST_DEADLINE, state.fraud.clone().reset_guest(call)).await,
        "resetting a guest",
    )
}

/// The outcome of a trust call: done, or 503 (engine slow, down or failing).
fn engine_answer<T>(
    answer: Result<Result<tonic::Response<T>, tonic::Status>, tokio::time::error::Elapsed>,
    what: &str,
) -> Result<(), crate::error::AppError> {
    match answer {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(status)) if status.code() == tonic::Code::InvalidArgument => {
            tracing::warn!(
                what,
                message = status.message(),
                "the engine refused a trust change"
            );
            Err(crate::error::AppError::bad_request(
                "invalid_device",
                "the fraud engine does not know this device",
            ))
        }
        Ok(Err(status)) => {
            tracing::warn!(what, code = ?status.code(), "the engine could not take a trust change");
            Err(crate::error::AppError::Unavailable {
                retry_after_secs: 5,
            })
        }
        Err(_) => {
            tracing::warn!(what, "the engine did not answer a trust change in time");
            Err(crate::error::AppError::Unavailable {
                retry_after_secs: 5,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protobuf_band_maps_and_unspecified_does_not() {
        assert_eq!(band_of(Risk::Low as i32), Some(RiskBand::Low));
        assert_eq!(band_of(Risk::Block as i32), Some(RiskBand::Block));
        assert_eq!(band_of(Risk::Unspecified as i32), None);
        assert_eq!(band_of(99), None);
    }
}
