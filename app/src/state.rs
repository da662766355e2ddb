//! The one application state, built once at startup and shared by the router, REST
//! handlers and server functions (read there with `expect_context::<AppState>()`).

use crate::fraud::client::EngineChannel;
use crate::settings::Settings;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use proto::fraud::v1::fraud_service_client::FraudServiceClient;
use sqlx::PgPool;
use std::sync::Arc;

/// Connections and configuration every request may need.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos' own options (site root, output name).
    pub leptos_options: LeptosOptions,
    /// PostgreSQL connection pool.
    pub pool: PgPool,
    /// NATS connection (reconnects on its own).
    pub nats: async_nats::Client,
    /// JetStream on top of `nats`.
    pub jetstream: async_nats::jetstream::Context,
    /// gRPC client of the fraud engine (lazily connected, reconnects on its own).
    pub fraud: FraudServiceClient<EngineChannel>,
    /// This process's circuit breaker in front of `fraud`'s `Score` call.
    pub fraud_breaker: Arc<crate::fraud::breaker::Breaker>,
    /// Standard gRPC health client on the same channel as `fraud`.
    pub fraud_health: tonic_health::pb::health_client::HealthClient<EngineChannel>,
    /// Typed settings.
    pub settings: Arc<Settings>,
    /// Keys that sign and verify invitation tokens.
    pub keyring: crate::invitations::token::Keyring,
    /// Attempt counters of sensitive routes, shared by every replica (PostgreSQL).
    pub rate_limiter: crate::edge::rate_limit::RateLimiter,
    /// Password hashing, a bounded number at a time.
    pub password_hashing: crate::hosts::credentials::PasswordHashing,
    /// Rung after a commit that queued due events, so the outbox relay publishes them
    /// at once instead of at its next poll.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// This server's fan-out of activity notices to its hosts' live monitor sockets.
    pub activity: crate::monitor::hub::Hub,
}
