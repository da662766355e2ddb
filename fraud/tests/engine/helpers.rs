//! A real `nats-server -js` on a free loopback port and fraud engines on `127.0.0.1:0`,
//! driven through a tonic client, with a small builder for access attempts.

use fraud::{baselines::BUCKET, settings::Settings, startup::FraudServer};
use proto::fraud::v1::{
    fraud_service_client::FraudServiceClient, ClientSignals, Risk, ScoreRequest, ScoreResponse,
};
use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    process::Stdio,
    time::Duration,
};
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use uuid::Uuid;

pub const PHONE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
pub const LAPTOP: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36";

/// A NATS server with JetStream, its data in a temporary folder; killed on drop.
pub struct Nats {
    pub port: u16,
    child: Child,
    _dir: TempDir,
}

impl Nats {
    pub async fn start() -> Self {
        let port = free_port();
        let dir = tempfile::Builder::new()
            .prefix("guestguard-fraud-nats-")
            .tempdir()
            .expect("temporary folder");
        let binary = std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| {
            if std::path::Path::new("/usr/sbin/nats-server").exists() {
                "/usr/sbin/nats-server".to_owned()
            } else {
                "nats-server".to_owned()
            }
        });
        let child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("{binary} could not start: {error}"));
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self {
                    port,
                    child,
                    _dir: dir,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("NATS did not start on port {port}");
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
        let client = async_nats::connect(self.url())
            .await
            .expect("NATS connects");
        let kv = async_nats::jetstream::new(client)
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

    /// One value of the baselines bucket, as JSON.
    pub async fn bucket_value(&self, key: &str) -> serde_json::Value {
        let contents = self.bucket_contents().await;
        let (_, value) = contents
            .iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("{key} is in the bucket"));
        serde_json::from_str(value).expect("JSON value")
    }
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

/// A running fraud engine and a client to it; stopped on drop.
pub struct Engine {
    pub client: FraudServiceClient<Channel>,
    stop: CancellationToken,
}

impl Engine {
    pub async fn start(nats: &Nats) -> Self {
        let stop = CancellationToken::new();
        let server = FraudServer::build(
            Settings::development(SocketAddr::from(([127, 0, 0, 1], 0)), &nats.url()),
            stop.clone(),
        )
        .await
        .expect("the engine builds");
        let address = server.address();
        tokio::spawn(server.run_until_stopped());
        let client = FraudServiceClient::connect(format!("http://{address}"))
            .await
            .expect("client connects");
        Self { client, stop }
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

    pub fn stop(&self) {
        self.stop.cancel();
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
}

/// An access attempt under construction: a guest on a device, from an address, at a
/// moment (minutes after a fixed start).
#[derive(Clone, Debug)]
pub struct Access {
    pub guest_id: Uuid,
    pub fingerprint: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub javascript: bool,
    pub minute: i64,
    pub is_rsvp: bool,
}

impl Access {
    /// The guest opening the link on a device (a browser with JavaScript).
    pub fn by(guest_id: Uuid, fingerprint: &str, ip: &str) -> Self {
        Self {
            guest_id,
            fingerprint: Some(fingerprint.to_owned()),
            ip: ip.to_owned(),
            user_agent: PHONE.to_owned(),
            javascript: true,
            minute: 0,
            is_rsvp: false,
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

    pub fn agent(mut self, user_agent: &str) -> Self {
        self.user_agent = user_agent.to_owned();
        self
    }

    pub fn rsvp(mut self) -> Self {
        self.is_rsvp = true;
        self
    }

    pub fn request(&self) -> ScoreRequest {
        let start = chrono::DateTime::parse_from_rfc3339("2026-12-01T18:00:00Z").expect("time");
        ScoreRequest {
            event_id: Uuid::from_u128(7).to_string(),
            guest_id: self.guest_id.to_string(),
            token_id: Uuid::from_u128(9).to_string(),
            access_log_id: String::new(),
            accessed_at: (start + chrono::Duration::minutes(self.minute)).to_rfc3339(),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            accept_language: "en-GB,en;q=0.9".into(),
            signals: Some(ClientSignals {
                fingerprint_hash: self.fingerprint.clone().unwrap_or_default(),
                time_zone: "Europe/Berlin".into(),
                screen: "390x844".into(),
                js_enabled: self.javascript,
            }),
            is_rsvp: self.is_rsvp,
        }
    }
}
