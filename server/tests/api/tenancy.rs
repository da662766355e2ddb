//! Tenant isolation: a host never sees, changes or learns about another host's events,
//! guests or links. Every such request is the same 404 as for an id that does not
//! exist at all.

use crate::support::api::{Reply, TestApi};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

#[tokio::test]
async fn another_hosts_event_guests_and_links_are_404_exactly_like_random_ids() {
    let app = TestApi::spawn().await;
    let ada = app.signup("ada@example.com").await;
    let mallory = app.signup("mallory@example.com").await;
    let event = app.create_event(&ada, json!({})).await;
    let (guest, link) = app
        .invite(
            &ada,
            &event,
            json!({"name": "Grace", "email": "grace@example.com"}),
        )
        .await;
    let (event_id, guest_id, token_id) = (event.id, guest.id, link.id);

    // Each request as Mallory on Ada's ids, and on ids that exist nowhere.
    let requests: Vec<(Method, String, Option<Value>)> = [
        (Method::GET, "/api/v1/events/{e}", None),
        (
            Method::PATCH,
            "/api/v1/events/{e}",
            Some(json!({"name": "Mine now"})),
        ),
        (Method::DELETE, "/api/v1/events/{e}", None),
        (Method::GET, "/api/v1/events/{e}/guests", None),
        (
            Method::POST,
            "/api/v1/events/{e}/guests",
            Some(json!({"name": "Intruder"})),
        ),
        (Method::GET, "/api/v1/events/{e}/guests/export", None),
        (Method::GET, "/api/v1/events/{e}/guests/{g}", None),
        (
            Method::PATCH,
            "/api/v1/events/{e}/guests/{g}",
            Some(json!({"name": "Renamed"})),
        ),
        (Method::DELETE, "/api/v1/events/{e}/guests/{g}", None),
        (Method::GET, "/api/v1/events/{e}/guests/{g}/tokens", None),
        (Method::POST, "/api/v1/events/{e}/guests/{g}/tokens", None),
        (
            Method::DELETE,
            "/api/v1/events/{e}/guests/{g}/tokens/{t}",
            None,
        ),
    ]
    .into_iter()
    .map(|(method, path, body)| (method, path.to_owned(), body))
    .collect();

    let send = |method: Method, path: String, body: Option<Value>| {
        let call = app.request(method, &path).as_host(&mallory);
        match body {
            Some(body) => call.json(body),
            None => call,
        }
    };
    for (method, template, body) in requests {
        let theirs = |e: Uuid, g: Uuid, t: Uuid| {
            template
                .replace("{e}", &e.to_string())
                .replace("{g}", &g.to_string())
                .replace("{t}", &t.to_string())
        };
        let on_adas: Reply = send(
            method.clone(),
            theirs(event_id, guest_id, token_id),
            body.clone(),
        )
        .await
        .expect_error(404, "not_found");
        let on_random: Reply = send(
            method.clone(),
            theirs(Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()),
            body.clone(),
        )
        .await
        .expect_error(404, "not_found");
        assert_eq!(on_adas.text, on_random.text, "{method} {template}");
        // Even with Ada's event and a random guest, nothing leaks.
        let mixed: Reply = send(
            method.clone(),
            theirs(event_id, Uuid::new_v4(), Uuid::new_v4()),
            body,
        )
        .await;
        assert_eq!(mixed.status, 404, "{method} {template}: {}", mixed.text);
    }

    // Mallory's import into Ada's event is refused the same way.
    let import = app.import_csv(&mallory, &event, "", "name\nSpy\n").await;
    assert_eq!(import.status, 404, "{}", import.text);

    // Nothing of Ada's changed, and her link still works.
    let list = app.guest_list(&ada, &event, "").await;
    assert_eq!(list.guests.len(), 1);
    assert_eq!(list.guests[0].name, "Grace");
    let same_event = app
        .get(&format!("/api/v1/events/{event_id}"))
        .as_host(&ada)
        .await
        .expect_status(200)
        .json();
    assert_eq!(same_event["name"], "Summer party");
    app.open_link(&link.token).await.expect_status(200);
}

#[tokio::test]
async fn each_host_lists_only_their_own_events() {
    let app = TestApi::spawn().await;
    let ada = app.signup("ada@example.com").await;
    let grace = app.signup("grace@example.com").await;
    let adas = app.create_event(&ada, json!({"name": "Ada's"})).await;
    let graces = app.create_event(&grace, json!({"name": "Grace's"})).await;

    let listed: Vec<app::events::Event> = app
        .get("/api/v1/events")
        .as_host(&ada)
        .await
        .expect_status(200)
        .parse();

    assert_eq!(listed, vec![adas]);
    assert_ne!(listed[0].id, graces.id);
}

#[tokio::test]
async fn a_guest_id_only_works_under_its_own_event() {
    let app = TestApi::spawn().await;
    let ada = app.signup("ada@example.com").await;
    let wedding = app.create_event(&ada, json!({})).await;
    let party = app.create_event(&ada, json!({})).await;
    let guest = app
        .add_guest(&ada, &wedding, json!({"name": "Grace"}))
        .await;

    app.get(&format!("/api/v1/events/{}/guests/{}", party.id, guest.id))
        .as_host(&ada)
        .await
        .expect_error(404, "not_found");
    app.post(&format!(
        "/api/v1/events/{}/guests/{}/tokens",
        party.id, guest.id
    ))
    .as_host(&ada)
    .await
    .expect_error(404, "not_found");
}
