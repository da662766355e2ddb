//! Retention: every value the engine writes carries a per-message TTL, so what it
//! learned about a guest, a device or an origin disappears a configured time after the
//! event (or after the access, when the event's start is unknown). Retention is set to
//! seconds here and the bucket is polled until the values are gone.

use crate::helpers::{default_event, device_key, eventually, Access, Engine, Nats};
use fraud::{
    baselines::BaselineStore,
    heuristics::{DeviceKey, OriginId},
};
use std::time::Duration;
use uuid::Uuid;

const HOME: &str = "203.0.113.20";

/// Every key one access by `guest` on `device` from [`HOME`] writes.
fn keys_of(guest: Uuid, device: &str) -> [String; 3] {
    let device = DeviceKey::parse(&device_key(device)).expect("a keyed hash");
    let origin = OriginId::of(
        default_event(),
        HOME.parse().expect("ip"),
        crate::helpers::PHONE,
    );
    [
        BaselineStore::guest_key(guest),
        BaselineStore::device_key(&device),
        BaselineStore::origin_key(&origin),
    ]
}

async fn wait_until_gone(nats: &Nats, keys: &[String]) {
    eventually("the values to expire", || async {
        for key in keys {
            if nats.bucket_get(key).await.is_some() {
                return None;
            }
        }
        Some(())
    })
    .await;
}

#[tokio::test]
async fn values_written_with_a_short_retention_are_gone_once_it_has_passed() {
    let nats = Nats::start().await;
    let engine = Engine::start_with(&nats, |settings| {
        settings.store.retention_default = Duration::from_secs(2);
    })
    .await;
    let guest = Uuid::from_u128(1);
    engine.score(&Access::by(guest, "phone", HOME).rsvp()).await;
    engine.settled().await;
    let keys = keys_of(guest, "phone");
    for key in &keys {
        let value = nats.bucket_value(key).await;
        assert!(value["expires_at"].is_string(), "{key}: {value}");
    }

    wait_until_gone(&nats, &keys).await;

    // Forgotten for good: another device answering is a first access, no conflict.
    let again = engine
        .score(&Access::by(guest, "laptop", HOME).at(60).rsvp())
        .await;
    assert!(again.0.reasons.is_empty(), "{again:?}");
}

#[tokio::test]
async fn values_expire_a_configured_time_after_their_event_starts() {
    let nats = Nats::start().await;
    let engine = Engine::start_with(&nats, |settings| {
        settings.store.retention_after_event = Duration::from_secs(2);
    })
    .await;
    let (past_event_guest, unknown_start_guest) = (Uuid::from_u128(1), Uuid::from_u128(2));
    engine
        .score(&Access::by(past_event_guest, "phone", HOME).event_starting(chrono::Utc::now()))
        .await;
    engine
        .score(&Access::by(unknown_start_guest, "other-phone", HOME))
        .await;
    engine.settled().await;

    wait_until_gone(&nats, &[BaselineStore::guest_key(past_event_guest)]).await;

    // Without an event start the default retention (90 days) applies.
    let kept = nats
        .bucket_get(&BaselineStore::guest_key(unknown_start_guest))
        .await;
    assert!(kept.is_some(), "the other guest's baseline is kept");
}
