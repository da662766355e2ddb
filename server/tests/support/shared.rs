//! Services shared by every test of one test binary: one PostgreSQL cluster with a
//! migrated template database, one NATS JetStream server and one fraud engine.
//!
//! They start with the first test that asks for them, on a runtime of their own (each
//! `#[tokio::test]` has its own runtime, which ends with its test), and live until the
//! test binary exits; the watchdogs of [`super::services`] then stop the external
//! processes and remove their data. Each test gets a fresh database copied from the
//! template, so tests never see each other's rows and never wait for migrations; a few
//! copies are made ahead of time, while other tests run.

use super::services::{NatsServer, Postgres};
use sqlx::{postgres::PgPoolOptions, PgPool};
use std::{net::SocketAddr, sync::OnceLock};
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The migrated database every test database is copied from.
const TEMPLATE: &str = "guestguard_template";
/// How many test databases are kept ready.
const SPARE_DATABASES: usize = 3;

/// The services of this test binary.
pub struct SharedServices {
    pub postgres: Postgres,
    pub nats: NatsServer,
    pub fraud_address: SocketAddr,
    /// The runtime the services (and `admin`) live on.
    runtime: tokio::runtime::Handle,
    /// Connections to the cluster's maintenance database, for creating databases.
    admin: PgPool,
    /// Test databases made ahead of time, by name.
    spare: Mutex<mpsc::Receiver<String>>,
}

static SHARED: OnceLock<SharedServices> = OnceLock::new();

/// The services of this test binary, started on first use.
pub async fn services() -> &'static SharedServices {
    if let Some(shared) = SHARED.get() {
        return shared;
    }
    tokio::task::spawn_blocking(|| SHARED.get_or_init(SharedServices::start))
        .await
        .expect("the shared test services started")
}

impl SharedServices {
    /// Starts the services on a thread and runtime that last as long as the process.
    fn start() -> Self {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("shared-test-services".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a runtime for the shared services");
                let handle = runtime.handle().clone();
                runtime.block_on(async move {
                    let services = Self::start_services(handle).await;
                    let _ = sender.send(services);
                    // Keep the fraud engine and the admin pool running until exit.
                    std::future::pending::<()>().await;
                });
            })
            .expect("a thread for the shared services");
        receiver
            .recv()
            .expect("the shared test services failed to start (see the panic above)")
    }

    async fn start_services(runtime: tokio::runtime::Handle) -> Self {
        super::init_tracing();
        let (postgres, nats) = tokio::join!(Postgres::start(), NatsServer::start());
        let fraud_address = super::start_fraud_engine(&nats.url(), CancellationToken::new()).await;
        let admin = PgPoolOptions::new()
            .max_connections(4)
            .connect(&postgres.url)
            .await
            .expect("the shared cluster accepts connections");
        let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
            .fetch_one(&admin)
            .await
            .expect("the server's version");
        // FILE_COPY copies the template's files (about 8 MB) instead of logging each
        // page: about twice as fast for a database this small.
        let copy_strategy = if version >= 150_000 {
            " STRATEGY FILE_COPY"
        } else {
            ""
        };
        sqlx::query(&format!("CREATE DATABASE {TEMPLATE}"))
            .execute(&admin)
            .await
            .expect("the template database is created");
        let template = PgPoolOptions::new()
            .max_connections(1)
            .connect(&postgres.database_url(TEMPLATE))
            .await
            .expect("the template database accepts connections");
        sqlx::migrate!("../migrations")
            .run(&template)
            .await
            .expect("migrations apply to the template database");
        // Copying a database needs it to have no connections left.
        template.close().await;
        let (ready, spare) = mpsc::channel(SPARE_DATABASES);
        tokio::spawn(copy_template_ahead(admin.clone(), copy_strategy, ready));
        Self {
            postgres,
            nats,
            fraud_address,
            runtime,
            admin,
            spare: Mutex::new(spare),
        }
    }

    /// A new, migrated, empty database, by name.
    pub async fn fresh_database(&self) -> String {
        self.spare
            .lock()
            .await
            .recv()
            .await
            .expect("test databases are copied from the template (see the panic above)")
    }

    /// Drops a test database in the background (its connections are cut).
    pub fn drop_database(&self, name: &str) {
        let admin = self.admin.clone();
        let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        self.runtime.spawn(async move {
            let _ = sqlx::query(&statement).execute(&admin).await;
        });
    }
}

/// Keeps [`SPARE_DATABASES`] fresh copies of the template ready in `ready`.
async fn copy_template_ahead(admin: PgPool, strategy: &'static str, ready: mpsc::Sender<String>) {
    loop {
        let name = format!("t_{}", Uuid::new_v4().simple());
        sqlx::query(&format!(
            "CREATE DATABASE {name} TEMPLATE {TEMPLATE}{strategy}"
        ))
        .execute(&admin)
        .await
        .expect("a test database is copied from the template");
        if ready.send(name).await.is_err() {
            return;
        }
    }
}
