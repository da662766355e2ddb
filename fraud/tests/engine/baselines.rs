//! The shared baselines: they outlive an engine, survive concurrent engines, hold
//! device keys exactly as the web server keyed them, and every engine's copy of them
//! follows what the others write.

use crate::helpers::{device_key, eventually, Access, Engine, Nats, LAPTOP};
use fraud::{
    baselines::{BaselineStore, Retain, StoreSettings},
    heuristics::{DeviceKey, GuestBaseline},
};
use uuid::Uuid;

const HOME: &str = "203.0.113.20";

#[tokio::test]
async fn a_new_engine_on_the_same_nats_knows_the_old_baseline() {
    let nats = Nats::start().await;
    let guest = Uuid::from_u128(1);
    let mut first = Engine::start(&nats).await;
    first.score(&Access::by(guest, "phone", HOME).rsvp()).await;
    // Stopped at once: it finishes recording what it answered before it goes.
    first.stop().await;
    drop(first);

    let second = Engine::start(&nats).await;
    let laptop = second
        .score(
            &Access::by(guest, "laptop", "198.51.100.4")
                .agent(LAPTOP)
                .at(60),
        )
        .await;
    assert!(laptop.has("fingerprint_mismatch"), "{laptop:?}");
    assert!(laptop.has("new_network"), "{laptop:?}");
    let phone = second
        .score(&Access::by(guest, "phone", HOME).at(120))
        .await;
    assert!(phone.0.reasons.is_empty(), "{phone:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_updating_the_same_guest_at_once_lose_no_update() {
    let nats = Nats::start().await;
    let (one, two) = tokio::join!(Engine::start(&nats), Engine::start(&nats));
    let guest = Uuid::from_u128(1);
    let per_engine: i64 = 15;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..per_engine {
        for (engine, offset) in [(&one, 0), (&two, per_engine)] {
            // Hours apart, so no access counts as a burst.
            let request = Access::by(guest, "phone", HOME)
                .at((i + offset) * 60)
                .request();
            let mut client = engine.client.clone();
            calls.spawn(async move { client.score(request).await });
        }
    }
    // Meanwhile one device opens many guests' links through both engines.
    for g in 0..12u128 {
        let engine = if g % 2 == 0 { &one } else { &two };
        let request = Access::by(Uuid::from_u128(100 + g), "shared-kiosk", HOME).request();
        let mut client = engine.client.clone();
        calls.spawn(async move { client.score(request).await });
    }
    for result in calls.join_all().await {
        result.expect("every concurrent Score succeeds");
    }

    tokio::join!(one.settled(), two.settled());
    let baseline = nats.bucket_value(&BaselineStore::guest_key(guest)).await;
    let accesses = baseline["recent_accesses"].as_array().expect("accesses");
    assert_eq!(accesses.len(), 2 * per_engine as usize, "{baseline}");

    let device = DeviceKey::parse(&device_key("shared-kiosk")).expect("a keyed hash");
    let guests = nats.bucket_value(&BaselineStore::device_key(&device)).await;
    assert_eq!(guests["guests"].as_array().expect("guests").len(), 12);
}

#[tokio::test]
async fn device_keys_are_stored_as_the_web_server_keyed_them_and_never_hashed_again() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let keyed = device_key("fp-8c1d77e2-raw-browser-fingerprint");
    for guest in 1..=3 {
        engine
            .score(
                &Access::by(
                    Uuid::from_u128(guest),
                    "fp-8c1d77e2-raw-browser-fingerprint",
                    HOME,
                )
                .at(guest as i64)
                .rsvp(),
            )
            .await;
    }
    engine.settled().await;
    let contents = nats.bucket_contents().await;
    let device = DeviceKey::parse(&keyed).expect("a keyed hash");
    assert!(
        contents
            .iter()
            .any(|(key, _)| *key == BaselineStore::device_key(&device)),
        "the device is stored under the key it came with: {contents:?}"
    );
    let baseline = nats
        .bucket_value(&BaselineStore::guest_key(Uuid::from_u128(1)))
        .await;
    assert_eq!(baseline["trusted_device"], keyed.as_str());
}

#[tokio::test]
async fn an_engine_takes_over_the_bucket_and_the_baselines_of_the_previous_version() {
    let nats = Nats::start().await;
    // The previous engine's bucket: no per-message TTLs, no size limit, its JSON.
    let old_bucket = nats
        .jetstream()
        .await
        .create_key_value(async_nats::jetstream::kv::Config {
            bucket: fraud::baselines::BUCKET.to_owned(),
            history: 1,
            ..Default::default()
        })
        .await
        .expect("the old bucket");
    let guest = Uuid::from_u128(1);
    let old_baseline = serde_json::json!({
        "trusted_device": device_key("phone"),
        "trusted_ip": HOME,
        "responded": false,
        "recent_accesses": [],
        "recent_access_ids": [],
    });
    old_bucket
        .put(
            BaselineStore::guest_key(guest),
            old_baseline.to_string().into(),
        )
        .await
        .expect("an old baseline");

    let engine = Engine::start(&nats).await;
    let laptop = engine
        .score(&Access::by(guest, "laptop", HOME).agent(LAPTOP).at(60))
        .await;
    assert_eq!(laptop.0.reasons, ["fingerprint_mismatch"], "{laptop:?}");
    engine.settled().await;
    let baseline = nats.bucket_value(&BaselineStore::guest_key(guest)).await;
    assert_eq!(baseline["trusted_device"], device_key("phone"));
    assert!(baseline["expires_at"].is_string(), "{baseline}");
}

/// A baseline store as an engine opens it: on its own connection, as the engine's user
/// (whose permissions must allow watching the bucket).
async fn engine_store(nats: &Nats) -> BaselineStore {
    let client = nats
        .connect_as(proto::nats::ENGINE)
        .await
        .expect("NATS connects");
    BaselineStore::open(
        &async_nats::jetstream::new(client),
        StoreSettings::default(),
    )
    .await
    .expect("the baselines bucket")
}

/// Two engines' stores on `nats`, once both copies follow the bucket.
async fn two_engine_stores(nats: &Nats) -> (BaselineStore, BaselineStore) {
    let (mine, theirs) = tokio::join!(engine_store(nats), engine_store(nats));
    eventually("both engines' copies to follow the bucket", || async {
        (mine.cache_is_live() && theirs.cache_is_live()).then_some(())
    })
    .await;
    (mine, theirs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_reading_from_its_copy_sees_what_another_engine_writes_and_deletes() {
    let nats = Nats::start().await;
    let (mine, theirs) = two_engine_stores(&nats).await;
    let guest = Uuid::from_u128(7);
    mine.update_guest(guest, None, Retain::AsStored, |baseline| {
        baseline.responded = true;
    })
    .await
    .expect("written");
    assert!(mine.guest(guest).await.expect("read").value.responded);

    // Another engine changes the guest: this engine's copy follows.
    theirs
        .update_guest(guest, None, Retain::AsStored, |baseline| {
            assert!(
                baseline.responded,
                "the other engine reads what was written"
            );
            baseline.responded = false;
            baseline.trusted_ip = Some("198.51.100.9".parse().expect("address"));
        })
        .await
        .expect("written");
    eventually("this engine to see the other's write", || async {
        let read = mine.guest(guest).await.expect("read").value;
        (!read.responded).then_some(())
    })
    .await;

    // A write starting from this engine's copy builds on the other's change.
    mine.update_guest(guest, None, Retain::AsStored, |baseline| {
        baseline.responded = true;
    })
    .await
    .expect("written");
    let stored: GuestBaseline =
        serde_json::from_value(nats.bucket_value(&BaselineStore::guest_key(guest)).await)
            .expect("a baseline");
    assert!(stored.responded);
    assert_eq!(
        stored.trusted_ip,
        Some("198.51.100.9".parse().expect("address"))
    );

    // The other engine forgets the guest: this engine's copy forgets it too.
    theirs.delete_guest(guest).await.expect("deleted");
    eventually("this engine to see the guest forgotten", || async {
        let read = mine.guest(guest).await.expect("read").value;
        (read == GuestBaseline::default()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_from_a_copy_that_is_behind_is_retried_and_loses_nothing() {
    let nats = Nats::start().await;
    let (mine, theirs) = two_engine_stores(&nats).await;
    let guest = Uuid::from_u128(8);
    let access = |n: u128| Uuid::from_u128(1_000 + n);
    // Both engines hold the guest, then write in turn, as fast as they can: each write
    // may start from a copy the other engine's last write has not reached yet.
    for n in 0..40 {
        let store = if n % 2 == 0 { &mine } else { &theirs };
        store
            .update_guest(guest, None, Retain::AsStored, |baseline| {
                baseline.recent_access_ids.push(access(n));
            })
            .await
            .expect("written");
    }
    let stored: GuestBaseline =
        serde_json::from_value(nats.bucket_value(&BaselineStore::guest_key(guest)).await)
            .expect("a baseline");
    let expected: Vec<Uuid> = (0..40).map(access).collect();
    assert_eq!(
        stored.recent_access_ids, expected,
        "every write is kept, in order"
    );
}
