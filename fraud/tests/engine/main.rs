//! The fraud engine end to end: a real NATS JetStream, real gRPC servers, a tonic client.

mod auth;
mod baselines;
mod consumer;
mod helpers;
mod heuristics;
mod retention;
mod scenarios;
mod trust;
