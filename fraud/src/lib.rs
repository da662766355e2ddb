//! GuestGuard's fraud engine as a library, so tests start it exactly as `main` does.
//!
//! - [`settings`]: where to listen, where NATS is, the scoring weights, the retention,
//!   from the environment.
//! - [`heuristics`]: the pure scoring rules (reason codes, weights, risk bands) and the
//!   pure bookkeeping of what an access teaches.
//! - [`baselines`]: per-guest, per-device and per-origin memory in a NATS JetStream KV
//!   bucket, every value with a TTL.
//! - [`cache`]: the engine's copy of the baselines it read lately, kept coherent by a
//!   watch on the bucket.
//! - [`engine`]: score an access, approve a device, reset or forget a guest.
//! - [`recording`]: recording a scored access after answering; per-key turns.
//! - [`results`]: the score of each access consumed from JetStream, computed once.
//! - [`scoring`]: the `guestguard.fraud.v1.FraudService` implementation.
//! - [`consumer`]: the durable consumer loop, and the `access.attempted` consumer that
//!   publishes `fraud.scored`.
//! - [`forget`]: the `guest.forgotten` consumer.
//! - [`startup`]: connects NATS, binds the gRPC server with the standard health service
//!   and runs it beside the consumers.

pub mod baselines;
pub mod cache;
pub mod consumer;
pub mod engine;
pub mod forget;
pub mod heuristics;
pub mod recording;
pub mod results;
pub mod scoring;
pub mod settings;
pub mod startup;
