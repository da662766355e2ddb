//! Typed configuration of the fraud engine.

use std::net::SocketAddr;

/// Why the settings could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Everything the fraud engine needs to know about its surroundings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address the gRPC server binds (`FRAUD_GRPC_ADDR`, default `127.0.0.1:50059`;
    /// port 0 picks a free port).
    pub grpc_addr: SocketAddr,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Builds the settings from any variable lookup.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let grpc_addr = lookup("FRAUD_GRPC_ADDR")
            .unwrap_or_else(|| "127.0.0.1:50059".to_owned())
            .parse()
            .map_err(|e: std::net::AddrParseError| SettingsError::Invalid {
                name: "FRAUD_GRPC_ADDR",
                reason: e.to_string(),
            })?;
        Ok(Self { grpc_addr })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_address_is_a_fixed_loopback_port() {
        let s = Settings::from_lookup(|_| None).expect("defaults");
        assert_eq!(s.grpc_addr, "127.0.0.1:50059".parse().expect("addr"));
    }

    #[test]
    fn a_garbage_address_is_rejected_with_its_variable_name() {
        let err = Settings::from_lookup(|_| Some("not an address".into())).expect_err("invalid");
        assert!(matches!(
            err,
            SettingsError::Invalid {
                name: "FRAUD_GRPC_ADDR",
                ..
            }
        ));
    }
}
