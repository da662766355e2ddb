//! The error answers that many operations share, written once: each set is a type for
//! the `responses(...)` of `#[utoipa::path]`, next to the operation's own tuples, e.g.
//! `responses((status = 200, ...), crate::api_docs::responses::ResourceErrors)`.
//! Every answer in a set has the [`ErrorBody`] schema. An operation that words one of
//! these answers its own way keeps its own tuple instead of the set.

use super::openapi::ErrorBody;
use utoipa::IntoResponses;

const KEY_OR_SESSION: &str = "Not signed in, or the key or session is not valid";
const NOT_SIGNED_IN: &str = "Not signed in";
const MALFORMED_BODY: &str = "Malformed request body";
const INVALID_FIELD: &str = "A field is invalid; `field` names it";
const SESSION_REQUIRED: &str = "Cross-site request, or an API key (`session_required`)";

/// Declares each set as an enum with one `#[response]` variant per answer:
/// `Name { status Variant => description, ... }`.
macro_rules! error_sets {
    ($($(#[$doc:meta])* $set:ident { $($status:tt $variant:ident => $description:tt),+ $(,)? })+) => {$(
        $(#[$doc])*
        #[derive(IntoResponses)]
        pub enum $set {
            $(
                #[response(status = $status, description = $description)]
                $variant(ErrorBody),
            )+
        }
    )+};
}

error_sets! {
    /// A host's resource, reached with an API key or the session: 401 and 404.
    ResourceErrors {
        401 Unauthorized => KEY_OR_SESSION,
        404 NotFound => "No such resource for this host",
    }
    /// A host's operation (API key or session) with no resource to miss: 401.
    AuthErrors { 401 Unauthorized => KEY_OR_SESSION }
    /// A JSON body that does not parse (400) or a field that is invalid (422).
    BodyErrors {
        400 BadRequest => MALFORMED_BODY,
        422 Unprocessable => INVALID_FIELD,
    }
    /// A body (or query) that does not parse (400), where any 422 is the operation's own.
    MalformedBody { 400 BadRequest => MALFORMED_BODY }
    /// No valid credentials, in the short wording (review, notifications, sessions).
    NotSignedIn { 401 Unauthorized => NOT_SIGNED_IN }
    /// A write of the review: no valid credentials (401), or from another site (403).
    CrossSiteErrors {
        401 Unauthorized => NOT_SIGNED_IN,
        403 Forbidden => "Cross-site request",
    }
    /// An operation only the session may do: from another site or with an API key (403).
    SessionRequired { 403 Forbidden => SESSION_REQUIRED }
    /// An operation only a valid session may do: 401 without one, 403 with an API key.
    SessionErrors {
        401 Unauthorized => "Not signed in, or the session is not valid",
        403 Forbidden => SESSION_REQUIRED,
    }
    /// A guest's link that sends a body: bad token or body, a gone link, an invalid
    /// field, too many requests.
    LinkErrors {
        400 BadRequest => "Malformed token or body",
        410 Gone => "Revoked or expired link",
        422 Unprocessable => INVALID_FIELD,
        429 TooManyRequests => "Too many requests",
    }
}
