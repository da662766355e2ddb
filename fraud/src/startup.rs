//! Building and running the fraud engine: NATS connection (as the `guestguard-fraud`
//! user), baselines and results buckets, the events stream and the engine's two
//! consumers (`access.attempted`, `guest.forgotten`), then the gRPC server (scoring +
//! standard health, both requiring the service token, over TLS when configured)
//! running beside the consumers until the stop token.

use crate::{
    baselines::BaselineStore,
    consumer::{AccessConsumer, ScoreAccess},
    engine::FraudEngine,
    forget::{ForgetConsumer, ForgetGuests},
    results::ResultStore,
    settings::{Settings, TlsFiles},
};
use anyhow::Context as _;
use async_nats::connection::State;
use proto::{fraud::v1::fraud_service_server::FraudServiceServer, grpc_auth::RequireToken};
use std::{net::SocketAddr, time::Duration};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::{
    service::interceptor::InterceptedService,
    transport::{Identity, ServerTlsConfig},
};
use tonic_health::server::HealthReporter;

/// How long connecting to NATS at startup may take.
const NATS_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one baseline read or write may wait for JetStream before the score call
/// answers `UNAVAILABLE`.
const NATS_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a stopping engine waits for the recordings still under way.
const RECORDINGS_DRAIN: Duration = Duration::from_secs(10);
/// How often the health status follows the NATS connection.
const HEALTH_POLL: Duration = Duration::from_millis(500);

/// A bound, not yet running fraud engine.
pub struct FraudServer {
    listener: TcpListener,
    engine: FraudEngine,
    consumer: AccessConsumer,
    forget_consumer: ForgetConsumer,
    client: async_nats::Client,
    auth: RequireToken,
    tls: Option<ServerTlsConfig>,
    stop: CancellationToken,
}

impl FraudServer {
    /// Connects to NATS, opens (or creates) the baselines and results buckets, the
    /// events stream and the engine's consumers, and binds the gRPC address (port 0
    /// picks a free port).
    pub async fn build(settings: Settings, stop: CancellationToken) -> anyhow::Result<Self> {
        // The URL may carry credentials: logs and errors name only its host part.
        let nats_host = proto::nats::redact(&settings.nats_url);
        let client = settings
            .nats_credentials
            .connect_options(proto::nats::ENGINE)
            .await
            .context("reading the NATS credentials file")?
            .name("guestguard-fraud")
            .connection_timeout(NATS_CONNECT_TIMEOUT)
            .request_timeout(Some(NATS_REQUEST_TIMEOUT))
            .connect(settings.nats_url.as_str())
            .await
            .with_context(|| format!("connecting to NATS at {nats_host}"))?;
        let mut jetstream = async_nats::jetstream::new(client.clone());
        jetstream.set_timeout(NATS_REQUEST_TIMEOUT);
        let store = BaselineStore::open(&jetstream, settings.store.clone())
            .await
            .context("opening the baselines bucket")?;
        let results = ResultStore::open(&jetstream, settings.store.results_max_bytes)
            .await
            .context("opening the results bucket")?;
        let engine = FraudEngine::new(store, settings.scoring.clone());
        let consumer = AccessConsumer::start(
            jetstream.clone(),
            ScoreAccess::new(jetstream.clone(), engine.clone(), results),
            settings.consumer.clone(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("opening the events stream and the access.attempted consumer")?;
        let forget_consumer = ForgetConsumer::start(
            jetstream,
            ForgetGuests::new(engine.clone()),
            settings.consumer.clone(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("opening the guest.forgotten consumer")?;
        let tls = match &settings.grpc_tls {
            Some(files) => Some(server_tls(files)?),
            None => None,
        };
        let listener = TcpListener::bind(settings.grpc_addr)
            .await
            .with_context(|| format!("binding {}", settings.grpc_addr))?;
        Ok(Self {
            listener,
            engine,
            consumer,
            forget_consumer,
            client,
            auth: RequireToken::new(settings.grpc_token.clone()),
            tls,
            stop,
        })
    }

    /// The engine the server runs (for waiting on its recordings).
    pub fn engine(&self) -> FraudEngine {
        self.engine.clone()
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves gRPC and consumes `access.attempted` and `guest.forgotten` until the stop token is cancelled (or
    /// the gRPC server fails), then finishes in-flight calls, messages and recordings.
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
        let forget_consumer = tokio::spawn(self.forget_consumer.run(stop.clone()));

        let mut server = tonic::transport::Server::builder();
        if let Some(tls) = self.tls {
            server = server.tls_config(tls).context("configuring gRPC TLS")?;
        }
        let engine = self.engine.clone();
        // Every call, health checks included, must carry the service token.
        let served = server
            .add_service(InterceptedService::new(health_service, self.auth.clone()))
            .add_service(FraudServiceServer::with_interceptor(self.engine, self.auth))
            .serve_with_incoming_shutdown(TcpListenerStream::new(self.listener), {
                let stop = stop.clone();
                async move { stop.cancelled().await }
            })
            .await
            .context("serving gRPC");
        stop.cancel();
        let _ = tokio::join!(health, consumer, forget_consumer);
        // Answers already given: what they learned is stored before the engine goes.
        if tokio::time::timeout(RECORDINGS_DRAIN, engine.settled())
            .await
            .is_err()
        {
            tracing::warn!(
                pending = engine.recordings_pending(),
                "stopping with scored accesses not yet recorded in the baselines"
            );
        }
        served
    }
}

/// The gRPC server's TLS identity, from PEM files.
fn server_tls(files: &TlsFiles) -> anyhow::Result<ServerTlsConfig> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    };
    let identity = Identity::from_pem(read(&files.cert)?, read(&files.key)?);
    Ok(ServerTlsConfig::new().identity(identity))
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
