//! PostgreSQL and NATS servers on free loopback ports, with their data in a temporary
//! folder, owned by one test or shared by a test binary. They never touch the machine's
//! own instances.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tempfile::TempDir;
use tokio::{net::TcpStream, process::Command, sync::Mutex};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// Waits until something accepts TCP connections on `port`.
async fn wait_for_port(port: u16, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn running_as_root() -> bool {
    std::env::var("USER").is_ok_and(|user| user == "root")
        || std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// Stops `stop_command` once this test process is gone, even if it was killed.
pub fn watchdog(stop_command: &str) {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop_command}",
        pid = std::process::id()
    );
    let _ = std::process::Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// The newest PostgreSQL server binaries on this machine (`PG_BIN` overrides).
fn postgres_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (run scripts/bootstrap.sh)")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .expect("a PostgreSQL server under /usr/lib/postgresql")
        .1
}

/// A PostgreSQL cluster of one test (or of a whole test binary, see `shared`).
pub struct Postgres {
    pub port: u16,
    /// `postgres://guestguard@127.0.0.1:<port>/guestguard`
    pub url: String,
    bin: PathBuf,
    as_postgres_user: bool,
    dir: TempDir,
}

impl Postgres {
    /// Creates and starts a fresh cluster with a `guestguard` database.
    pub async fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("guestguard-test-pg-")
            .tempdir()
            .expect("temporary folder");
        let as_postgres_user = running_as_root();
        if as_postgres_user {
            // PostgreSQL refuses to run as root: hand the folder to the postgres user.
            let status = std::process::Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown of the test cluster folder failed");
        }
        let port = free_port();
        let mut postgres = Self {
            port,
            url: format!("postgres://guestguard@127.0.0.1:{port}/guestguard"),
            bin: postgres_bin(),
            as_postgres_user,
            dir,
        };
        postgres
            .run(
                "initdb",
                &[
                    "-D",
                    &postgres.data_dir(),
                    "-U",
                    "guestguard",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            )
            .await;
        // The port was free when picked, but another test's process may take it before
        // PostgreSQL binds it: then pick another.
        let mut attempt = 1;
        while let Err(failure) = postgres.try_start_server().await {
            let log = std::fs::read_to_string(postgres.dir.path().join("postgres.log"))
                .unwrap_or_default();
            let taken = log.contains("could not bind") || log.contains("already in use");
            assert!(taken && attempt < 5, "pg_ctl failed: {failure}\n{log}");
            attempt += 1;
            postgres.port = free_port();
            postgres.url = format!(
                "postgres://guestguard@127.0.0.1:{}/guestguard",
                postgres.port
            );
        }
        wait_for_port(postgres.port, "PostgreSQL").await;
        postgres
            .run(
                "createdb",
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &postgres.port.to_string(),
                    "-U",
                    "guestguard",
                    "guestguard",
                ],
            )
            .await;
        watchdog(&format!(
            "{}; rm -rf {}",
            postgres.stop_command(),
            postgres.dir.path().display()
        ));
        postgres
    }

    /// Connection string of another database of this cluster.
    pub fn database_url(&self, database: &str) -> String {
        format!("postgres://guestguard@127.0.0.1:{}/{database}", self.port)
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command.stdin(Stdio::null()).kill_on_drop(true);
        command
    }

    async fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .output()
            .await
            .unwrap_or_else(|error| panic!("{program} could not run: {error}"));
        assert!(
            output.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn stop_command(&self) -> String {
        let pg_ctl = self.bin.join("pg_ctl");
        let prefix = if self.as_postgres_user {
            "runuser -u postgres -- "
        } else {
            ""
        };
        format!(
            "{prefix}{} -D {} -m immediate stop",
            pg_ctl.display(),
            self.data_dir()
        )
    }

    /// Starts the server (again) on the same port and data.
    pub async fn start_server(&self) {
        if let Err(failure) = self.try_start_server().await {
            panic!("pg_ctl failed: {failure}");
        }
        wait_for_port(self.port, "PostgreSQL").await;
    }

    /// `pg_ctl start` on the cluster's port; what it said when it failed.
    async fn try_start_server(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
             -c wal_level=minimal -c max_wal_senders=0",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        let output = self
            .command("pg_ctl")
            .args([
                "-D",
                &self.data_dir(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "start",
            ])
            .output()
            .await
            .map_err(|error| format!("pg_ctl could not run: {error}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// Stops the server at once, as a crash would (immediate shutdown: no checkpoint,
    /// every connection cut); it recovers from its log on the next start.
    pub async fn stop_immediately(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "immediate", "-w", "stop"],
        )
        .await;
    }

    /// Stops the server (fast shutdown: open connections are cut).
    pub async fn stop_server(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "fast", "-w", "stop"],
        )
        .await;
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = std::process::Command::new("sh")
            .args(["-c", &format!("{} >/dev/null 2>&1", self.stop_command())])
            .status();
    }
}

/// A NATS server with JetStream of one test (or of a whole test binary).
pub struct NatsServer {
    pub port: u16,
    dir: TempDir,
    child: Mutex<Option<tokio::process::Child>>,
}

impl NatsServer {
    /// Starts a fresh server with JetStream enabled.
    pub async fn start() -> Self {
        let server = Self {
            port: free_port(),
            dir: tempfile::Builder::new()
                .prefix("guestguard-test-nats-")
                .tempdir()
                .expect("temporary folder"),
            child: Mutex::new(None),
        };
        server.start_server().await;
        server
    }

    /// `nats://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and JetStream store, with the
    /// project's own configuration (`deploy/nats/nats-server.conf`: users with their
    /// permissions, development passwords), as the local stack and production run it.
    pub async fn start_server(&self) {
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
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.dir.path())
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
            .unwrap_or_else(|error| {
                panic!("{binary} could not start (run scripts/bootstrap.sh): {error}")
            });
        if let Some(pid) = child.id() {
            watchdog(&format!(
                "kill {pid} 2>/dev/null; sleep 1; rm -rf {}",
                self.dir.path().display()
            ));
        }
        *self.child.lock().await = Some(child);
        wait_for_port(self.port, "NATS").await;
    }

    /// A client with every permission (the operators' user), for looking at streams
    /// and publishing what a test needs.
    pub async fn ops_client(&self) -> async_nats::Client {
        connect_as(&self.url(), proto::nats::OPS)
            .await
            .expect("NATS accepts the operators' user")
    }

    /// Stops the server.
    pub async fn stop_server(&self) {
        if let Some(mut child) = self.child.lock().await.take() {
            let _ = child.kill().await;
        }
    }
}

/// A NATS client as one of the users of `deploy/nats/nats-server.conf`, with its
/// development password.
pub async fn connect_as(
    url: &str,
    identity: proto::nats::Identity,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    proto::nats::Credentials::development(identity)
        .connect_options(identity)
        .await
        .expect("development credentials")
        .connect(url)
        .await
}
