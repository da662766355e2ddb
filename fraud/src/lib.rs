//! GuestGuard's fraud engine as a library, so tests start it exactly as `main` does.
//!
//! - [`settings`]: where to listen, from the environment.
//! - [`scoring`]: the `guestguard.fraud.v1.FraudService` implementation.
//! - [`startup`]: binds the gRPC server with the standard health service.

pub mod scoring;
pub mod settings;
pub mod startup;
