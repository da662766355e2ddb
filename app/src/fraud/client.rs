//! The synchronous fraud check of an RSVP: one `Score` call to the engine within the
//! configured deadline (250 ms by default). It never fails: an engine that is slow,
//! down or failing gives an "unavailable" verdict and the answer is recorded unscored
//! (fail open), to be scored later through the asynchronous path.

use super::{FraudVerdict, RiskBand};
use crate::state::AppState;
use proto::fraud::v1::{Risk, ScoreRequest};
use std::time::Instant;

/// The connection to the engine: a lazily connected channel (TLS when the engine is not
/// on loopback) whose every call carries the service token.
pub type EngineChannel = tonic::service::interceptor::InterceptedService<
    tonic::transport::Channel,
    proto::grpc_auth::AttachToken,
>;

/// Asks the engine for a score within the deadline.
#[tracing::instrument(skip_all, fields(access_log_id = %request.access_log_id))]
pub async fn score(state: &AppState, request: ScoreRequest) -> FraudVerdict {
    let deadline = state.settings.fraud_deadline;
    let started = Instant::now();
    let mut call = tonic::Request::new(request);
    // The engine sees the deadline too (grpc-timeout) and stops working past it.
    call.set_timeout(deadline);
    let answer = tokio::time::timeout(deadline, state.fraud.clone().score(call)).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
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
