//! Answers: first answer and changes, plus-one limits, bad input, the RSVP deadline,
//! and capacity, including under concurrent submissions.

use crate::support::api::TestApi;
use app::{events::Event, guests::GuestStatus, invitations::IssuedLink, rsvps::RsvpReceipt};
use serde_json::json;
use std::future::IntoFuture as _;
use tokio::task::JoinSet;

#[tokio::test]
async fn the_first_answer_is_201_and_a_change_is_200_on_the_same_rsvp() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"default_max_plus_ones": 2}))
        .await;
    let (guest, link) = app.invite(&host, &event, json!({"name": "Grace"})).await;

    let first: RsvpReceipt = app
        .rsvp(
            &link.token,
            json!({"response": "attending", "plus_ones": 2, "note": "  Vegetarian  "}),
        )
        .await
        .expect_status(201)
        .parse();
    assert_eq!(first.rsvp.response.as_str(), "attending");
    assert_eq!(first.rsvp.plus_ones, 2);
    assert_eq!(first.rsvp.note, "Vegetarian");
    // The guest is told the answer is recorded, and nothing about its fraud check.
    assert_eq!(first.rsvp.status.as_str(), "confirmed");

    let changed: RsvpReceipt = app
        .rsvp(&link.token, json!({"response": "declined", "plus_ones": 2}))
        .await
        .expect_status(200)
        .parse();
    assert_eq!(changed.rsvp.id, first.rsvp.id);
    assert_eq!(changed.rsvp.response.as_str(), "declined");
    assert_eq!(
        changed.rsvp.plus_ones, 0,
        "nobody comes with a guest who declines"
    );
    assert!(changed.rsvp.updated_at >= first.rsvp.updated_at);

    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, 1);
    let listed = app.guest_list(&host, &event, "").await;
    assert_eq!(listed.guests[0].id, guest.id);
    assert_eq!(listed.guests[0].status, GuestStatus::Declined);
}

#[tokio::test]
async fn plus_ones_outside_the_guests_limit_are_a_422() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"default_max_plus_ones": 5}))
        .await;
    let (_, link) = app
        .invite(&host, &event, json!({"name": "Grace", "max_plus_ones": 1}))
        .await;

    for plus_ones in [
        2,
        -1,
        5,
        20,
        21,
        i64::from(i32::MAX) + 1,
        i64::MAX,
        i64::MIN,
    ] {
        let reply = app
            .rsvp(
                &link.token,
                json!({"response": "attending", "plus_ones": plus_ones}),
            )
            .await
            .expect_error(422, "invalid_plus_ones");
        assert_eq!(reply.field().as_deref(), Some("plus_ones"), "{plus_ones}");
    }
    app.rsvp(&link.token, json!({"response": "maybe", "plus_ones": 2}))
        .await
        .expect_error(422, "invalid_plus_ones");
    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, 0);

    app.rsvp(
        &link.token,
        json!({"response": "attending", "plus_ones": 1}),
    )
    .await
    .expect_status(201);
}

#[tokio::test]
async fn malformed_answers_are_json_errors_and_store_nothing() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"default_max_plus_ones": 2}))
        .await;
    let (_, link) = app.invite(&host, &event, json!({})).await;

    for (status, body) in [
        (400, json!({"response": "attending", "plus_ones": 1e30})),
        (
            400,
            json!({"response": "attending", "plus_ones": 18_446_744_073_709_551_616_f64}),
        ),
        (400, json!({"response": "attending", "plus_ones": "two"})),
        (400, json!({"response": "attending", "plus_ones": 1.5})),
        (400, json!({"response": "attending", "plus_ones": true})),
        (400, json!({"response": "attending", "plus_ones": null})),
        (400, json!({"response": "attending", "plus_ones": [1]})),
        (400, json!({"response": 1})),
        (400, json!({"plus_ones": 1})),
        (400, json!("attending")),
        (422, json!({"response": "yes"})),
        (422, json!({"response": ""})),
        (
            422,
            json!({"response": "attending", "note": "n".repeat(1001)}),
        ),
        (
            422,
            json!({"response": "attending", "note": "nul\u{0}byte"}),
        ),
    ] {
        let reply = app.rsvp(&link.token, body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
        assert!(reply.is_json(), "{body}: {}", reply.text);
    }
    let reply = app
        .rsvp(
            &link.token,
            json!({"response": "maybe", "note": "bell\u{7}"}),
        )
        .await
        .expect_error(422, "invalid_note");
    assert!(
        !reply.text.contains("at most"),
        "the message names the real problem: {}",
        reply.text
    );
    let huge = format!(
        r#"{{"response":"attending","plus_ones":{}}}"#,
        "9".repeat(400)
    );
    let reply = app
        .post(&format!("/api/v1/rsvp/{}", link.token))
        .body("application/json", huge.into_bytes())
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.is_json());
    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, 0);

    let kept: RsvpReceipt = app
        .rsvp(
            &link.token,
            json!({"response": "maybe", "note": "Line one\r\nLine two\twith a tab"}),
        )
        .await
        .expect_status(201)
        .parse();
    assert_eq!(kept.rsvp.note, "Line one\r\nLine two\twith a tab");
}

#[tokio::test]
async fn answers_after_the_rsvp_deadline_are_a_409() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"rsvp_deadline": "2031-01-01T00:00:00Z"}))
        .await;
    let (_, link) = app.invite(&host, &event, json!({})).await;
    app.rsvp(&link.token, json!({"response": "maybe"}))
        .await
        .expect_status(201);

    app.patch(&format!("/api/v1/events/{}", event.id))
        .as_host(&host)
        .json(json!({"rsvp_deadline": "2020-01-01T00:00:00Z"}))
        .await
        .expect_status(200);

    let reply = app
        .rsvp(&link.token, json!({"response": "attending"}))
        .await
        .expect_error(409, "rsvp_closed");
    assert!(reply.json()["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("deadline")));
    let view = app.open_link(&link.token).await.expect_status(200).json();
    assert_eq!(view["rsvp"]["response"], "maybe", "the answer is unchanged");
}

#[tokio::test]
async fn attending_guests_and_their_plus_ones_never_exceed_the_capacity() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"capacity": 4, "default_max_plus_ones": 3}))
        .await;
    let (_, grace) = app.invite(&host, &event, json!({"name": "Grace"})).await;
    let (_, alan) = app.invite(&host, &event, json!({"name": "Alan"})).await;
    let (_, linus) = app.invite(&host, &event, json!({"name": "Linus"})).await;

    app.rsvp(
        &grace.token,
        json!({"response": "attending", "plus_ones": 2}),
    )
    .await
    .expect_status(201);
    app.rsvp(
        &alan.token,
        json!({"response": "attending", "plus_ones": 1}),
    )
    .await
    .expect_error(409, "event_full");
    app.rsvp(&alan.token, json!({"response": "attending"}))
        .await
        .expect_status(201);
    app.rsvp(&linus.token, json!({"response": "attending"}))
        .await
        .expect_error(409, "event_full");
    app.rsvp(&linus.token, json!({"response": "maybe"}))
        .await
        .expect_status(201);
    app.rsvp(&linus.token, json!({"response": "declined"}))
        .await
        .expect_status(200);
    // Changing one's own answer does not count one's own seats twice.
    app.rsvp(
        &grace.token,
        json!({"response": "attending", "plus_ones": 2}),
    )
    .await
    .expect_status(200);
    app.rsvp(
        &grace.token,
        json!({"response": "attending", "plus_ones": 3}),
    )
    .await
    .expect_error(409, "event_full");
    // Seats given back are free again.
    app.rsvp(&grace.token, json!({"response": "declined"}))
        .await
        .expect_status(200);
    app.rsvp(
        &linus.token,
        json!({"response": "attending", "plus_ones": 2}),
    )
    .await
    .expect_status(200);

    let counts = app.guest_list(&host, &event, "").await.counts;
    assert_eq!(counts.attending + counts.plus_ones, 4);
}

/// `n` guests of the event, each with their link.
async fn invited(
    app: &TestApi,
    host: &crate::support::api::Host,
    event: &Event,
    n: usize,
) -> Vec<IssuedLink> {
    let mut links = Vec::new();
    for i in 0..n {
        links.push(
            app.invite(host, event, json!({ "name": format!("Guest {i}") }))
                .await
                .1,
        );
    }
    links
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn guests_racing_for_the_last_seats_never_overfill_the_event() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"capacity": 7, "default_max_plus_ones": 1}))
        .await;
    let links = invited(&app, &host, &event, 16).await;

    let mut race = JoinSet::new();
    for (i, link) in links.iter().enumerate() {
        let plus_ones = i % 2;
        race.spawn(
            app.rsvp(
                &link.token,
                json!({"response": "attending", "plus_ones": plus_ones}),
            )
            .into_future(),
        );
    }
    let mut statuses = Vec::new();
    while let Some(reply) = race.join_next().await {
        let reply = reply.expect("the request task finished");
        assert!(
            [201, 409].contains(&reply.status),
            "{}: {}",
            reply.status,
            reply.text
        );
        if reply.status == 409 {
            assert_eq!(reply.code(), "event_full");
        }
        statuses.push(reply.status);
    }

    let seats = app
        .count("SELECT COALESCE(SUM(1 + plus_ones), 0)::bigint FROM rsvps WHERE response = 'attending'")
        .await;
    assert!(seats <= 7, "{seats} seats taken of 7");
    assert!(seats >= 6, "the event fills up: {seats} of 7");
    let accepted = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(
        i64::try_from(accepted).unwrap_or_default(),
        app.count("SELECT count(*) FROM rsvps").await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_answers_through_one_link_make_exactly_one_rsvp() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"default_max_plus_ones": 3}))
        .await;
    let (_, link) = app.invite(&host, &event, json!({})).await;

    let mut race = JoinSet::new();
    for i in 0..12_i64 {
        race.spawn(
            app.rsvp(
                &link.token,
                json!({"response": "attending", "plus_ones": i % 4}),
            )
            .into_future(),
        );
    }
    let mut statuses = Vec::new();
    while let Some(reply) = race.join_next().await {
        statuses.push(reply.expect("the request task finished").status);
    }
    statuses.sort_unstable();

    // Twelve answers through one link in the same instant look like automation: the
    // fraud check may refuse some of the later ones (403, nothing recorded). Every
    // other one is the first answer (201) or a change of it (200), never an error.
    assert_eq!(
        statuses.iter().filter(|&&status| status == 201).count(),
        1,
        "exactly one first answer: {statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|status| [200, 201, 403].contains(status)),
        "{statuses:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_openings_and_new_links_at_the_same_time_never_fail() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"capacity": 50, "default_max_plus_ones": 1}))
        .await;
    let mut guests = Vec::new();
    for i in 0..4 {
        guests.push(
            app.invite(&host, &event, json!({ "name": format!("Guest {i}") }))
                .await,
        );
    }

    let mut race = JoinSet::new();
    for round in 0..4 {
        for (guest, link) in &guests {
            race.spawn(
                app.rsvp(
                    &link.token,
                    json!({"response": "attending", "plus_ones": round % 2}),
                )
                .into_future(),
            );
            race.spawn(
                app.get(&format!("/api/v1/access/{}", link.token))
                    .into_future(),
            );
            race.spawn(
                app.post(&crate::support::api::tokens_path(guest))
                    .as_host(&host)
                    .into_future(),
            );
        }
    }
    while let Some(reply) = race.join_next().await {
        let reply = reply.expect("the request task finished");
        assert!(
            [200, 201, 410].contains(&reply.status),
            "{}: {} {}",
            reply.what,
            reply.status,
            reply.text
        );
    }
    assert!(app.count("SELECT count(*) FROM rsvps").await <= 4);
    assert_eq!(
        app.count("SELECT count(*) FROM invitations WHERE revoked_at IS NULL")
            .await,
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answering_or_opening_while_the_host_removes_the_guest_is_never_a_500() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({"capacity": 100})).await;

    for round in 0..6 {
        let (guest, link) = app
            .invite(&host, &event, json!({ "name": format!("Guest {round}") }))
            .await;
        let mut race = JoinSet::new();
        for i in 0..6 {
            if i == 2 {
                race.spawn(
                    app.delete(&crate::support::api::guest_path(&guest))
                        .as_host(&host)
                        .into_future(),
                );
            }
            race.spawn(
                app.rsvp(&link.token, json!({"response": "attending"}))
                    .into_future(),
            );
            race.spawn(
                app.get(&format!("/api/v1/access/{}", link.token))
                    .into_future(),
            );
            race.spawn(
                app.post(&crate::support::api::tokens_path(&guest))
                    .as_host(&host)
                    .into_future(),
            );
        }
        while let Some(reply) = race.join_next().await {
            let reply = reply.expect("the request task finished");
            assert!(
                reply.status < 500,
                "{}: {} {}",
                reply.what,
                reply.status,
                reply.text
            );
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answering_or_opening_while_the_host_deletes_the_event_is_never_a_500() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;

    for _ in 0..4 {
        let event = app.create_event(&host, json!({"capacity": 100})).await;
        let guests = [
            app.invite(&host, &event, json!({"name": "One"})).await,
            app.invite(&host, &event, json!({"name": "Two"})).await,
        ];
        let mut race = JoinSet::new();
        for i in 0..4 {
            if i == 1 {
                race.spawn(
                    app.delete(&format!("/api/v1/events/{}", event.id))
                        .as_host(&host)
                        .into_future(),
                );
            }
            for (guest, link) in &guests {
                race.spawn(
                    app.rsvp(&link.token, json!({"response": "attending"}))
                        .into_future(),
                );
                race.spawn(
                    app.get(&format!("/api/v1/access/{}", link.token))
                        .into_future(),
                );
                race.spawn(
                    app.post(&crate::support::api::tokens_path(guest))
                        .as_host(&host)
                        .into_future(),
                );
            }
        }
        while let Some(reply) = race.join_next().await {
            let reply = reply.expect("the request task finished");
            assert!(
                reply.status < 500,
                "{}: {} {}",
                reply.what,
                reply.status,
                reply.text
            );
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM events").await, 0);
}
