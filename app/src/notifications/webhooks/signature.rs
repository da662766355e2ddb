//! Webhook secrets and signatures.
//!
//! A secret is `whsec_` + base64url(HMAC-SHA256(`GUESTGUARD_WEBHOOK_KEY`,
//! `"guestguard-webhook:<id>:<version>"`)): derived, never stored. A delivery's
//! `GuestGuard-Signature` header is `t=<unix seconds>,v1=<hex>` with one `v1` per valid
//! secret, each HMAC-SHA256 keyed with the secret's text over `"<t>.<body>"`.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use uuid::Uuid;

/// Name of the signature header.
pub const HEADER: &str = "GuestGuard-Signature";
/// How far a signature's timestamp may be from the receiver's clock.
pub const REPLAY_WINDOW_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key"))
}

/// The secret of version `version` of webhook `id`.
pub fn secret(key: &SecretString, id: Uuid, version: i32) -> String {
    let mut mac = mac(key.expose_secret().as_bytes());
    mac.update(format!("guestguard-webhook:{id}:{version}").as_bytes());
    format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// The header value signing `body` at `timestamp` with every secret in `secrets`.
pub fn header(secrets: &[String], timestamp: i64, body: &[u8]) -> String {
    let mut value = format!("t={timestamp}");
    for secret in secrets {
        value.push_str(",v1=");
        value.push_str(&sign(secret, timestamp, body));
    }
    value
}

/// Hex HMAC-SHA256 keyed with `secret` over `"<timestamp>.<body>"`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = mac(secret.as_bytes());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Why a signature does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the timestamp is outside the replay window")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// What a receiver does: checks the timestamp against `now` and that one `v1` matches
/// `secret` (constant-time comparison).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::Malformed)?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed);
    }
    if (now - timestamp).abs() > REPLAY_WINDOW_SECS {
        return Err(VerifyError::Stale);
    }
    let mut mac = mac(secret.as_bytes());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    let matches = signatures.iter().any(|candidate| {
        let Some(bytes) = decode_hex(candidate) else {
            return false;
        };
        subtle::ConstantTimeEq::ct_eq(bytes.as_slice(), expected.as_slice()).into()
    });
    if matches {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_derived_per_webhook_and_version() {
        let key = SecretString::from("k".repeat(40));
        let id = Uuid::from_u128(7);
        let first = secret(&key, id, 1);
        assert!(first.starts_with("whsec_") && first.len() == 6 + 43);
        assert_eq!(first, secret(&key, id, 1));
        assert_ne!(first, secret(&key, id, 2));
        assert_ne!(first, secret(&key, Uuid::from_u128(8), 1));
        assert_ne!(first, secret(&SecretString::from("x".repeat(40)), id, 1));
    }

    #[test]
    fn a_receiver_accepts_fresh_signatures_by_either_secret_and_nothing_else() {
        let body = br#"{"type":"ping"}"#;
        let (old, new) = ("whsec_old".to_owned(), "whsec_new".to_owned());
        let header = header(&[new.clone(), old.clone()], 1_000, body);
        assert_eq!(header.matches("v1=").count(), 2);
        assert_eq!(verify(&new, &header, body, 1_100), Ok(()));
        assert_eq!(verify(&old, &header, body, 1_100), Ok(()));
        assert_eq!(
            verify("whsec_other", &header, body, 1_100),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(&new, &header, b"{}", 1_100),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(verify(&new, &header, body, 1_301), Err(VerifyError::Stale));
        assert_eq!(
            verify(&new, "v1=abc", body, 1_000),
            Err(VerifyError::Malformed)
        );
        // A known vector, computed independently:
        // printf '1000.{"type":"ping"}' | openssl dgst -sha256 -hmac whsec_new
        assert_eq!(
            sign(&new, 1_000, body),
            "306283f3aa69c1f5cb99743d5efae4f3290ba4cd2e646c657b25f4dd02542db3"
        );
    }
}
