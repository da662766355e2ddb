//! Generated gRPC types for GuestGuard's service contracts.
//!
//! The `.proto` files under `proto/` are the source of truth; this crate only compiles
//! them (see `build.rs`) so the web server and the fraud engine share one definition.
//! [`events`] is the other contract: the JetStream stream and its JSON messages.
//! [`nats`] and [`grpc_auth`] say how the services authenticate to NATS and to each
//! other.

pub mod events;
pub mod grpc_auth;
pub mod nats;

/// `guestguard.fraud.v1`: scoring of access attempts and RSVPs.
pub mod fraud {
    /// Version 1 of the fraud-scoring contract.
    pub mod v1 {
        #![allow(clippy::all, reason = "generated code")]
        tonic::include_proto!("guestguard.fraud.v1");
    }
}
