//! A real SMTP server for the notification tests (the project's mail catcher,
//! `scripts/tools/mail_catcher.py`, on aiosmtpd) on free loopback ports, which a test
//! can stop and start again; and the notification worker, started in-process against a
//! test's services exactly as `server/src/bin/notify.rs` starts it.

use super::services::{free_port, watchdog};
use serde::Deserialize;
use std::{collections::HashMap, path::PathBuf, process::Stdio, time::Duration};
use tempfile::TempDir;
use tokio::{net::TcpStream, process::Command, sync::Mutex};
use tokio_util::sync::CancellationToken;

/// One message the catcher received, parsed.
#[derive(Clone, Debug, Deserialize)]
pub struct Mail {
    pub id: u64,
    pub envelope_to: Vec<String>,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub content_type: String,
    pub headers: HashMap<String, String>,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl Mail {
    /// The plain-text part (every message of ours has one).
    pub fn text(&self) -> &str {
        self.text.as_deref().expect("a plain-text part")
    }

    /// The HTML part.
    pub fn html(&self) -> &str {
        self.html.as_deref().expect("an HTML part")
    }

    /// The first `https://guestguard.test/<prefix>...` address in the text part.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = format!("{}{prefix}", super::api::PUBLIC_URL);
        let at = self.text().find(&start)?;
        Some(
            self.text()[at..]
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    /// The token of the invitation link in the message.
    pub fn token(&self) -> Option<String> {
        self.link("/i/")
            .map(|link| link.rsplit('/').next().unwrap_or_default().to_owned())
    }
}

/// The mail catcher of one test.
pub struct MailCatcher {
    pub smtp_port: u16,
    pub http_port: u16,
    dir: TempDir,
    child: Mutex<Option<tokio::process::Child>>,
    http: reqwest::Client,
}

/// The project's Python (its virtualenv, made by `scripts/bootstrap.sh`).
fn python() -> PathBuf {
    std::env::var_os("GG_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(home).join(".cache"));
            Some(cache.join("guestguard/venv/bin/python3"))
        })
        .expect("GG_PYTHON or HOME is set")
}

impl MailCatcher {
    /// Starts a catcher with an empty mailbox.
    pub async fn start() -> Self {
        let catcher = Self {
            smtp_port: free_port(),
            http_port: free_port(),
            dir: tempfile::Builder::new()
                .prefix("guestguard-test-mail-")
                .tempdir()
                .expect("temporary folder"),
            child: Mutex::new(None),
            http: reqwest::Client::new(),
        };
        catcher.start_server().await;
        catcher
    }

    /// Starts the SMTP server (again) on the same ports and mailbox.
    pub async fn start_server(&self) {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/tools/mail_catcher.py"
        );
        let python = python();
        let child = Command::new(&python)
            .arg(script)
            .args(["--smtp", &format!("127.0.0.1:{}", self.smtp_port)])
            .args(["--http", &format!("127.0.0.1:{}", self.http_port)])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "{} could not start the mail catcher (run scripts/bootstrap.sh): {error}",
                    python.display()
                )
            });
        if let Some(pid) = child.id() {
            watchdog(&format!("kill {pid} 2>/dev/null"));
        }
        *self.child.lock().await = Some(child);
        for port in [self.smtp_port, self.http_port] {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the mail catcher did not listen on {port}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Stops the SMTP server: connections to it are refused until it starts again.
    pub async fn stop_server(&self) {
        if let Some(mut child) = self.child.lock().await.take() {
            let _ = child.kill().await;
        }
        while TcpStream::connect(("127.0.0.1", self.smtp_port))
            .await
            .is_ok()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every message received so far, oldest first.
    pub async fn messages(&self) -> Vec<Mail> {
        self.http
            .get(format!("http://127.0.0.1:{}/api/messages", self.http_port))
            .send()
            .await
            .expect("the mail catcher answers")
            .json()
            .await
            .expect("the mail catcher's list is JSON")
    }

    /// The messages to `address`, oldest first.
    pub async fn to(&self, address: &str) -> Vec<Mail> {
        self.messages()
            .await
            .into_iter()
            .filter(|mail| mail.envelope_to.iter().any(|to| to == address))
            .collect()
    }

    /// Waits (up to 20 s) until `address` has received `count` messages; returns them.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let mails = self.to(address).await;
            if mails.len() >= count {
                return mails;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{address} received {} message(s), expected {count}: {:?}",
                mails.len(),
                mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A notification worker running in this test process.
pub struct NotifyWorker {
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Starts a worker on the test's database and NATS, sending mail to `smtp_port`, with
/// short retry delays (and any further settings from `extra`, which win).
pub async fn start_worker(
    database_url: &str,
    nats_url: &str,
    smtp_port: u16,
    extra: &[(&str, &str)],
) -> NotifyWorker {
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", database_url.to_owned()),
        ("NATS_URL", nats_url.to_owned()),
        ("GUESTGUARD_PUBLIC_URL", super::api::PUBLIC_URL.to_owned()),
        ("SMTP_HOST", "127.0.0.1".to_owned()),
        ("SMTP_PORT", smtp_port.to_string()),
        ("SMTP_TIMEOUT_SECS", "3".to_owned()),
        ("NOTIFY_RETRY_BASE_MS", "200".to_owned()),
        ("NOTIFY_RETRY_MAX_MS", "800".to_owned()),
        ("NOTIFY_POLL_MS", "100".to_owned()),
        ("NOTIFY_REMINDER_POLL_MS", "200".to_owned()),
        ("WEBHOOK_TIMEOUT_SECS", "3".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (name, value) in extra {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    let settings =
        app::notifications::settings::NotifySettings::from_lookup(|name| vars.get(name).cloned())
            .expect("worker settings are valid");
    let worker = app::notifications::worker::Worker::connect(settings)
        .await
        .expect("the worker starts");
    worker.migrate().await.expect("migrations");
    let stop = CancellationToken::new();
    let task = tokio::spawn(worker.run(stop.clone()));
    NotifyWorker {
        stop,
        task: Some(task),
    }
}

impl NotifyWorker {
    /// Stops the worker and waits until it has.
    pub async fn stop(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for NotifyWorker {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
