//! Building and running the web server: state first (connections are lazy and reconnect
//! on their own, so a dependency that is down at startup or later only shows in
//! `/healthz`), then the router (no I/O, so tests can drive it with `oneshot`), then the
//! listener, served by `serve.rs` with its timeouts and connection cap.
//!
//! Every request passes, outermost first: request id → trace span → client address
//! (trusted proxies) → deadline → compression → security and cache headers → the route.

use crate::{api, health, serve, telemetry::RequestSpan};
use anyhow::Context as _;
use app::{
    edge::{self, headers::HeaderPolicy},
    error::AppError,
    fraud::client::EngineChannel,
    hosts::credentials::PasswordHashing,
    outbox::Relay,
    page_shell,
    settings::{Environment, Settings},
    shell,
    state::AppState,
    App,
};
use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, get},
    Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use proto::{fraud::v1::fraud_service_client::FraudServiceClient, grpc_auth::AttachToken};
use sqlx::postgres::PgPoolOptions;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tower_http::{
    compression::{
        predicate::{DefaultPredicate, Predicate as _},
        CompressionLayer,
    },
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

    /// Serves, relays the outbox, consumes fraud scores, pushes activity to the live
    /// monitors, purges expired rate-limit counters and runs the retention job until the stop token is cancelled; then drains in-flight requests and
    /// stops the background tasks.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let state = self.state;
        let purge = edge::rate_limit::purge_expired(state.pool.clone(), self.stop.clone());
        let retention = app::retention::run(
            state.pool.clone(),
            state.settings.retention,
            state.settings.session_idle,
            self.stop.clone(),
        );
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
            state.nats.clone(),
            self.stop.clone(),
        );
        let activity =
            state
                .activity
                .clone()
                .run(state.nats.clone(), state.pool.clone(), self.stop.clone());
        let serve = serve::serve(
            self.listener,
            self.router,
            state.settings.http,
            self.stop.clone(),
        );
        let (served, (), (), (), (), ()) =
            tokio::join!(serve, relay, scores, purge, retention, activity);
        served
    }
}

/// Opens (lazily) every connection the application needs.
pub async fn connect(
    settings: Settings,
    leptos_options: LeptosOptions,
) -> anyhow::Result<AppState> {
    // A short acquire timeout: with PostgreSQL down, a request is answered 503 at once
    // rather than after seconds in the pool's queue.
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(settings.database_acquire_timeout)
        .connect_lazy(settings.database_url())
        .context("parsing DATABASE_URL")?;
    let nats = settings
        .nats_credentials
        .connect_options(proto::nats::SERVER)
        .await
        .context("reading the NATS credentials file")?
        .name("guestguard-server")
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        .connect(settings.nats_url.as_str())
        .await
        .context("connecting to NATS")?;
    let jetstream = async_nats::jetstream::new(nats.clone());
    let channel = fraud_channel(&settings)?;
    let keyring = settings.signing_keys().keyring()?;
    Ok(AppState {
        leptos_options,
        keyring,
        rate_limiter: edge::rate_limit::RateLimiter::new(pool.clone()),
        password_hashing: PasswordHashing::new(settings.password_hashing),
        pool,
        nats,
        jetstream,
        fraud: FraudServiceClient::new(channel.clone()),
        fraud_breaker: Arc::new(app::fraud::breaker::Breaker::new(settings.fraud_breaker)),
        fraud_health: tonic_health::pb::health_client::HealthClient::new(channel),
        settings: Arc::new(settings),
        outbox_wake: Default::default(),
        activity: app::monitor::hub::Hub::new(),
    })
}

/// The channel to the fraud engine: lazily connected, TLS with the configured CA for an
/// `https://` address, and the service token on every call.
fn fraud_channel(settings: &Settings) -> anyhow::Result<EngineChannel> {
    let mut endpoint = Endpoint::from_shared(settings.fraud_grpc_url.clone())
        .context("parsing FRAUD_GRPC_URL")?
        .connect_timeout(Duration::from_millis(250));
    if let Some(ca) = &settings.fraud_grpc_ca_cert {
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
            .context("configuring TLS to the fraud engine")?;
    }
    let token = AttachToken::new(&settings.fraud_grpc_token)
        .context("FRAUD_GRPC_TOKEN cannot be sent as a header")?;
    Ok(tonic::service::interceptor::InterceptedService::new(
        endpoint.connect_lazy(),
        token,
    ))
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
    let header_policy = HeaderPolicy {
        production: state.settings.environment == Environment::Production,
        hashed_assets: leptos_options.hash_files,
    };
    let proxies = state.settings.trusted_proxies.clone();
    let deadline = state.settings.http.request_timeout;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/healthz/detail", get(health::healthz_detail))
        .nest("/api/v1", api::v1())
        .route("/api/{*rest}", any(api::not_found))
        .route("/api", any(api::not_found))
        .route(
            "/unsubscribe/{id}",
            axum::routing::post(app::notifications::unsubscribe::post),
        )
        .route(
            "/i/{token}/calendar.ics",
            get(app::rsvps::calendar::download),
        )
        // A guest's invitation page is rendered into its own document (page_shell).
        .leptos_routes(&state, routes, {
            let leptos_options = leptos_options.clone();
            move || page_shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            header_policy,
            edge::headers::secure,
        ))
        .layer(CompressionLayer::new().compress_when(DefaultPredicate::new().and(not_an_upgrade)))
        .layer(middleware::from_fn_with_state(deadline, request_deadline))
        .layer(middleware::from_fn_with_state(
            proxies,
            edge::client::resolve,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(RequestSpan))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Middleware: a request not answered within the deadline is answered 503 with
/// `Retry-After` (code `timed_out`) and its work is dropped.
async fn request_deadline(
    State(deadline): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%path, deadline_ms = deadline.as_millis() as u64, "request timed out");
            AppError::TimedOut.into_response()
        }
    }
}

/// Compression predicate: a WebSocket handshake (101) has no body to compress.
fn not_an_upgrade(
    status: StatusCode,
    _: axum::http::Version,
    _: &axum::http::HeaderMap,
    _: &axum::http::Extensions,
) -> bool {
    status != StatusCode::SWITCHING_PROTOCOLS
}
