//! Entry point of the web server: wires logs, settings and shutdown, then runs.

use app::settings::Settings;
use server::{shutdown, startup::Application, telemetry};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init("server");
    let settings = Settings::from_env()?;
    let leptos_options = leptos::config::get_configuration(None)?.leptos_options;

    let stop = CancellationToken::new();
    tokio::spawn(shutdown::cancel_on_signal(stop.clone()));

    let application = Application::build(settings, leptos_options, stop).await?;
    tracing::info!(
        url = %format!("http://{}", application.address()),
        "GuestGuard web server is listening"
    );
    application.run_until_stopped().await?;
    tracing::info!("GuestGuard web server stopped");
    Ok(())
}
