//! Building and running the web server: state first (connections are lazy and reconnect
//! on their own, so a dependency that is down at startup or later only shows in
//! `/healthz`), then the router (no I/O, so tests can drive it with `oneshot`), then the
//! listener.

use crate::{api, health, telemetry::RequestSpan};
use anyhow::Context as _;
use app::invitations::token::{KeyId, Keyring};
use app::{outbox::Relay, settings::Settings, shell, state::AppState, App};
use axum::{routing::any, routing::get, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use proto::fraud::v1::fraud_service_client::FraudServiceClient;
use sqlx::postgres::PgPoolOptions;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

/// A built, bound, not yet running web server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    stop: CancellationToken,
}

impl Application {
    /// Connects to every dependency, applies database migrations and binds to
    /// `leptos_options.site_addr` (port 0 picks a free port).
    pub async fn build(
        settings: Settings,
        leptos_options: LeptosOptions,
        stop: CancellationToken,
    ) -> anyhow::Result<Self> {
        let state = connect(settings, leptos_options.clone()).await?;
        sqlx::migrate!("../migrations")
            .run(&state.pool)
            .await
            .context("applying database migrations")?;
        let listener = TcpListener::bind(leptos_options.site_addr)
            .await
            .with_context(|| format!("binding {}", leptos_options.site_addr))?;
        Ok(Self {
            listener,
            router: router(state.clone()),
            state,
            stop,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.address().port()
    }

    /// Serves, relays the outbox and consumes fraud scores until the stop token is
    /// cancelled; then drains in-flight requests and stops the background tasks.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let state = self.state;
        let relay = Relay::new(
            state.pool.clone(),
            state.nats.clone(),
            state.jetstream.clone(),
            state.outbox_wake.clone(),
        )
        .run(self.stop.clone());
        let scores = app::fraud::scores::run(
            state.pool.clone(),
            state.jetstream.clone(),
            self.stop.clone(),
        );
        let stop = self.stop.clone();
        let serve = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.cancelled().await });
        let (served, (), ()) = tokio::join!(async move { serve.await }, relay, scores);
        served
    }
}

/// Opens (lazily) every connection the application needs.
pub async fn connect(
    settings: Settings,
    leptos_options: LeptosOptions,
) -> anyhow::Result<AppState> {
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(settings.database_url())
        .context("parsing DATABASE_URL")?;
    let nats = async_nats::ConnectOptions::new()
        .name("guestguard-server")
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        .connect(settings.nats_url.as_str())
        .await
        .context("connecting to NATS")?;
    let jetstream = async_nats::jetstream::new(nats.clone());
    let channel = Endpoint::from_shared(settings.fraud_grpc_url.clone())
        .context("parsing FRAUD_GRPC_URL")?
        .connect_timeout(Duration::from_millis(250))
        .connect_lazy();
    let keyring = signing_keyring(&settings)?;
    Ok(AppState {
        leptos_options,
        keyring,
        pool,
        nats,
        jetstream,
        fraud: FraudServiceClient::new(channel.clone()),
        fraud_health: tonic_health::pb::health_client::HealthClient::new(channel),
        settings: Arc::new(settings),
        rate_limiter: Default::default(),
        outbox_wake: Default::default(),
    })
}

/// The keys that sign and verify invitation tokens: the current one, plus the retired
/// one while its overlap window lasts.
fn signing_keyring(settings: &Settings) -> anyhow::Result<Keyring> {
    let current = KeyId::parse(&settings.signing_key_id).context("GUESTGUARD_SIGNING_KEY_ID")?;
    let mut keyring = Keyring::new(current, settings.signing_key.clone())?;
    if let Some(previous) = &settings.previous_signing_key {
        let id = KeyId::parse(&previous.id).context("GUESTGUARD_PREVIOUS_SIGNING_KEY_ID")?;
        keyring = keyring.with_previous(id, previous.key.clone(), previous.valid_until)?;
    }
    Ok(keyring)
}

/// The Leptos routes of [`App`], generated once per process. Generating them renders
/// the app with resource loading switched off process-wide (a global flag in
/// leptos_server, leptos-rs/leptos#4773), so a second generation while another router
/// in the same process is rendering a page (several servers in one test process) can
/// leave that page's resources pending forever.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole HTTP surface. Builds no connections: give it any state.
pub fn router(state: AppState) -> Router {
    let routes = route_list();
    let leptos_options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .nest("/api/v1", api::v1())
        .route("/api/{*rest}", any(api::not_found))
        .route("/api", any(api::not_found))
        .leptos_routes(&state, routes, {
            let leptos_options = leptos_options.clone();
            move || shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(RequestSpan))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}
