//! Health against real PostgreSQL, NATS JetStream and the fraud engine's gRPC health:
//! the operators' `/healthz/detail` names what is down; the public `/healthz` only says
//! up or down.

mod support;

use support::TestApp;

fn check<'a>(body: &'a serde_json::Value, name: &str) -> &'a str {
    body["checks"][name].as_str().unwrap_or("missing")
}

#[tokio::test]
async fn healthz_is_ok_when_every_dependency_answers() {
    let app = TestApp::spawn().await;
    let (status, body) = app.health_until(|status, _| status == 200).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({
            "status": "ok",
            "checks": {"database": "up", "nats": "up", "fraud": "up"},
            "outbox": {"pending": 0, "oldest_due_seconds": null, "parked": 0},
            "fraud_breaker": {"state": "closed", "consecutive_failures": 0, "skipped": 0, "opened": 0}
        })
    );
}

#[tokio::test]
async fn the_public_answer_is_only_up_or_down_and_the_detail_needs_the_operators_token() {
    let app = TestApp::spawn().await;
    assert_eq!(app.health_until(|status, _| status == 200).await.0, 200);
    let public = |path: &str, token: Option<&str>| {
        let mut request = app.http.get(app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.expect("answers");
            let status = response.status().as_u16();
            (
                status,
                response.json::<serde_json::Value>().await.expect("JSON"),
            )
        }
    };
    assert_eq!(
        public("/healthz", None).await,
        (200, serde_json::json!({"status": "ok"}))
    );
    assert_eq!(public("/healthz/detail", None).await.0, 404);
    assert_eq!(public("/healthz/detail", Some("a-guess")).await.0, 404);

    app.stop_fraud();
    let (status, body) = app
        .health_until(|_, body| check(body, "fraud") == "down")
        .await;
    assert_eq!((status, check(&body, "fraud")), (503, "down"));
    assert_eq!(
        public("/healthz", None).await,
        (503, serde_json::json!({"status": "unavailable"})),
        "nobody outside learns which dependency is down"
    );
}

#[tokio::test]
async fn stopping_postgres_gives_503_naming_the_database_and_recovers_without_restart() {
    let app = TestApp::spawn().await;
    assert_eq!(app.health_until(|status, _| status == 200).await.0, 200);

    app.postgres.stop_server().await;
    let (status, body) = app.health().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(check(&body, "database"), "down");
    assert_eq!(check(&body, "nats"), "up");
    assert_eq!(check(&body, "fraud"), "up");

    app.postgres.start_server().await;
    let (status, body) = app.health_until(|status, _| status == 200).await;
    assert_eq!(
        status, 200,
        "health did not come back after PostgreSQL restarted: {body}"
    );
}

#[tokio::test]
async fn stopping_nats_gives_503_naming_nats_and_the_engine_and_recovers_without_restart() {
    let app = TestApp::spawn().await;
    assert_eq!(app.health_until(|status, _| status == 200).await.0, 200);

    app.nats.stop_server().await;
    let (status, body) = app
        .health_until(|_, body| check(body, "nats") == "down" && check(body, "fraud") == "down")
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(check(&body, "nats"), "down");
    assert_eq!(check(&body, "database"), "up");
    // The engine is running but cannot reach its baselines, so it cannot score.
    assert_eq!(check(&body, "fraud"), "down");

    app.nats.start_server().await;
    let (status, body) = app.health_until(|status, _| status == 200).await;
    assert_eq!(
        status, 200,
        "health did not come back after NATS restarted: {body}"
    );
}

#[tokio::test]
async fn a_stopped_fraud_engine_gives_503_naming_fraud() {
    let app = TestApp::spawn().await;
    assert_eq!(app.health_until(|status, _| status == 200).await.0, 200);

    app.stop_fraud();
    let (status, body) = app
        .health_until(|_, body| check(body, "fraud") == "down")
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(check(&body, "fraud"), "down");
    assert_eq!(check(&body, "database"), "up");
}
