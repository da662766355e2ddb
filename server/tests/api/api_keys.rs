//! API keys: created once and shown once, listed without the key, accepted by every
//! host endpoint through `Authorization: Bearer` — except those that manage credentials
//! — refused at once when revoked or expired.

use crate::support::api::{guest_path, guests_path, tokens_path, TestApi, PASSWORD};
use app::{events::Event, guests::Guest, hosts::ApiKeySummary, invitations::IssuedLink};
use serde_json::json;

#[tokio::test]
async fn creating_a_key_answers_201_with_the_key_shown_only_this_once() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;

    let created = app
        .post("/api/v1/api-keys")
        .as_host(&host)
        .json(json!({"name": "Zapier"}))
        .await
        .expect_status(201)
        .json();

    let key = created["key"].as_str().expect("the key");
    assert!(key.starts_with("ggk_"), "{key}");
    assert!(created["id"].is_string());
    assert_eq!(created["name"], "Zapier");

    let listed = app
        .get("/api/v1/api-keys")
        .as_host(&host)
        .await
        .expect_status(200);
    assert!(
        !listed.text.contains(key),
        "the list shows the key: {}",
        listed.text
    );
    let keys: Vec<ApiKeySummary> = listed.parse();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        keys[0].id.to_string(),
        created["id"].as_str().unwrap_or_default()
    );
    assert!(key.starts_with(&keys[0].prefix) && keys[0].prefix.len() < key.len());
    assert!(!keys[0].revoked);

    let stored: Vec<u8> = sqlx::query_scalar("SELECT key_hash FROM api_keys")
        .fetch_one(&app.db)
        .await
        .expect("one key");
    assert!(!String::from_utf8_lossy(&stored).contains(key));
}

#[tokio::test]
async fn a_key_needs_a_name() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;

    for name in ["", "   ", &"k".repeat(101), "tab\there"] {
        let reply = app
            .post("/api/v1/api-keys")
            .as_host(&host)
            .json(json!({ "name": name }))
            .await
            .expect_error(422, "invalid_name");
        assert_eq!(reply.field().as_deref(), Some("name"));
    }
}

#[tokio::test]
async fn an_api_key_works_on_every_host_endpoint_without_origin_or_cookie() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let key = app.create_api_key(&host, "integration").await.key;

    let me = app
        .get("/api/v1/auth/me")
        .bearer(&key)
        .await
        .expect_status(200);
    assert_eq!(me.json()["id"], host.id.to_string());

    let event: Event = app
        .post("/api/v1/events")
        .bearer(&key)
        .json(TestApi::event_body(json!({"capacity": 10})))
        .await
        .expect_status(201)
        .parse();
    let event_path = format!("/api/v1/events/{}", event.id);
    app.get("/api/v1/events")
        .bearer(&key)
        .await
        .expect_status(200);
    app.get(&event_path).bearer(&key).await.expect_status(200);
    app.patch(&event_path)
        .bearer(&key)
        .json(json!({"venue": "The New Mill"}))
        .await
        .expect_status(200);

    let guest: Guest = app
        .post(&guests_path(event.id))
        .bearer(&key)
        .json(json!({"name": "Grace"}))
        .await
        .expect_status(201)
        .parse();
    app.get(&guests_path(event.id))
        .bearer(&key)
        .await
        .expect_status(200);
    app.get(&guest_path(&guest))
        .bearer(&key)
        .await
        .expect_status(200);
    app.patch(&guest_path(&guest))
        .bearer(&key)
        .json(json!({"max_plus_ones": 1}))
        .await
        .expect_status(200);
    app.post(&format!("{}/import", guests_path(event.id)))
        .bearer(&key)
        .body("text/csv", b"name\nLinus\n".to_vec())
        .await
        .expect_status(200);
    app.get(&format!("{}/export", guests_path(event.id)))
        .bearer(&key)
        .await
        .expect_status(200);

    let link: IssuedLink = app
        .post(&tokens_path(&guest))
        .bearer(&key)
        .await
        .expect_status(201)
        .parse();
    app.get(&tokens_path(&guest))
        .bearer(&key)
        .await
        .expect_status(200);
    app.delete(&format!("{}/{}", tokens_path(&guest), link.id))
        .bearer(&key)
        .await
        .expect_status(204);

    app.delete(&guest_path(&guest))
        .bearer(&key)
        .await
        .expect_status(204);
    app.delete(&event_path)
        .bearer(&key)
        .await
        .expect_status(204);
    assert_eq!(
        app.count("SELECT count(*) FROM api_keys WHERE last_used_at IS NOT NULL")
            .await,
        1,
        "the key's use is recorded"
    );
}

#[tokio::test]
async fn an_api_key_cannot_create_list_or_revoke_keys_so_a_leaked_key_mints_no_successor() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let leaked = app.create_api_key(&host, "leaked").await;
    let other = app.create_api_key(&host, "other").await;

    app.post("/api/v1/api-keys")
        .bearer(&leaked.key)
        .json(json!({"name": "successor"}))
        .await
        .expect_error(403, "session_required");
    app.get("/api/v1/api-keys")
        .bearer(&leaked.key)
        .await
        .expect_error(403, "session_required");
    for id in [leaked.id, other.id] {
        app.delete(&format!("/api/v1/api-keys/{id}"))
            .bearer(&leaked.key)
            .await
            .expect_error(403, "session_required");
    }
    app.post("/api/v1/auth/logout-everywhere")
        .bearer(&leaked.key)
        .await
        .expect_error(403, "session_required");
    app.post("/api/v1/auth/password")
        .bearer(&leaked.key)
        .json(json!({"current_password": PASSWORD, "new_password": "a brand new password"}))
        .await
        .expect_error(403, "session_required");

    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 2);
    assert_eq!(
        app.count("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL")
            .await,
        0
    );
    // The host, signed in, revokes the leaked key.
    app.delete(&format!("/api/v1/api-keys/{}", leaked.id))
        .as_host(&host)
        .await
        .expect_status(204);
}

#[tokio::test]
async fn a_key_with_an_expiry_stops_working_when_it_expires() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let created = app
        .post("/api/v1/api-keys")
        .as_host(&host)
        .json(json!({"name": "for the wedding site", "expires_in_days": 30}))
        .await
        .expect_status(201)
        .json();
    let expires_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(created["expires_at"].clone()).expect("an expiry");
    let in_days = (expires_at - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.0).contains(&in_days), "{in_days}");
    let key = created["key"].as_str().expect("key").to_owned();
    app.get("/api/v1/events")
        .bearer(&key)
        .await
        .expect_status(200);

    // Thirty days later.
    sqlx::query("UPDATE api_keys SET expires_at = now() - interval '1 second'")
        .execute(&app.db)
        .await
        .expect("update");
    app.get("/api/v1/events")
        .bearer(&key)
        .await
        .expect_error(401, "unauthenticated");

    for bad in [json!(0), json!(3651), json!("soon")] {
        let status = if bad.is_string() { 400 } else { 422 };
        app.post("/api/v1/api-keys")
            .as_host(&host)
            .json(json!({"name": "x", "expires_in_days": bad}))
            .await
            .expect_status(status);
    }
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let key = app.create_api_key(&host, "old").await;
    app.get("/api/v1/events")
        .bearer(&key.key)
        .await
        .expect_status(200);

    app.delete(&format!("/api/v1/api-keys/{}", key.id))
        .as_host(&host)
        .await
        .expect_status(204);

    app.get("/api/v1/events")
        .bearer(&key.key)
        .await
        .expect_error(401, "unauthenticated");
    let keys: Vec<ApiKeySummary> = app
        .get("/api/v1/api-keys")
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert!(keys[0].revoked);
}

#[tokio::test]
async fn a_host_cannot_revoke_another_hosts_key() {
    let app = TestApi::spawn().await;
    let ada = app.signup("ada@example.com").await;
    let grace = app.signup("grace@example.com").await;
    let key = app.create_api_key(&ada, "mine").await;

    let theirs = app
        .delete(&format!("/api/v1/api-keys/{}", key.id))
        .as_host(&grace)
        .await
        .expect_error(404, "not_found");
    let random = app
        .delete(&format!("/api/v1/api-keys/{}", uuid::Uuid::new_v4()))
        .as_host(&grace)
        .await
        .expect_error(404, "not_found");

    assert_eq!(theirs.text, random.text);
    app.get("/api/v1/events")
        .bearer(&key.key)
        .await
        .expect_status(200);
}

#[tokio::test]
async fn a_garbage_bearer_is_401_even_next_to_a_valid_session() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let key = app.create_api_key(&host, "real").await.key;
    let long = format!("ggk_{}", "a".repeat(500));
    let other_last = if key.ends_with('x') { 'y' } else { 'x' };
    let tampered = format!("{}{other_last}", &key[..key.len() - 1]);

    for authorization in [
        "Bearer nonsense".to_owned(),
        "Bearer ggk_".to_owned(),
        format!("Bearer {long}"),
        format!("Bearer {tampered}"),
        format!("Basic {key}"),
        "Bearer".to_owned(),
        String::new(),
    ] {
        app.get("/api/v1/events")
            .header("authorization", &authorization)
            .await
            .expect_error(401, "unauthenticated");
        app.get("/api/v1/events")
            .as_host(&host)
            .header("authorization", &authorization)
            .await
            .expect_error(401, "unauthenticated");
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let key = app.create_api_key(&host, "integration").await.key;

    for scheme in ["bearer", "BEARER", "Bearer"] {
        let me = app
            .get("/api/v1/auth/me")
            .header("authorization", &format!("{scheme} {key}"))
            .await
            .expect_status(200);
        assert_eq!(me.json()["id"], host.id.to_string());
    }
    app.get("/api/v1/auth/me")
        .header("authorization", &format!("Basic {key}"))
        .await
        .expect_error(401, "unauthenticated");
}
