//! What an attacker or a broken client sends: huge bodies, broken JSON, wrong types,
//! markup and SQL in text fields, made-up addresses. Every answer is a 4xx with the
//! JSON error body (never a 500, never HTML), and text is stored exactly as given.

use crate::support::api::{guests_path, tokens_path, TestApi};
use app::{events::Event, guests::Guest};
use serde_json::json;

/// Just over the API's 1 MiB body limit.
const TOO_BIG: usize = 1024 * 1024 + 1024;

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413_json_error() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (guest, link) = app.invite(&host, &event, json!({})).await;
    let big_json = json!({"name": "x".repeat(TOO_BIG), "slug": "big"}).to_string();
    let mut big_csv = String::from("name\n");
    while big_csv.len() < TOO_BIG {
        big_csv.push_str("A guest with a long name for padding\n");
    }

    let replies = [
        app.post("/api/v1/auth/signup")
            .body("application/json", big_json.clone().into_bytes())
            .await,
        app.post("/api/v1/events")
            .as_host(&host)
            .body("application/json", big_json.clone().into_bytes())
            .await,
        app.post(&format!("/api/v1/rsvp/{}", link.token))
            .body("application/json", big_json.clone().into_bytes())
            .await,
        app.post(&tokens_path(&guest))
            .as_host(&host)
            .body("application/json", big_json.clone().into_bytes())
            .await,
        app.post(&format!("{}/import", guests_path(event.id)))
            .as_host(&host)
            .body("text/csv", big_csv.into_bytes())
            .await,
    ];
    for reply in replies {
        reply.expect_error(413, "payload_too_large");
    }
    assert_eq!(app.count("SELECT count(*) FROM events").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 1);
}

#[tokio::test]
async fn broken_json_and_wrong_content_types_are_400_json_errors() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let deeply_nested = format!("{{\"x\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));

    for (content_type, body, code) in [
        ("application/json", "{\"name\": ", "invalid_json"),
        (
            "application/json",
            "{'name': 'single quotes'}",
            "invalid_json",
        ),
        ("application/json", "", "invalid_json"),
        ("application/json", "null", "invalid_body"),
        ("application/json", deeply_nested.as_str(), "invalid_body"),
        ("application/json", "\u{feff}{}", "invalid_json"),
        ("text/plain", "{}", "unsupported_media_type"),
        (
            "application/x-www-form-urlencoded",
            "name=x",
            "unsupported_media_type",
        ),
    ] {
        let reply = app
            .post("/api/v1/events")
            .as_host(&host)
            .body(content_type, body.as_bytes().to_vec())
            .await;
        assert!(
            (400..500).contains(&reply.status),
            "{content_type} {:?}: {} {}",
            &body[..body.len().min(20)],
            reply.status,
            reply.text
        );
        assert!(reply.is_json(), "{}", reply.text);
        assert_eq!(reply.code(), code, "{}", reply.text);
    }
    let invalid_utf8 = app
        .post("/api/v1/events")
        .as_host(&host)
        .body("application/json", b"{\"name\": \"\xff\xfe\"}".to_vec())
        .await;
    assert_eq!(invalid_utf8.status, 400, "{}", invalid_utf8.text);
    assert!(invalid_utf8.is_json());
    assert_eq!(app.count("SELECT count(*) FROM events").await, 0);
}

#[tokio::test]
async fn markup_in_names_is_stored_verbatim_and_returned_as_json_data() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let script = "<script>alert('pwned')</script>";
    let image = "<img src=x onerror=alert(1)> & \"quotes\"";

    let event = app
        .create_event(
            &host,
            json!({"name": script, "venue": image, "description": script}),
        )
        .await;
    let (guest, link) = app.invite(&host, &event, json!({"name": image})).await;
    app.rsvp(&link.token, json!({"response": "maybe", "note": script}))
        .await
        .expect_status(201);

    let read: Event = app
        .get(&format!("/api/v1/events/{}", event.id))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!((read.name.as_str(), read.venue.as_str()), (script, image));
    let listed = app.guest_list(&host, &event, "").await;
    assert_eq!(listed.guests[0].name, image);
    assert_eq!(listed.guests[0].note, script);
    let view = app.open_link(&link.token).await.expect_status(200);
    assert!(view.is_json());
    assert_eq!(view.json()["guest"]["name"], image);
    assert_eq!(view.json()["event"]["description"], script);
    let stored: String = sqlx::query_scalar("SELECT name FROM guests WHERE id = $1")
        .bind(guest.id)
        .fetch_one(&app.db)
        .await
        .expect("the guest");
    assert_eq!(stored, image);
}

#[tokio::test]
async fn sql_in_text_fields_and_queries_is_only_ever_data() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let injection = "Robert'); DROP TABLE guests;--";
    let event = app
        .create_event(&host, json!({"name": "x' OR '1'='1", "venue": injection}))
        .await;
    let guest: Guest = app
        .add_guest(
            &host,
            &event,
            json!({"name": injection, "email": "bobby@example.com"}),
        )
        .await;
    app.add_guest(&host, &event, json!({"name": "Alice"})).await;

    assert_eq!(guest.name, injection);
    for search in ["' OR 1=1 --", "%", "_", "\\", "'; SELECT pg_sleep(5); --"] {
        let list = app
            .get(&format!(
                "{}?search={}",
                guests_path(event.id),
                urlencode(search)
            ))
            .as_host(&host)
            .await
            .expect_status(200)
            .parse::<app::guests::GuestList>();
        assert!(list.guests.is_empty(), "{search}: {:?}", list.guests);
    }
    let found = app
        .guest_list(
            &host,
            &event,
            &format!("search={}", urlencode("drop table")),
        )
        .await;
    assert_eq!(found.guests.len(), 1);
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 2);
    app.login("' OR '1'='1", "' OR '1'='1")
        .await
        .expect_error(401, "invalid_credentials");
}

#[tokio::test]
async fn fields_the_server_owns_cannot_be_set_by_a_client() {
    let app = TestApi::spawn().await;
    let ada = app.signup("ada@example.com").await;
    let mallory = app.signup("mallory@example.com").await;
    let adas_event = app.create_event(&ada, json!({})).await;
    let forced_id = uuid::Uuid::new_v4();

    let event = app
        .create_event(
            &mallory,
            json!({
                "id": forced_id,
                "host_id": ada.id,
                "created_at": "2000-01-01T00:00:00Z",
            }),
        )
        .await;
    assert_ne!(event.id, forced_id);
    assert!(event.created_at.timestamp() > 946_684_800);
    let guest = app
        .add_guest(
            &mallory,
            &event,
            json!({"id": forced_id, "event_id": adas_event.id}),
        )
        .await;
    assert_eq!(guest.event_id, event.id);
    let moved: Guest = app
        .patch(&format!("{}/{}", guests_path(event.id), guest.id))
        .as_host(&mallory)
        .json(json!({"event_id": adas_event.id, "status": "attending", "plus_ones": 5}))
        .await
        .expect_status(200)
        .parse();
    assert_eq!(moved.event_id, event.id);
    assert_eq!(moved.status, app::guests::GuestStatus::Pending);

    assert_eq!(
        app.count("SELECT count(*) FROM events WHERE host_id = (SELECT id FROM hosts WHERE email = 'ada@example.com')")
            .await,
        1
    );
    assert!(app
        .guest_list(&ada, &adas_event, "")
        .await
        .guests
        .is_empty());
}

#[tokio::test]
async fn control_characters_are_refused_or_ignored_never_a_500() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let nul = "a\u{0}b";

    app.login(nul, nul)
        .await
        .expect_error(401, "invalid_credentials");
    app.try_signup(
        json!({"email": "a\u{0}@example.com", "name": "A", "password": "0123456789\u{0}"}),
    )
    .await
    .expect_status(422);
    app.try_signup(json!({"email": "nul@example.com", "name": nul, "password": "0123456789"}))
        .await
        .expect_status(422);
    app.try_create_event(&host, TestApi::event_body(json!({"time_zone": nul})))
        .await
        .expect_status(422);
    app.try_create_event(&host, TestApi::event_body(json!({"description": nul})))
        .await
        .expect_status(422);
    app.try_add_guest(&host, &event, json!({"name": nul}))
        .await
        .expect_status(422);
    app.try_add_guest(
        &host,
        &event,
        json!({"name": "A", "email": "a\u{0}@example.com"}),
    )
    .await
    .expect_status(422);
    app.try_add_guest(&host, &event, json!({"name": "A", "phone": "555\u{0}0100"}))
        .await
        .expect_status(422);
    app.post("/api/v1/api-keys")
        .as_host(&host)
        .json(json!({"name": nul}))
        .await
        .expect_status(422);
    let list = app
        .get(&format!("{}?search=%00", guests_path(event.id)))
        .as_host(&host)
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let import = app.import_csv(&host, &event, "", "name\na\u{0}b\n").await;
    assert_eq!(import.status, 422, "{}", import.text);
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 0);
}

#[tokio::test]
async fn unknown_api_addresses_and_methods_are_json_errors() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;

    for path in [
        "/api/v1/nope".to_owned(),
        "/api/v2/events".to_owned(),
        format!("/api/v1/events/{}/nope", event.id),
        "/api/v1/events/not-a-uuid".to_owned(),
        format!("/api/v1/events/{}/guests/not-a-uuid", event.id),
        "/api/v1/events/../../etc/passwd".to_owned(),
        "/api/v1/access/".to_owned(),
    ] {
        app.get(&path)
            .as_host(&host)
            .await
            .expect_error(404, "not_found");
    }
    for (method, path) in [
        (reqwest::Method::PUT, "/api/v1/events".to_owned()),
        (reqwest::Method::DELETE, "/api/v1/auth/me".to_owned()),
        (reqwest::Method::GET, "/api/v1/auth/login".to_owned()),
        (reqwest::Method::PUT, format!("/api/v1/events/{}", event.id)),
    ] {
        let reply = app.request(method.clone(), &path).as_host(&host).await;
        assert_eq!(reply.status, 405, "{method} {path}: {}", reply.text);
        assert!(reply.is_json(), "{method} {path}: {:?}", reply.text);
        assert_eq!(reply.code(), "method_not_allowed");
    }
}

#[tokio::test]
async fn bad_query_strings_are_400_json_errors() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;

    for query in [
        "valid_only=maybe",
        "dry_run=2",
        "valid_only=true&valid_only=false",
    ] {
        let reply = app
            .post(&format!("{}/import?{query}", guests_path(event.id)))
            .as_host(&host)
            .body("text/csv", b"name\nA\n".to_vec())
            .await
            .expect_error(400, "invalid_query");
        assert!(reply.is_json());
    }
    let long_search = format!("search={}", "a".repeat(10_000));
    let reply = app
        .get(&format!("{}?{long_search}", guests_path(event.id)))
        .as_host(&host)
        .await;
    assert!(reply.status < 500, "{}", reply.text);
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 0);
}

/// Percent-encodes a query value.
fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
