//! GuestGuard's fraud engine as a library, so tests start it exactly as `main` does.
//!
//! - [`settings`]: where to listen, where NATS is, the fingerprint key and the scoring
//!   weights, from the environment.
//! - [`heuristics`]: the pure scoring rules (reason codes, weights, risk bands).
//! - [`baselines`]: per-guest and per-device memory in a NATS JetStream KV bucket.
//! - [`scoring`]: the `guestguard.fraud.v1.FraudService` implementation.
//! - [`startup`]: connects NATS, binds the gRPC server with the standard health service.

pub mod baselines;
pub mod heuristics;
pub mod scoring;
pub mod settings;
pub mod startup;
