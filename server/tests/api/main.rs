//! The REST API under `/api/v1`, end to end over HTTP against real PostgreSQL, NATS and
//! the fraud engine: what hosts do (accounts, API keys, events, guests, CSV, links),
//! what guests do (open a link, answer), and what an attacker tries.
//!
//! All tests of this binary share one PostgreSQL cluster, NATS server and fraud engine;
//! each test has its own database and web server (see `support::api::TestApi`).

#[path = "../support/mod.rs"]
mod support;

mod access;
mod api_keys;
mod auth;
mod csv;
mod docs;
mod events;
mod guests;
mod hostile_input;
mod links;
mod rsvps;
mod tenancy;
mod transport;
