//! The notification worker: consumes answers and fraud scores from NATS, delivers
//! emails, text messages and webhooks with retries, and queues reminders when they are
//! due (`app::notifications`). Run one or several beside the web servers.

use app::notifications::{settings::NotifySettings, worker::Worker};
use server::{shutdown, telemetry};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init("notify");
    let settings = NotifySettings::from_env()?;
    let stop = CancellationToken::new();
    tokio::spawn(shutdown::cancel_on_signal(stop.clone()));

    let worker = Worker::connect(settings)
        .await
        .map_err(|error| anyhow::anyhow!(error))?;
    // The web server applies migrations too; whichever starts first does it.
    let mut delay = std::time::Duration::from_millis(200);
    while let Err(error) = worker.migrate().await {
        if stop.is_cancelled() {
            return Ok(());
        }
        tracing::warn!(%error, "database not ready for migrations; retrying");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(5));
    }
    tracing::info!("GuestGuard notification worker started");
    worker.run(stop).await;
    Ok(())
}
