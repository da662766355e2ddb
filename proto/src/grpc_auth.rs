//! How the web server proves itself to the fraud engine over gRPC: a shared secret
//! (`FRAUD_GRPC_TOKEN` on both sides) sent as `authorization: Bearer <token>` on every
//! call and checked by the engine in constant time. (Where the engine's address is not
//! loopback, the channel is TLS as well, so the token never crosses a network in clear.)

use secrecy::{ExposeSecret, SecretString};
use tonic::{metadata::MetadataValue, Request, Status};

/// The token used in development (`scripts/dev.sh`, tests); production has none.
pub const DEVELOPMENT_TOKEN: &str = "development-only-fraud-grpc-token";
/// Shortest token accepted in production, in bytes.
pub const MIN_TOKEN_BYTES: usize = 32;

/// Client side: adds the bearer token to every request.
#[derive(Clone)]
pub struct AttachToken {
    header: MetadataValue<tonic::metadata::Ascii>,
}

impl AttachToken {
    /// `None` when the token cannot be a header value (control characters).
    pub fn new(token: &SecretString) -> Option<Self> {
        format!("Bearer {}", token.expose_secret())
            .parse()
            .ok()
            .map(|header| Self { header })
    }
}

impl tonic::service::Interceptor for AttachToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.header.clone());
        Ok(request)
    }
}

/// Server side: refuses every request without the right bearer token
/// (`UNAUTHENTICATED`, the same answer for a missing and a wrong one).
#[derive(Clone)]
pub struct RequireToken {
    expected: SecretString,
}

impl RequireToken {
    pub fn new(token: SecretString) -> Self {
        Self { expected: token }
    }

    /// Whether `presented` (the whole `authorization` value) carries the token.
    pub fn accepts(&self, presented: Option<&[u8]>) -> bool {
        let expected = format!("Bearer {}", self.expected.expose_secret());
        presented.is_some_and(|presented| constant_time_eq(presented, expected.as_bytes()))
    }
}

impl tonic::service::Interceptor for RequireToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let presented = request
            .metadata()
            .get("authorization")
            .map(|value| value.as_bytes());
        if self.accepts(presented) {
            Ok(request)
        } else {
            Err(Status::unauthenticated("a valid service token is required"))
        }
    }
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor as _;

    #[test]
    fn a_request_with_the_token_passes_and_any_other_is_unauthenticated() {
        let token = SecretString::from("s3cret-token");
        let mut attach = AttachToken::new(&token).expect("valid header");
        let mut require = RequireToken::new(token);
        let signed = attach.call(Request::new(())).expect("attached");
        assert!(require.call(signed).is_ok());
        let bare = require.call(Request::new(())).expect_err("refused");
        assert_eq!(bare.code(), tonic::Code::Unauthenticated);
        let mut wrong = AttachToken::new(&SecretString::from("s3cret-tokeN")).expect("valid");
        let forged = wrong.call(Request::new(())).expect("attached");
        assert_eq!(
            require.call(forged).expect_err("refused").code(),
            tonic::Code::Unauthenticated
        );
    }
}
