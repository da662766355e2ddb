//! Guests: add, edit, remove, per-guest plus-one limits, the list filtered by answer
//! and searched, and its counts.

use crate::support::api::{guest_path, guests_path, TestApi};
use app::guests::{Guest, GuestCounts, GuestStatus};
use serde_json::json;

#[tokio::test]
async fn an_added_guest_is_pending_with_the_events_plus_one_default() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"default_max_plus_ones": 2}))
        .await;

    let guest: Guest = app
        .try_add_guest(
            &host,
            &event,
            json!({"name": "  Grace Hopper ", "email": "Grace@Example.com", "phone": "+1 555 0100"}),
        )
        .await
        .expect_status(201)
        .parse();

    assert_eq!(guest.name, "Grace Hopper");
    assert_eq!(guest.email.as_deref(), Some("grace@example.com"));
    assert_eq!(guest.phone.as_deref(), Some("+1 555 0100"));
    assert_eq!(guest.event_id, event.id);
    assert_eq!(guest.max_plus_ones, None);
    assert_eq!(guest.allowed_plus_ones, 2);
    assert_eq!(guest.status, GuestStatus::Pending);
    assert_eq!(guest.plus_ones, 0);
    assert_eq!(guest.responded_at, None);

    let read: Guest = app
        .get(&guest_path(&guest))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(read, guest);
}

#[tokio::test]
async fn a_guests_own_plus_one_limit_overrides_the_events_until_cleared() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"default_max_plus_ones": 1}))
        .await;
    let guest = app
        .add_guest(&host, &event, json!({"name": "Grace", "max_plus_ones": 4}))
        .await;
    assert_eq!((guest.max_plus_ones, guest.allowed_plus_ones), (Some(4), 4));

    let none: Guest = app
        .patch(&guest_path(&guest))
        .as_host(&host)
        .json(json!({"max_plus_ones": 0}))
        .await
        .expect_status(200)
        .parse();
    assert_eq!((none.max_plus_ones, none.allowed_plus_ones), (Some(0), 0));

    let default: Guest = app
        .patch(&guest_path(&guest))
        .as_host(&host)
        .json(json!({"max_plus_ones": null}))
        .await
        .expect_status(200)
        .parse();
    assert_eq!(
        (default.max_plus_ones, default.allowed_plus_ones),
        (None, 1)
    );

    app.patch(&format!("/api/v1/events/{}", event.id))
        .as_host(&host)
        .json(json!({"default_max_plus_ones": 3}))
        .await
        .expect_status(200);
    let list = app.guest_list(&host, &event, "").await;
    assert_eq!(
        list.guests[0].allowed_plus_ones, 3,
        "the event's default follows"
    );
}

#[tokio::test]
async fn editing_a_guest_changes_only_the_named_fields_and_null_clears_contacts() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let guest = app
        .add_guest(
            &host,
            &event,
            json!({"name": "Grace", "email": "grace@example.com", "phone": "555 0100"}),
        )
        .await;

    let renamed: Guest = app
        .patch(&guest_path(&guest))
        .as_host(&host)
        .json(json!({"name": "Grace Hopper"}))
        .await
        .expect_status(200)
        .parse();
    assert_eq!(renamed.name, "Grace Hopper");
    assert_eq!(renamed.email, guest.email);
    assert_eq!(renamed.phone, guest.phone);

    let cleared: Guest = app
        .patch(&guest_path(&guest))
        .as_host(&host)
        .json(json!({"email": null, "phone": null}))
        .await
        .expect_status(200)
        .parse();
    assert_eq!((cleared.email, cleared.phone), (None, None));
    assert_eq!(cleared.name, "Grace Hopper");
}

#[tokio::test]
async fn removing_a_guest_removes_their_link_too() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (guest, link) = app.invite(&host, &event, json!({"name": "Grace"})).await;

    app.delete(&guest_path(&guest))
        .as_host(&host)
        .await
        .expect_status(204);

    app.get(&guest_path(&guest))
        .as_host(&host)
        .await
        .expect_error(404, "not_found");
    app.delete(&guest_path(&guest))
        .as_host(&host)
        .await
        .expect_error(404, "not_found");
    app.open_link(&link.token)
        .await
        .expect_error(404, "not_found");
    assert_eq!(app.guest_list(&host, &event, "").await.counts.total, 0);
}

#[tokio::test]
async fn an_email_appears_once_per_event_in_any_case() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let other_event = app.create_event(&host, json!({})).await;
    app.add_guest(&host, &event, json!({"email": "grace@example.com"}))
        .await;
    let second = app
        .add_guest(&host, &event, json!({"email": "linus@example.com"}))
        .await;

    app.try_add_guest(
        &host,
        &event,
        json!({"name": "Copy", "email": "GRACE@example.com"}),
    )
    .await
    .expect_error(409, "email_taken");
    app.patch(&guest_path(&second))
        .as_host(&host)
        .json(json!({"email": "grace@example.com"}))
        .await
        .expect_error(409, "email_taken");
    app.add_guest(&host, &other_event, json!({"email": "grace@example.com"}))
        .await;
}

#[tokio::test]
async fn invalid_guest_fields_are_a_422_naming_the_field() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let guest = app.add_guest(&host, &event, json!({"name": "Grace"})).await;
    let cases = [
        ("name", json!({"name": ""})),
        ("name", json!({"name": "x".repeat(201)})),
        ("name", json!({"name": "line\nbreak"})),
        ("email", json!({"name": "A", "email": "nope"})),
        ("phone", json!({"name": "A", "phone": "call me"})),
        ("max_plus_ones", json!({"name": "A", "max_plus_ones": -1})),
        ("max_plus_ones", json!({"name": "A", "max_plus_ones": 21})),
    ];
    for (field, body) in cases {
        let added = app
            .try_add_guest(&host, &event, body.clone())
            .await
            .expect_status(422);
        assert_eq!(
            added.field().as_deref(),
            Some(field),
            "{body}: {}",
            added.text
        );
        let edited = app
            .patch(&guest_path(&guest))
            .as_host(&host)
            .json(body.clone())
            .await
            .expect_status(422);
        assert_eq!(
            edited.field().as_deref(),
            Some(field),
            "{body}: {}",
            edited.text
        );
    }
    let list = app.guest_list(&host, &event, "").await;
    assert_eq!(list.guests.len(), 1);
    assert_eq!(list.guests[0].name, "Grace");
}

#[tokio::test]
async fn the_list_filters_by_answer_searches_and_counts_everyone() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"default_max_plus_ones": 3}))
        .await;
    let answers = [
        ("Grace Hopper", "grace@navy.example", Some(("attending", 2))),
        (
            "Alan Turing",
            "alan@bletchley.example",
            Some(("attending", 0)),
        ),
        (
            "Linus Torvalds",
            "linus@kernel.example",
            Some(("declined", 0)),
        ),
        ("Barbara Liskov", "barbara@mit.example", Some(("maybe", 1))),
        ("Ken Thompson", "ken@bell.example", None),
    ];
    for (name, email, answer) in answers {
        let (_, link) = app
            .invite(&host, &event, json!({"name": name, "email": email}))
            .await;
        if let Some((response, plus_ones)) = answer {
            app.rsvp(
                &link.token,
                json!({"response": response, "plus_ones": plus_ones}),
            )
            .await
            .expect_status(201);
        }
    }
    let names = |guests: &[Guest]| guests.iter().map(|g| g.name.clone()).collect::<Vec<_>>();

    let all = app.guest_list(&host, &event, "").await;
    assert_eq!(
        all.counts,
        GuestCounts {
            total: 5,
            attending: 2,
            declined: 1,
            maybe: 1,
            pending: 1,
            held: 0,
            plus_ones: 2,
        }
    );
    assert_eq!(
        names(&all.guests),
        [
            "Alan Turing",
            "Barbara Liskov",
            "Grace Hopper",
            "Ken Thompson",
            "Linus Torvalds"
        ]
    );

    let attending = app.guest_list(&host, &event, "status=attending").await;
    assert_eq!(names(&attending.guests), ["Alan Turing", "Grace Hopper"]);
    assert_eq!(attending.counts, all.counts, "counts cover the whole list");
    assert_eq!(
        names(
            &app.guest_list(&host, &event, "status=declined")
                .await
                .guests
        ),
        ["Linus Torvalds"]
    );
    assert_eq!(
        names(&app.guest_list(&host, &event, "status=maybe").await.guests),
        ["Barbara Liskov"]
    );
    let pending = app.guest_list(&host, &event, "status=pending").await;
    assert_eq!(names(&pending.guests), ["Ken Thompson"]);
    assert_eq!(pending.guests[0].status, GuestStatus::Pending);

    assert_eq!(
        names(&app.guest_list(&host, &event, "search=TUR").await.guests),
        ["Alan Turing"]
    );
    assert_eq!(
        names(
            &app.guest_list(&host, &event, "search=kernel.example")
                .await
                .guests
        ),
        ["Linus Torvalds"]
    );
    assert_eq!(
        names(
            &app.guest_list(&host, &event, "status=attending&search=grace")
                .await
                .guests
        ),
        ["Grace Hopper"]
    );
    assert!(app
        .guest_list(&host, &event, "status=declined&search=grace")
        .await
        .guests
        .is_empty());
    let grace = &app.guest_list(&host, &event, "search=hopper").await.guests[0];
    assert_eq!((grace.status, grace.plus_ones), (GuestStatus::Attending, 2));
    assert!(grace.responded_at.is_some());
}

#[tokio::test]
async fn an_unknown_status_filter_is_a_400() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;

    app.get(&format!("{}?status=coming", guests_path(event.id)))
        .as_host(&host)
        .await
        .expect_error(400, "invalid_status");
    app.get(&format!(
        "{}?status=attending&status=declined",
        guests_path(event.id)
    ))
    .as_host(&host)
    .await
    .expect_status(400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_adds_of_one_email_keep_one_guest() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;

    let mut race = tokio::task::JoinSet::new();
    for i in 0..8 {
        race.spawn(std::future::IntoFuture::into_future(
            app.post(&guests_path(event.id))
                .as_host(&host)
                .json(json!({"name": format!("Grace {i}"), "email": "grace@example.com"})),
        ));
    }
    let mut statuses = Vec::new();
    while let Some(reply) = race.join_next().await {
        statuses.push(reply.expect("the request task finished").status);
    }
    statuses.sort_unstable();

    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn guests_added_while_their_event_is_deleted_are_201_or_404_never_500() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    for _ in 0..3 {
        let event = app.create_event(&host, json!({})).await;
        let mut race = tokio::task::JoinSet::new();
        for i in 0..10 {
            if i == 3 {
                race.spawn(std::future::IntoFuture::into_future(
                    app.delete(&format!("/api/v1/events/{}", event.id))
                        .as_host(&host),
                ));
            }
            race.spawn(std::future::IntoFuture::into_future(
                app.post(&guests_path(event.id))
                    .as_host(&host)
                    .json(json!({ "name": format!("Guest {i}") })),
            ));
        }
        while let Some(reply) = race.join_next().await {
            let reply = reply.expect("the request task finished");
            assert!(
                [201, 204, 404].contains(&reply.status),
                "{}: {} {}",
                reply.what,
                reply.status,
                reply.text
            );
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 0);
}
