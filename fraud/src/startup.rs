//! Building and running the fraud engine: NATS connection, baselines and results
//! buckets, the events stream and the engine's consumer, then the gRPC server (scoring +
//! standard health) running beside the consumer until the stop token.

use crate::{
    baselines::{BaselineStore, FingerprintHasher},
    consumer::AccessConsumer,
    scoring::FraudEngine,
    settings::Settings,
};
use anyhow::Context as _;
use async_nats::connection::State;
use proto::fraud::v1::fraud_service_server::FraudServiceServer;
use std::{net::SocketAddr, time::Duration};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic_health::server::HealthReporter;

/// How long connecting to NATS at startup may take.
const NATS_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one baseline read or write may wait for JetStream before the score call
/// answers `UNAVAILABLE`.
const NATS_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the health status follows the NATS connection.
const HEALTH_POLL: Duration = Duration::from_millis(500);

/// A bound, not yet running fraud engine.
pub struct FraudServer {
    listener: TcpListener,
    engine: FraudEngine,
    consumer: AccessConsumer,
    client: async_nats::Client,
    stop: CancellationToken,
}

impl FraudServer {
    /// Connects to NATS, opens (or creates) the baselines and results buckets, the
    /// events stream and the engine's consumer, and binds the gRPC address (port 0
    /// picks a free port).
    pub async fn build(settings: Settings, stop: CancellationToken) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(NATS_CONNECT_TIMEOUT)
            .request_timeout(Some(NATS_REQUEST_TIMEOUT))
            .connect(&settings.nats_url)
            .await
            .with_context(|| format!("connecting to NATS at {}", settings.nats_url))?;
        let mut jetstream = async_nats::jetstream::new(client.clone());
        jetstream.set_timeout(NATS_REQUEST_TIMEOUT);
        let store = BaselineStore::open(&jetstream)
            .await
            .context("opening the baselines bucket")?;
        let engine = FraudEngine::new(
            store,
            FingerprintHasher::new(settings.fingerprint_key.clone()),
            settings.scoring.clone(),
        );
        let consumer = AccessConsumer::start(jetstream, engine.clone(), settings.consumer.clone())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("opening the events stream and the access.attempted consumer")?;
        let listener = TcpListener::bind(settings.grpc_addr)
            .await
            .with_context(|| format!("binding {}", settings.grpc_addr))?;
        Ok(Self {
            listener,
            engine,
            consumer,
            client,
            stop,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves gRPC and consumes `access.attempted` until the stop token is cancelled (or
    /// the gRPC server fails), then finishes in-flight calls and messages.
    ///
    /// The health service reports `guestguard.fraud.v1.FraudService` as SERVING only
    /// while the NATS connection is up.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let stop = self.stop.child_token();
        let (reporter, health_service) = tonic_health::server::health_reporter();
        reporter
            .set_not_serving::<FraudServiceServer<FraudEngine>>()
            .await;
        let health = tokio::spawn(follow_nats_health(self.client, reporter, stop.clone()));
        let consumer = tokio::spawn(self.consumer.run(stop.clone()));

        let served = tonic::transport::Server::builder()
            .add_service(health_service)
            .add_service(FraudServiceServer::new(self.engine))
            .serve_with_incoming_shutdown(TcpListenerStream::new(self.listener), {
                let stop = stop.clone();
                async move { stop.cancelled().await }
            })
            .await
            .context("serving gRPC");
        stop.cancel();
        let _ = tokio::join!(health, consumer);
        served
    }
}

/// Keeps the health status of the scoring service in step with the NATS connection
/// until `stop`.
async fn follow_nats_health(
    client: async_nats::Client,
    reporter: HealthReporter,
    stop: CancellationToken,
) {
    let mut serving = None;
    loop {
        let connected = client.connection_state() == State::Connected;
        if serving != Some(connected) {
            if connected {
                reporter
                    .set_serving::<FraudServiceServer<FraudEngine>>()
                    .await;
                tracing::info!("NATS connected; scoring is serving");
            } else {
                reporter
                    .set_not_serving::<FraudServiceServer<FraudEngine>>()
                    .await;
                tracing::warn!("NATS disconnected; scoring is not serving");
            }
            serving = Some(connected);
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(HEALTH_POLL) => {}
        }
    }
}
