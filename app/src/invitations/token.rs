//! The invitation token itself: the string in a personal link `/i/<token>`.
//!
//! This module owns the token's wire format, its signing keys and their rotation, and
//! the cheap checks that run before any database lookup. It knows nothing about the
//! database or HTTP: [`parse_format`] rejects anything not shaped like a token,
//! [`Keyring::verify`] checks the signature, and the caller decides what an expired
//! link means (see [`TokenClaims::is_expired`]).
//!
//! # Wire format
//!
//! `gg1_` followed by the unpadded base64url encoding of 96 bytes:
//!
//! | bytes | field |
//! | --- | --- |
//! | 0..16 | token id (UUID) |
//! | 16..32 | guest id (UUID) |
//! | 32..48 | event id (UUID) |
//! | 48..56 | expiry, big-endian `i64` Unix seconds |
//! | 56..64 | key id, ASCII, right-padded with zero bytes |
//! | 64..96 | HMAC-SHA256 over `b"gg1"` followed by bytes 0..64 |
//!
//! so every token is exactly [`TOKEN_LENGTH`] (132) URL-safe characters.
//!
//! # Key rotation
//!
//! A [`Keyring`] signs with its current key and also accepts tokens signed with
//! retired keys until each one's `valid_until`, so links already sent keep working
//! during the overlap.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// What every token starts with: format version 1.
pub const TOKEN_PREFIX: &str = "gg1_";

/// Domain separation for the signature: the version, without the separator.
const SIGNING_DOMAIN: &[u8] = b"gg1";

/// Longest key id, in bytes (its slot in the payload).
pub const KEY_ID_MAX_LEN: usize = 8;

/// Bytes covered by the signature.
const PAYLOAD_LEN: usize = 16 + 16 + 16 + 8 + KEY_ID_MAX_LEN;
/// Bytes of the HMAC-SHA256 tag.
const TAG_LEN: usize = 32;
/// Bytes encoded after the prefix.
const BODY_LEN: usize = PAYLOAD_LEN + TAG_LEN;
// A whole number of 3-byte groups encodes without padding and without spare bits, so
// exactly one string encodes each token.
const _: () = assert!(BODY_LEN.is_multiple_of(3));
/// Characters after the prefix.
const ENCODED_LEN: usize = BODY_LEN / 3 * 4;

/// Exact length of every token, in characters (and bytes: all are ASCII).
pub const TOKEN_LENGTH: usize = TOKEN_PREFIX.len() + ENCODED_LEN;

const TOKEN_ID_RANGE: std::ops::Range<usize> = 0..16;
const GUEST_ID_RANGE: std::ops::Range<usize> = 16..32;
const EVENT_ID_RANGE: std::ops::Range<usize> = 32..48;
const EXPIRY_RANGE: std::ops::Range<usize> = 48..56;
const KEY_ID_RANGE: std::ops::Range<usize> = 56..PAYLOAD_LEN;

/// Why a token was refused. Deliberately coarse: callers answer a bad signature and an
/// unknown token the same way, so nothing here says which check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not shaped like a token at all (prefix, length or alphabet).
    #[error("this is not an invitation token")]
    Malformed,
    /// Shaped like a token, but not one this server signed (or signed with a key that
    /// is no longer accepted).
    #[error("this invitation token is not valid")]
    BadSignature,
}

/// Why a string is not a key id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyIdError {
    /// The key id is empty.
    #[error("a key id must not be empty")]
    Empty,
    /// The key id is longer than [`KEY_ID_MAX_LEN`] characters.
    #[error("a key id has at most {KEY_ID_MAX_LEN} characters")]
    TooLong,
    /// The key id has a character outside `[a-z0-9]`.
    #[error("a key id has only the characters a-z and 0-9")]
    InvalidCharacter,
}

/// Identifier of a signing key, embedded in every token: 1 to 8 characters of
/// `[a-z0-9]`.
///
/// Held as its payload slot (no allocation: every token verified carries one).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId {
    /// The id's bytes, right-padded with zeros, as in the payload.
    slot: [u8; KEY_ID_MAX_LEN],
    len: u8,
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeyId").field(&self.as_str()).finish()
    }
}

impl KeyId {
    /// Checks and wraps a key id.
    pub fn parse(raw: &str) -> Result<Self, KeyIdError> {
        if raw.is_empty() {
            return Err(KeyIdError::Empty);
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(KeyIdError::InvalidCharacter);
        }
        if raw.len() > KEY_ID_MAX_LEN {
            return Err(KeyIdError::TooLong);
        }
        let len = u8::try_from(raw.len()).map_err(|_| KeyIdError::TooLong)?;
        let mut slot = [0u8; KEY_ID_MAX_LEN];
        slot[..raw.len()].copy_from_slice(raw.as_bytes());
        Ok(Self { slot, len })
    }

    /// The key id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters and digits are ever stored (checked by `parse`).
        std::str::from_utf8(&self.slot[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The key id's slot in the payload: its bytes, right-padded with zeros.
    fn to_slot(self) -> [u8; KEY_ID_MAX_LEN] {
        self.slot
    }

    /// Reads a key id from its payload slot: a valid key id followed only by zeros.
    fn from_slot(slot: &[u8]) -> Option<Self> {
        let len = slot.iter().position(|&b| b == 0).unwrap_or(slot.len());
        if slot[len..].iter().any(|&b| b != 0) {
            return None;
        }
        let text = std::str::from_utf8(&slot[..len]).ok()?;
        Self::parse(text).ok()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for KeyId {
    type Err = KeyIdError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

/// What a verified token says. Only [`Keyring::issue`] and [`Keyring::verify`] produce
/// these from tokens, so holding one means the signature was checked (expiry was not:
/// see [`TokenClaims::is_expired`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenClaims {
    /// Identifies this link (one guest may have had several).
    pub token_id: Uuid,
    /// The guest the link is for.
    pub guest_id: Uuid,
    /// The event the guest is invited to.
    pub event_id: Uuid,
    /// When the link stops working, at whole-second precision.
    pub expires_at: DateTime<Utc>,
    /// The key that signed the token.
    pub key_id: KeyId,
}

impl TokenClaims {
    /// Whether the link has expired at `now` (it is expired from `expires_at` on).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// The signed part of the token.
    fn payload(&self) -> [u8; PAYLOAD_LEN] {
        let mut payload = [0u8; PAYLOAD_LEN];
        payload[TOKEN_ID_RANGE].copy_from_slice(self.token_id.as_bytes());
        payload[GUEST_ID_RANGE].copy_from_slice(self.guest_id.as_bytes());
        payload[EVENT_ID_RANGE].copy_from_slice(self.event_id.as_bytes());
        payload[EXPIRY_RANGE].copy_from_slice(&self.expires_at.timestamp().to_be_bytes());
        payload[KEY_ID_RANGE].copy_from_slice(&self.key_id.to_slot());
        payload
    }
}

/// A token that has the right shape but whose signature has not been checked yet.
/// It tells which key to check it with and which link it claims to be, nothing more:
/// the rest becomes [`TokenClaims`] only through [`Keyring::verify`].
#[derive(Clone)]
pub struct UnverifiedToken {
    payload: [u8; PAYLOAD_LEN],
    tag: [u8; TAG_LEN],
    claims: TokenClaims,
}

impl UnverifiedToken {
    /// The link id the token claims (untrusted until verified).
    pub fn token_id(&self) -> Uuid {
        self.claims.token_id
    }

    /// The key id the token claims to be signed with (untrusted until verified).
    pub fn key_id(&self) -> &KeyId {
        &self.claims.key_id
    }
}

impl fmt::Debug for UnverifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedToken")
            .field("token_id", &self.claims.token_id)
            .field("key_id", &self.claims.key_id)
            .finish_non_exhaustive()
    }
}

/// Checks that `raw` is shaped like a token, without any cryptography: exact prefix,
/// exact length and URL-safe base64 alphabet — [`TokenError::Malformed`] otherwise.
/// Every such string decodes (96 bytes fill whole base64 groups). One whose payload
/// could not have been signed here — a key id slot that holds no key id, an expiry
/// outside the calendar — is [`TokenError::BadSignature`], like any other token this
/// server did not sign: so the format a client can check (`gg1_` and 128 characters
/// of `[A-Za-z0-9_-]`, what the OpenAPI document says) is exactly what is not
/// malformed.
pub fn parse_format(raw: &str) -> Result<UnverifiedToken, TokenError> {
    if raw.len() != TOKEN_LENGTH {
        return Err(TokenError::Malformed);
    }
    let encoded = raw
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(TokenError::Malformed)?;
    // The URL-safe alphabet without padding is the decoder's own check below.
    // Decoded on the stack (the decoder asks for room for a whole last quantum).
    let mut decoded = [0u8; BODY_LEN + 3];
    let decoded_len = URL_SAFE_NO_PAD
        .decode_slice(encoded, &mut decoded)
        .map_err(|_| TokenError::Malformed)?;
    let body = decoded.get(..decoded_len).ok_or(TokenError::Malformed)?;
    let (payload, tag) = body
        .split_at_checked(PAYLOAD_LEN)
        .ok_or(TokenError::Malformed)?;
    let payload: [u8; PAYLOAD_LEN] = payload.try_into().map_err(|_| TokenError::Malformed)?;
    let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| TokenError::Malformed)?;

    let uuid_at = |range: std::ops::Range<usize>| {
        Uuid::from_slice(&payload[range]).map_err(|_| TokenError::Malformed)
    };
    let expiry: [u8; 8] = payload[EXPIRY_RANGE]
        .try_into()
        .map_err(|_| TokenError::Malformed)?;
    let expires_at =
        DateTime::from_timestamp(i64::from_be_bytes(expiry), 0).ok_or(TokenError::BadSignature)?;
    let key_id = KeyId::from_slot(&payload[KEY_ID_RANGE]).ok_or(TokenError::BadSignature)?;
    let claims = TokenClaims {
        token_id: uuid_at(TOKEN_ID_RANGE)?,
        guest_id: uuid_at(GUEST_ID_RANGE)?,
        event_id: uuid_at(EVENT_ID_RANGE)?,
        expires_at,
        key_id,
    };
    Ok(UnverifiedToken {
        payload,
        tag,
        claims,
    })
}

/// SHA-256 of the whole token string: what the database stores and looks tokens up
/// by, so the raw token is never stored.
pub fn hash_for_lookup(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Why a [`Keyring`] could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// A signing secret is empty.
    #[error("the signing secret for key {key_id} is empty")]
    EmptySecret {
        /// The key whose secret is empty.
        key_id: KeyId,
    },
    /// Two keys share an id, so tokens could not say which one signed them.
    #[error("the key id {key_id} is used twice")]
    DuplicateKeyId {
        /// The id used twice.
        key_id: KeyId,
    },
}

/// One signing secret.
#[derive(Clone)]
struct SigningKey {
    id: KeyId,
    /// The MAC already keyed with the secret (its inner and outer pads hashed once):
    /// each token then costs only its own blocks. Derived from the secret, so it is
    /// as secret as the key itself and never printed.
    keyed: HmacSha256,
}

impl SigningKey {
    fn new(id: KeyId, secret: SecretString) -> Result<Self, KeyringError> {
        let bytes = secret.expose_secret().as_bytes();
        if bytes.is_empty() {
            return Err(KeyringError::EmptySecret { key_id: id });
        }
        let keyed = HmacSha256::new_from_slice(bytes).expect("HMAC accepts keys of any length");
        Ok(Self { id, keyed })
    }

    /// The MAC keyed with this secret, fed with the domain and `payload`.
    fn mac(&self, payload: &[u8; PAYLOAD_LEN]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(SIGNING_DOMAIN);
        mac.update(payload);
        mac
    }
}

/// A retired signing key, still accepted for verification until `valid_until`.
#[derive(Clone)]
struct RetiredKey {
    key: SigningKey,
    valid_until: DateTime<Utc>,
}

/// The server's signing keys: the current one, which signs new tokens, and retired
/// ones, which only verify tokens until their overlap window ends.
///
/// `Debug` shows key ids and windows, never secrets.
#[derive(Clone)]
pub struct Keyring {
    current: SigningKey,
    previous: Vec<RetiredKey>,
}

impl Keyring {
    /// A keyring that signs and verifies with one key. The secret must not be empty
    /// (its minimum length is the settings' business).
    pub fn new(current_id: KeyId, current_secret: SecretString) -> Result<Self, KeyringError> {
        Ok(Self {
            current: SigningKey::new(current_id, current_secret)?,
            previous: Vec::new(),
        })
    }

    /// Adds a rotated-out key: tokens signed with it verify while `now` is before
    /// `valid_until`, and it never signs new ones.
    pub fn with_previous(
        mut self,
        id: KeyId,
        secret: SecretString,
        valid_until: DateTime<Utc>,
    ) -> Result<Self, KeyringError> {
        if self.current.id == id || self.previous.iter().any(|retired| retired.key.id == id) {
            return Err(KeyringError::DuplicateKeyId { key_id: id });
        }
        self.previous.push(RetiredKey {
            key: SigningKey::new(id, secret)?,
            valid_until,
        });
        Ok(self)
    }

    /// The id of the key that signs new tokens.
    pub fn current_key_id(&self) -> &KeyId {
        &self.current.id
    }

    /// Signs a new token with the current key. `expires_at` is truncated to whole
    /// seconds; the returned claims hold exactly what the token says.
    pub fn issue(
        &self,
        token_id: Uuid,
        guest_id: Uuid,
        event_id: Uuid,
        expires_at: DateTime<Utc>,
    ) -> (String, TokenClaims) {
        // Rebuilding from the Unix seconds of a valid time always succeeds; the
        // fallback only keeps this function free of panics.
        let expires_at = DateTime::from_timestamp(expires_at.timestamp(), 0).unwrap_or(expires_at);
        let claims = TokenClaims {
            token_id,
            guest_id,
            event_id,
            expires_at,
            key_id: self.current.id,
        };
        let token = encode(&self.current, &claims);
        (token, claims)
    }

    /// Signs `claims` again, with the key they name, giving the very token
    /// [`Keyring::issue`] gave for them: signing is deterministic, so the server can show
    /// a host an issued link again although only the token's hash is stored. `None`
    /// when no key with that id verifies tokens at `now` (the link would not work).
    pub fn reissue(&self, claims: &TokenClaims, now: DateTime<Utc>) -> Option<String> {
        let key = if self.current.id == claims.key_id {
            &self.current
        } else {
            let retired = self
                .previous
                .iter()
                .find(|retired| retired.key.id == claims.key_id)?;
            if now >= retired.valid_until {
                return None;
            }
            &retired.key
        };
        Some(encode(key, claims))
    }

    /// Checks the token's signature (in constant time) with the key it names. An
    /// unknown key id, or a retired key whose window has closed at `now`, is a
    /// [`TokenError::BadSignature`] like a wrong tag. Expiry is *not* checked here: an
    /// expired link is still genuine, and the caller answers it differently (see
    /// [`TokenClaims::is_expired`]).
    pub fn verify(
        &self,
        token: &UnverifiedToken,
        now: DateTime<Utc>,
    ) -> Result<TokenClaims, TokenError> {
        let key_id = token.key_id();
        let key = if self.current.id == *key_id {
            &self.current
        } else {
            let retired = self
                .previous
                .iter()
                .find(|retired| retired.key.id == *key_id)
                .ok_or(TokenError::BadSignature)?;
            if now >= retired.valid_until {
                return Err(TokenError::BadSignature);
            }
            &retired.key
        };
        key.mac(&token.payload)
            .verify_slice(&token.tag)
            .map_err(|_| TokenError::BadSignature)?;
        Ok(token.claims.clone())
    }
}

/// The token for `claims`, signed with `key`.
fn encode(key: &SigningKey, claims: &TokenClaims) -> String {
    let payload = claims.payload();
    let tag = key.mac(&payload).finalize().into_bytes();
    let mut body = [0u8; BODY_LEN];
    body[..PAYLOAD_LEN].copy_from_slice(&payload);
    body[PAYLOAD_LEN..].copy_from_slice(&tag);
    let mut token = String::with_capacity(TOKEN_LENGTH);
    token.push_str(TOKEN_PREFIX);
    URL_SAFE_NO_PAD.encode_string(body, &mut token);
    token
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Previous<'a>(&'a [RetiredKey]);
        impl fmt::Debug for Previous<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(
                        self.0
                            .iter()
                            .map(|retired| (retired.key.id.as_str(), retired.valid_until)),
                    )
                    .finish()
            }
        }
        f.debug_struct("Keyring")
            .field("current", &self.current.id.as_str())
            .field("previous", &Previous(&self.previous))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone as _};

    const SECRET: &str = "a-test-signing-secret-that-is-long-enough";
    const OTHER_SECRET: &str = "another-test-signing-secret-entirely-diff";

    fn key_id(raw: &str) -> KeyId {
        KeyId::parse(raw).expect("valid key id")
    }

    fn keyring(id: &str, secret: &str) -> Keyring {
        Keyring::new(key_id(id), SecretString::from(secret)).expect("valid keyring")
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 6, 1, 12, 0, 0)
            .single()
            .expect("valid time")
    }

    fn issue(keyring: &Keyring) -> (String, TokenClaims) {
        keyring.issue(
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            now() + Duration::days(30),
        )
    }

    fn parse_and_verify(
        keyring: &Keyring,
        raw: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenClaims, TokenError> {
        keyring.verify(&parse_format(raw)?, now)
    }

    /// Encodes arbitrary bytes as a token, bypassing signing.
    fn encode_raw(payload: &[u8; PAYLOAD_LEN], tag: &[u8; TAG_LEN]) -> String {
        let mut body = payload.to_vec();
        body.extend_from_slice(tag);
        format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(body))
    }

    fn decode_body(token: &str) -> ([u8; PAYLOAD_LEN], [u8; TAG_LEN]) {
        let body = URL_SAFE_NO_PAD
            .decode(&token[TOKEN_PREFIX.len()..])
            .expect("decodes");
        (
            body[..PAYLOAD_LEN].try_into().expect("payload"),
            body[PAYLOAD_LEN..].try_into().expect("tag"),
        )
    }

    #[test]
    fn an_issued_token_parses_and_verifies_to_the_same_claims() {
        let keyring = keyring("k1", SECRET);
        let (token_id, guest_id, event_id) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let expires_at = now() + Duration::days(7);
        let (token, claims) = keyring.issue(token_id, guest_id, event_id, expires_at);
        assert_eq!(claims.token_id, token_id);
        assert_eq!(claims.guest_id, guest_id);
        assert_eq!(claims.event_id, event_id);
        assert_eq!(claims.expires_at, expires_at);
        assert_eq!(claims.key_id, key_id("k1"));

        let unverified = parse_format(&token).expect("well formed");
        assert_eq!(unverified.token_id(), token_id);
        assert_eq!(unverified.key_id(), &key_id("k1"));
        let verified = keyring.verify(&unverified, now()).expect("genuine");
        assert_eq!(verified, claims);
    }

    #[test]
    fn reissuing_the_claims_of_an_issued_token_gives_the_same_token() {
        let keyring = keyring("k1", SECRET);
        let (token, claims) = issue(&keyring);
        assert_eq!(keyring.reissue(&claims, now()).as_deref(), Some(&*token));
        // Claims rebuilt from what the database keeps (ids, expiry, key id) are enough.
        let stored = TokenClaims {
            token_id: claims.token_id,
            guest_id: claims.guest_id,
            event_id: claims.event_id,
            expires_at: claims.expires_at,
            key_id: key_id("k1"),
        };
        let again = keyring.reissue(&stored, now()).expect("key is current");
        assert_eq!(again, token);
        assert_eq!(hash_for_lookup(&again), hash_for_lookup(&token));
        // Any other claim gives another token.
        let other_guest = TokenClaims {
            guest_id: Uuid::new_v4(),
            ..stored
        };
        assert_ne!(
            keyring.reissue(&other_guest, now()).as_deref(),
            Some(&*token)
        );
    }

    #[test]
    fn a_token_of_a_retired_key_is_reissued_only_while_that_key_verifies() {
        let old = keyring("k1", SECRET);
        let (token, claims) = issue(&old);
        let valid_until = now() + Duration::hours(1);
        let rotated = keyring("k2", OTHER_SECRET)
            .with_previous(key_id("k1"), SecretString::from(SECRET), valid_until)
            .expect("valid keyring");
        assert_eq!(rotated.reissue(&claims, now()).as_deref(), Some(&*token));
        assert_eq!(rotated.reissue(&claims, valid_until), None);
        assert_eq!(keyring("k3", SECRET).reissue(&claims, now()), None);
    }

    #[test]
    fn issued_tokens_have_the_fixed_length_and_only_url_safe_characters() {
        assert_eq!(TOKEN_LENGTH, 132);
        let keyring = keyring("k1", SECRET);
        for _ in 0..50 {
            let (token, _) = issue(&keyring);
            assert_eq!(token.len(), TOKEN_LENGTH);
            assert_eq!(token.chars().count(), TOKEN_LENGTH);
            assert!(token.starts_with(TOKEN_PREFIX));
            assert!(token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
    }

    #[test]
    fn changing_any_character_of_a_token_never_verifies() {
        let keyring = keyring("k1", SECRET);
        let (token, _) = issue(&keyring);
        for position in TOKEN_PREFIX.len()..token.len() {
            let original = token.as_bytes()[position];
            for replacement in [b'A', b'z', b'0', b'-', b'_'] {
                if replacement == original {
                    continue;
                }
                let mut bytes = token.clone().into_bytes();
                bytes[position] = replacement;
                let tampered = String::from_utf8(bytes).expect("ascii");
                let result = parse_and_verify(&keyring, &tampered, now());
                assert!(
                    matches!(
                        result,
                        Err(TokenError::BadSignature | TokenError::Malformed)
                    ),
                    "position {position} replaced by {}: {result:?}",
                    replacement as char
                );
            }
        }
    }

    #[test]
    fn a_flipped_character_in_the_signature_is_a_bad_signature() {
        let keyring = keyring("k1", SECRET);
        let (token, _) = issue(&keyring);
        let mut bytes = token.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("ascii");
        assert_eq!(
            parse_and_verify(&keyring, &tampered, now()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_changed_payload_with_the_old_signature_is_a_bad_signature() {
        let keyring = keyring("k1", SECRET);
        let (token, _) = issue(&keyring);
        let (mut payload, tag) = decode_body(&token);
        // Another guest, same signature.
        payload[GUEST_ID_RANGE].copy_from_slice(Uuid::new_v4().as_bytes());
        let forged = encode_raw(&payload, &tag);
        assert_eq!(
            parse_and_verify(&keyring, &forged, now()),
            Err(TokenError::BadSignature)
        );
        // A later expiry, same signature.
        let (mut payload, tag) = decode_body(&token);
        payload[EXPIRY_RANGE]
            .copy_from_slice(&(now() + Duration::days(3650)).timestamp().to_be_bytes());
        let forged = encode_raw(&payload, &tag);
        assert_eq!(
            parse_and_verify(&keyring, &forged, now()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn strings_not_shaped_like_tokens_are_malformed() {
        let keyring = keyring("k1", SECRET);
        let (token, _) = issue(&keyring);
        let body = &token[TOKEN_PREFIX.len()..];
        let mut unicode = token[..TOKEN_LENGTH - 2].to_owned();
        unicode.push('é');
        let mut wide_unicode = token[..TOKEN_LENGTH - 1].to_owned();
        wide_unicode.push('é');
        let cases = [
            String::new(),
            TOKEN_PREFIX.to_owned(),
            format!("gg2_{body}"),
            format!("GG1_{body}"),
            format!("gg1-{body}"),
            format!("x{body}xxx"),
            token[..TOKEN_LENGTH - 1].to_owned(),
            format!("{token}A"),
            format!("{token}="),
            format!("{}==", &token[..TOKEN_LENGTH - 2]),
            format!("{}+/", &token[..TOKEN_LENGTH - 2]),
            format!("{} ", &token[..TOKEN_LENGTH - 1]),
            format!("{}.", &token[..TOKEN_LENGTH - 1]),
            unicode,
            wide_unicode,
            format!("{TOKEN_PREFIX}{}", "é".repeat(ENCODED_LEN / 2)),
            format!("{TOKEN_PREFIX}{}", "\0".repeat(ENCODED_LEN)),
        ];
        for case in cases {
            assert_eq!(
                parse_format(&case).map(|t| t.token_id()),
                Err(TokenError::Malformed),
                "{case:?}"
            );
        }
    }

    #[test]
    fn a_bad_key_id_slot_is_a_bad_signature_not_a_malformed_token() {
        let keyring = keyring("k1", SECRET);
        let (token, _) = issue(&keyring);
        let slots: [&[u8; KEY_ID_MAX_LEN]; 5] = [
            b"\0\0\0\0\0\0\0\0", // empty
            b"K1\0\0\0\0\0\0",   // upper case
            b"k1\0x\0\0\0\0",    // garbage after the padding
            b"k-1\0\0\0\0\0",    // outside the alphabet
            b"k1 \0\0\0\0\0",    // space
        ];
        for slot in slots {
            let (mut payload, tag) = decode_body(&token);
            payload[KEY_ID_RANGE].copy_from_slice(slot);
            assert_eq!(
                parse_format(&encode_raw(&payload, &tag)).map(|t| t.token_id()),
                Err(TokenError::BadSignature),
                "{slot:?}"
            );
        }
        // All eight bytes used is a valid key id.
        let (mut payload, tag) = decode_body(&token);
        payload[KEY_ID_RANGE].copy_from_slice(b"abcd1234");
        let parsed = parse_format(&encode_raw(&payload, &tag)).expect("well formed");
        assert_eq!(parsed.key_id().as_str(), "abcd1234");
    }

    #[test]
    fn an_unrepresentable_expiry_is_a_bad_signature_not_a_malformed_token() {
        let keyring = keyring("k1", SECRET);
        let (token, _) = issue(&keyring);
        let (mut payload, tag) = decode_body(&token);
        payload[EXPIRY_RANGE].copy_from_slice(&i64::MAX.to_be_bytes());
        assert_eq!(
            parse_format(&encode_raw(&payload, &tag)).map(|t| t.token_id()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn every_string_of_the_documented_shape_is_either_a_token_or_a_bad_signature() {
        use rand::{rngs::StdRng, Rng as _, SeedableRng as _};
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..2_000 {
            let body: String = (0..ENCODED_LEN)
                .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                .collect();
            let raw = format!("{TOKEN_PREFIX}{body}");
            assert!(
                !matches!(parse_format(&raw), Err(TokenError::Malformed)),
                "{raw}"
            );
        }
    }

    #[test]
    fn a_token_signed_with_a_rotated_out_key_verifies_until_the_overlap_ends() {
        let old = keyring("k1", SECRET);
        let (token, claims) = issue(&old);
        let valid_until = now() + Duration::hours(1);
        let rotated = keyring("k2", OTHER_SECRET)
            .with_previous(key_id("k1"), SecretString::from(SECRET), valid_until)
            .expect("valid keyring");

        assert_eq!(
            parse_and_verify(&rotated, &token, now()),
            Ok(claims.clone())
        );
        assert_eq!(
            parse_and_verify(&rotated, &token, valid_until - Duration::seconds(1)),
            Ok(claims)
        );
        assert_eq!(
            parse_and_verify(&rotated, &token, valid_until),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            parse_and_verify(&rotated, &token, valid_until + Duration::days(1)),
            Err(TokenError::BadSignature)
        );

        // New tokens are signed with the current key, which keeps working.
        let (fresh, fresh_claims) = issue(&rotated);
        assert_eq!(fresh_claims.key_id, key_id("k2"));
        assert_eq!(
            parse_and_verify(&rotated, &fresh, valid_until + Duration::days(1)),
            Ok(fresh_claims)
        );
    }

    #[test]
    fn a_rotated_out_key_with_the_wrong_secret_does_not_verify() {
        let old = keyring("k1", SECRET);
        let (token, _) = issue(&old);
        let rotated = keyring("k2", SECRET)
            .with_previous(
                key_id("k1"),
                SecretString::from(OTHER_SECRET),
                now() + Duration::hours(1),
            )
            .expect("valid keyring");
        assert_eq!(
            parse_and_verify(&rotated, &token, now()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_token_with_an_unknown_key_id_is_a_bad_signature() {
        let (token, _) = issue(&keyring("other", SECRET));
        assert_eq!(
            parse_and_verify(&keyring("k1", SECRET), &token, now()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_token_signed_by_another_keyring_with_the_same_key_id_is_a_bad_signature() {
        let (token, _) = issue(&keyring("k1", OTHER_SECRET));
        assert_eq!(
            parse_and_verify(&keyring("k1", SECRET), &token, now()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn expiry_is_kept_to_the_second_and_is_expired_compares_with_now() {
        let keyring = keyring("k1", SECRET);
        let exact = now() + Duration::days(2);
        let with_fraction = exact + Duration::milliseconds(999) + Duration::nanoseconds(1);
        let (token, claims) = keyring.issue(
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            with_fraction,
        );
        assert_eq!(claims.expires_at, exact);
        let verified = parse_and_verify(&keyring, &token, now()).expect("genuine");
        assert_eq!(verified.expires_at, exact);
        assert_eq!(verified.expires_at.timestamp_subsec_nanos(), 0);

        assert!(!verified.is_expired(now()));
        assert!(!verified.is_expired(exact - Duration::seconds(1)));
        assert!(verified.is_expired(exact));
        assert!(verified.is_expired(exact + Duration::seconds(1)));
    }

    #[test]
    fn an_expired_token_still_verifies_so_callers_can_tell_it_from_a_forgery() {
        let keyring = keyring("k1", SECRET);
        let expires_at = now() - Duration::days(1);
        let (token, claims) =
            keyring.issue(Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), expires_at);
        let verified = parse_and_verify(&keyring, &token, now()).expect("genuine");
        assert_eq!(verified, claims);
        assert!(verified.is_expired(now()));
    }

    #[test]
    fn expiries_before_1970_round_trip() {
        let keyring = keyring("k1", SECRET);
        let expires_at = Utc
            .with_ymd_and_hms(1969, 12, 31, 23, 59, 58)
            .single()
            .expect("valid time");
        let (token, claims) =
            keyring.issue(Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), expires_at);
        assert_eq!(claims.expires_at, expires_at);
        assert_eq!(parse_and_verify(&keyring, &token, now()), Ok(claims));
    }

    #[test]
    fn debug_output_of_a_keyring_shows_key_ids_but_no_secrets() {
        let keyring = keyring("k2", SECRET)
            .with_previous(
                key_id("k1"),
                SecretString::from(OTHER_SECRET),
                now() + Duration::hours(1),
            )
            .expect("valid keyring");
        let debug = format!("{keyring:?}");
        assert!(debug.contains("k2"), "{debug}");
        assert!(debug.contains("k1"), "{debug}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(!debug.contains(OTHER_SECRET), "{debug}");
        assert!(!debug.contains("signing-secret"), "{debug}");
        let pretty = format!("{keyring:#?}");
        assert!(!pretty.contains(SECRET) && !pretty.contains(OTHER_SECRET));
    }

    #[test]
    fn debug_output_of_an_unverified_token_shows_only_its_ids() {
        let (token, claims) = issue(&keyring("k1", SECRET));
        let debug = format!("{:?}", parse_format(&token).expect("well formed"));
        assert!(debug.contains(&claims.token_id.to_string()), "{debug}");
        assert!(!debug.contains(&claims.guest_id.to_string()), "{debug}");
    }

    #[test]
    fn empty_secrets_and_duplicate_key_ids_are_refused() {
        assert_eq!(
            Keyring::new(key_id("k1"), SecretString::from("")).map(|_| ()),
            Err(KeyringError::EmptySecret {
                key_id: key_id("k1")
            })
        );
        let until = now() + Duration::hours(1);
        assert_eq!(
            keyring("k2", SECRET)
                .with_previous(key_id("k1"), SecretString::from(""), until)
                .map(|_| ()),
            Err(KeyringError::EmptySecret {
                key_id: key_id("k1")
            })
        );
        assert_eq!(
            keyring("k1", SECRET)
                .with_previous(key_id("k1"), SecretString::from(OTHER_SECRET), until)
                .map(|_| ()),
            Err(KeyringError::DuplicateKeyId {
                key_id: key_id("k1")
            })
        );
        assert_eq!(
            keyring("k3", SECRET)
                .with_previous(key_id("k1"), SecretString::from(OTHER_SECRET), until)
                .and_then(|k| k.with_previous(key_id("k1"), SecretString::from(SECRET), until))
                .map(|_| ()),
            Err(KeyringError::DuplicateKeyId {
                key_id: key_id("k1")
            })
        );
    }

    #[test]
    fn key_ids_are_one_to_eight_lowercase_letters_or_digits() {
        assert_eq!(key_id("k1").as_str(), "k1");
        assert_eq!(key_id("abcd1234").to_string(), "abcd1234");
        assert_eq!(
            "2024a".parse::<KeyId>().map(|k| k.to_string()),
            Ok("2024a".into())
        );
        assert_eq!(KeyId::parse(""), Err(KeyIdError::Empty));
        assert_eq!(KeyId::parse("abcd12345"), Err(KeyIdError::TooLong));
        assert_eq!(KeyId::parse("K1"), Err(KeyIdError::InvalidCharacter));
        assert_eq!(KeyId::parse("k-1"), Err(KeyIdError::InvalidCharacter));
        assert_eq!(KeyId::parse("k1 "), Err(KeyIdError::InvalidCharacter));
        assert_eq!(KeyId::parse("kö"), Err(KeyIdError::InvalidCharacter));
        assert_eq!(KeyId::parse("k\0"), Err(KeyIdError::InvalidCharacter));
    }

    #[test]
    fn the_lookup_hash_is_the_sha256_of_the_token_and_differs_per_token() {
        let keyring = keyring("k1", SECRET);
        let (first, _) = issue(&keyring);
        let (second, _) = issue(&keyring);
        assert_eq!(hash_for_lookup(&first), hash_for_lookup(&first));
        assert_ne!(hash_for_lookup(&first), hash_for_lookup(&second));
        // SHA-256("abc"), the FIPS 180-2 test vector.
        assert_eq!(hash_for_lookup("abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
        let expected: [u8; 32] = Sha256::digest(first.as_bytes()).into();
        assert_eq!(hash_for_lookup(&first), expected);
    }

    /// A link is accepted when its token verifies and has not expired.
    fn accepted(keyring: &Keyring, raw: &str) -> bool {
        parse_format(raw)
            .and_then(|token| keyring.verify(&token, now()))
            .is_ok_and(|claims| !claims.is_expired(now()))
    }

    #[test]
    fn ten_thousand_malformed_tampered_expired_and_wrong_key_tokens_are_all_refused() {
        use rand::{rngs::StdRng, Rng as _, SeedableRng as _};
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let ours = keyring("k1", SECRET);
        let theirs = keyring("k1", OTHER_SECRET);
        let unknown_key = keyring("k9", SECRET);
        let mut rng = StdRng::seed_from_u64(13);
        let mut refused = 0;
        for case in 0..10_000 {
            let (genuine, _) = issue(&ours);
            assert!(accepted(&ours, &genuine));
            let bad = match case % 6 {
                // One character of the body changed to another of the alphabet.
                0 => {
                    let mut bytes = genuine.clone().into_bytes();
                    let at = rng.gen_range(TOKEN_PREFIX.len()..bytes.len());
                    let old = bytes[at];
                    while bytes[at] == old {
                        bytes[at] = ALPHABET[rng.gen_range(0..ALPHABET.len())];
                    }
                    String::from_utf8(bytes).expect("ASCII")
                }
                // Truncated, or with something appended.
                1 => genuine[..rng.gen_range(0..genuine.len())].to_owned(),
                2 => format!("{genuine}{}", char::from(ALPHABET[rng.gen_range(0..64)])),
                // Random bytes of the right shape.
                3 => {
                    let body: String = (0..ENCODED_LEN)
                        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                        .collect();
                    format!("{TOKEN_PREFIX}{body}")
                }
                // Signed with another secret under our key id, or with a key we lack.
                4 if case % 12 == 4 => issue(&theirs).0,
                4 => issue(&unknown_key).0,
                // Genuine but expired.
                _ => {
                    ours.issue(
                        Uuid::new_v4(),
                        Uuid::new_v4(),
                        Uuid::new_v4(),
                        now() - Duration::seconds(rng.gen_range(0..1_000_000)),
                    )
                    .0
                }
            };
            assert!(!accepted(&ours, &bad), "case {case} was accepted: {bad}");
            refused += 1;
        }
        assert_eq!(refused, 10_000);
    }
}
