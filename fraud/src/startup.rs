//! Binding and running the fraud engine's gRPC server (scoring + standard health).

use crate::{scoring::FraudEngine, settings::Settings};
use anyhow::Context as _;
use proto::fraud::v1::fraud_service_server::FraudServiceServer;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

/// A bound, not yet running fraud engine.
pub struct FraudServer {
    listener: TcpListener,
    stop: CancellationToken,
}

impl FraudServer {
    /// Binds the gRPC address (port 0 picks a free port).
    pub async fn build(settings: Settings, stop: CancellationToken) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.grpc_addr)
            .await
            .with_context(|| format!("binding {}", settings.grpc_addr))?;
        Ok(Self { listener, stop })
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
            .add_service(FraudServiceServer::new(FraudEngine))
            .serve_with_incoming_shutdown(TcpListenerStream::new(self.listener), async move {
                stop.cancelled().await
            })
            .await
            .context("serving gRPC")
    }
}
