//! The fraud pipeline end to end, each test on PostgreSQL, NATS JetStream and a fraud
//! engine of its own: link openings scored asynchronously (outbox → `access.attempted`
//! → engine → `fraud.scored` → access log), RSVPs scored synchronously with a fail-open
//! deadline, and exactly-once publishing across a NATS outage.

mod support;

use app::{access::LoggedAccess, rsvps::RsvpDecision};
use async_nats::jetstream;
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    future::Future,
    time::{Duration, Instant},
};
use support::api::{fingerprint, Host, TestApi};
use uuid::Uuid;

/// A short grace for browser signals, so openings without them are scored quickly.
const FAST: &[(&str, &str)] = &[("GUESTGUARD_SIGNALS_GRACE_MS", "300")];
const SCRAPER: &str = "curl/8.5.0";

/// Polls `check` until it gives `Some`, for up to 30 s.
async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, check: impl Fn() -> F) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One row of the access log, as hosts will see it.
#[derive(Debug, sqlx::FromRow)]
struct LoggedAttempt {
    kind: String,
    risk_score: Option<i32>,
    risk: Option<String>,
    reasons: Vec<String>,
    flagged: Option<bool>,
    blocked: bool,
    scored_at: Option<chrono::DateTime<chrono::Utc>>,
}

async fn attempt(app: &TestApi, id: Uuid) -> Option<LoggedAttempt> {
    sqlx::query_as(
        "SELECT kind, risk_score, risk, reasons, flagged, blocked, scored_at
         FROM access_attempts WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&app.db)
    .await
    .expect("access log readable")
}

/// Waits until the attempt is scored.
async fn scored_attempt(app: &TestApi, id: Uuid) -> LoggedAttempt {
    eventually("the access attempt's score", || async {
        attempt(app, id).await.filter(|row| row.scored_at.is_some())
    })
    .await
}

/// A host, an event and `n` invited guests' tokens.
async fn invited(app: &TestApi, n: usize) -> (Host, Vec<String>) {
    let (host, _, tokens) = invited_to_event(app, n).await;
    (host, tokens)
}

/// [`invited`], with the event's id.
async fn invited_to_event(app: &TestApi, n: usize) -> (Host, Uuid, Vec<String>) {
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
    (host, event.id, tokens)
}

/// A guest opens their link in a browser (`device` names it) whose page reports its
/// signals; returns the opening's access log id.
async fn open_in_browser(app: &TestApi, token: &str, device: &str) -> Uuid {
    let view = app.open_link(token).await.expect_status(200).json();
    let id = view["access_log_id"].clone();
    app.post(&format!("/api/v1/access/{token}/signals"))
        .json(json!({
            "access_log_id": id,
            "fingerprint_hash": fingerprint(device),
            "time_zone": "Europe/Paris",
            "screen": "390x844",
        }))
        .await
        .expect_status(204);
    serde_json::from_value(id).expect("a uuid")
}

fn access_log_id(view: &Value) -> Uuid {
    serde_json::from_value(view["access_log_id"].clone()).expect("a uuid")
}

#[tokio::test]
async fn an_opened_link_gets_its_score_band_reasons_and_flag_on_the_access_log() {
    let app = TestApi::spawn_isolated(FAST).await;
    let (host, event_id, tokens) = invited_to_event(&app, 2).await;

    // The guest on their phone: nothing suspicious.
    let guest_opening = open_in_browser(&app, &tokens[0], "phone-fingerprint").await;
    // A script fetching the other link: no JavaScript, no fingerprint, a tool's agent.
    let scraper_view = app
        .get(&format!("/api/v1/access/{}", tokens[1]))
        .header("user-agent", SCRAPER)
        .await
        .expect_status(200)
        .json();
    let scraper_opening = access_log_id(&scraper_view);

    let guest = scored_attempt(&app, guest_opening).await;
    assert_eq!(guest.kind, "open");
    assert!(!guest.blocked);
    assert_eq!(guest.risk.as_deref(), Some("low"), "{guest:?}");
    assert_eq!(guest.flagged, Some(false));
    assert!(guest.reasons.is_empty(), "{guest:?}");

    let scraper = scored_attempt(&app, scraper_opening).await;
    assert_eq!(scraper.risk.as_deref(), Some("block"), "{scraper:?}");
    assert!(scraper.risk_score.unwrap_or_default() >= 85);
    assert_eq!(scraper.flagged, Some(true));
    for reason in [
        "automation_user_agent",
        "javascript_disabled",
        "missing_fingerprint",
    ] {
        assert!(
            scraper.reasons.iter().any(|r| r == reason),
            "{reason} missing from {scraper:?}"
        );
    }

    // The host reads the same in the access log, and can ask for the flagged ones.
    let log: Vec<LoggedAccess> = app
        .get(&format!("/api/v1/events/{event_id}/access-log"))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(log.len(), 2);
    let verdicts: HashMap<Uuid, Option<String>> =
        log.iter().map(|a| (a.id, a.verdict.clone())).collect();
    assert_eq!(verdicts[&guest_opening].as_deref(), Some("Verified"));
    assert_eq!(verdicts[&scraper_opening].as_deref(), Some("Blocked"));
    let flagged: Vec<LoggedAccess> = app
        .get(&format!(
            "/api/v1/events/{event_id}/access-log?flagged=true"
        ))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(
        flagged.iter().map(|a| a.id).collect::<Vec<_>>(),
        [scraper_opening]
    );
    assert_eq!(flagged[0].guest_name, "Guest 1");
    assert!(flagged[0].flagged && !flagged[0].js_enabled);
}

#[tokio::test]
async fn each_opening_is_published_once_with_its_signals_and_its_id_as_message_id() {
    let app = TestApi::spawn_isolated(FAST).await;
    let (_, tokens) = invited(&app, 1).await;
    let with_signals = open_in_browser(&app, &tokens[0], "laptop-fingerprint").await;
    let without = access_log_id(&app.open_link(&tokens[0]).await.expect_status(200).json());
    scored_attempt(&app, with_signals).await;
    scored_attempt(&app, without).await;

    let events = app.published(proto::events::ACCESS_ATTEMPTED).await;
    assert_eq!(events.len(), 2, "{events:?}");
    let by_id: HashMap<String, Value> = events.into_iter().collect();
    assert_eq!(by_id.len(), 2, "message ids: {:?}", by_id.keys());
    let first = &by_id[&with_signals.to_string()];
    assert_eq!(first["access_log_id"], json!(with_signals));
    // The device travels only as the web server's keyed hash, never as the fingerprint.
    let device_key = first["signals"]["device_key"]
        .as_str()
        .expect("a device key");
    assert_eq!(
        device_key,
        app::fraud::devices::device_key(
            &app::settings::DEVELOPMENT_FINGERPRINT_KEY.into(),
            &fingerprint("laptop-fingerprint")
        )
        .expect("keyed")
    );
    assert_ne!(device_key, fingerprint("laptop-fingerprint"));
    assert_eq!(first["signals"]["js_enabled"], true);
    assert_eq!(first["is_rsvp"], false);
    let second = &by_id[&without.to_string()];
    assert_eq!(second["signals"]["js_enabled"], false);

    let scores = app.published(proto::events::FRAUD_SCORED).await;
    assert_eq!(scores.len(), 2, "{scores:?}");
    assert!(scores
        .iter()
        .any(|(id, body)| *id == format!("fraud.scored.{with_signals}")
            && body["access_log_id"] == json!(with_signals)));
}

#[tokio::test]
async fn a_low_risk_rsvp_is_recorded_with_its_score_and_uses_the_link() {
    let app = TestApi::spawn_isolated(FAST).await;
    let (host, tokens) = invited(&app, 1).await;
    let opening = open_in_browser(&app, &tokens[0], "phone-fingerprint").await;

    // The host answers on the guest's behalf, so the whole decision is shown.
    let outcome: RsvpDecision = app
        .rsvp(
            &tokens[0],
            json!({"response": "attending", "plus_ones": 1, "access_log_id": opening}),
        )
        .as_host(&host)
        .await
        .expect_status(201)
        .parse();

    assert!(outcome.fraud.used, "{:?}", outcome.fraud);
    assert_eq!(outcome.fraud.risk, Some(app::fraud::RiskBand::Low));
    assert_eq!(outcome.policy, "standard");
    let score = outcome.fraud.score.expect("a score");
    assert_eq!(
        app.count("SELECT risk_score::bigint FROM rsvps").await,
        i64::from(score)
    );
    let view = app.open_link(&tokens[0]).await.expect_status(200).json();
    assert_eq!(view["token"]["status"], "used");
    assert_eq!(
        app.count("SELECT count(*) FROM access_attempts WHERE kind = 'rsvp' AND risk = 'low' AND NOT blocked")
            .await,
        1
    );
    let confirmed = eventually("rsvp.confirmed", || async {
        let events = app.published(proto::events::RSVP_CONFIRMED).await;
        (!events.is_empty()).then_some(events)
    })
    .await;
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0].1["rsvp_id"], json!(outcome.rsvp.id));
    assert_eq!(confirmed[0].1["risk_score"], json!(score));
}

#[tokio::test]
async fn a_blocked_rsvp_records_nothing_and_keeps_the_link_active() {
    let app = TestApi::spawn_isolated(FAST).await;
    let (host, tokens) = invited(&app, 1).await;

    // The guest (here a script) is told only that the answer was refused.
    let reply = app
        .rsvp(&tokens[0], json!({"response": "attending", "plus_ones": 2}))
        .header("user-agent", SCRAPER)
        .await
        .expect_error(403, "rsvp_refused");
    let body = reply.json();
    assert!(
        body.get("fraud").is_none() && body.get("blocked").is_none(),
        "{body}"
    );
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("contact your host")));
    // The event's host, submitting the same, learns why.
    let body = app
        .rsvp(&tokens[0], json!({"response": "attending", "plus_ones": 2}))
        .header("user-agent", SCRAPER)
        .as_host(&host)
        .await
        .expect_error(403, "rsvp_refused")
        .json();
    assert_eq!(body["blocked"], true);
    assert_eq!(body["fraud"]["used"], true);
    assert_eq!(body["fraud"]["risk"], "block");
    assert!(
        body["fraud"]["score"].as_u64().unwrap_or_default() >= 85,
        "{body}"
    );
    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, 0);
    let view = app.open_link(&tokens[0]).await.expect_status(200).json();
    assert_eq!(view["token"]["status"], "active");
    assert!(view["rsvp"].is_null());
    assert_eq!(
        app.count(
            "SELECT count(*) FROM access_attempts
             WHERE kind = 'rsvp' AND blocked AND risk = 'block' AND flagged"
        )
        .await,
        2
    );
    // Nothing was confirmed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(app
        .published(proto::events::RSVP_CONFIRMED)
        .await
        .is_empty());
}

/// The host answers "maybe" for a guest (so the decision is shown) and returns it with
/// how long the answer took.
async fn timed_rsvp(app: &TestApi, token: &str, host: &Host) -> (RsvpDecision, Duration) {
    let started = Instant::now();
    let reply = app
        .rsvp(token, json!({"response": "maybe"}))
        .as_host(host)
        .await
        .expect_status(201);
    (reply.parse(), started.elapsed())
}

#[tokio::test]
async fn with_the_engine_stopped_an_rsvp_is_kept_unscored_at_once_and_scored_when_it_returns() {
    let mut app = TestApi::spawn_isolated(FAST).await;
    let (host, tokens) = invited(&app, 1).await;
    app.own().fraud.stop().await;

    let (outcome, took) = timed_rsvp(&app, &tokens[0], &host).await;

    assert!(!outcome.fraud.used, "{:?}", outcome.fraud);
    assert_eq!(outcome.fraud.reasons, ["scoring_unavailable"]);
    assert!(outcome.fraud.unavailable.is_some());
    assert_eq!(outcome.policy, "engine unavailable: accept");
    // The deadline is 250 ms; an engine that is down must not hold the guest for the
    // seconds a connection timeout would take (the precise latency is measured by the
    // load test, see README).
    assert!(took < Duration::from_secs(1), "the answer took {took:?}");
    assert_eq!(
        app.count("SELECT count(*) FROM rsvps WHERE risk_score IS NULL")
            .await,
        1
    );

    // Queued for scoring: once the engine is back, the answer gets its score.
    app.own().fraud.restart().await;
    let score: i32 = eventually("the late score of the answer", || async {
        sqlx::query_scalar::<_, Option<i32>>("SELECT risk_score FROM rsvps")
            .fetch_one(&app.db)
            .await
            .ok()
            .flatten()
    })
    .await;
    assert!((0..=100).contains(&score));
    assert_eq!(
        app.count(
            "SELECT count(*) FROM access_attempts WHERE kind = 'rsvp' AND scored_at IS NOT NULL"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_engine_that_never_answers_is_cut_off_at_the_deadline() {
    // A gRPC port that accepts connections and never answers.
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
    let app = TestApi::spawn_isolated(&[("FRAUD_GRPC_URL", grpc_url.as_str())]).await;
    let (host, tokens) = invited(&app, 1).await;

    let (outcome, took) = timed_rsvp(&app, &tokens[0], &host).await;

    assert!(!outcome.fraud.used);
    assert!(
        outcome
            .fraud
            .unavailable
            .as_deref()
            .is_some_and(|why| why.contains("250 ms")),
        "{:?}",
        outcome.fraud
    );
    assert!(took < Duration::from_secs(1), "the answer took {took:?}");
    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, 1);
}

#[tokio::test]
async fn events_written_while_nats_is_down_are_all_delivered_once_when_it_returns() {
    const ANSWERS: usize = 8;
    let mut app = TestApi::spawn_isolated(FAST).await;
    let (host, tokens) = invited(&app, ANSWERS).await;
    // The stream exists before the outage (the relay creates it at startup).
    eventually("the stream", || async {
        let client = app.nats_ops().await?;
        jetstream::new(client)
            .get_stream(proto::events::STREAM)
            .await
            .ok()
    })
    .await;

    app.own().nats.stop_server().await;
    let mut rsvp_ids = Vec::new();
    for token in &tokens {
        let (outcome, _) = timed_rsvp(&app, token, &host).await;
        rsvp_ids.push(outcome.rsvp.id);
    }
    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .await,
        2 * ANSWERS as i64,
        "each answer waits with its rsvp.confirmed and its access.attempted"
    );

    app.own().nats.start_server().await;
    eventually("an empty outbox", || async {
        (app.count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .await
            == 0)
            .then_some(())
    })
    .await;

    let confirmed = app.published(proto::events::RSVP_CONFIRMED).await;
    let mut confirmed_ids: Vec<Uuid> = confirmed
        .iter()
        .map(|(_, body)| serde_json::from_value(body["rsvp_id"].clone()).expect("uuid"))
        .collect();
    confirmed_ids.sort();
    rsvp_ids.sort();
    assert_eq!(
        confirmed_ids, rsvp_ids,
        "every answer confirmed exactly once"
    );
    let attempted = app.published(proto::events::ACCESS_ATTEMPTED).await;
    assert_eq!(attempted.len(), ANSWERS, "{attempted:?}");

    // And the engine scores every answer once NATS is back.
    eventually("every answer scored", || async {
        (app.count("SELECT count(*) FROM rsvps WHERE risk_score IS NULL")
            .await
            == 0)
            .then_some(())
    })
    .await;
    assert_eq!(
        app.published(proto::events::FRAUD_SCORED).await.len(),
        ANSWERS
    );
}

#[tokio::test]
async fn publishing_an_event_again_or_redelivering_a_score_has_one_effect() {
    let app = TestApi::spawn_isolated(FAST).await;
    let (_, tokens) = invited(&app, 1).await;
    let opening = open_in_browser(&app, &tokens[0], "phone-fingerprint").await;
    let first = scored_attempt(&app, opening).await;

    // The relay crashed after publishing, before recording it: it publishes again.
    sqlx::query("UPDATE outbox SET published_at = NULL")
        .execute(&app.db)
        .await
        .expect("outbox rewound");
    eventually("the outbox published again", || async {
        (app.count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .await
            == 0)
            .then_some(())
    })
    .await;
    assert_eq!(
        app.published(proto::events::ACCESS_ATTEMPTED).await.len(),
        1,
        "JetStream drops the duplicate by its message id"
    );

    // The same score delivered twice more (a redelivery after a lost ack).
    let scored = app.published(proto::events::FRAUD_SCORED).await;
    assert_eq!(scored.len(), 1);
    let client = app.nats_ops().await.expect("NATS");
    let js = jetstream::new(client);
    for copy in 0..2 {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            format!("redelivery-{copy}").as_str(),
        );
        js.publish_with_headers(
            proto::events::FRAUD_SCORED,
            headers,
            serde_json::to_vec(&scored[0].1).expect("json").into(),
        )
        .await
        .expect("published")
        .await
        .expect("stored");
    }
    eventually("the copies consumed", || async {
        let client = app.nats_ops().await?;
        let mut consumer: jetstream::consumer::PullConsumer = jetstream::new(client)
            .get_stream(proto::events::STREAM)
            .await
            .ok()?
            .get_consumer(proto::events::SERVER_CONSUMER)
            .await
            .ok()?;
        let info = consumer.info().await.ok()?;
        (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
    })
    .await;
    let again = attempt(&app, opening).await.expect("still there");
    assert_eq!(again.risk_score, first.risk_score);
    assert_eq!(again.reasons, first.reasons, "reasons are not added twice");
    assert_eq!(again.scored_at, first.scored_at);
    assert_eq!(
        app.count("SELECT count(*) FROM access_attempts").await,
        1,
        "no attempt is invented"
    );
}
