//! The asynchronous paths: `access.attempted` in, `fraud.scored` out, and
//! `guest.forgotten` in, through a real JetStream and real engines, with redeliveries,
//! poison, outages and two engines.

use crate::helpers::{device_key, eventually, Access, Engine, Nats, LAPTOP, PATIENCE};
use fraud::{baselines::BaselineStore, heuristics::DeviceKey};
use futures::StreamExt as _;
use proto::{
    events::{
        FraudScored, ACCESS_ATTEMPTED, ENGINE_CONSUMER, ENGINE_FORGET_CONSUMER, FRAUD_SCORED,
        GUEST_FORGOTTEN, STREAM,
    },
    fraud::v1::Sensitivity,
};
use std::{collections::BTreeSet, time::Duration};
use tonic_health::pb::health_check_response::ServingStatus;
use uuid::Uuid;

const HOME: &str = "203.0.113.20";
const OFFICE: &str = "198.51.100.140";

/// The only score of an access among the stream's `fraud.scored`.
fn only_score_of(scored: &[FraudScored], access_log_id: Uuid) -> &FraudScored {
    let mut matching = scored.iter().filter(|s| s.access_log_id == access_log_id);
    let first = matching
        .next()
        .unwrap_or_else(|| panic!("no fraud.scored for {access_log_id}: {scored:?}"));
    assert!(
        matching.next().is_none(),
        "more than one fraud.scored for {access_log_id}: {scored:?}"
    );
    first
}

#[tokio::test]
async fn an_access_attempt_on_the_stream_gets_one_score_with_its_ids_band_and_reasons() {
    let nats = Nats::start().await;
    let _engine = Engine::start(&nats).await;
    let (scraper_guest, phone_guest) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let (scraper_access, phone_access) = (Uuid::from_u128(101), Uuid::from_u128(102));

    nats.publish_access(
        &Access::script(scraper_guest, "python-requests/2.32.3", OFFICE).event(scraper_access),
        &scraper_access.to_string(),
    )
    .await;
    nats.publish_access(
        &Access::by(phone_guest, "anna-phone", HOME).event(phone_access),
        &phone_access.to_string(),
    )
    .await;
    nats.wait_for_scores(2).await;
    nats.wait_until_consumed().await;

    let scored = nats.fraud_scored().await;
    assert_eq!(scored.len(), 2, "{scored:?}");
    let scraper = only_score_of(&scored, scraper_access);
    assert_eq!(
        (scraper.guest_id, scraper.event_id, scraper.token_id),
        (scraper_guest, Uuid::from_u128(7), Uuid::from_u128(9))
    );
    assert_eq!(scraper.risk, "block");
    assert_eq!(
        scraper.reasons,
        [
            "missing_fingerprint",
            "javascript_disabled",
            "automation_user_agent"
        ]
    );
    assert!(scraper.flagged);
    let phone = only_score_of(&scored, phone_access);
    assert_eq!(phone.guest_id, phone_guest);
    assert_eq!((phone.score, phone.risk.as_str()), (0, "low"));
    assert!(phone.reasons.is_empty());
    assert!(!phone.flagged);
}

#[tokio::test]
async fn an_access_delivered_twice_is_recorded_once_and_scored_once() {
    let nats = Nats::start().await;
    let _engine = Engine::start(&nats).await;
    let watcher = nats.connect_as(proto::nats::OPS).await.expect("NATS");
    let mut published = watcher.subscribe(FRAUD_SCORED).await.expect("subscribe");
    watcher.flush().await.expect("flush");
    let guest = Uuid::from_u128(1);
    let access_id = Uuid::from_u128(500);
    let access = Access::by(guest, "phone", HOME).event(access_id);

    // Two copies under different message ids: the stream keeps both, as a redelivery.
    nats.publish_access(&access, "relay-attempt-1").await;
    nats.publish_access(&access, "relay-attempt-2").await;
    nats.wait_for_scores(1).await;
    nats.wait_until_consumed().await;
    // A third, long after the first two were handled.
    nats.publish_access(&access, "relay-attempt-3").await;
    nats.wait_until_consumed().await;

    let scored = nats.fraud_scored().await;
    assert_eq!(scored.len(), 1, "the stream keeps one score: {scored:?}");
    let stored = only_score_of(&scored, access_id);
    // Every delivery published, and always the score computed the first time.
    for delivery in 1..=3 {
        let message = tokio::time::timeout(PATIENCE, published.next())
            .await
            .unwrap_or_else(|_| panic!("fraud.scored of delivery {delivery}"))
            .expect("subscription open");
        let body: FraudScored = serde_json::from_slice(&message.payload).expect("FraudScored");
        assert_eq!(&body, stored, "delivery {delivery}");
    }

    let baseline = nats.bucket_value(&BaselineStore::guest_key(guest)).await;
    assert_eq!(
        baseline["recent_accesses"].as_array().expect("times").len(),
        1,
        "{baseline}"
    );
    assert_eq!(
        baseline["recent_access_ids"],
        serde_json::json!([access_id]),
        "{baseline}"
    );
}

#[tokio::test]
async fn a_poison_message_is_terminated_and_the_next_access_is_still_scored() {
    let nats = Nats::start().await;
    let _engine = Engine::start(&nats).await;
    let good = Uuid::from_u128(3);
    let mut unparsable = Access::by(Uuid::from_u128(2), "phone", HOME).event(Uuid::from_u128(2));
    unparsable.ip = Some("999.1.1.1".into());
    let mut unkeyed = Access::by(Uuid::from_u128(4), "phone", HOME).event(Uuid::from_u128(4));
    unkeyed.signals.device_key = Some("raw-browser-fingerprint".into());

    nats.publish(ACCESS_ATTEMPTED, "poison-1", b"{not json".to_vec())
        .await;
    nats.publish_access(&unparsable, "poison-2").await;
    nats.publish_access(&unkeyed, "poison-3").await;
    nats.publish_access(
        &Access::by(Uuid::from_u128(1), "phone", HOME).event(good),
        "good",
    )
    .await;
    nats.wait_for_scores(1).await;
    let consumer = nats.wait_until_consumed().await;

    let scored = nats.fraud_scored().await;
    assert_eq!(scored.len(), 1, "{scored:?}");
    only_score_of(&scored, good);
    // Four messages, four deliveries: no poison message came back.
    assert_eq!(consumer.delivered.consumer_sequence, 4, "{consumer:?}");
    assert_eq!(consumer.ack_floor.stream_sequence, 4, "{consumer:?}");
}

#[tokio::test]
async fn an_access_that_cannot_be_scored_yet_is_retried_until_it_can() {
    let nats = Nats::start().await;
    let _engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    let access_id = Uuid::from_u128(600);
    let key = BaselineStore::guest_key(guest);
    nats.put_in_bucket(&key, "{damaged").await;

    nats.publish_access(
        &Access::by(guest, "phone", HOME).event(access_id),
        "attempt",
    )
    .await;
    let jetstream = nats.jetstream().await;
    eventually("the access to be delivered again", || {
        let jetstream = jetstream.clone();
        async move {
            let stream = jetstream.get_stream(STREAM).await.ok()?;
            let info = stream.consumer_info(ENGINE_CONSUMER).await.ok()?;
            (info.delivered.consumer_sequence >= 2).then_some(())
        }
    })
    .await;
    assert!(nats.fraud_scored().await.is_empty());

    nats.put_in_bucket(
        &key,
        r#"{"trusted_device":null,"trusted_ip":null,"responded":false,"recent_accesses":[]}"#,
    )
    .await;
    nats.wait_for_scores(1).await;
    nats.wait_until_consumed().await;
    let scored = nats.fraud_scored().await;
    assert_eq!(only_score_of(&scored, access_id).risk, "low");
}

#[tokio::test]
async fn scoring_resumes_after_nats_restarts_and_health_follows_the_connection() {
    let mut nats = Nats::start().await;
    // A killed server may forget acks it had not yet written; those messages come back
    // after the ack wait, kept short here so the test sees them handled.
    let engine = Engine::start_with(&nats, |settings| {
        settings.consumer.ack_wait = Duration::from_secs(2);
    })
    .await;
    engine.wait_for_health(ServingStatus::Serving).await;
    let before = Uuid::from_u128(1);
    nats.publish_access(
        &Access::by(Uuid::from_u128(1), "phone", HOME).event(before),
        "before",
    )
    .await;
    nats.wait_for_scores(1).await;

    nats.stop().await;
    engine.wait_for_health(ServingStatus::NotServing).await;
    nats.restart().await;
    engine.wait_for_health(ServingStatus::Serving).await;

    let after: Vec<Uuid> = (2..=4).map(Uuid::from_u128).collect();
    for (i, id) in after.iter().enumerate() {
        let access = Access::by(
            Uuid::from_u128(10 + i as u128),
            &format!("laptop-{i}"),
            OFFICE,
        )
        .agent(LAPTOP);
        nats.publish_access(&access.event(*id), &id.to_string())
            .await;
    }
    nats.wait_for_scores(4).await;
    nats.wait_until_consumed().await;

    let scored = nats.fraud_scored().await;
    for id in std::iter::once(&before).chain(&after) {
        assert_eq!(only_score_of(&scored, *id).risk, "low");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_the_same_consumer_score_each_access_once() {
    let nats = Nats::start().await;
    let (_one, _two) = tokio::join!(Engine::start(&nats), Engine::start(&nats));
    let guests: Vec<Uuid> = (1..=5).map(Uuid::from_u128).collect();
    let mut expected: Vec<(Uuid, Uuid)> = Vec::new();
    for n in 0..20u128 {
        let guest = guests[(n % 5) as usize];
        let access_id = Uuid::from_u128(1_000 + n);
        // Hours apart, so no guest's accesses count as a burst.
        let access = Access::by(guest, &format!("phone-{guest}"), HOME).at((n as i64) * 60);
        nats.publish_access(&access.event(access_id), &access_id.to_string())
            .await;
        expected.push((guest, access_id));
    }
    nats.wait_for_scores(20).await;
    nats.wait_until_consumed().await;

    let scored = nats.fraud_scored().await;
    assert_eq!(scored.len(), 20, "{scored:?}");
    for (_, access_id) in &expected {
        only_score_of(&scored, *access_id);
    }
    for guest in &guests {
        let baseline = nats.bucket_value(&BaselineStore::guest_key(*guest)).await;
        let recorded: Vec<Uuid> =
            serde_json::from_value(baseline["recent_access_ids"].clone()).expect("ids");
        let unique: BTreeSet<Uuid> = recorded.iter().copied().collect();
        let wanted: BTreeSet<Uuid> = expected
            .iter()
            .filter(|(g, _)| g == guest)
            .map(|(_, id)| *id)
            .collect();
        assert_eq!(recorded.len(), unique.len(), "{baseline}");
        assert_eq!(unique, wanted, "{baseline}");
        assert_eq!(
            baseline["recent_accesses"].as_array().expect("times").len(),
            4,
            "{baseline}"
        );
    }
}

#[tokio::test]
async fn a_stored_result_keeps_the_band_of_the_preset_it_was_scored_under() {
    let nats = Nats::start().await;
    let _engine = Engine::start(&nats).await;
    let access_id = Uuid::from_u128(700);
    // A page that saw no plugins scores 45: high under strict, medium under standard.
    let strict = Access::by(Uuid::from_u128(1), "phone", HOME)
        .showing(&["no_plugins"])
        .sensitivity(Sensitivity::Strict);
    nats.publish_access(&strict.event(access_id), "strict")
        .await;
    nats.wait_for_scores(1).await;
    nats.wait_until_consumed().await;
    // The host relaxed the event and the same access comes again.
    let standard = strict.clone().sensitivity(Sensitivity::Standard);
    nats.publish_access(&standard.event(access_id), "standard-redelivery")
        .await;
    nats.wait_until_consumed().await;

    let scored = nats.fraud_scored().await;
    let result = only_score_of(&scored, access_id);
    assert_eq!(
        (result.score, result.risk.as_str(), result.flagged),
        (45, "high", true)
    );
}

#[tokio::test]
async fn a_guest_forgotten_event_removes_the_guests_from_the_engines_memory() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let (deleted, kept) = (Uuid::from_u128(1), Uuid::from_u128(2));
    for (guest, minute) in [(deleted, 0), (kept, 1)] {
        engine
            .score(&Access::by(guest, "shared-tablet", HOME).at(minute))
            .await;
    }

    nats.publish(GUEST_FORGOTTEN, "poison", b"[1, 2".to_vec())
        .await;
    nats.publish_forgotten(&[deleted, Uuid::from_u128(99)], "forget-1")
        .await;
    nats.publish_forgotten(&[deleted], "forget-1-again").await;
    let consumer = nats.wait_until_drained(ENGINE_FORGET_CONSUMER).await;
    assert_eq!(consumer.delivered.consumer_sequence, 3, "{consumer:?}");

    assert_eq!(
        nats.bucket_get(&BaselineStore::guest_key(deleted)).await,
        None
    );
    engine.settled().await;
    assert!(nats
        .bucket_get(&BaselineStore::guest_key(kept))
        .await
        .is_some());
    let tablet = DeviceKey::parse(&device_key("shared-tablet")).expect("a keyed hash");
    let index = nats.bucket_value(&BaselineStore::device_key(&tablet)).await;
    assert_eq!(index["guests"], serde_json::json!([kept]));
}

/// The engine's own binary, as deployed, consuming from `nats` (development
/// credentials); redeliveries after `ack_wait_secs`.
fn spawn_engine_process(nats: &Nats, ack_wait_secs: u32) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_fraud"))
        .env("FRAUD_GRPC_ADDR", "127.0.0.1:0")
        .env("NATS_URL", nats.url())
        .env("FRAUD_CONSUMER_ACK_WAIT_SECS", ack_wait_secs.to_string())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the fraud engine binary starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_killed_again_and_again_while_consuming_scores_every_access_once() {
    const GUESTS: u128 = 200;
    const PER_GUEST: u128 = 5;
    const KILLS: usize = 5;
    let total = (GUESTS * PER_GUEST) as usize;
    let nats = Nats::start().await;
    let mut engine = spawn_engine_process(&nats, 2);
    let jetstream = nats.jetstream().await;
    eventually("the engine's consumer to exist", || async {
        let stream = jetstream.get_stream(STREAM).await.ok()?;
        stream.consumer_info(ENGINE_CONSUMER).await.ok()
    })
    .await;
    // Every publication of fraud.scored, duplicates included: an access whose effect
    // was complete but whose ack was lost publishes it again when redelivered.
    let watcher = nats.connect_as(proto::nats::OPS).await.expect("NATS");
    let mut published = watcher.subscribe(FRAUD_SCORED).await.expect("subscribe");
    watcher.flush().await.expect("flush");
    let publications = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    tokio::spawn({
        let publications = publications.clone();
        async move {
            while published.next().await.is_some() {
                publications.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });

    // The backlog: every guest opens its link five times, minutes apart.
    let mut expected: Vec<(Uuid, Uuid)> = Vec::new();
    let mut acks = Vec::new();
    for n in 0..GUESTS * PER_GUEST {
        let guest = Uuid::from_u128(1 + n % GUESTS);
        let access_id = Uuid::from_u128(100_000 + n);
        let access = Access::by(guest, &format!("phone-{guest}"), HOME)
            .at((n / GUESTS) as i64 * 10)
            .event(access_id);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            access_id.to_string().as_str(),
        );
        let body = serde_json::to_vec(&access).expect("JSON");
        acks.push(
            jetstream
                .publish_with_headers(ACCESS_ATTEMPTED, headers, body.into())
                .await
                .expect("published"),
        );
        expected.push((guest, access_id));
    }
    for ack in acks {
        ack.await.expect("stored by the stream");
    }

    // SIGKILL the engine each time another share of the backlog has been scored, while
    // it has messages in hand, and start it again.
    for kill in 1..=KILLS {
        let threshold = total * kill / (KILLS + 2);
        eventually(
            &format!("{threshold} publications before kill {kill}"),
            || async {
                (publications.load(std::sync::atomic::Ordering::Relaxed) >= threshold).then_some(())
            },
        )
        .await;
        engine.start_kill().expect("SIGKILL");
        engine.wait().await.expect("the engine exits");
        engine = spawn_engine_process(&nats, 2);
    }
    let info = nats.wait_until_consumed().await;

    let scored = nats.fraud_scored().await;
    // Every delivery has a consumer sequence: those beyond one per access were deliveries
    // again of messages a killed engine had in hand.
    let redelivered = info
        .delivered
        .consumer_sequence
        .saturating_sub(total as u64);
    let publications = publications.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "drill: {total} accesses, {KILLS} SIGKILLs, {redelivered} redelivered, \
         {publications} publications of fraud.scored ({} after an effect whose ack was lost), \
         {} kept by the stream",
        publications.saturating_sub(total),
        scored.len()
    );
    assert!(
        redelivered > 0,
        "the kills interrupted messages in hand: {info:?}"
    );
    assert_eq!(
        scored.len(),
        total,
        "one fraud.scored per access in the stream"
    );
    for (_, access_id) in &expected {
        only_score_of(&scored, *access_id);
    }
    // And one effect in the baselines: each guest's five accesses, each recorded once.
    for guest in 1..=GUESTS {
        let guest = Uuid::from_u128(guest);
        let baseline = nats.bucket_value(&BaselineStore::guest_key(guest)).await;
        let recorded: Vec<Uuid> =
            serde_json::from_value(baseline["recent_access_ids"].clone()).expect("ids");
        let unique: BTreeSet<Uuid> = recorded.iter().copied().collect();
        let wanted: BTreeSet<Uuid> = expected
            .iter()
            .filter(|(g, _)| *g == guest)
            .map(|(_, id)| *id)
            .collect();
        assert_eq!(recorded.len(), unique.len(), "recorded twice: {baseline}");
        assert_eq!(unique, wanted, "{baseline}");
    }
    let _ = engine.kill().await;
}
