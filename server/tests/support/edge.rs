//! GuestGuard deployed as in production, on this machine: two web server processes (the
//! real `server` binary, `GUESTGUARD_ENV=production`, every secret set), a fraud engine
//! demanding its service token, NATS with the services' users, and a real nginx
//! terminating TLS in front of the replicas with the shipped
//! `deploy/nginx/guestguard.conf` (a certificate made at test time).
//!
//! Everything listens on free loopback ports and stops when the [`Deployment`] drops (a
//! watchdog stops the processes if the test binary dies).

use super::services::{free_port, NatsServer, Postgres};
use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

/// The service token the web servers present to the engine.
const GRPC_TOKEN: &str = "edge-test-grpc-token-0123456789abcdefghij";

/// A production-like deployment behind nginx.
pub struct Deployment {
    /// `https://127.0.0.1:<port>`: the public address (nginx).
    pub public_url: String,
    /// The web replicas' own addresses (behind the proxy).
    pub replicas: Vec<SocketAddr>,
    /// The database, for looking at what was stored.
    pub db: sqlx::PgPool,
    /// The fraud engine's gRPC address.
    pub fraud: SocketAddr,
    /// The NATS server's URL.
    pub nats_url: String,
    /// The CA that signed nginx's certificate, for clients.
    ca_pem: String,
    web: Vec<Child>,
    nginx: Child,
    dir: TempDir,
    fraud_stop: CancellationToken,
    _nats: NatsServer,
    _postgres: Postgres,
}

/// Settings of the replicas beyond the deployment's own (e.g. lower limits).
pub type Extra<'a> = &'a [(&'a str, &'a str)];

impl Deployment {
    /// Starts everything; `extra` settings go to both web replicas.
    pub async fn start(extra: Extra<'_>) -> Self {
        super::init_tracing();
        let dir = tempfile::Builder::new()
            .prefix("guestguard-edge-")
            .tempdir()
            .expect("temporary folder");
        let (postgres, nats) = tokio::join!(Postgres::start(), NatsServer::start());
        let fraud_stop = CancellationToken::new();
        let fraud = start_engine(&nats.url(), fraud_stop.clone()).await;

        let proxy_port = free_port();
        let public_url = format!("https://127.0.0.1:{proxy_port}");
        let replicas: Vec<SocketAddr> = (0..2)
            .map(|_| SocketAddr::from(([127, 0, 0, 1], free_port())))
            .collect();
        let mut web = Vec::new();
        for (n, address) in replicas.iter().enumerate() {
            web.push(
                spawn_web(
                    &dir.path().join(format!("web{}.log", n + 1)),
                    *address,
                    &postgres.url,
                    &nats.url(),
                    fraud,
                    &public_url,
                    extra,
                )
                .await,
            );
        }
        for (n, address) in replicas.iter().enumerate() {
            wait_until_healthy(*address, &dir.path().join(format!("web{}.log", n + 1))).await;
        }
        let ca_pem = write_certificate(dir.path());
        let nginx = spawn_nginx(dir.path(), proxy_port, &replicas).await;
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&postgres.url)
            .await
            .expect("the database accepts connections");
        Self {
            public_url,
            replicas,
            db,
            fraud,
            nats_url: nats.url(),
            ca_pem,
            web,
            nginx,
            dir,
            fraud_stop,
            _nats: nats,
            _postgres: postgres,
        }
    }

    /// An HTTPS client that trusts the test CA and sends from `source` (a loopback
    /// address such as `127.0.0.2`), keeping cookies like a browser.
    pub fn client(&self, source: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(source.parse::<IpAddr>().expect("an IP address"))
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA"),
            )
            .tls_built_in_root_certs(false)
            .cookie_store(true)
            .user_agent(super::api::BROWSER)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("https client")
    }

    /// `https://127.0.0.1:<port>{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// The upstream addresses nginx sent requests to, from its access log.
    pub fn upstreams_used(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        let mut used: Vec<String> = log
            .lines()
            .filter_map(|line| line.split_whitespace().last())
            .map(str::to_owned)
            .collect();
        used.sort();
        used.dedup();
        used
    }

    /// The process id of web replica `n` (0 or 1).
    pub fn web_pid(&self, n: usize) -> u32 {
        self.web[n].id().expect("the replica runs")
    }

    /// Sends SIGTERM to web replica `n`, as an orchestrator replacing it does, and
    /// waits for it to exit (60 s at most); returns how it exited.
    pub async fn terminate_web(&mut self, n: usize) -> std::process::ExitStatus {
        let pid = self.web_pid(n);
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM sent to {pid}");
        tokio::time::timeout(Duration::from_secs(60), self.web[n].wait())
            .await
            .expect("the replica exits within a minute of SIGTERM")
            .expect("its exit status")
    }

    /// The upstream address of every request nginx passed on, in order.
    pub fn upstream_log(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        log.lines()
            .filter_map(|line| line.split_whitespace().last())
            .map(str::to_owned)
            .collect()
    }

    /// The last lines of every log, for a failing test.
    pub fn logs(&self) -> String {
        ["web1.log", "web2.log", "error.log"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "--- {name}\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        self.fraud_stop.cancel();
        for child in &mut self.web {
            let _ = child.start_kill();
        }
        let _ = self.nginx.start_kill();
    }
}

/// The fraud engine in production mode (its own token, fingerprint key and NATS user).
async fn start_engine(nats_url: &str, stop: CancellationToken) -> SocketAddr {
    let settings = fraud::settings::Settings::from_lookup(|name| {
        let value = match name {
            "GUESTGUARD_ENV" => "production",
            "FRAUD_GRPC_ADDR" => "127.0.0.1:0",
            "NATS_URL" => nats_url,
            "NATS_USER" => proto::nats::ENGINE.user,
            "NATS_PASSWORD" => proto::nats::ENGINE.development_password,
            "FRAUD_GRPC_TOKEN" => GRPC_TOKEN,
            "FRAUD_FINGERPRINT_KEY" => "edge-test-fingerprint-key-0123456789abcdef",
            _ => return None,
        };
        Some(value.to_owned())
    })
    .expect("production engine settings");
    let server = fraud::startup::FraudServer::build(settings, stop)
        .await
        .expect("the engine starts");
    let address = server.address();
    tokio::spawn(server.run_until_stopped());
    address
}

/// One web replica: the real binary in production mode.
async fn spawn_web(
    log: &Path,
    address: SocketAddr,
    database_url: &str,
    nats_url: &str,
    fraud: SocketAddr,
    public_url: &str,
    extra: Extra<'_>,
) -> Child {
    let log_file = std::fs::File::create(log).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("GUESTGUARD_ENV", "production")
        .env("DATABASE_URL", database_url)
        .env("NATS_URL", nats_url)
        .env("NATS_USER", proto::nats::SERVER.user)
        .env("NATS_PASSWORD", proto::nats::SERVER.development_password)
        .env("FRAUD_GRPC_URL", format!("http://{fraud}"))
        .env("FRAUD_GRPC_TOKEN", GRPC_TOKEN)
        .env(
            "GUESTGUARD_SIGNING_KEY",
            "edge-test-signing-key-0123456789abcdefghij",
        )
        .env("GUESTGUARD_PUBLIC_URL", public_url)
        .env(
            "GUESTGUARD_FINGERPRINT_KEY",
            "edge-test-fingerprint-key-0123456789abcdef",
        )
        .env("GUESTGUARD_OPS_TOKEN", "edge-test-operators-token-0123")
        .env(
            "GUESTGUARD_WEBHOOK_KEY",
            "edge-test-webhook-key-0123456789abcdefghijk",
        )
        .env("GUESTGUARD_TRUSTED_PROXIES", "127.0.0.1/32")
        .env("LEPTOS_SITE_ADDR", address.to_string())
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("LEPTOS_OUTPUT_NAME", "guestguard")
        .env("LEPTOS_ENV", "PROD");
    for (name, value) in extra {
        command.env(name, value);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts");
    if let Some(pid) = child.id() {
        super::services::watchdog(&format!("kill {pid} 2>/dev/null"));
    }
    child
}

/// Waits until a replica answers `/healthz` with 200.
async fn wait_until_healthy(address: SocketAddr, log: &Path) {
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = http.get(format!("http://{address}/healthz")).send().await {
            if response.status() == 200 {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the web replica on {address} did not become healthy:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A CA and a certificate for `localhost` / `127.0.0.1` signed by it, written as
/// `tls.crt` / `tls.key`; returns the CA's PEM.
fn write_certificate(dir: &Path) -> String {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("params")
        .signed_by(&key, &rcgen::Issuer::new(ca_params, &ca_key))
        .expect("certificate");
    std::fs::write(dir.join("tls.crt"), cert.pem()).expect("write");
    std::fs::write(dir.join("tls.key"), key.serialize_pem()).expect("write");
    ca.pem()
}

/// nginx with the shipped site configuration, its placeholders filled in, logging the
/// upstream of every request.
async fn spawn_nginx(dir: &Path, port: u16, replicas: &[SocketAddr]) -> Child {
    let template = include_str!("../../../deploy/nginx/guestguard.conf");
    let site = template
        .replace("${GG_SERVER_NAME}", "localhost 127.0.0.1")
        .replace("${GG_LISTEN}", &format!("127.0.0.1:{port} ssl"))
        .replace("${GG_TLS_CERT}", &dir.join("tls.crt").display().to_string())
        .replace("${GG_TLS_KEY}", &dir.join("tls.key").display().to_string())
        .replace("${GG_UPSTREAM_1}", &replicas[0].to_string())
        .replace("${GG_UPSTREAM_2}", &replicas[1].to_string());
    assert!(!site.contains("${GG_"), "every placeholder is filled in");
    std::fs::write(dir.join("guestguard.conf"), site).expect("write");
    let temp = dir.join("nginx-temp");
    std::fs::create_dir_all(&temp).expect("temp folder");
    let root = super::services::running_as_root();
    let main = format!(
        "{user}daemon off;\nworker_processes 1;\npid {dir}/nginx.pid;\n\
         error_log {dir}/error.log warn;\nevents {{ worker_connections 1024; }}\n\
         http {{\n  log_format upstreams '$remote_addr $status $upstream_addr';\n\
           access_log {dir}/access.log upstreams;\n\
           client_body_temp_path {temp}/body;\n  proxy_temp_path {temp}/proxy;\n\
           fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n\
           scgi_temp_path {temp}/scgi;\n  include {dir}/guestguard.conf;\n}}\n",
        user = if root { "user root;\n" } else { "" },
        dir = dir.display(),
        temp = temp.display(),
    );
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, main).expect("write");
    let binary = nginx_binary();
    let child = Command::new(&binary)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "{} could not start (run scripts/bootstrap.sh): {error}",
                binary.display()
            )
        });
    if let Some(pid) = child.id() {
        super::services::watchdog(&format!("kill {pid} 2>/dev/null"));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

fn nginx_binary() -> PathBuf {
    std::env::var("NGINX_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/usr/sbin/nginx"))
}
