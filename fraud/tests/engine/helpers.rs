//! A real `nats-server -js` on a free loopback port (with the project's own
//! configuration: users, permissions, development passwords) and fraud engines on
//! `127.0.0.1:0`, driven through a tonic client (with the service token) or through the
//! JetStream events, with a small builder for access attempts.
//!
//! Devices are named in tests ("anna-phone") and sent as the web server would: the
//! 64-hex-digit hash of the name ([`device_key`]).

use async_nats::jetstream;
use fraud::{baselines::BUCKET, settings::Settings, startup::FraudServer};
use proto::{
    events::{self, AccessAttempted, FraudScored, GuestForgotten},
    fraud::v1::{
        fraud_service_client::FraudServiceClient, ApproveDeviceRequest, ClientSignals,
        ResetGuestRequest, Risk, ScoreRequest, ScoreResponse, Sensitivity,
    },
};
use sha2::{Digest as _, Sha256};
use std::{
    future::Future,
    net::{SocketAddr, TcpListener, TcpStream},
    process::Stdio,
    time::Duration,
};
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;
use tonic::{service::interceptor::InterceptedService, transport::Channel};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use uuid::Uuid;

/// How long a test waits for something asynchronous before failing.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `probe` until it returns `Some`, failing the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub const PHONE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
pub const LAPTOP: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36";
pub const HEADLESS: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/124.0.0.0 Safari/537.36";

/// The device key the web server sends for a named test device: 64 lowercase hex
/// digits.
pub fn device_key(name: &str) -> String {
    Sha256::digest(name.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The event every access belongs to unless told otherwise.
pub fn default_event() -> Uuid {
    Uuid::from_u128(7)
}

/// A NATS server with JetStream, its data in a temporary folder; killed on drop.
pub struct Nats {
    pub port: u16,
    child: Child,
    dir: TempDir,
}

impl Nats {
    pub async fn start() -> Self {
        let port = free_port();
        let dir = tempfile::Builder::new()
            .prefix("guestguard-fraud-nats-")
            .tempdir()
            .expect("temporary folder");
        let child = spawn_nats(port, &dir).await;
        Self { port, child, dir }
    }

    /// Starts the server again on the same port with the same data, killing it first
    /// (as in a crash) if it still runs.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.child = spawn_nats(self.port, &self.dir).await;
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops the server, as in an outage.
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Every key and raw value of the baselines bucket.
    pub async fn bucket_contents(&self) -> Vec<(String, String)> {
        use tokio_stream::StreamExt as _;
        let kv = self
            .jetstream()
            .await
            .get_key_value(BUCKET)
            .await
            .expect("bucket exists");
        let keys: Vec<String> = kv
            .keys()
            .await
            .expect("keys")
            .collect::<Result<_, _>>()
            .await
            .expect("keys stream");
        let mut contents = Vec::new();
        for key in keys {
            let value = kv.get(&key).await.expect("get").unwrap_or_default();
            contents.push((key, String::from_utf8_lossy(&value).into_owned()));
        }
        contents
    }

    /// Writes a raw value into the baselines bucket (to damage or repair a baseline).
    pub async fn put_in_bucket(&self, key: &str, value: &str) {
        let kv = self
            .jetstream()
            .await
            .get_key_value(BUCKET)
            .await
            .expect("bucket exists");
        kv.put(key, value.to_owned().into_bytes().into())
            .await
            .expect("put");
    }

    /// One value of the baselines bucket, as JSON.
    pub async fn bucket_value(&self, key: &str) -> serde_json::Value {
        self.bucket_get(key)
            .await
            .unwrap_or_else(|| panic!("{key} is in the bucket"))
    }

    /// One value of the baselines bucket, as JSON, when it is there (not deleted, not
    /// expired).
    pub async fn bucket_get(&self, key: &str) -> Option<serde_json::Value> {
        let kv = self
            .jetstream()
            .await
            .get_key_value(BUCKET)
            .await
            .expect("bucket exists");
        let value = kv.get(key).await.expect("get")?;
        Some(serde_json::from_slice(&value).expect("JSON value"))
    }

    /// Publishes a `guest.forgotten`, as the web server's outbox relay does.
    pub async fn publish_forgotten(&self, guest_ids: &[Uuid], message_id: &str) {
        let body = serde_json::to_vec(&GuestForgotten {
            guest_ids: guest_ids.to_vec(),
        })
        .expect("JSON");
        self.publish(events::GUEST_FORGOTTEN, message_id, body)
            .await;
    }

    /// A JetStream context on a new connection as the operators' user (every
    /// permission).
    pub async fn jetstream(&self) -> jetstream::Context {
        jetstream::new(
            self.connect_as(proto::nats::OPS)
                .await
                .expect("NATS connects"),
        )
    }

    /// A connection as one of the configuration's users, with its development password.
    pub async fn connect_as(
        &self,
        identity: proto::nats::Identity,
    ) -> Result<async_nats::Client, async_nats::ConnectError> {
        proto::nats::Credentials::development(identity)
            .connect_options(identity)
            .await
            .expect("development credentials")
            .connect(self.url())
            .await
    }

    /// Publishes an access attempt on `access.attempted` with a message id, as the web
    /// server's outbox relay does.
    pub async fn publish_access(&self, access: &AccessAttempted, message_id: &str) {
        let body = serde_json::to_vec(access).expect("JSON");
        self.publish(events::ACCESS_ATTEMPTED, message_id, body)
            .await;
    }

    /// Publishes raw bytes with a message id and waits for the stream to store them,
    /// retrying while JetStream is not ready (after a restart).
    pub async fn publish(&self, subject: &'static str, message_id: &str, body: Vec<u8>) {
        let jetstream = self.jetstream().await;
        eventually("the stream to store a message", || {
            let (jetstream, body) = (jetstream.clone(), body.clone());
            async move {
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(async_nats::header::NATS_MESSAGE_ID, message_id);
                let ack = jetstream
                    .publish_with_headers(subject, headers, body.into())
                    .await
                    .ok()?;
                ack.await.ok()
            }
        })
        .await;
    }

    /// Every `fraud.scored` the stream holds, in order.
    pub async fn fraud_scored(&self) -> Vec<FraudScored> {
        let stream = events::ensure_stream(&self.jetstream().await)
            .await
            .expect("the events stream");
        let last = stream
            .get_info()
            .await
            .expect("stream info")
            .state
            .last_sequence;
        let mut scored = Vec::new();
        for sequence in 1..=last {
            let Ok(message) = stream.get_raw_message(sequence).await else {
                continue;
            };
            if message.subject.as_str() == events::FRAUD_SCORED {
                scored.push(serde_json::from_slice(&message.payload).expect("FraudScored"));
            }
        }
        scored
    }

    /// The stream's `fraud.scored` once there are at least `count` of them.
    pub async fn wait_for_scores(&self, count: usize) -> Vec<FraudScored> {
        eventually(&format!("{count} fraud.scored"), || async {
            let scored = self.fraud_scored().await;
            (scored.len() >= count).then_some(scored)
        })
        .await
    }

    /// Waits until the engines' `access.attempted` consumer has nothing pending and
    /// nothing unacknowledged, and returns its state then.
    pub async fn wait_until_consumed(&self) -> jetstream::consumer::Info {
        self.wait_until_drained(events::ENGINE_CONSUMER).await
    }

    /// Waits until a durable consumer has nothing pending and nothing unacknowledged,
    /// and returns its state then.
    pub async fn wait_until_drained(&self, consumer: &str) -> jetstream::consumer::Info {
        let jetstream = self.jetstream().await;
        eventually(&format!("the {consumer} consumer to drain"), || {
            let jetstream = jetstream.clone();
            async move {
                let stream = jetstream.get_stream(events::STREAM).await.ok()?;
                let info = stream.consumer_info(consumer).await.ok()?;
                let drained = info.num_pending == 0 && info.num_ack_pending == 0;
                if !drained {
                    println!(
                        "consumer: {} pending, {} unacknowledged, {} redelivered, delivered {:?}, ack floor {:?}",
                        info.num_pending,
                        info.num_ack_pending,
                        info.num_redelivered,
                        info.delivered,
                        info.ack_floor
                    );
                }
                drained.then_some(info)
            }
        })
        .await
    }
}

/// Starts `nats-server` with `deploy/nats/nats-server.conf` (JetStream, the services'
/// users) on a port with its data in a folder, once it accepts connections.
async fn spawn_nats(port: u16, dir: &TempDir) -> Child {
    let binary = std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| "nats-server".to_owned());
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/nats/nats-server.conf"
    );
    let child = Command::new(&binary)
        .args([
            "-c",
            config,
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-sd",
        ])
        .arg(dir.path())
        .env(
            "GG_NATS_SERVER_PASSWORD",
            proto::nats::SERVER.development_password,
        )
        .env(
            "GG_NATS_FRAUD_PASSWORD",
            proto::nats::ENGINE.development_password,
        )
        .env(
            "GG_NATS_NOTIFY_PASSWORD",
            proto::nats::NOTIFY.development_password,
        )
        .env(
            "GG_NATS_OPS_PASSWORD",
            proto::nats::OPS.development_password,
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("{binary} could not start: {error}"));
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("NATS did not start on port {port}");
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// A gRPC channel to an engine that presents the development service token.
pub type Authorized = InterceptedService<Channel, proto::grpc_auth::AttachToken>;

/// A channel to `address` presenting `token` on every call.
pub async fn channel_with_token(address: SocketAddr, token: &str) -> Authorized {
    let channel = Channel::from_shared(format!("http://{address}"))
        .expect("address")
        .connect()
        .await
        .expect("the engine accepts connections");
    let token = proto::grpc_auth::AttachToken::new(&token.to_owned().into()).expect("token");
    InterceptedService::new(channel, token)
}

/// A running fraud engine and a client to it; stopped on drop.
pub struct Engine {
    pub client: FraudServiceClient<Authorized>,
    pub address: SocketAddr,
    engine: fraud::engine::FraudEngine,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    stop: CancellationToken,
}

impl Engine {
    pub async fn start(nats: &Nats) -> Self {
        Self::start_with(nats, |_| {}).await
    }

    /// Starts an engine with development settings changed by `adjust`.
    pub async fn start_with(nats: &Nats, adjust: impl FnOnce(&mut Settings)) -> Self {
        // The engine's logs, shown for failing tests (`RUST_LOG` to choose; warnings by default).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
        let stop = CancellationToken::new();
        let mut settings =
            Settings::development(SocketAddr::from(([127, 0, 0, 1], 0)), &nats.url());
        adjust(&mut settings);
        let server = FraudServer::build(settings, stop.clone())
            .await
            .expect("the engine builds");
        let address = server.address();
        let engine = server.engine();
        let running = Some(tokio::spawn(server.run_until_stopped()));
        let client = FraudServiceClient::new(
            channel_with_token(address, proto::grpc_auth::DEVELOPMENT_TOKEN).await,
        );
        Self {
            client,
            address,
            engine,
            running,
            stop,
        }
    }

    /// Waits until what the engine's answers learned is stored in the bucket (a `Score`
    /// answers before its recording is stored).
    pub async fn settled(&self) {
        self.engine.settled().await;
    }

    /// What the engine's gRPC health service says about the scoring service.
    pub async fn health(&self) -> ServingStatus {
        let channel = channel_with_token(self.address, proto::grpc_auth::DEVELOPMENT_TOKEN).await;
        let response = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: "guestguard.fraud.v1.FraudService".into(),
            })
            .await
            .expect("health check answers")
            .into_inner();
        ServingStatus::try_from(response.status).unwrap_or(ServingStatus::Unknown)
    }

    /// Waits until the health service reports `status`.
    pub async fn wait_for_health(&self, status: ServingStatus) {
        eventually(&format!("health {status:?}"), || async {
            (self.health().await == status).then_some(())
        })
        .await;
    }

    /// Scores an access, expecting success.
    pub async fn score(&self, access: &Access) -> Scored {
        let response = self
            .client
            .clone()
            .score(access.request())
            .await
            .expect("Score succeeds")
            .into_inner();
        Scored(response)
    }

    /// The host approves a named device as the guest's (from `ip` when given).
    pub async fn approve(&self, guest_id: Uuid, device: &str, ip: Option<&str>) {
        self.client
            .clone()
            .approve_device(ApproveDeviceRequest {
                event_id: default_event().to_string(),
                guest_id: guest_id.to_string(),
                device_key: device_key(device),
                ip: ip.unwrap_or_default().to_owned(),
                event_starts_at: String::new(),
            })
            .await
            .expect("ApproveDevice succeeds");
    }

    /// The host resets the guest (`forget`: the guest's data is deleted).
    pub async fn reset(&self, guest_id: Uuid, forget: bool) {
        self.client
            .clone()
            .reset_guest(ResetGuestRequest {
                guest_id: guest_id.to_string(),
                forget,
            })
            .await
            .expect("ResetGuest succeeds");
    }

    /// Stops the engine as SIGTERM does, and waits until it has stopped.
    pub async fn stop(&mut self) {
        self.stop.cancel();
        if let Some(running) = self.running.take() {
            let _ = running.await;
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A score answer with readable helpers.
#[derive(Debug, Clone)]
pub struct Scored(pub ScoreResponse);

impl Scored {
    pub fn risk(&self) -> Risk {
        Risk::try_from(self.0.risk).unwrap_or(Risk::Unspecified)
    }

    pub fn has(&self, code: &str) -> bool {
        self.0.reasons.iter().any(|reason| reason == code)
    }

    pub fn score(&self) -> u32 {
        self.0.score
    }

    pub fn flagged(&self) -> bool {
        self.0.flagged
    }
}

/// An access attempt under construction: a guest on a device, from an address, at a
/// moment (minutes after a fixed start), in an event.
#[derive(Clone, Debug)]
pub struct Access {
    pub guest_id: Uuid,
    pub event_id: Uuid,
    /// The device's name; sent as its [`device_key`].
    pub fingerprint: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub javascript: bool,
    pub automation: Vec<String>,
    pub minute: i64,
    pub second: i64,
    pub is_rsvp: bool,
    pub sensitivity: Sensitivity,
    pub event_starts_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Access {
    /// The guest opening the link on a device (a browser with JavaScript).
    pub fn by(guest_id: Uuid, fingerprint: &str, ip: &str) -> Self {
        Self {
            guest_id,
            event_id: default_event(),
            fingerprint: Some(fingerprint.to_owned()),
            ip: ip.to_owned(),
            user_agent: PHONE.to_owned(),
            javascript: true,
            automation: Vec::new(),
            minute: 0,
            second: 0,
            is_rsvp: false,
            sensitivity: Sensitivity::Unspecified,
            event_starts_at: None,
        }
    }

    /// A plain HTTP client: no JavaScript, no fingerprint.
    pub fn script(guest_id: Uuid, user_agent: &str, ip: &str) -> Self {
        Self {
            fingerprint: None,
            javascript: false,
            user_agent: user_agent.to_owned(),
            ..Self::by(guest_id, "", ip)
        }
    }

    pub fn at(mut self, minute: i64) -> Self {
        self.minute = minute;
        self
    }

    /// Seconds past the minute.
    pub fn and_seconds(mut self, second: i64) -> Self {
        self.second = second;
        self
    }

    pub fn agent(mut self, user_agent: &str) -> Self {
        self.user_agent = user_agent.to_owned();
        self
    }

    pub fn rsvp(mut self) -> Self {
        self.is_rsvp = true;
        self
    }

    /// The page ran but sent no fingerprint.
    pub fn without_fingerprint(mut self) -> Self {
        self.fingerprint = None;
        self
    }

    /// Traits of automation the page observed.
    pub fn showing(mut self, traits: &[&str]) -> Self {
        self.automation = traits.iter().map(|t| (*t).to_owned()).collect();
        self
    }

    pub fn in_event(mut self, event_id: Uuid) -> Self {
        self.event_id = event_id;
        self
    }

    pub fn sensitivity(mut self, sensitivity: Sensitivity) -> Self {
        self.sensitivity = sensitivity;
        self
    }

    /// The event starts then (what is learned expires a while after it).
    pub fn event_starting(mut self, at: chrono::DateTime<chrono::Utc>) -> Self {
        self.event_starts_at = Some(at);
        self
    }

    fn accessed_at(&self) -> chrono::DateTime<chrono::Utc> {
        let start: chrono::DateTime<chrono::Utc> = "2026-12-01T18:00:00Z".parse().expect("time");
        start + chrono::Duration::minutes(self.minute) + chrono::Duration::seconds(self.second)
    }

    /// The access as an `access.attempted` event with its access log id.
    pub fn event(&self, access_log_id: Uuid) -> AccessAttempted {
        AccessAttempted {
            access_log_id,
            event_id: self.event_id,
            guest_id: self.guest_id,
            token_id: Uuid::from_u128(9),
            accessed_at: self.accessed_at(),
            ip: Some(self.ip.clone()),
            user_agent: self.user_agent.clone(),
            accept_language: "en-GB,en;q=0.9".into(),
            signals: events::Signals {
                device_key: self.fingerprint.as_deref().map(device_key),
                time_zone: Some("Europe/Berlin".into()),
                screen: Some("390x844".into()),
                js_enabled: self.javascript,
                automation: self.automation.clone(),
            },
            is_rsvp: self.is_rsvp,
            sensitivity: match self.sensitivity {
                Sensitivity::Relaxed => Some("relaxed".into()),
                Sensitivity::Strict => Some("strict".into()),
                Sensitivity::Standard => Some("standard".into()),
                Sensitivity::Unspecified => None,
            },
            event_starts_at: self.event_starts_at,
        }
    }

    pub fn request(&self) -> ScoreRequest {
        ScoreRequest {
            event_id: self.event_id.to_string(),
            guest_id: self.guest_id.to_string(),
            token_id: Uuid::from_u128(9).to_string(),
            access_log_id: String::new(),
            accessed_at: self.accessed_at().to_rfc3339(),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            accept_language: "en-GB,en;q=0.9".into(),
            signals: Some(ClientSignals {
                device_key: self
                    .fingerprint
                    .as_deref()
                    .map(device_key)
                    .unwrap_or_default(),
                time_zone: "Europe/Berlin".into(),
                screen: "390x844".into(),
                js_enabled: self.javascript,
                automation: self.automation.clone(),
            }),
            is_rsvp: self.is_rsvp,
            sensitivity: self.sensitivity as i32,
            event_starts_at: self
                .event_starts_at
                .map(|at| at.to_rfc3339())
                .unwrap_or_default(),
        }
    }
}
