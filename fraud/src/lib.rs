//! GuestGuard's fraud engine as a library, so tests start it exactly as `main` does.
//!
//! - [`settings`]: where to listen, where NATS is, the fingerprint key and the scoring
//!   weights, from the environment.
//! - [`heuristics`]: the pure scoring rules (reason codes, weights, risk bands).
//! - [`baselines`]: per-guest and per-device memory in a NATS JetStream KV bucket.
//! - [`results`]: the score of each access consumed from JetStream, computed once.
//! - [`scoring`]: the `guestguard.fraud.v1.FraudService` implementation.
//! - [`consumer`]: the durable `access.attempted` consumer that publishes `fraud.scored`.
//! - [`startup`]: connects NATS, binds the gRPC server with the standard health service
//!   and runs it beside the consumer.

pub mod baselines;
pub mod consumer;
pub mod heuristics;
pub mod results;
pub mod scoring;
pub mod settings;
pub mod startup;
