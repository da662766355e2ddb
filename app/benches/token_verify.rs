//! What verifying an invitation token costs next to the raw HMAC-SHA256 of the same
//! bytes (the floor: any signed token pays it). Verifying also checks the format,
//! decodes base64 and finds the key; the goal is at most 1.5× the floor.

use app::invitations::token::{parse_format, KeyId, Keyring};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chrono::{Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;
use std::hint::black_box;
use uuid::Uuid;

const SECRET: &str = "bench-signing-key-0123456789abcdefghijklmnop";
/// The domain the server signs under (`token.rs`), checked below against a real token.
const DOMAIN: &[u8] = b"gg1";

fn verification(c: &mut Criterion) {
    let keyring = Keyring::new(
        KeyId::parse("k1").expect("a valid key id"),
        SecretString::from(SECRET.to_owned()),
    )
    .expect("a keyring");
    let (token, _) = keyring.issue(
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Utc::now() + Duration::days(30),
    );
    let body = URL_SAFE_NO_PAD
        .decode(&token[app::invitations::token::TOKEN_PREFIX.len()..])
        .expect("a token is base64");
    let (payload, tag) = body.split_at(body.len() - 32);
    let raw = |payload: &[u8], tag: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
        mac.update(DOMAIN);
        mac.update(payload);
        mac.verify_slice(tag).is_ok()
    };
    assert!(
        raw(payload, tag),
        "the floor checks the very bytes the server signs"
    );
    let now = Utc::now();
    assert!(keyring
        .verify(&parse_format(&token).expect("well formed"), now)
        .is_ok());

    let mut group = c.benchmark_group("token");
    group.bench_function("raw HMAC-SHA256 of the same bytes", |b| {
        b.iter(|| raw(black_box(payload), black_box(tag)))
    });
    group.bench_function("parse and verify a token", |b| {
        b.iter(|| {
            let unverified = parse_format(black_box(&token)).expect("well formed");
            keyring.verify(&unverified, now).is_ok()
        })
    });
    group.finish();
}

criterion_group!(benches, verification);
criterion_main!(benches);
