//! Health: `GET /healthz` answers anyone with just up or down (200 `{"status":"ok"}` /
//! 503 `{"status":"unavailable"}`) — which dependency is down is not for the public (an
//! impostor would wait for the fraud engine's outage). `GET /healthz/detail`, with
//! `Authorization: Bearer $GUESTGUARD_OPS_TOKEN`, gives operators the whole report:
//! PostgreSQL, NATS JetStream and the fraud engine pinged concurrently (each within the
//! configured timeout), the outbox backlog and this process's fraud engine breaker. The
//! fraud engine reports itself serving only while it reaches NATS (its baselines), so
//! `fraud: down` also covers an engine that is up but cannot score.

use app::state::AppState;
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    Json,
};
use secrecy::ExposeSecret as _;
use serde::Serialize;
use std::{future::Future, time::Duration};
use tonic_health::pb::{health_check_response::ServingStatus, HealthCheckRequest};

/// gRPC service name the fraud engine reports as serving.
pub const FRAUD_SERVICE_NAME: &str = "guestguard.fraud.v1.FraudService";

/// State of one dependency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    Up,
    Down,
}

/// Every dependency's state.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Checks {
    pub database: Check,
    pub nats: Check,
    pub fraud: Check,
}

/// The `/healthz` body.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct HealthReport {
    /// `ok` when every check is up, `unavailable` otherwise.
    pub status: &'static str,
    pub checks: Checks,
    /// Events waiting in the outbox (`null` when the database did not answer). While
    /// NATS or the fraud engine is down, access attempts wait here to be scored.
    pub outbox: Option<app::outbox::Backlog>,
    /// This process's circuit breaker in front of the engine's `Score` call (`open`:
    /// answers are recorded unscored without calling the engine).
    pub fraud_breaker: app::fraud::breaker::BreakerReport,
}

/// The public answer: up or down, nothing else.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PublicHealth {
    /// `ok` or `unavailable`.
    pub status: &'static str,
}

fn code_of(report: &HealthReport) -> StatusCode {
    if report.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// Handler of `GET /healthz`: up or down.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<PublicHealth>) {
    let report = check_all(&state).await;
    (
        code_of(&report),
        Json(PublicHealth {
            status: report.status,
        }),
    )
}

/// Handler of `GET /healthz/detail`: the whole report for operators (their bearer
/// token); 404 for anyone else, like any unknown address.
pub async fn healthz_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<HealthReport>), app::error::AppError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    let expected = state.settings.ops_token.expose_secret();
    let same = presented.len() == expected.len()
        && presented
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(app::error::AppError::NotFound(
            "there is nothing at this address".into(),
        ));
    }
    let report = check_all(&state).await;
    Ok((code_of(&report), Json(report)))
}

/// Runs the three checks concurrently.
pub async fn check_all(state: &AppState) -> HealthReport {
    let limit = state.settings.health_check_timeout;
    let (database, nats, fraud, outbox) = tokio::join!(
        within(limit, "database", check_database(state)),
        within(limit, "nats", check_nats(state)),
        within(limit, "fraud", check_fraud(state)),
        tokio::time::timeout(limit, app::outbox::backlog(&state.pool)),
    );
    let all_up = [database, nats, fraud].iter().all(|c| *c == Check::Up);
    HealthReport {
        status: if all_up { "ok" } else { "unavailable" },
        checks: Checks {
            database,
            nats,
            fraud,
        },
        outbox: outbox.ok().and_then(Result::ok),
        fraud_breaker: state.fraud_breaker.report(),
    }
}

async fn within(
    limit: Duration,
    name: &'static str,
    check: impl Future<Output = Result<(), String>>,
) -> Check {
    match tokio::time::timeout(limit, check).await {
        Ok(Ok(())) => Check::Up,
        Ok(Err(reason)) => {
            tracing::warn!(check = name, %reason, "health check failed");
            Check::Down
        }
        Err(_) => {
            tracing::warn!(
                check = name,
                timeout_ms = limit.as_millis() as u64,
                "health check timed out"
            );
            Check::Down
        }
    }
}

async fn check_database(state: &AppState) -> Result<(), String> {
    sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&state.pool)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

async fn check_nats(state: &AppState) -> Result<(), String> {
    // A JetStream API round trip proves both the connection and JetStream itself.
    state
        .jetstream
        .query_account()
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

async fn check_fraud(state: &AppState) -> Result<(), String> {
    let response = state
        .fraud_health
        .clone()
        .check(HealthCheckRequest {
            service: FRAUD_SERVICE_NAME.to_owned(),
        })
        .await
        .map_err(|status| status.to_string())?;
    if response.into_inner().status == ServingStatus::Serving as i32 {
        Ok(())
    } else {
        Err("fraud engine is not serving".to_owned())
    }
}
