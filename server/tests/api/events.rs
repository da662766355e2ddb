//! Events: create, list, read, partial update (absent vs `null`), delete, slugs unique
//! per host, and a 422 naming the field for every invalid value.

use crate::support::api::TestApi;
use app::events::Event;
use serde_json::json;

#[tokio::test]
async fn creating_an_event_answers_201_with_every_field_and_the_date_in_utc() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;

    let event: Event = app
        .try_create_event(
            &host,
            json!({
                "name": "Ada & Grace's wedding",
                "slug": "wedding-2031",
                "event_date": "2031-06-12T18:00:00+02:00",
                "time_zone": "Europe/Paris",
                "venue": "The Old Mill",
                "description": "Dinner and dancing",
                "capacity": 120,
                "rsvp_deadline": "2031-05-01T23:59:00+02:00",
                "default_max_plus_ones": 2,
            }),
        )
        .await
        .expect_status(201)
        .parse();

    assert_eq!(event.name, "Ada & Grace's wedding");
    assert_eq!(event.slug, "wedding-2031");
    assert_eq!(event.event_date.to_rfc3339(), "2031-06-12T16:00:00+00:00");
    assert_eq!(event.time_zone, "Europe/Paris");
    assert_eq!(event.venue, "The Old Mill");
    assert_eq!(event.description, "Dinner and dancing");
    assert_eq!(event.capacity, Some(120));
    assert_eq!(
        event.rsvp_deadline.map(|d| d.to_rfc3339()).as_deref(),
        Some("2031-05-01T21:59:00+00:00")
    );
    assert_eq!(event.default_max_plus_ones, 2);
}

#[tokio::test]
async fn optional_event_fields_have_plain_defaults() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;

    let event: Event = app
        .try_create_event(
            &host,
            json!({
                "name": "Picnic",
                "slug": "picnic",
                "event_date": "2031-07-01T12:00:00Z",
                "venue": "The park",
            }),
        )
        .await
        .expect_status(201)
        .parse();

    assert_eq!(event.time_zone, "UTC");
    assert_eq!(event.description, "");
    assert_eq!(event.capacity, None);
    assert_eq!(event.rsvp_deadline, None);
    assert_eq!(event.default_max_plus_ones, 0);
}

#[tokio::test]
async fn the_host_lists_and_reads_their_events_soonest_first() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let later = app
        .create_event(&host, json!({"event_date": "2032-01-01T00:00:00Z"}))
        .await;
    let sooner = app
        .create_event(&host, json!({"event_date": "2031-01-01T00:00:00Z"}))
        .await;

    let listed: Vec<Event> = app
        .get("/api/v1/events")
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    let read: Event = app
        .get(&format!("/api/v1/events/{}", later.id))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();

    assert_eq!(listed, vec![sooner, later.clone()]);
    assert_eq!(read, later);
}

#[tokio::test]
async fn patch_changes_only_the_fields_it_names_and_null_clears_optional_ones() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(
            &host,
            json!({"capacity": 50, "rsvp_deadline": "2031-05-01T00:00:00Z", "description": "Bring shoes"}),
        )
        .await;
    let path = format!("/api/v1/events/{}", event.id);

    let renamed: Event = app
        .patch(&path)
        .as_host(&host)
        .json(json!({"name": "Renamed party"}))
        .await
        .expect_status(200)
        .parse();
    assert_eq!(renamed.name, "Renamed party");
    assert_eq!(renamed.capacity, Some(50), "absent fields stay");
    assert_eq!(renamed.rsvp_deadline, event.rsvp_deadline);
    assert_eq!(renamed.description, "Bring shoes");
    assert_eq!(renamed.slug, event.slug);
    assert!(renamed.updated_at >= event.updated_at);

    let cleared: Event = app
        .patch(&path)
        .as_host(&host)
        .json(json!({"capacity": null, "rsvp_deadline": null}))
        .await
        .expect_status(200)
        .parse();
    assert_eq!(cleared.capacity, None);
    assert_eq!(cleared.rsvp_deadline, None);
    assert_eq!(cleared.name, "Renamed party");

    let moved: Event = app
        .patch(&path)
        .as_host(&host)
        .json(json!({"event_date": "2031-09-01T20:00:00-04:00", "time_zone": "America/New_York", "capacity": 10}))
        .await
        .expect_status(200)
        .parse();
    assert_eq!(moved.event_date.to_rfc3339(), "2031-09-02T00:00:00+00:00");
    assert_eq!(moved.time_zone, "America/New_York");
    assert_eq!(moved.capacity, Some(10));

    let stored: Event = app
        .get(&path)
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(stored, moved);
}

#[tokio::test]
async fn an_invalid_patch_changes_nothing() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let path = format!("/api/v1/events/{}", event.id);

    let reply = app
        .patch(&path)
        .as_host(&host)
        .json(json!({"name": "Fine", "capacity": 0}))
        .await
        .expect_status(422);
    assert_eq!(reply.field().as_deref(), Some("capacity"));
    app.patch(&path)
        .as_host(&host)
        .json(json!({"rsvp_deadline": "2040-01-01T00:00:00Z"}))
        .await
        .expect_error(422, "invalid_rsvp_deadline");

    let stored: Event = app
        .get(&path)
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(stored, event);
}

#[tokio::test]
async fn deleting_an_event_removes_it_with_its_guests() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (_, link) = app.invite(&host, &event, json!({"name": "Grace"})).await;
    let path = format!("/api/v1/events/{}", event.id);

    app.delete(&path).as_host(&host).await.expect_status(204);

    app.get(&path)
        .as_host(&host)
        .await
        .expect_error(404, "not_found");
    app.delete(&path)
        .as_host(&host)
        .await
        .expect_error(404, "not_found");
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 0);
    app.open_link(&link.token)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn a_slug_is_unique_per_host_but_two_hosts_may_share_it() {
    let app = TestApi::spawn().await;
    let ada = app.signup("ada@example.com").await;
    let grace = app.signup("grace@example.com").await;
    let first = app.create_event(&ada, json!({"slug": "wedding"})).await;

    app.try_create_event(&ada, TestApi::event_body(json!({"slug": "wedding"})))
        .await
        .expect_error(409, "slug_taken");
    app.create_event(&grace, json!({"slug": "wedding"})).await;

    let other = app.create_event(&ada, json!({"slug": "party"})).await;
    app.patch(&format!("/api/v1/events/{}", other.id))
        .as_host(&ada)
        .json(json!({"slug": "wedding"}))
        .await
        .expect_error(409, "slug_taken");
    app.patch(&format!("/api/v1/events/{}", first.id))
        .as_host(&ada)
        .json(json!({"slug": "wedding"}))
        .await
        .expect_status(200);
    assert_eq!(app.count("SELECT count(*) FROM events").await, 3);
}

#[tokio::test]
async fn every_invalid_event_field_is_a_422_naming_the_field() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let cases = [
        ("name", json!({"name": ""})),
        ("name", json!({"name": "n".repeat(201)})),
        ("name", json!({"name": "bell\u{7}"})),
        ("slug", json!({"slug": "Not A Slug"})),
        ("slug", json!({"slug": "-edge"})),
        ("slug", json!({"slug": "s".repeat(61)})),
        ("event_date", json!({"event_date": "12/06/2031"})),
        ("event_date", json!({"event_date": "2031-06-12"})),
        ("event_date", json!({"event_date": "2031-06-12T18:00:00"})),
        ("time_zone", json!({"time_zone": "Mars/Olympus_Mons"})),
        ("venue", json!({"venue": "  "})),
        ("description", json!({"description": "d".repeat(5001)})),
        ("capacity", json!({"capacity": 0})),
        ("capacity", json!({"capacity": -5})),
        ("capacity", json!({"capacity": 9_000_000_000_i64})),
        ("rsvp_deadline", json!({"rsvp_deadline": "soon"})),
        (
            "rsvp_deadline",
            json!({"rsvp_deadline": "2040-01-01T00:00:00Z"}),
        ),
        (
            "default_max_plus_ones",
            json!({"default_max_plus_ones": -1}),
        ),
        (
            "default_max_plus_ones",
            json!({"default_max_plus_ones": 21}),
        ),
    ];
    for (field, fields) in cases {
        let reply = app
            .try_create_event(&host, TestApi::event_body(fields.clone()))
            .await
            .expect_status(422);
        assert_eq!(
            reply.field().as_deref(),
            Some(field),
            "{fields}: {}",
            reply.text
        );
        assert_eq!(reply.code(), format!("invalid_{field}"));
    }
    assert_eq!(app.count("SELECT count(*) FROM events").await, 0);
}

#[tokio::test]
async fn a_missing_required_field_or_a_wrong_type_is_a_400_json_error() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;

    let mut without_name = TestApi::event_body(json!({}));
    without_name.as_object_mut().map(|body| body.remove("name"));
    app.try_create_event(&host, without_name)
        .await
        .expect_error(400, "invalid_body");
    app.try_create_event(&host, TestApi::event_body(json!({"capacity": "ten"})))
        .await
        .expect_error(400, "invalid_body");
    app.try_create_event(&host, TestApi::event_body(json!({"name": 42})))
        .await
        .expect_error(400, "invalid_body");
    app.try_create_event(&host, json!(["not", "an", "object"]))
        .await
        .expect_error(400, "invalid_body");
}
