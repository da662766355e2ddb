//! Real services for integration tests, on free loopback ports:
//!
//! - [`TestApp`] starts its own PostgreSQL cluster, NATS JetStream server, fraud engine
//!   and web server, for tests that stop and start those services (`health.rs`).
//! - [`api::TestApi`] shares one PostgreSQL cluster, NATS server and fraud engine per
//!   test binary ([`shared`]) and gives each test a fresh database (a copy of a migrated
//!   template) and its own web server, which is much faster.
//! - [`edge::Deployment`] runs GuestGuard as in production: two `server` processes
//!   behind a real nginx with TLS.
//!
//! Everything stops when the test ends; a watchdog also stops the external processes
//! once the test binary is gone, even if it died without unwinding.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

pub mod api;
pub mod edge;
pub mod mail;
pub mod services;
pub mod shared;

use app::settings::Settings;
use leptos::prelude::LeptosOptions;
use services::{NatsServer, Postgres};
use std::{net::SocketAddr, time::Duration};
use tokio_util::sync::CancellationToken;

/// A running GuestGuard (web server + fraud engine) on its own PostgreSQL and NATS.
pub struct TestApp {
    pub address: SocketAddr,
    pub postgres: Postgres,
    pub nats: NatsServer,
    pub fraud_address: SocketAddr,
    pub http: reqwest::Client,
    stop: CancellationToken,
    fraud_stop: CancellationToken,
}

/// Sends application logs to the test's captured output (shown when a test fails).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Starts a fraud engine on a free port of the current runtime, keeping its baselines
/// in the given NATS.
pub async fn start_fraud_engine(nats_url: &str, stop: CancellationToken) -> SocketAddr {
    let mut engine =
        FraudEngine::start_at(nats_url, SocketAddr::from(([127, 0, 0, 1], 0)), stop).await;
    // The caller's token, not this handle, decides when the engine stops.
    engine.stop_on_drop = false;
    engine.address
}

/// A fraud engine of one test, which the test can stop and start again on the same
/// address (as in an outage).
pub struct FraudEngine {
    pub address: SocketAddr,
    nats_url: String,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    stop_on_drop: bool,
}

impl FraudEngine {
    /// Starts an engine at `address` (port 0: a free one).
    pub async fn start_at(nats_url: &str, address: SocketAddr, stop: CancellationToken) -> Self {
        let server = fraud::startup::FraudServer::build(
            fraud::settings::Settings::development(address, nats_url),
            stop.clone(),
        )
        .await
        .expect("fraud engine binds");
        let address = server.address();
        Self {
            address,
            nats_url: nats_url.to_owned(),
            stop,
            task: Some(tokio::spawn(server.run_until_stopped())),
            stop_on_drop: true,
        }
    }

    /// Stops the engine and waits until its port is free.
    pub async fn stop(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Starts the engine again on the same address.
    pub async fn restart(&mut self) {
        self.stop().await;
        *self = Self::start_at(&self.nats_url, self.address, CancellationToken::new()).await;
    }
}

impl Drop for FraudEngine {
    fn drop(&mut self) {
        if self.stop_on_drop {
            self.stop.cancel();
        }
    }
}

/// Builds the web server on a free port with the given dependencies (and any further
/// settings from `extra`), runs it on the current runtime until `stop` is cancelled,
/// and returns its address.
pub async fn start_web_server(
    database_url: &str,
    nats_url: &str,
    fraud_address: SocketAddr,
    extra: &[(&str, &str)],
    stop: CancellationToken,
) -> SocketAddr {
    // `extra` comes first, so a test can point the server elsewhere.
    let settings = Settings::from_lookup(|name| {
        if let Some((_, value)) = extra.iter().find(|(key, _)| *key == name) {
            return Some((*value).to_owned());
        }
        match name {
            "DATABASE_URL" => Some(database_url.to_owned()),
            "NATS_URL" => Some(nats_url.to_owned()),
            "FRAUD_GRPC_URL" => Some(format!("http://{fraud_address}")),
            "GUESTGUARD_HEALTH_TIMEOUT_MS" => Some("1000".to_owned()),
            _ => None,
        }
    })
    .expect("test settings are valid");
    let leptos_options = LeptosOptions::builder()
        .output_name("guestguard")
        .site_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .site_root("target/site")
        .build();
    let application = server::startup::Application::build(settings, leptos_options, stop)
        .await
        .expect("the application starts");
    let address = application.address();
    tokio::spawn(application.run_until_stopped());
    address
}

impl TestApp {
    /// Starts every service and the application.
    pub async fn spawn() -> Self {
        init_tracing();
        let postgres = Postgres::start().await;
        let nats = NatsServer::start().await;
        let fraud_stop = CancellationToken::new();
        let fraud_address = start_fraud_engine(&nats.url(), fraud_stop.clone()).await;
        let stop = CancellationToken::new();
        let address =
            start_web_server(&postgres.url, &nats.url(), fraud_address, &[], stop.clone()).await;

        Self {
            address,
            postgres,
            nats,
            fraud_address,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("http client"),
            stop,
            fraud_stop,
        }
    }

    /// Absolute URL of a path on the web server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// `GET /healthz/detail` as an operator → (status code, JSON body).
    pub async fn health(&self) -> (u16, serde_json::Value) {
        let response = self
            .http
            .get(self.url("/healthz/detail"))
            .bearer_auth(app::settings::DEVELOPMENT_OPS_TOKEN)
            .send()
            .await
            .expect("/healthz answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("/healthz is JSON"))
    }

    /// Polls `/healthz` until `accept` holds or 60 s have passed; returns the last answer.
    pub async fn health_until(
        &self,
        accept: impl Fn(u16, &serde_json::Value) -> bool,
    ) -> (u16, serde_json::Value) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = self.health().await;
            if accept(status, &body) || tokio::time::Instant::now() > deadline {
                return (status, body);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Stops the fraud engine.
    pub fn stop_fraud(&self) {
        self.fraud_stop.cancel();
    }

    /// Asks the web server to shut down gracefully.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
        self.fraud_stop.cancel();
    }
}
