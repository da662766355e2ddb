//! What every request passes through at the edge of the web server, whatever route it
//! takes: who the client is ([`client`], behind trusted proxies), how often it may ask
//! ([`rate_limit`], shared by all replicas through PostgreSQL), and the security and
//! cache headers of the answer ([`headers`]). The HTTP server itself (timeouts,
//! connection cap, compression) is built in `server/src/startup.rs` and
//! `server/src/serve.rs`.

pub mod client;
pub mod headers;
pub mod rate_limit;
