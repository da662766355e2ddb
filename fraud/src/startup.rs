//! Building and running the fraud engine: NATS connection and baselines bucket, then the
//! gRPC server (scoring + standard health).

use crate::{
    baselines::{BaselineStore, FingerprintHasher},
    scoring::FraudEngine,
    settings::Settings,
};
use anyhow::Context as _;
use proto::fraud::v1::fraud_service_server::FraudServiceServer;
use std::{net::SocketAddr, time::Duration};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

/// How long connecting to NATS at startup may take.
const NATS_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one baseline read or write may wait for JetStream before the score call
/// answers `UNAVAILABLE`.
const NATS_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// A bound, not yet running fraud engine.
pub struct FraudServer {
    listener: TcpListener,
    engine: FraudEngine,
    stop: CancellationToken,
}

impl FraudServer {
    /// Connects to NATS, opens (or creates) the baselines bucket and binds the gRPC
    /// address (port 0 picks a free port).
    pub async fn build(settings: Settings, stop: CancellationToken) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(NATS_CONNECT_TIMEOUT)
            .request_timeout(Some(NATS_REQUEST_TIMEOUT))
            .connect(&settings.nats_url)
            .await
            .with_context(|| format!("connecting to NATS at {}", settings.nats_url))?;
        let mut jetstream = async_nats::jetstream::new(client);
        jetstream.set_timeout(NATS_REQUEST_TIMEOUT);
        let store = BaselineStore::open(&jetstream)
            .await
            .context("opening the baselines bucket")?;
        let engine = FraudEngine::new(
            store,
            FingerprintHasher::new(settings.fingerprint_key.clone()),
            settings.scoring.clone(),
        );
        let listener = TcpListener::bind(settings.grpc_addr)
            .await
            .with_context(|| format!("binding {}", settings.grpc_addr))?;
        Ok(Self {
            listener,
            engine,
            stop,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until the stop token is cancelled, then finishes in-flight calls.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (reporter, health_service) = tonic_health::server::health_reporter();
        reporter
            .set_serving::<FraudServiceServer<FraudEngine>>()
            .await;
        let stop = self.stop.clone();
        tonic::transport::Server::builder()
            .add_service(health_service)
            .add_service(FraudServiceServer::new(self.engine))
            .serve_with_incoming_shutdown(TcpListenerStream::new(self.listener), async move {
                stop.cancelled().await
            })
            .await
            .context("serving gRPC")
    }
}
