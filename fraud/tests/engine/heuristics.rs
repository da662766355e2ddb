//! One test per heuristic, through the gRPC API.

use crate::helpers::{device_key, Access, Engine, Nats, Scored, HEADLESS, LAPTOP};
use proto::fraud::v1::{ApproveDeviceRequest, ResetGuestRequest, Risk, ScoreRequest, Sensitivity};
use uuid::Uuid;

const HOME: &str = "203.0.113.20";
const OFFICE: &str = "198.51.100.140";

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
async fn another_device_than_the_trusted_one_is_a_fingerprint_mismatch() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    engine.score(&Access::by(guest, "phone", HOME)).await;
    engine.approve(guest, "phone", None).await;
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
    engine.score(&Access::by(guest, "phone", HOME).rsvp()).await;
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
        .score(&Access::by(v6_guest, "tablet", "2001:db8:aa:1::10").rsvp())
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

    let anonymous = engine
        .score(&Access::by(Uuid::from_u128(3), "phone", HOME).agent(""))
        .await;
    assert!(anonymous.has("missing_user_agent"), "{anonymous:?}");
}

#[tokio::test]
async fn a_headless_browser_running_javascript_with_a_fingerprint_is_flagged() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let by_agent = engine
        .score(&Access::by(Uuid::from_u128(1), "headless-1", HOME).agent(HEADLESS))
        .await;
    assert!(by_agent.has("automation_user_agent"), "{by_agent:?}");
    assert!(!by_agent.has("missing_fingerprint"));
    let by_webdriver = engine
        .score(
            &Access::by(Uuid::from_u128(2), "headless-2", HOME)
                .agent(LAPTOP)
                .showing(&["webdriver"]),
        )
        .await;
    assert!(by_webdriver.has("automation_signals"), "{by_webdriver:?}");
    let both = engine
        .score(
            &Access::by(Uuid::from_u128(3), "headless-3", HOME)
                .agent(HEADLESS)
                .showing(&["webdriver", "headless"]),
        )
        .await;
    for scored in [&by_agent, &by_webdriver, &both] {
        assert!(scored.score() >= 60 && scored.flagged(), "{scored:?}");
    }
    assert_eq!(both.risk(), Risk::Block);
}

#[tokio::test]
async fn automation_traits_weigh_more_the_more_the_page_saw_and_unknown_ones_are_ignored() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let mut scores = Vec::new();
    for (n, traits) in [
        vec!["telepathy"],
        vec!["no_plugins"],
        vec!["no_plugins", "no_languages"],
        vec!["no_plugins", "no_languages", "zero_window", "screen_zero"],
    ]
    .into_iter()
    .enumerate()
    {
        let access = Access::by(Uuid::from_u128(n as u128 + 1), &format!("pc-{n}"), HOME)
            .agent(LAPTOP)
            .showing(&traits)
            .at(n as i64 * 60);
        scores.push(engine.score(&access).await.score());
    }
    assert_eq!(scores, [0, 45, 60, 90]);
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
async fn thirty_openings_of_one_link_in_a_minute_are_flagged() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    let mut last = None;
    for second in 0..30 {
        let open = Access::by(guest, "hammer", HOME).and_seconds(second * 2);
        last = Some(engine.score(&open).await);
    }
    let last = last.expect("thirty openings");
    assert!(last.has("repeated_access"), "{last:?}");
    assert!(last.score() >= 60 && last.flagged(), "{last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_openings_of_one_link_at_once_are_seen_as_a_burst() {
    // Each answer goes before its recording is stored: the engine still assesses every
    // opening of the link against the ones before it, so a burst cannot slip through.
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let request = Access::by(guest, "hammer", HOME).request();
        let mut client = engine.client.clone();
        calls.spawn(async move { client.score(request).await });
    }
    let scored: Vec<Scored> = calls
        .join_all()
        .await
        .into_iter()
        .map(|result| Scored(result.expect("Score succeeds").into_inner()))
        .collect();
    let repeated = scored
        .iter()
        .filter(|open| open.has("repeated_access"))
        .count();
    assert!(
        repeated >= 25,
        "{repeated} of 30 seen as repeated: {scored:?}"
    );
    assert!(
        scored.iter().any(|open| open.flagged()),
        "the burst is flagged: {scored:?}"
    );
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
    assert!(
        !third.flagged(),
        "three guests on one device is worth a look only"
    );
}

#[tokio::test]
async fn one_device_opening_six_guests_links_of_one_event_is_flagged() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let mut last = None;
    for guest in 1..=6 {
        let open = Access::by(Uuid::from_u128(guest), "harvester", OFFICE)
            .agent(LAPTOP)
            .at(guest as i64);
        last = Some(engine.score(&open).await);
    }
    let sixth = last.expect("six guests");
    assert!(sixth.has("shared_device"), "{sixth:?}");
    assert!(sixth.score() >= 60 && sixth.flagged(), "{sixth:?}");
}

#[tokio::test]
async fn one_browser_rotating_fingerprints_over_six_guests_is_flagged_but_a_couple_is_not() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let mut rotation = Vec::new();
    for guest in 1..=6u128 {
        let open = Access::by(Uuid::from_u128(guest), &format!("rotated-{guest}"), OFFICE)
            .agent(LAPTOP)
            .at(guest as i64 * 3);
        rotation.push(engine.score(&open).await);
    }
    assert!(
        rotation[..2]
            .iter()
            .all(|s| !s.has("rotating_fingerprints")),
        "{rotation:?}"
    );
    let sixth = &rotation[5];
    assert!(sixth.has("rotating_fingerprints"), "{sixth:?}");
    assert!(!sixth.has("shared_device"), "every key is new: {sixth:?}");
    assert!(sixth.score() >= 60 && sixth.flagged(), "{sixth:?}");

    // A couple on one laptop, on one network, in another event.
    let couple_event = Uuid::from_u128(70);
    for (guest, minute) in [(11, 0), (12, 2), (11, 4), (12, 6)] {
        let open = Access::by(Uuid::from_u128(guest), "couple-laptop", HOME)
            .agent(LAPTOP)
            .in_event(couple_event)
            .at(minute);
        let scored = engine.score(&open).await;
        assert!(scored.0.reasons.is_empty(), "{scored:?}");
    }
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
async fn the_sensitivity_preset_changes_the_band_and_never_the_score() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let mut outcomes = Vec::new();
    for (n, preset) in [
        Sensitivity::Relaxed,
        Sensitivity::Standard,
        Sensitivity::Strict,
    ]
    .into_iter()
    .enumerate()
    {
        // Same story per preset: two devices on a link, no confirmed one (35), and a
        // page that saw no plugins (45).
        let event = Uuid::from_u128(100 + n as u128);
        let conflict_guest = Uuid::from_u128(10 + n as u128);
        engine
            .score(&Access::by(conflict_guest, &format!("a-{n}"), HOME).in_event(event))
            .await;
        let conflict = engine
            .score(
                &Access::by(conflict_guest, &format!("b-{n}"), OFFICE)
                    .in_event(event)
                    .sensitivity(preset)
                    .at(60),
            )
            .await;
        let plugins = engine
            .score(
                &Access::by(Uuid::from_u128(20 + n as u128), &format!("c-{n}"), HOME)
                    .in_event(event)
                    .showing(&["no_plugins"])
                    .sensitivity(preset),
            )
            .await;
        outcomes.push([
            (conflict.score(), conflict.risk(), conflict.flagged()),
            (plugins.score(), plugins.risk(), plugins.flagged()),
        ]);
    }
    assert_eq!(
        outcomes,
        [
            [(35, Risk::Low, false), (45, Risk::Medium, false)],
            [(35, Risk::Medium, false), (45, Risk::Medium, false)],
            [(35, Risk::Medium, false), (45, Risk::High, true)],
        ]
    );
}

#[tokio::test]
async fn malformed_requests_are_invalid_arguments() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let valid = Access::by(Uuid::from_u128(1), "phone", HOME).request();
    let with_key = |key: String| {
        let mut request = valid.clone();
        if let Some(signals) = request.signals.as_mut() {
            signals.device_key = key;
        }
        request
    };
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
        ScoreRequest {
            event_starts_at: "next spring".into(),
            ..valid.clone()
        },
        with_key("raw-browser-fingerprint".into()),
        with_key(device_key("phone").to_uppercase()),
        with_key(device_key("phone")[..63].to_owned()),
    ] {
        let status = engine
            .client
            .clone()
            .score(bad)
            .await
            .expect_err("rejected");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    }

    let approval = ApproveDeviceRequest {
        event_id: Uuid::from_u128(7).to_string(),
        guest_id: Uuid::from_u128(1).to_string(),
        device_key: device_key("phone"),
        ip: HOME.into(),
        event_starts_at: String::new(),
    };
    for bad in [
        ApproveDeviceRequest {
            device_key: "raw-browser-fingerprint".into(),
            ..approval.clone()
        },
        ApproveDeviceRequest {
            device_key: String::new(),
            ..approval.clone()
        },
        ApproveDeviceRequest {
            ip: "home".into(),
            ..approval.clone()
        },
        ApproveDeviceRequest {
            guest_id: "guest-1".into(),
            ..approval.clone()
        },
    ] {
        let status = engine
            .client
            .clone()
            .approve_device(bad)
            .await
            .expect_err("rejected");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    }
    let status = engine
        .client
        .clone()
        .reset_guest(ResetGuestRequest {
            guest_id: "everyone".into(),
            forget: true,
        })
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
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
