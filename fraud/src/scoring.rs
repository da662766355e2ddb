//! The `FraudService` gRPC implementation.
//!
//! Requests are validated here (ids must be UUIDs); the heuristics arrive with the fraud
//! engine issue, and until then `Score` answers `UNIMPLEMENTED`, which callers treat as
//! "scoring unavailable" and fail open.

use proto::fraud::v1::{fraud_service_server::FraudService, ScoreRequest, ScoreResponse};
use tonic::{Request, Response, Status};

/// The fraud engine's gRPC face.
#[derive(Clone, Debug, Default)]
pub struct FraudEngine;

/// Why a score request is rejected before scoring.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScoreRequestError {
    #[error("{field} must be a UUID")]
    NotAUuid { field: &'static str },
}

impl From<ScoreRequestError> for Status {
    fn from(error: ScoreRequestError) -> Self {
        Status::invalid_argument(error.to_string())
    }
}

/// Checks the identifiers of a request.
pub fn validate(request: &ScoreRequest) -> Result<(), ScoreRequestError> {
    for (field, value) in [
        ("event_id", &request.event_id),
        ("guest_id", &request.guest_id),
        ("token_id", &request.token_id),
    ] {
        uuid::Uuid::parse_str(value).map_err(|_| ScoreRequestError::NotAUuid { field })?;
    }
    Ok(())
}

#[tonic::async_trait]
impl FraudService for FraudEngine {
    #[tracing::instrument(skip_all, fields(guest_id = %request.get_ref().guest_id))]
    async fn score(
        &self,
        request: Request<ScoreRequest>,
    ) -> Result<Response<ScoreResponse>, Status> {
        validate(request.get_ref())?;
        Err(Status::unimplemented(
            "scoring heuristics are not enabled yet",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_with_a_malformed_guest_id_is_rejected() {
        let request = ScoreRequest {
            event_id: "0b9d2f7e-4a6b-4c1e-9d8f-2a3b4c5d6e7f".into(),
            guest_id: "robert'); DROP TABLE guests;--".into(),
            token_id: "0b9d2f7e-4a6b-4c1e-9d8f-2a3b4c5d6e7f".into(),
            ..Default::default()
        };
        assert_eq!(
            validate(&request),
            Err(ScoreRequestError::NotAUuid { field: "guest_id" })
        );
    }
}
