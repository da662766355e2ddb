//! Fault drills on the real stack: what guests and hosts get while a dependency fails,
//! and that GuestGuard recovers on its own when it returns.
//!
//! - The fraud engine stopped or hung: the circuit breaker opens, answers are recorded
//!   at once without calling the engine, and scoring resumes when it is back.
//! - An outbox row that cannot be published: it is parked after a few tries and the
//!   rows behind it are published.
//! - PostgreSQL down: 503 `unavailable` with `Retry-After` on the API and the pages,
//!   and everything works again once it is back, without a restart.
//! - Races: one link answered 20 times at once makes one answer; 50 guests racing for
//!   10 places fill exactly 10.
//!
//! No test asserts how long anything took (speed is measured by `scripts/bench.sh`):
//! each proves what a failure decided — the breaker's state, the calls it skipped.

mod support;

use app::{fraud::client::SKIPPED, rsvps::RsvpDecision};
use async_nats::jetstream;
use serde_json::{json, Value};
use std::{
    future::{Future, IntoFuture as _},
    time::{Duration, Instant},
};
use support::api::{Host, TestApi};
use uuid::Uuid;

/// Polls `check` until it gives `Some`, for up to 60 s.
async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, check: impl Fn() -> F) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A host, an event and `n` invited guests' tokens.
async fn invited(app: &TestApi, n: usize) -> (Host, Vec<String>) {
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"default_max_plus_ones": 2}))
        .await;
    let mut tokens = Vec::new();
    for i in 0..n {
        let (_, link) = app
            .invite(&host, &event, json!({"name": format!("Guest {i}")}))
            .await;
        tokens.push(link.token);
    }
    (host, tokens)
}

/// The host answers "maybe" for a guest (so the whole decision is shown): recorded
/// (201 the first time, 200 for a change); returns the decision and how long it took
/// (for the report, never asserted).
async fn answer_for(app: &TestApi, host: &Host, token: &str) -> (RsvpDecision, Duration) {
    let started = Instant::now();
    let reply = app
        .rsvp(token, json!({"response": "maybe"}))
        .as_host(host)
        .await;
    let took = started.elapsed();
    assert!(
        matches!(reply.status, 200 | 201),
        "{}: {} {}",
        reply.what,
        reply.status,
        reply.text
    );
    (reply.parse(), took)
}

/// The breaker's part of the operators' health report.
async fn breaker(app: &TestApi) -> Value {
    app.health_detail().await["fraud_breaker"].clone()
}

fn ms(took: Duration) -> f64 {
    took.as_secs_f64() * 1_000.0
}

#[tokio::test]
async fn with_the_engine_stopped_the_breaker_opens_answers_skip_the_call_and_scoring_resumes_when_it_returns(
) {
    let mut app = TestApi::spawn_isolated(&[
        ("GUESTGUARD_FRAUD_BREAKER_FAILURES", "3"),
        // Long enough for the answers below to find it still open, short enough to wait.
        ("GUESTGUARD_FRAUD_BREAKER_PAUSE_MS", "5000"),
        ("GUESTGUARD_SIGNALS_GRACE_MS", "300"),
    ])
    .await;
    let (host, tokens) = invited(&app, 45).await;
    assert_eq!(breaker(&app).await["state"], "closed");
    app.own().fraud.stop().await;

    // Three calls fail: each answer is recorded unscored, and the breaker opens.
    for token in &tokens[..3] {
        let (decision, _) = answer_for(&app, &host, token).await;
        assert!(!decision.fraud.used);
        assert_ne!(decision.fraud.unavailable.as_deref(), Some(SKIPPED));
        assert_eq!(decision.policy, "engine unavailable: accept");
    }
    let report = breaker(&app).await;
    assert_eq!(report["state"], "open", "{report}");
    assert_eq!(report["opened"], 1, "{report}");

    // While it is open, answers are recorded without calling the engine, by the same
    // policy ("engine unavailable").
    let (decision, _) = answer_for(&app, &host, &tokens[3]).await;
    assert_eq!(decision.fraud.unavailable.as_deref(), Some(SKIPPED));
    assert!(!decision.fraud.used);
    assert_eq!(decision.fraud.reasons, [app::fraud::SCORING_UNAVAILABLE]);
    assert_eq!(decision.policy, "engine unavailable: accept");
    assert_eq!(breaker(&app).await["skipped"], 1);
    assert_eq!(
        app.count("SELECT count(*) FROM rsvps WHERE risk_score IS NULL")
            .await,
        4
    );

    // The engine comes back: after the pause a probe scores, the breaker closes, and
    // answers are scored again. (Each try is another guest's first answer: one guest
    // answering again and again would look like the burst it is.)
    app.own().fraud.restart().await;
    let mut fresh = tokens[4..].iter();
    loop {
        let token = fresh
            .next()
            .expect("scored again before the guests ran out");
        let (decision, _) = answer_for(&app, &host, token).await;
        if decision.fraud.used {
            break;
        }
        assert_eq!(decision.policy, "engine unavailable: accept");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert_eq!(breaker(&app).await["state"], "closed");
    let token = fresh.next().expect("a guest left");
    let (decision, _) = answer_for(&app, &host, token).await;
    assert!(decision.fraud.used, "{:?}", decision.fraud);

    // And what was recorded unscored meanwhile is scored by the asynchronous path.
    eventually("every answer scored", || async {
        (app.count("SELECT count(*) FROM rsvps WHERE risk_score IS NULL")
            .await
            == 0)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_hung_engine_opens_the_breaker_and_later_answers_no_longer_wait_for_it() {
    // A gRPC port that accepts connections and never answers (an engine stopped with
    // SIGSTOP looks the same from here).
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let silent_address = silent.local_addr().expect("address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let grpc_url = format!("http://{silent_address}");
    let app = TestApi::spawn_with(&[
        ("FRAUD_GRPC_URL", grpc_url.as_str()),
        ("GUESTGUARD_FRAUD_BREAKER_FAILURES", "2"),
        // Long enough that this test never sees it half-open.
        ("GUESTGUARD_FRAUD_BREAKER_PAUSE_MS", "600000"),
    ])
    .await;
    let (host, tokens) = invited(&app, 6).await;

    let mut waited = Vec::new();
    for token in &tokens[..2] {
        let (decision, took) = answer_for(&app, &host, token).await;
        assert!(
            decision
                .fraud
                .unavailable
                .as_deref()
                .is_some_and(|why| why.contains("250 ms")),
            "cut off at the deadline: {:?}",
            decision.fraud
        );
        waited.push(ms(took));
    }
    let report = breaker(&app).await;
    assert_eq!(report["state"], "open", "{report}");

    let mut skipped = Vec::new();
    for token in &tokens[2..] {
        let (decision, took) = answer_for(&app, &host, token).await;
        assert_eq!(decision.fraud.unavailable.as_deref(), Some(SKIPPED));
        skipped.push(ms(took));
    }
    let report = breaker(&app).await;
    assert_eq!(report["skipped"], 4, "{report}");
    assert_eq!(report["state"], "open", "{report}");
    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, 6);
    // For the report only (debug build, shared machine): never asserted.
    eprintln!("answer latency with the engine hung, ms: waiting for the deadline {waited:.1?}; breaker open {skipped:.1?}");
}

/// Puts an event in the outbox as if written a minute ago (ahead of anything newer).
async fn enqueue(app: &TestApi, subject: &str, payload: Value, age_secs: i32) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO outbox (id, subject, payload, created_at, available_at)
         VALUES ($1, $2, $3, now() - make_interval(secs => $4), now() - make_interval(secs => $4))",
    )
    .bind(id)
    .bind(subject)
    .bind(sqlx::types::Json(payload))
    .bind(f64::from(age_secs))
    .execute(&app.db)
    .await
    .expect("an outbox row");
    id
}

#[derive(Debug, sqlx::FromRow)]
struct OutboxRow {
    attempts: i32,
    last_error: Option<String>,
    published: bool,
    parked: bool,
}

async fn outbox_row(app: &TestApi, id: Uuid) -> OutboxRow {
    sqlx::query_as(
        "SELECT attempts, last_error, published_at IS NOT NULL AS published,
                parked_at IS NOT NULL AS parked
         FROM outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .expect("the outbox row")
}

#[tokio::test]
async fn outbox_rows_that_cannot_be_published_are_parked_and_the_rows_behind_them_are_published() {
    let app = TestApi::spawn_isolated(&[]).await;
    eventually("the stream", || async {
        let client = app.nats_ops().await?;
        jetstream::new(client)
            .get_stream(proto::events::STREAM)
            .await
            .ok()
    })
    .await;
    // The stream refuses messages over 4 KiB (an operator's limit; NATS's own payload
    // limit is 1 MiB).
    let ops = jetstream::new(app.nats_ops().await.expect("NATS"));
    let mut config = ops
        .get_stream(proto::events::STREAM)
        .await
        .expect("the stream")
        .cached_info()
        .config
        .clone();
    config.max_message_size = 4 * 1024;
    ops.update_stream(config).await.expect("the stream's limit");

    // Three poison rows ahead of the rest: a subject no stream takes, a body over NATS's
    // payload limit, a body over the stream's message size.
    let nowhere = enqueue(&app, "nowhere.at.all", json!({"n": 0}), 60).await;
    let huge = enqueue(
        &app,
        proto::events::RSVP_HELD,
        json!({"padding": "x".repeat(1_100_000)}),
        60,
    )
    .await;
    let large = enqueue(
        &app,
        proto::events::RSVP_HELD,
        json!({"padding": "x".repeat(8 * 1024)}),
        60,
    )
    .await;
    let mut normal = Vec::new();
    for n in 0..3 {
        normal.push(enqueue(&app, proto::events::RSVP_HELD, json!({ "n": n }), 0).await);
    }

    // The rows behind are published, the poison rows parked after a few tries.
    eventually("the poison rows parked", || async {
        let mut parked = 0;
        for id in [nowhere, huge, large] {
            parked += usize::from(outbox_row(&app, id).await.parked);
        }
        (parked == 3).then_some(())
    })
    .await;
    for id in &normal {
        assert!(outbox_row(&app, *id).await.published, "{id} not published");
    }
    let mut stored: Vec<String> = app
        .published(proto::events::RSVP_HELD)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    stored.sort();
    let mut expected: Vec<String> = normal.iter().map(Uuid::to_string).collect();
    expected.sort();
    assert_eq!(
        stored, expected,
        "exactly the publishable rows reached JetStream"
    );

    for (id, why) in [
        (nowhere, "does not take the subject"),
        (huge, "max payload"),
        (large, "exceeds maximum"),
    ] {
        let row = outbox_row(&app, id).await;
        assert!(!row.published, "{row:?}");
        assert_eq!(row.attempts, app::outbox::relay::MAX_ATTEMPTS, "{row:?}");
        assert!(
            row.last_error.as_deref().is_some_and(|e| e.contains(why)),
            "{why}: {row:?}"
        );
    }

    // Operators see them in the health detail; nothing else waits.
    let outbox = app.health_detail().await["outbox"].clone();
    assert_eq!(outbox["parked"], 3, "{outbox}");
    assert_eq!(outbox["pending"], 0, "{outbox}");

    // And the relay keeps going for what comes next.
    let later = enqueue(&app, proto::events::RSVP_HELD, json!({"n": 3}), 0).await;
    eventually("a later row published", || async {
        outbox_row(&app, later).await.published.then_some(())
    })
    .await;
}

#[tokio::test]
async fn with_postgres_down_requests_get_a_fast_503_with_retry_after_and_recover_once_it_is_back() {
    let mut app = TestApi::spawn_isolated(&[]).await;
    let (host, tokens) = invited(&app, 2).await;
    let key = app.create_api_key(&host, "crm").await.key;
    // The test cluster commits asynchronously: make what was written survive the crash.
    sqlx::query("CHECKPOINT")
        .execute(&app.db)
        .await
        .expect("a checkpoint");
    app.own().postgres.stop_immediately().await;

    // The API, for a host's integration and for a guest.
    let replies = [
        app.get("/api/v1/events").bearer(&key).await,
        app.open_link(&tokens[0]).await,
        app.rsvp(&tokens[0], json!({"response": "attending", "plus_ones": 0}))
            .await,
    ];
    for reply in replies {
        let reply = reply.expect_error(503, "unavailable");
        assert!(
            reply.header("retry-after").is_some(),
            "{}: no Retry-After",
            reply.what
        );
    }

    // The pages: a guest's invitation and a host's dashboard say so kindly.
    for page in [
        app.get(&format!("/i/{}", tokens[0]))
            .header("accept", "text/html")
            .await,
        app.get("/events")
            .as_host(&host)
            .header("accept", "text/html")
            .await,
    ] {
        let page = page.expect_status(503);
        assert!(
            page.header("retry-after").is_some(),
            "{}: no Retry-After",
            page.what
        );
        assert!(
            page.text.contains("briefly unavailable"),
            "{}: {}",
            page.what,
            page.text
        );
    }

    // PostgreSQL is back: the same server answers again, without a restart.
    app.own().postgres.start_server().await;
    eventually("the API answering again", || async {
        let reply = app.get("/api/v1/events").bearer(&key).await;
        (reply.status == 200).then_some(())
    })
    .await;
    app.rsvp(&tokens[1], json!({"response": "attending", "plus_ones": 0}))
        .await
        .expect_status(201);
    app.get(&format!("/i/{}", tokens[0]))
        .header("accept", "text/html")
        .await
        .expect_status(200);
}

/// An event whose fraud check never refuses (shadow mode: these tests are about
/// concurrency, not about a burst looking suspicious), with `guests` invited.
async fn shadow_event(app: &TestApi, fields: Value, guests: usize) -> (Host, Vec<String>) {
    let host = app.signup("grace@example.com").await;
    let mut body = json!({"fraud_policy": {"shadow": true}});
    support::api::merge(&mut body, fields);
    let event = app.create_event(&host, body).await;
    let mut tokens = Vec::new();
    for i in 0..guests {
        let (_, link) = app
            .invite(&host, &event, json!({"name": format!("Guest {i}")}))
            .await;
        tokens.push(link.token);
    }
    (host, tokens)
}

#[tokio::test]
async fn one_link_answered_twenty_times_at_once_makes_one_answer() {
    let app = TestApi::spawn().await;
    let (_, tokens) = shadow_event(&app, json!({}), 1).await;

    let replies = futures::future::join_all((0..20).map(|_| {
        app.rsvp(&tokens[0], json!({"response": "attending", "plus_ones": 0}))
            .into_future()
    }))
    .await;

    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        1,
        "one creates the answer, the others change it: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|status| matches!(status, 200 | 201)),
        "{statuses:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, 1);
}

#[tokio::test]
async fn fifty_guests_racing_for_ten_places_fill_exactly_ten() {
    const PLACES: usize = 10;
    const GUESTS: usize = 50;
    let app = TestApi::spawn().await;
    let (_, tokens) = shadow_event(&app, json!({ "capacity": PLACES }), GUESTS).await;

    let replies = futures::future::join_all(tokens.iter().map(|token| {
        app.rsvp(token, json!({"response": "attending", "plus_ones": 0}))
            .into_future()
    }))
    .await;

    let mut statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        PLACES,
        "{statuses:?}"
    );
    for reply in replies.into_iter().filter(|reply| reply.status != 201) {
        reply.expect_error(409, "event_full");
    }
    assert_eq!(
        app.count(
            "SELECT COALESCE(SUM(1 + plus_ones), 0)::bigint FROM rsvps
             WHERE response = 'attending' AND status = 'confirmed'"
        )
        .await,
        PLACES as i64
    );
    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, PLACES as i64);
}

#[tokio::test]
async fn nats_killed_for_twenty_seconds_during_rsvps_delivers_every_event_once() {
    const GUESTS: usize = 20;
    const DRILL: Duration = Duration::from_secs(30);
    let mut app = TestApi::spawn_isolated(&[]).await;
    let (_, tokens) = shadow_event(&app, json!({}), GUESTS).await;
    eventually("the stream", || async {
        let client = app.nats_ops().await?;
        jetstream::new(client)
            .get_stream(proto::events::STREAM)
            .await
            .ok()
    })
    .await;

    // Each guest changes their answer every 800 ms for the whole drill, from their
    // own address (under the per-address limit); the ledger keeps every status.
    let started = Instant::now();
    let guests: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(n, token)| {
            let client = reqwest::Client::builder()
                .local_address(std::net::IpAddr::from([127, 0, 2, n as u8 + 1]))
                .user_agent(support::api::BROWSER)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client");
            let url = app.url(&format!("/api/v1/rsvp/{token}"));
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                let mut turn = 0usize;
                while started.elapsed() < DRILL {
                    let response = ["attending", "maybe", "declined"][turn % 3];
                    turn += 1;
                    let status = client
                        .post(&url)
                        .json(&json!({"response": response, "plus_ones": 0}))
                        .send()
                        .await
                        .map_or(0, |reply| reply.status().as_u16());
                    statuses.push(status);
                    tokio::time::sleep(Duration::from_millis(800)).await;
                }
                statuses
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(4)).await;
    app.own().nats.stop_server().await;
    let unpublished_while_down = {
        tokio::time::sleep(Duration::from_secs(20)).await;
        app.count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .await
    };
    app.own().nats.start_server().await;

    let mut answered = 0;
    let mut failed = Vec::new();
    for guest in guests {
        for status in guest.await.expect("the guest's task") {
            if matches!(status, 200 | 201) {
                answered += 1;
            } else {
                failed.push(status);
            }
        }
    }
    assert!(failed.is_empty(), "every answer recorded: {failed:?}");
    assert!(
        unpublished_while_down > 0,
        "answers waited in the outbox while NATS was down"
    );

    // Every answer's events reach the stream once NATS is back, none twice, none parked.
    eventually("an empty outbox", || async {
        (app.count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .await
            == 0)
            .then_some(())
    })
    .await;
    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL")
            .await,
        0
    );
    let mut delivered_ids = std::collections::BTreeMap::new();
    for subject in [
        proto::events::RSVP_CONFIRMED,
        proto::events::ACCESS_ATTEMPTED,
    ] {
        let written: Vec<String> =
            sqlx::query_scalar("SELECT id::text FROM outbox WHERE subject = $1 ORDER BY 1")
                .bind(subject)
                .fetch_all(&app.db)
                .await
                .expect("outbox ids");
        let mut delivered: Vec<String> = app
            .published(subject)
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        delivered.sort();
        assert_eq!(delivered, written, "every {subject} delivered exactly once");
        delivered_ids.insert(subject, delivered);
    }
    assert_eq!(
        delivered_ids[proto::events::RSVP_CONFIRMED].len(),
        answered,
        "one confirmation per recorded answer"
    );

    // The answers the engine could not score in time (their access.attempted event,
    // under the attempt's id) are scored from the stream, each once; then every
    // attempt has its score.
    let later = &delivered_ids[proto::events::ACCESS_ATTEMPTED];
    assert!(!later.is_empty(), "some answers were left to score later");
    eventually("every attempt scored", || async {
        (app.count("SELECT count(*) FROM access_attempts WHERE risk_score IS NULL")
            .await
            == 0)
            .then_some(())
    })
    .await;
    let attempts = app.count("SELECT count(*) FROM access_attempts").await;
    let scored: Vec<String> = app
        .published(proto::events::FRAUD_SCORED)
        .await
        .into_iter()
        .map(|(_, body)| {
            body["access_log_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let mut unique = scored.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), scored.len(), "no attempt scored twice");
    for attempt in later {
        assert!(unique.binary_search(attempt).is_ok(), "{attempt} scored");
    }
    println!(
        "NATS drill: {answered} answers, {unpublished_while_down} outbox rows waiting while \
         NATS was down, {} scored later, {attempts} attempts scored once each",
        later.len()
    );
}
