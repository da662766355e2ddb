//! GuestGuard's web server as a library, so tests can start it exactly as `main` does.
//!
//! - [`startup`]: builds the application state and the router, binds the listener.
//! - [`serve`]: the HTTP server loop with its timeouts, connection cap and draining.
//! - [`health`]: `GET /healthz`, which really pings PostgreSQL, NATS and the fraud engine.
//! - [`api`]: JSON answers for the REST surface under `/api/`.
//! - [`telemetry`]: JSON logs with a request id on every line of a request.
//! - [`shutdown`]: SIGINT / SIGTERM handling shared by the server and background tasks.

pub mod api;
pub mod health;
pub mod serve;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
