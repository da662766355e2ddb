//! Opening a link: what the guest sees, the access attempt recorded for it, and the
//! browser signals the hydrated page adds to that attempt.

use crate::support::api::{fingerprint, TestApi};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn opening_a_link_shows_the_invitation_and_records_the_attempt() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(
            &host,
            json!({"name": "Wedding", "description": "Dinner", "default_max_plus_ones": 2,
                   "rsvp_deadline": "2031-05-01T00:00:00Z"}),
        )
        .await;
    let (guest, link) = app
        .invite(
            &host,
            &event,
            json!({"name": "Grace Hopper", "email": "grace@example.com"}),
        )
        .await;

    let view = app.open_link(&link.token).await.expect_status(200).json();

    assert_eq!(
        view["token"],
        json!({
            "id": link.id,
            "status": "active",
            "expires_at": link.expires_at,
        })
    );
    assert_eq!(
        view["guest"],
        json!({"id": guest.id, "name": "Grace Hopper", "max_plus_ones": 2})
    );
    assert_eq!(view["event"]["id"], event.id.to_string());
    assert_eq!(view["event"]["name"], "Wedding");
    assert_eq!(view["event"]["description"], "Dinner");
    assert_eq!(view["event"]["time_zone"], "Europe/Paris");
    assert_eq!(view["event"]["venue"], "The Old Mill");
    assert!(view["event"]["rsvp_deadline"].is_string());
    assert!(view["event"].get("capacity").is_none(), "{view}");
    assert!(view["guest"].get("email").is_none(), "{view}");
    assert_eq!(view["rsvp"], serde_json::Value::Null);

    let access_log_id = view["access_log_id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .expect("an access_log_id");
    let (ip, user_agent, language, invitation, guest_id, js): (
        Option<String>,
        String,
        String,
        Uuid,
        Uuid,
        bool,
    ) = sqlx::query_as(
        "SELECT host(ip), user_agent, accept_language, invitation_id, guest_id, js_enabled
         FROM access_attempts WHERE id = $1",
    )
    .bind(access_log_id)
    .fetch_one(&app.db)
    .await
    .expect("the attempt is recorded");
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(user_agent, "Mozilla/5.0 (GuestGuard tests)");
    assert_eq!(language, "fr-FR,fr;q=0.9");
    assert_eq!((invitation, guest_id, js), (link.id, guest.id, false));
}

#[tokio::test]
async fn every_opening_is_a_new_attempt() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (_, link) = app.invite(&host, &event, json!({})).await;

    let first = app.open_link(&link.token).await.expect_status(200).json();
    let second = app
        .get(&format!("/api/v1/access/{}", link.token))
        .await
        .expect_status(200)
        .json();

    assert_ne!(first["access_log_id"], second["access_log_id"]);
    assert_eq!(app.count("SELECT count(*) FROM access_attempts").await, 2);
    assert_eq!(
        app.count("SELECT count(*) FROM access_attempts WHERE accept_language = ''")
            .await,
        1,
        "a missing header is stored as empty"
    );
}

#[tokio::test]
async fn the_hydrated_page_attaches_browser_signals_to_its_attempt_once() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (_, link) = app.invite(&host, &event, json!({})).await;
    let (_, other_link) = app.invite(&host, &event, json!({"name": "Other"})).await;
    let view = app.open_link(&link.token).await.expect_status(200).json();
    let other_view = app
        .open_link(&other_link.token)
        .await
        .expect_status(200)
        .json();
    let signals_path = format!("/api/v1/access/{}/signals", link.token);
    let signals = json!({
        "access_log_id": view["access_log_id"],
        "fingerprint_hash": fingerprint("laptop"),
        "time_zone": "Europe/Paris",
        "screen": "1920x1080@2",
        "automation": ["no_plugins"],
    });

    app.post(&signals_path)
        .json(&signals)
        .await
        .expect_status(204);

    let (device, zone, screen, js, automation): (
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
        Vec<String>,
    ) = sqlx::query_as(
        "SELECT device_key, time_zone, screen, js_enabled, automation FROM access_attempts
         WHERE id = $1::uuid",
    )
    .bind(view["access_log_id"].as_str())
    .fetch_one(&app.db)
    .await
    .expect("the attempt");
    // Only the keyed hash of the fingerprint is stored, never the fingerprint itself.
    let device = device.expect("a device key");
    assert_eq!(device.len(), 64);
    assert_ne!(device, fingerprint("laptop"));
    assert_eq!(automation, ["no_plugins"]);
    assert_eq!(zone.as_deref(), Some("Europe/Paris"));
    assert_eq!(screen.as_deref(), Some("1920x1080@2"));
    assert!(js);

    // Only once, only for this link's own attempt, only for a real attempt.
    app.post(&signals_path)
        .json(&signals)
        .await
        .expect_error(404, "not_found");
    app.post(&signals_path)
        .json(json!({"access_log_id": other_view["access_log_id"], "screen": "1x1@1"}))
        .await
        .expect_error(404, "not_found");
    app.post(&signals_path)
        .json(json!({"access_log_id": Uuid::new_v4()}))
        .await
        .expect_error(404, "not_found");
    app.post(&signals_path)
        .json(json!({"fingerprint_hash": "no id"}))
        .await
        .expect_error(400, "invalid_body");
    assert_eq!(
        app.count("SELECT count(*) FROM access_attempts WHERE js_enabled")
            .await,
        1
    );
}

#[tokio::test]
async fn a_fingerprint_must_be_a_sha256_digest_and_automation_signs_come_from_the_vocabulary() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (_, link) = app.invite(&host, &event, json!({})).await;
    let view = app.open_link(&link.token).await.expect_status(200).json();
    let path = format!("/api/v1/access/{}/signals", link.token);
    for made_up in [
        "laptop",
        "f".repeat(10_000).as_str(),
        &fingerprint("x")[..63],
    ] {
        app.post(&path)
            .json(json!({"access_log_id": view["access_log_id"], "fingerprint_hash": made_up}))
            .await
            .expect_error(422, "invalid_fingerprint");
    }
    app.post(&path)
        .json(json!({"access_log_id": view["access_log_id"], "automation": ["i-am-human"]}))
        .await
        .expect_error(422, "invalid_automation");
    assert_eq!(
        app.count("SELECT count(*) FROM access_attempts WHERE js_enabled")
            .await,
        0,
        "nothing refused was stored"
    );
}

#[tokio::test]
async fn overlong_signals_are_clipped_not_refused() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (_, link) = app.invite(&host, &event, json!({})).await;
    let view = app
        .get(&format!("/api/v1/access/{}", link.token))
        .header("user-agent", &"U".repeat(5000))
        .await
        .expect_status(200)
        .json();

    app.post(&format!("/api/v1/access/{}/signals", link.token))
        .json(json!({
            "access_log_id": view["access_log_id"],
            "fingerprint_hash": fingerprint("laptop"),
            "time_zone": "Z".repeat(1000),
            "screen": "9".repeat(1000),
        }))
        .await
        .expect_status(204);

    assert_eq!(
        app.count(
            "SELECT (length(user_agent) + length(device_key) + length(time_zone)
                     + length(screen))::bigint FROM access_attempts"
        )
        .await,
        512 + 64 + 64 + 32
    );
}

#[tokio::test]
async fn a_guests_own_answer_shows_when_they_come_back() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"default_max_plus_ones": 1}))
        .await;
    let (_, link) = app.invite(&host, &event, json!({})).await;
    app.rsvp(
        &link.token,
        json!({"response": "attending", "plus_ones": 1, "note": "Vegetarian"}),
    )
    .await
    .expect_status(201);

    let view = app.open_link(&link.token).await.expect_status(200).json();

    assert_eq!(view["token"]["status"], "used");
    assert_eq!(view["rsvp"]["response"], "attending");
    assert_eq!(view["rsvp"]["plus_ones"], 1);
    assert_eq!(view["rsvp"]["note"], "Vegetarian");
}

#[tokio::test]
async fn opening_links_too_fast_is_a_429_with_retry_after() {
    let app = TestApi::spawn().await;

    // 120 at once are let through (the quota's burst); then one more every half
    // second, so a client hammering the link is stopped within a few more tries.
    let mut answered = 0;
    let limited = loop {
        let reply = app.open_link("not-a-token").await;
        if reply.status == 429 {
            break reply;
        }
        answered += 1;
        assert!(answered < 200, "never limited");
    };
    assert!(answered >= 120, "only {answered} let through");
    let limited = limited.expect_error(429, "rate_limited");
    assert!(limited
        .header("retry-after")
        .and_then(|value| value.parse::<u64>().ok())
        .is_some_and(|seconds| (1..=60).contains(&seconds)));
}

#[tokio::test]
async fn the_access_log_is_the_hosts_own_newest_first_and_bounded() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let other = app.signup("eve@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (_, link) = app.invite(&host, &event, json!({"name": "Grace"})).await;
    let first = app.open_link(&link.token).await.expect_status(200).json();
    let second = app.open_link(&link.token).await.expect_status(200).json();
    let path = format!("/api/v1/events/{}/access-log", event.id);

    let log = app
        .get(&path)
        .as_host(&host)
        .await
        .expect_status(200)
        .json();

    let ids: Vec<&serde_json::Value> = log
        .as_array()
        .expect("a list")
        .iter()
        .map(|entry| &entry["id"])
        .collect();
    assert_eq!(ids, [&second["access_log_id"], &first["access_log_id"]]);
    assert_eq!(log[0]["guest_name"], "Grace");
    assert_eq!(log[0]["kind"], "open");
    assert_eq!(log[0]["ip"], "127.0.0.1");
    let limited = app
        .get(&format!("{path}?limit=1"))
        .as_host(&host)
        .await
        .expect_status(200)
        .json();
    assert_eq!(limited.as_array().map(Vec::len), Some(1));
    app.get(&format!("{path}?limit=0"))
        .as_host(&host)
        .await
        .expect_error(422, "invalid_limit");
    app.get(&path)
        .as_host(&other)
        .await
        .expect_error(404, "not_found");
    app.get(&path).await.expect_error(401, "unauthenticated");
}
