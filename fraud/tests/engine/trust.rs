//! Trust is earned, not first come: candidates and conflicts, trust from a low-risk
//! RSVP or a host's approval, withheld fingerprints, and resetting or forgetting a
//! guest — through the gRPC API and a real JetStream.

use crate::helpers::{default_event, device_key, Access, Engine, Nats, LAPTOP, PHONE};
use fraud::{
    baselines::BaselineStore,
    heuristics::{DeviceKey, OriginId},
};
use proto::fraud::v1::Risk;
use uuid::Uuid;

const HOME: &str = "203.0.113.20";
const ELSEWHERE: &str = "192.0.2.33";

fn device(name: &str) -> DeviceKey {
    DeviceKey::parse(&device_key(name)).expect("a keyed hash")
}

#[tokio::test]
async fn without_a_trusted_device_a_second_device_is_a_conflict_not_a_lockout() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    let impostor = engine
        .score(&Access::by(guest, "impostor", ELSEWHERE).agent(LAPTOP))
        .await;
    assert_eq!(impostor.score(), 0, "{impostor:?}");

    let real = engine
        .score(&Access::by(guest, "real-phone", HOME).at(30))
        .await;
    assert_eq!(real.0.reasons, ["device_conflict"], "{real:?}");
    assert_eq!((real.risk(), real.flagged()), (Risk::Medium, false));

    let impostor_again = engine
        .score(
            &Access::by(guest, "impostor", ELSEWHERE)
                .agent(LAPTOP)
                .at(60),
        )
        .await;
    assert_eq!(impostor_again.0.reasons, ["device_conflict"]);
    engine.settled().await;
    let baseline = nats.bucket_value(&BaselineStore::guest_key(guest)).await;
    assert_eq!(baseline["trusted_device"], serde_json::Value::Null);
    assert_eq!(
        baseline["candidates"].as_array().expect("candidates").len(),
        2
    );
}

#[tokio::test]
async fn only_a_low_risk_rsvp_or_an_approval_makes_a_device_trusted() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let opener = Uuid::from_u128(1);
    for minute in [0, 60, 120] {
        engine
            .score(&Access::by(opener, "phone", HOME).at(minute))
            .await;
    }
    engine.settled().await;
    let baseline = nats.bucket_value(&BaselineStore::guest_key(opener)).await;
    assert_eq!(
        baseline["trusted_device"],
        serde_json::Value::Null,
        "{baseline}"
    );
    assert_eq!(baseline["candidates"][0]["openings"], 3, "{baseline}");

    // A medium-risk RSVP (two devices, none confirmed) confirms nothing.
    engine
        .score(&Access::by(opener, "laptop", HOME).agent(LAPTOP).at(180))
        .await;
    let medium = engine
        .score(
            &Access::by(opener, "laptop", HOME)
                .agent(LAPTOP)
                .at(181)
                .rsvp(),
        )
        .await;
    assert_eq!(medium.risk(), Risk::Medium);
    engine.settled().await;
    let baseline = nats.bucket_value(&BaselineStore::guest_key(opener)).await;
    assert_eq!(
        baseline["trusted_device"],
        serde_json::Value::Null,
        "{baseline}"
    );
    assert_eq!(baseline["responded"], true);

    // A low-risk RSVP does.
    let answerer = Uuid::from_u128(2);
    engine.score(&Access::by(answerer, "tablet", HOME)).await;
    let low = engine
        .score(&Access::by(answerer, "tablet", HOME).at(2).rsvp())
        .await;
    assert_eq!(low.risk(), Risk::Low);
    engine.settled().await;
    let baseline = nats.bucket_value(&BaselineStore::guest_key(answerer)).await;
    assert_eq!(baseline["trusted_device"], device_key("tablet"));
    assert_eq!(baseline["trusted_ip"], HOME);
}

#[tokio::test]
async fn an_approved_device_scores_low_and_any_other_is_a_mismatch() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    engine
        .score(&Access::by(guest, "impostor", ELSEWHERE).agent(LAPTOP))
        .await;
    let real = engine
        .score(&Access::by(guest, "real-phone", HOME).at(30))
        .await;
    assert!(real.has("device_conflict"));

    engine.approve(guest, "real-phone", Some(HOME)).await;
    let answer = engine
        .score(&Access::by(guest, "real-phone", HOME).at(40).rsvp())
        .await;
    assert_eq!(
        (answer.score(), answer.risk()),
        (0, Risk::Low),
        "{answer:?}"
    );

    let impostor = engine
        .score(
            &Access::by(guest, "impostor", ELSEWHERE)
                .agent(LAPTOP)
                .at(50),
        )
        .await;
    for code in [
        "fingerprint_mismatch",
        "new_device_after_rsvp",
        "new_network",
    ] {
        assert!(impostor.has(code), "{code}: {impostor:?}");
    }
    assert!(impostor.flagged());
    engine.settled().await;
    let baseline = nats.bucket_value(&BaselineStore::guest_key(guest)).await;
    assert_eq!(baseline["trusted_device"], device_key("real-phone"));
    assert_eq!(
        baseline["candidates"].as_array().expect("candidates").len(),
        2,
        "the other candidate stays: {baseline}"
    );
}

#[tokio::test]
async fn withholding_the_fingerprint_scores_at_least_as_high_as_a_mismatch() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    engine.score(&Access::by(guest, "phone", HOME).rsvp()).await;
    let mismatch = engine
        .score(&Access::by(guest, "laptop", HOME).agent(LAPTOP).at(60))
        .await;
    let withheld = engine
        .score(
            &Access::by(guest, "phone", HOME)
                .without_fingerprint()
                .at(120),
        )
        .await;
    assert!(withheld.has("fingerprint_withheld"), "{withheld:?}");
    assert!(withheld.has("missing_fingerprint"), "{withheld:?}");
    assert!(
        withheld.score() >= mismatch.score(),
        "{withheld:?} {mismatch:?}"
    );
    assert!(withheld.score() >= 60 && withheld.flagged());

    // Before any device is trusted, no fingerprint is only a missing fingerprint.
    let fresh = engine
        .score(&Access::by(Uuid::from_u128(2), "x", HOME).without_fingerprint())
        .await;
    assert_eq!(fresh.0.reasons, ["missing_fingerprint"]);
}

#[tokio::test]
async fn after_a_reset_the_next_answer_is_scored_fresh() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    engine
        .score(&Access::by(guest, "old-phone", HOME).rsvp())
        .await;
    let new_phone = Access::by(guest, "new-phone", ELSEWHERE).at(60).rsvp();
    let before = engine.score(&new_phone).await;
    assert!(before.has("fingerprint_mismatch"), "{before:?}");

    engine.reset(guest, false).await;
    assert_eq!(
        nats.bucket_get(&BaselineStore::guest_key(guest)).await,
        None,
        "nothing learned remains"
    );
    let after = engine.score(&new_phone.clone().at(61)).await;
    assert_eq!((after.score(), after.risk()), (0, Risk::Low), "{after:?}");
    engine.settled().await;
    let baseline = nats.bucket_value(&BaselineStore::guest_key(guest)).await;
    assert_eq!(baseline["trusted_device"], device_key("new-phone"));
    // A plain reset keeps the device index: the kiosk rule still sees the guest.
    let index = nats
        .bucket_value(&BaselineStore::device_key(&device("old-phone")))
        .await;
    assert_eq!(index["guests"], serde_json::json!([guest]));
}

#[tokio::test]
async fn forgetting_a_guest_removes_it_from_every_device_and_origin_index() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let (leaving, staying) = (Uuid::from_u128(1), Uuid::from_u128(2));
    for (guest, minute) in [(leaving, 0), (staying, 1)] {
        engine
            .score(
                &Access::by(guest, "family-laptop", HOME)
                    .agent(LAPTOP)
                    .at(minute),
            )
            .await;
    }
    engine
        .score(&Access::by(leaving, "own-phone", HOME).at(2))
        .await;
    let origin = BaselineStore::origin_key(&OriginId::of(
        default_event(),
        HOME.parse().expect("ip"),
        LAPTOP,
    ));
    let phone_origin = BaselineStore::origin_key(&OriginId::of(
        default_event(),
        HOME.parse().expect("ip"),
        PHONE,
    ));
    engine.settled().await;
    assert_eq!(
        nats.bucket_value(&origin).await["entries"]
            .as_array()
            .expect("entries")
            .len(),
        2
    );

    engine.reset(leaving, true).await;

    assert_eq!(
        nats.bucket_get(&BaselineStore::guest_key(leaving)).await,
        None
    );
    let laptop = nats
        .bucket_value(&BaselineStore::device_key(&device("family-laptop")))
        .await;
    assert_eq!(laptop["guests"], serde_json::json!([staying]));
    let phone = nats
        .bucket_value(&BaselineStore::device_key(&device("own-phone")))
        .await;
    assert_eq!(phone["guests"], serde_json::json!([]));
    let entries = nats.bucket_value(&origin).await["entries"].clone();
    let guests: Vec<&str> = entries
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|entry| entry["guest_id"].as_str())
        .collect();
    assert_eq!(guests, [staying.to_string()]);
    assert_eq!(
        nats.bucket_value(&phone_origin).await["entries"],
        serde_json::json!([])
    );
    let untouched = nats.bucket_value(&BaselineStore::guest_key(staying)).await;
    assert_eq!(
        untouched["candidates"]
            .as_array()
            .expect("candidates")
            .len(),
        1
    );

    // Forgetting again is harmless.
    engine.reset(leaving, true).await;
}

#[tokio::test]
async fn a_guest_forgotten_right_after_answering_is_not_written_back() {
    // The answer goes before its recording is stored; forgetting waits for it, so the
    // recording cannot bring the guest back into the bucket or the device's index.
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    for minute in 0..5 {
        engine
            .score(&Access::by(guest, "phone", HOME).at(minute).rsvp())
            .await;
        engine.reset(guest, true).await;
        engine.settled().await;
        assert_eq!(
            nats.bucket_get(&BaselineStore::guest_key(guest)).await,
            None,
            "forgotten after answer {minute}"
        );
        let index = nats
            .bucket_value(&BaselineStore::device_key(&device("phone")))
            .await;
        assert_eq!(
            index["guests"],
            serde_json::json!([]),
            "after answer {minute}"
        );
    }
}
