//! Fraud checks an impostor cannot game, on the real pipeline (PostgreSQL, NATS
//! JetStream, the fraud engine): guests learn nothing of the verdict; whoever opens a
//! link first does not become the guest; withheld or rotated fingerprints are caught;
//! an answer slipped in during an engine outage is held once it scores as blocked; each
//! event policy decides as documented; and retention deletes what expired, nothing
//! more. Each test has its own services (`spawn_isolated`): they wait for scores, which
//! the web servers of one shared NATS would take from each other.

mod support;

use app::{
    fraud::devices::GuestDevices,
    guests::GuestList,
    review::{AuditAction, AuditEntry, GuestExport, HeldAnswer},
    rsvps::RsvpDecision,
    settings::Retention,
};
use serde_json::{json, Value};
use std::time::Duration;
use support::api::{fingerprint, guests_path, Host, TestApi};
use uuid::Uuid;

/// Polls `probe` until it returns `Some` (30 s at most).
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A browser somewhere: its own address, user agent and device.
#[derive(Clone, Copy)]
struct Browser<'a> {
    address: &'a str,
    device: Option<&'a str>,
}

const HOME: Browser = Browser {
    address: "127.0.1.10",
    device: Some("grace's phone"),
};
const IMPOSTOR: Browser = Browser {
    address: "127.0.2.20",
    device: Some("someone else's laptop"),
};

/// Opens the link as `browser` (the hydrated page reports its signals); returns the
/// attempt's id.
async fn open(app: &TestApi, token: &str, browser: Browser<'_>) -> Uuid {
    let view = app
        .get(&format!("/api/v1/access/{token}"))
        .sent_from(browser.address)
        .await
        .expect_status(200)
        .json();
    let id = view["access_log_id"].clone();
    let mut signals =
        json!({"access_log_id": id, "time_zone": "Europe/Berlin", "screen": "1920x1080"});
    if let Some(device) = browser.device {
        signals["fingerprint_hash"] = json!(fingerprint(device));
    }
    app.post(&format!("/api/v1/access/{token}/signals"))
        .sent_from(browser.address)
        .json(signals)
        .await
        .expect_status(204);
    serde_json::from_value(id).expect("a uuid")
}

/// The score, band and reasons of an attempt, once scored.
async fn scored(app: &TestApi, id: Uuid) -> (i32, String, Vec<String>, bool) {
    eventually("the attempt's score", || async {
        sqlx::query_as::<_, (Option<i32>, Option<String>, Vec<String>, Option<bool>)>(
            "SELECT risk_score, risk, reasons, flagged FROM access_attempts WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&app.db)
        .await
        .ok()
        .and_then(|(score, risk, reasons, flagged)| Some((score?, risk?, reasons, flagged?)))
    })
    .await
}

/// An event (with `fields`) and its guests' links.
async fn event_with_guests(
    app: &TestApi,
    host: &Host,
    fields: Value,
    names: &[&str],
) -> (app::events::Event, Vec<(app::guests::Guest, String)>) {
    let event = app.create_event(host, fields).await;
    let mut guests = Vec::new();
    for name in names {
        let (guest, link) = app.invite(host, &event, json!({"name": name})).await;
        guests.push((guest, link.token));
    }
    (event, guests)
}

#[tokio::test]
async fn a_guest_learns_nothing_of_the_fraud_check_and_the_host_learns_all_of_it() {
    let app = TestApi::spawn_isolated(&[]).await;
    let host = app.signup("ada@example.com").await;
    let (_, guests) = event_with_guests(&app, &host, json!({}), &["Grace"]).await;
    let token = &guests[0].1;
    let opening = open(&app, token, HOME).await;
    scored(&app, opening).await;

    let answer = app
        .rsvp(
            token,
            json!({"response": "attending", "access_log_id": opening}),
        )
        .sent_from(HOME.address)
        .await
        .expect_status(201);
    let body = answer.json();
    assert_eq!(body["rsvp"]["status"], "confirmed");
    for secret in [
        "fraud", "score", "risk", "reasons", "flagged", "verdict", "policy",
    ] {
        assert!(
            !answer.text.contains(secret),
            "the guest's answer mentions {secret}: {}",
            answer.text
        );
    }
    let view = app
        .get(&format!("/api/v1/access/{token}"))
        .sent_from(HOME.address)
        .await
        .expect_status(200);
    for secret in ["score", "risk", "reasons", "flagged"] {
        assert!(
            !view.text.contains(secret),
            "the guest's view mentions {secret}: {}",
            view.text
        );
    }

    // The host, with their API key, submitting on the guest's behalf, gets the decision.
    let key = app.create_api_key(&host, "front desk").await;
    let decision: RsvpDecision = app
        .rsvp(
            token,
            json!({"response": "maybe", "access_log_id": opening}),
        )
        .bearer(&key.key)
        .sent_from(HOME.address)
        .await
        .expect_status(200)
        .parse();
    assert!(decision.fraud.used);
    assert!(decision.fraud.score.is_some() && decision.fraud.risk.is_some());
    assert_eq!(decision.policy, "standard");
    // Another host's key is a stranger here.
    let other = app.signup("eve@example.com").await;
    let stranger = app.create_api_key(&other, "eve").await;
    let reply = app
        .rsvp(
            token,
            json!({"response": "maybe", "access_log_id": opening}),
        )
        .bearer(&stranger.key)
        .sent_from(HOME.address)
        .await
        .expect_status(200);
    assert!(!reply.text.contains("fraud"), "{}", reply.text);
}

#[tokio::test]
async fn an_impostor_who_opens_first_does_not_lock_the_real_guest_out() {
    let app = TestApi::spawn_isolated(&[]).await;
    let host = app.signup("ada@example.com").await;
    let (event, guests) = event_with_guests(&app, &host, json!({}), &["Grace"]).await;
    let (guest, token) = &guests[0];

    // The forwarded link is opened by somebody else first, then by Grace.
    let impostor_opening = open(&app, token, IMPOSTOR).await;
    scored(&app, impostor_opening).await;
    let grace_opening = open(&app, token, HOME).await;
    let (_, _, reasons, flagged) = scored(&app, grace_opening).await;
    assert!(
        !flagged,
        "the real guest is not treated as the impostor: {reasons:?}"
    );

    // The host sees the conflict on the guest row and on the guest's devices.
    let list = app.guest_list(&host, &event, "").await;
    assert!(list.guests[0].device_conflict);
    assert_eq!(list.guests[0].devices, 2);
    let devices_path = format!("{}/{}/devices", guests_path(event.id), guest.id);
    let devices: GuestDevices = app
        .get(&devices_path)
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert!(devices.conflict);
    assert_eq!(devices.devices.len(), 2);

    // The host approves Grace's device, the one that opened from her address.
    let grace_device = devices
        .devices
        .iter()
        .find(|d| d.last_ip.as_deref() == Some(HOME.address))
        .expect("Grace's device")
        .device_key
        .clone();
    let approved: GuestDevices = app
        .post(&format!("{devices_path}/{grace_device}/approve"))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert!(!approved.conflict);
    assert!(approved
        .devices
        .iter()
        .any(|d| d.trusted && d.device_key == grace_device));

    // Grace's answer is accepted, as hers.
    let answer = app
        .rsvp(
            token,
            json!({"response": "attending", "access_log_id": grace_opening}),
        )
        .sent_from(HOME.address)
        .await
        .expect_status(201);
    assert_eq!(answer.json()["rsvp"]["status"], "confirmed");
    assert_eq!(
        app.count("SELECT count(*) FROM rsvps WHERE status = 'confirmed' AND risk = 'low'")
            .await,
        1
    );
    // The impostor, answering now from the other device and network, is refused.
    app.rsvp(
        token,
        json!({"response": "declined", "access_log_id": impostor_opening}),
    )
    .sent_from(IMPOSTOR.address)
    .await
    .expect_error(403, "rsvp_refused");
    assert_eq!(
        app.count("SELECT count(*) FROM rsvps WHERE response = 'attending'")
            .await,
        1
    );
    // The decision is in the audit trail.
    let trail: Vec<AuditEntry> = app
        .get(&format!("{}/{}/audit", guests_path(event.id), guest.id))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(trail[0].action, AuditAction::DeviceApproved);
}

#[tokio::test]
async fn after_a_reset_the_guests_next_answer_is_scored_fresh_and_rotating_the_link_is_audited() {
    let app = TestApi::spawn_isolated(&[]).await;
    let host = app.signup("ada@example.com").await;
    let (event, guests) = event_with_guests(&app, &host, json!({}), &["Grace"]).await;
    let (guest, token) = &guests[0];
    let opening = open(&app, token, HOME).await;
    scored(&app, opening).await;
    app.rsvp(
        token,
        json!({"response": "attending", "access_log_id": opening}),
    )
    .sent_from(HOME.address)
    .await
    .expect_status(201);
    // Grace changes phones: her new device is a stranger to the checks.
    let new_phone = Browser {
        address: "127.0.3.30",
        device: Some("grace's new phone"),
    };
    let before_reset = open(&app, token, new_phone).await;
    assert!(
        scored(&app, before_reset).await.3,
        "a new device after the answer is flagged"
    );

    let reset: GuestDevices = app
        .post(&format!("{}/{}/reset", guests_path(event.id), guest.id))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert!(
        reset.devices.is_empty(),
        "devices before the reset are done with"
    );
    let after_reset = open(&app, token, new_phone).await;
    let (score, _, reasons, _) = scored(&app, after_reset).await;
    assert_eq!(score, 0, "scored fresh: {reasons:?}");

    // Rotating the link is recorded too.
    app.issue_link(&host, guest).await;
    let trail: Vec<AuditEntry> = app
        .get(&format!("{}/{}/audit", guests_path(event.id), guest.id))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    let actions: Vec<AuditAction> = trail.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [AuditAction::LinkRotated, AuditAction::BaselineReset]
    );
}

#[tokio::test]
async fn an_opening_without_a_fingerprint_after_a_trusted_device_is_flagged() {
    let app = TestApi::spawn_isolated(&[]).await;
    let host = app.signup("ada@example.com").await;
    let (_, guests) = event_with_guests(&app, &host, json!({}), &["Grace"]).await;
    let token = &guests[0].1;
    let opening = open(&app, token, HOME).await;
    scored(&app, opening).await;
    app.rsvp(
        token,
        json!({"response": "attending", "access_log_id": opening}),
    )
    .sent_from(HOME.address)
    .await
    .expect_status(201);

    // The same address, a page that keeps its fingerprint to itself.
    let withheld = open(
        &app,
        token,
        Browser {
            address: HOME.address,
            device: None,
        },
    )
    .await;
    let (score, _, reasons, flagged) = scored(&app, withheld).await;
    assert!(flagged, "{score} {reasons:?}");
    assert!(
        reasons.iter().any(|r| r == "fingerprint_withheld"),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn random_fingerprints_from_one_device_across_six_guests_are_flagged() {
    let app = TestApi::spawn_isolated(&[]).await;
    let host = app.signup("ada@example.com").await;
    let names = ["A", "B", "C", "D", "E", "F"];
    let (_, guests) = event_with_guests(&app, &host, json!({}), &names).await;
    let mut last = None;
    for (n, (_, token)) in guests.iter().enumerate() {
        let device = format!("random-{n}-{}", Uuid::new_v4());
        let opening = open(
            &app,
            token,
            Browser {
                address: "127.0.4.44",
                device: Some(&device),
            },
        )
        .await;
        last = Some(scored(&app, opening).await);
    }
    let (score, _, reasons, flagged) = last.expect("six openings");
    assert!(flagged, "{score} {reasons:?}");
    assert!(
        reasons.iter().any(|r| r == "rotating_fingerprints"),
        "{reasons:?}"
    );
}

/// A policy for the event.
fn policy(on: &str, sensitivity: &str, shadow: bool) -> Value {
    json!({"fraud_policy": {"on_engine_unavailable": on, "sensitivity": sensitivity, "shadow": shadow}})
}

#[tokio::test]
async fn an_answer_slipped_in_during_an_outage_that_later_scores_block_is_held_and_not_counted() {
    let mut app = TestApi::spawn_isolated(&[]).await;
    let host = app.signup("ada@example.com").await;
    let (event, guests) =
        event_with_guests(&app, &host, json!({"capacity": 10}), &["Grace", "Alan"]).await;
    app.own().fraud.stop().await;

    // A script answers while the engine is down: recorded (the default policy accepts).
    let receipt = app
        .rsvp(
            &guests[0].1,
            json!({"response": "attending", "plus_ones": 0}),
        )
        .header("user-agent", "python-requests/2.32")
        .await
        .expect_status(201)
        .json();
    assert_eq!(receipt["rsvp"]["status"], "confirmed");
    assert_eq!(app.guest_list(&host, &event, "").await.counts.attending, 1);

    // The engine comes back and scores it as blocked: it is held, not counted.
    app.own().fraud.restart().await;
    let list: GuestList = eventually("the answer held", || async {
        let list = app.guest_list(&host, &event, "").await;
        (list.counts.held == 1).then_some(list)
    })
    .await;
    assert_eq!(list.counts.attending, 0);
    assert_eq!(
        list.guests
            .iter()
            .find(|g| g.name == "Grace")
            .map(|g| g.held_reason.clone()),
        Some(Some("blocked_after_outage".to_owned()))
    );
    let held: Vec<HeldAnswer> = app
        .get(&format!("/api/v1/events/{}/held", event.id))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].guest_name, "Grace");
    assert_eq!(held[0].risk.map(|r| r.as_str()), Some("block"));
    // The host is told through the event stream too (notifications build on it).
    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE subject = 'rsvp.held'")
            .await,
        1
    );

    // The host rejects it; the guest may answer again.
    app.post(&format!(
        "{}/{}/answer/reject",
        guests_path(event.id),
        guests[0].0.id
    ))
    .as_host(&host)
    .await
    .expect_status(204);
    assert_eq!(
        app.count("SELECT count(*) FROM rsvps WHERE status = 'rejected'")
            .await,
        1
    );
    assert_eq!(app.guest_list(&host, &event, "").await.counts.held, 0);
}

#[tokio::test]
async fn with_the_hold_policy_an_unchecked_answer_waits_and_is_confirmed_once_it_scores_fine() {
    let mut app = TestApi::spawn_isolated(&[]).await;
    let host = app.signup("ada@example.com").await;
    let (event, guests) =
        event_with_guests(&app, &host, policy("hold", "standard", false), &["Grace"]).await;
    let token = &guests[0].1;
    let opening = open(&app, token, HOME).await;
    scored(&app, opening).await;
    app.own().fraud.stop().await;

    let receipt = app
        .rsvp(
            token,
            json!({"response": "attending", "access_log_id": opening}),
        )
        .sent_from(HOME.address)
        .await
        .expect_status(201)
        .json();
    assert_eq!(receipt["rsvp"]["status"], "held");
    let counts = app.guest_list(&host, &event, "").await.counts;
    assert_eq!((counts.attending, counts.held), (0, 1));
    assert_eq!(
        app.count("SELECT count(*) FROM access_attempts WHERE policy = 'engine unavailable: hold'")
            .await,
        1
    );

    app.own().fraud.restart().await;
    eventually("the answer confirmed after scoring", || async {
        (app.guest_list(&host, &event, "").await.counts.attending == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn with_the_refuse_policy_an_unchecked_answer_is_refused_and_nothing_is_recorded() {
    let mut app = TestApi::spawn_isolated(&[]).await;
    let host = app.signup("ada@example.com").await;
    let (_, guests) =
        event_with_guests(&app, &host, policy("refuse", "standard", false), &["Grace"]).await;
    app.own().fraud.stop().await;
    let refused = app
        .rsvp(&guests[0].1, json!({"response": "attending"}))
        .await
        .expect_error(503, "try_again_later");
    assert!(refused.header("retry-after").is_some());
    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, 0);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM access_attempts WHERE policy = 'engine unavailable: refuse'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn shadow_mode_records_what_would_be_refused_and_flags_it() {
    let app = TestApi::spawn_isolated(&[]).await;
    let host = app.signup("ada@example.com").await;
    let (_, guests) =
        event_with_guests(&app, &host, policy("accept", "standard", true), &["Grace"]).await;
    let receipt = app
        .rsvp(&guests[0].1, json!({"response": "attending"}))
        .header("user-agent", "python-requests/2.32")
        .await
        .expect_status(201)
        .json();
    assert_eq!(receipt["rsvp"]["status"], "confirmed");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM access_attempts
             WHERE kind = 'rsvp' AND risk = 'block' AND flagged AND NOT blocked
               AND policy = 'standard · shadow'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_sensitivity_preset_decides_how_the_same_answer_is_judged() {
    let app = TestApi::spawn_isolated(&[]).await;
    let host = app.signup("ada@example.com").await;
    let mut outcomes = Vec::new();
    for sensitivity in ["relaxed", "standard", "strict"] {
        let (_, guests) = event_with_guests(
            &app,
            &host,
            policy("accept", sensitivity, false),
            &["Grace"],
        )
        .await;
        // No user agent, no page: 80 points whatever the preset.
        let reply = app
            .rsvp(&guests[0].1, json!({"response": "attending"}))
            .header("user-agent", "")
            .as_host(&host)
            .await;
        let body = reply.json();
        let band = body["fraud"]["risk"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        outcomes.push((sensitivity, reply.status, band));
    }
    assert_eq!(
        outcomes,
        [
            ("relaxed", 201, "high".to_owned()),
            ("standard", 201, "high".to_owned()),
            ("strict", 403, "block".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_host_can_export_a_guests_data_and_deleting_the_guest_makes_the_engine_forget_them() {
    let app = TestApi::spawn_isolated(&[]).await;
    let host = app.signup("ada@example.com").await;
    let (event, guests) = event_with_guests(&app, &host, json!({}), &["Grace"]).await;
    let (guest, token) = &guests[0];
    let opening = open(&app, token, HOME).await;
    scored(&app, opening).await;
    let export: GuestExport = app
        .get(&format!("{}/{}/export", guests_path(event.id), guest.id))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(export.guest.id, guest.id);
    assert_eq!(export.access_attempts.len(), 1);
    let device = export.access_attempts[0]
        .device_key
        .clone()
        .expect("a device key");
    assert_ne!(
        device,
        fingerprint(HOME.device.unwrap_or_default()),
        "never the fingerprint"
    );

    app.delete(&format!("{}/{}", guests_path(event.id), guest.id))
        .as_host(&host)
        .await
        .expect_status(204);
    let forgotten: Vec<Value> = eventually("guest.forgotten published", || async {
        let rows: Vec<(Value,)> = sqlx::query_as(
            "SELECT payload FROM outbox WHERE subject = 'guest.forgotten' AND published_at IS NOT NULL",
        )
        .fetch_all(&app.db)
        .await
        .ok()?;
        (!rows.is_empty()).then(|| rows.into_iter().map(|(p,)| p).collect())
    })
    .await;
    assert_eq!(forgotten[0]["guest_ids"], json!([guest.id]));
    assert_eq!(app.count("SELECT count(*) FROM access_attempts").await, 0);
}

#[tokio::test]
async fn retention_removes_what_has_expired_and_nothing_else() {
    let app = TestApi::spawn_isolated(&[]).await;
    let host = app.signup("ada@example.com").await;
    let (_, guests) = event_with_guests(&app, &host, json!({}), &["Grace"]).await;
    let token = &guests[0].1;
    let old = open(&app, token, HOME).await;
    let fresh = open(&app, token, HOME).await;
    scored(&app, fresh).await;
    scored(&app, old).await;
    sqlx::query(
        "UPDATE access_attempts SET accessed_at = now() - interval '200 days' WHERE id = $1",
    )
    .bind(old)
    .execute(&app.db)
    .await
    .expect("aged");
    sqlx::query(
        "UPDATE outbox SET published_at = now() - interval '8 days'
          WHERE id = (SELECT id FROM outbox WHERE published_at IS NOT NULL LIMIT 1)",
    )
    .execute(&app.db)
    .await
    .expect("aged");
    let outbox_before = app.count("SELECT count(*) FROM outbox").await;
    // Three sessions: the host's own (in use), one ended 40 days ago, one idle for 40.
    app.login("ada@example.com", support::api::PASSWORD)
        .await
        .expect_status(200);
    app.login("ada@example.com", support::api::PASSWORD)
        .await
        .expect_status(200);
    sqlx::query(
        "UPDATE host_sessions SET revoked_at = now() - interval '40 days'
          WHERE token_hash = (SELECT token_hash FROM host_sessions ORDER BY created_at OFFSET 1 LIMIT 1)",
    )
    .execute(&app.db)
    .await
    .expect("ended");
    sqlx::query(
        "UPDATE host_sessions SET last_seen_at = now() - interval '40 days'
          WHERE token_hash = (SELECT token_hash FROM host_sessions ORDER BY created_at OFFSET 2 LIMIT 1)",
    )
    .execute(&app.db)
    .await
    .expect("idle");

    let purged = app::retention::purge(&app.db, &Retention::default(), Duration::from_secs(86_400))
        .await
        .expect("purged");

    assert_eq!(
        (purged.access_attempts, purged.outbox, purged.sessions),
        (1, 1, 2)
    );
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM access_attempts")
        .fetch_all(&app.db)
        .await
        .expect("select");
    assert_eq!(left, [fresh]);
    assert_eq!(
        app.count("SELECT count(*) FROM outbox").await,
        outbox_before - 1
    );
    assert_eq!(app.count("SELECT count(*) FROM host_sessions").await, 1);
    app.me(&host).await.expect_status(200);
}
