//! One test per heuristic, through the gRPC API.

use crate::helpers::{Access, Engine, Nats, LAPTOP};
use proto::fraud::v1::{Risk, ScoreRequest};
use uuid::Uuid;

const HOME: &str = "203.0.113.20";

#[tokio::test]
async fn a_first_access_from_a_browser_is_low_risk() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let first = engine
        .score(&Access::by(Uuid::from_u128(1), "phone", HOME))
        .await;
    assert_eq!((first.score(), first.risk()), (0, Risk::Low));
    assert!(first.0.reasons.is_empty());
}

#[tokio::test]
async fn another_device_than_the_guests_baseline_is_a_fingerprint_mismatch() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    engine.score(&Access::by(guest, "phone", HOME)).await;
    let laptop = engine
        .score(&Access::by(guest, "laptop", HOME).agent(LAPTOP).at(60))
        .await;
    assert!(laptop.has("fingerprint_mismatch"), "{laptop:?}");
    assert_eq!(laptop.risk(), Risk::Medium);
    let phone_again = engine
        .score(&Access::by(guest, "phone", HOME).at(120))
        .await;
    assert!(phone_again.0.reasons.is_empty(), "{phone_again:?}");
}

#[tokio::test]
async fn a_new_address_in_the_same_network_counts_less_than_a_new_network() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    engine.score(&Access::by(guest, "phone", HOME)).await;
    let neighbour = engine
        .score(&Access::by(guest, "phone", "203.0.113.99").at(60))
        .await;
    let elsewhere = engine
        .score(&Access::by(guest, "phone", "198.51.100.4").at(120))
        .await;
    assert!(neighbour.has("ip_changed_same_network"), "{neighbour:?}");
    assert!(elsewhere.has("new_network"), "{elsewhere:?}");
    assert!(neighbour.score() < elsewhere.score());

    let v6_guest = Uuid::from_u128(2);
    engine
        .score(&Access::by(v6_guest, "tablet", "2001:db8:aa:1::10"))
        .await;
    let same_48 = engine
        .score(&Access::by(v6_guest, "tablet", "2001:db8:aa:ff::99").at(60))
        .await;
    assert!(same_48.has("ip_changed_same_network"), "{same_48:?}");
}

#[tokio::test]
async fn missing_signals_and_automation_agents_are_reported() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let curl = engine
        .score(&Access::script(Uuid::from_u128(1), "curl/8.5.0", HOME))
        .await;
    for code in [
        "missing_fingerprint",
        "javascript_disabled",
        "automation_user_agent",
    ] {
        assert!(curl.has(code), "{code}: {curl:?}");
    }
    assert_eq!(curl.risk(), Risk::Block);

    let headless = engine
        .score(
            &Access::by(Uuid::from_u128(2), "headless", HOME)
                .agent("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/124.0.0.0 Safari/537.36"),
        )
        .await;
    assert!(headless.has("automation_user_agent"), "{headless:?}");
    assert!(!headless.has("missing_fingerprint"));

    let anonymous = engine
        .score(&Access::by(Uuid::from_u128(3), "phone", HOME).agent(""))
        .await;
    assert!(anonymous.has("missing_user_agent"), "{anonymous:?}");
}

#[tokio::test]
async fn the_fifth_open_within_ten_minutes_is_repeated_access() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    for minute in 0..4 {
        let open = engine
            .score(&Access::by(guest, "phone", HOME).at(minute))
            .await;
        assert!(!open.has("repeated_access"), "open {minute}: {open:?}");
    }
    let fifth = engine.score(&Access::by(guest, "phone", HOME).at(4)).await;
    assert!(fifth.has("repeated_access"), "{fifth:?}");
    assert_eq!(fifth.risk(), Risk::Medium);
    let next_day = engine
        .score(&Access::by(guest, "phone", HOME).at(24 * 60))
        .await;
    assert!(!next_day.has("repeated_access"), "{next_day:?}");
}

#[tokio::test]
async fn one_device_opening_several_guests_links_is_a_shared_device() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let first = engine
        .score(&Access::by(Uuid::from_u128(1), "kiosk", HOME))
        .await;
    let second = engine
        .score(&Access::by(Uuid::from_u128(2), "kiosk", HOME).at(1))
        .await;
    let third = engine
        .score(&Access::by(Uuid::from_u128(3), "kiosk", HOME).at(2))
        .await;
    assert!(!first.has("shared_device") && !second.has("shared_device"));
    assert!(third.has("shared_device"), "{third:?}");
}

#[tokio::test]
async fn a_new_device_after_the_guest_responded_is_high_risk() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    engine.score(&Access::by(guest, "phone", HOME)).await;
    let rsvp = engine
        .score(&Access::by(guest, "phone", HOME).at(3).rsvp())
        .await;
    assert_eq!(rsvp.risk(), Risk::Low);
    let stranger = engine
        .score(&Access::by(guest, "laptop", HOME).agent(LAPTOP).at(60))
        .await;
    assert!(stranger.has("new_device_after_rsvp"), "{stranger:?}");
    assert_eq!(stranger.risk(), Risk::High);
}

#[tokio::test]
async fn malformed_requests_are_invalid_arguments() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let valid = Access::by(Uuid::from_u128(1), "phone", HOME).request();
    for bad in [
        ScoreRequest {
            guest_id: "not-a-uuid".into(),
            ..valid.clone()
        },
        ScoreRequest {
            accessed_at: "last tuesday".into(),
            ..valid.clone()
        },
        ScoreRequest {
            ip: "300.1.2.3".into(),
            ..valid.clone()
        },
    ] {
        let status = engine
            .client
            .clone()
            .score(bad)
            .await
            .expect_err("rejected");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    }
}

#[tokio::test]
async fn scoring_without_nats_is_unavailable() {
    let mut nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    nats.stop().await;
    let status = engine
        .client
        .clone()
        .score(Access::by(Uuid::from_u128(1), "phone", HOME).request())
        .await
        .expect_err("no baselines without NATS");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
}
