//! The server-rendered landing page and stack check, its server function, JSON 404s
//! under `/api`, request ids and graceful shutdown, against real services.

mod support;

use support::TestApp;

#[tokio::test]
async fn the_landing_page_invites_hosts_to_sign_up() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/")).send().await.expect("GET /");
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains(r#"data-testid="landing-hero""#), "{html}");
    assert!(
        html.contains(r#"href="/signup""#),
        "a call to sign up: {html}"
    );
    assert!(
        !html.contains("System check"),
        "the stack check is out of sight"
    );
}

#[tokio::test]
async fn the_stack_check_is_rendered_on_the_server_with_the_hydration_bundle() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .get(app.url("/stack"))
        .send()
        .await
        .expect("GET /stack");
    assert_eq!(response.status(), 200);
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html")));
    let html = response.text().await.expect("body");
    assert!(html.contains("System check"), "{html}");
    assert!(
        html.contains(r#"data-hydrated="false""#),
        "rendered before hydration: {html}"
    );
    assert!(
        html.contains("/pkg/guestguard.js"),
        "the page loads the wasm bundle: {html}"
    );
}

#[tokio::test]
async fn the_database_server_function_reads_postgres() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .post(app.url("/api/fn/database_facts"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body("")
        .send()
        .await
        .expect("server function answers");
    assert_eq!(response.status(), 200);
    let facts: app::stack_check::DatabaseFacts = response.json().await.expect("typed answer");
    let major = facts.server_version.split('.').next().unwrap_or_default();
    assert!(major.parse::<u32>().is_ok_and(|v| v >= 13), "{facts:?}");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(
            &sqlx::PgPool::connect(&app.postgres.url)
                .await
                .expect("connect"),
        )
        .await
        .expect("count");
    assert!(applied >= 1);
    assert_eq!(facts.migrations_applied, applied);
}

#[tokio::test]
async fn unknown_api_routes_answer_json_404() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/nope",
        "/api/v1/events/does-not-exist/whatever",
        "/api",
    ] {
        let response = app.http.get(app.url(path)).send().await.expect("answer");
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.expect("JSON body");
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
        assert!(body["error"]["message"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn unknown_pages_get_a_friendly_404_page() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .get(app.url("/no/such/page"))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 404);
    let html = response.text().await.expect("body");
    assert!(html.contains("Page not found"), "{html}");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_a_given_one() {
    let app = TestApp::spawn().await;
    let generated = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("answer");
    let id = generated
        .headers()
        .get("x-request-id")
        .expect("x-request-id is set");
    assert!(uuid::Uuid::parse_str(id.to_str().expect("ascii")).is_ok());

    let kept = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .expect("answer");
    assert_eq!(kept.headers()["x-request-id"], "trace-me-123");
}

#[tokio::test]
async fn shutdown_stops_accepting_new_connections() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("up")
            .status()
            .as_u16()
            / 100,
        2
    );
    app.stop();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let refused = tokio::net::TcpStream::connect(app.address).await.is_err();
        if refused {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "server still accepts connections"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Sends one HTTP/1.1 GET of `path` on `stream` and reads the whole answer (its
/// headers, lowercased, and the status code).
async fn get_on(stream: &mut tokio::net::TcpStream, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await.expect("read");
        assert!(read > 0, "the connection closed before the answer");
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer).to_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text[..end].to_owned();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse().expect("a length"));
            if answer.len() >= end + 4 + length {
                let status = head[9..12].parse().expect("a status");
                return (status, head);
            }
        }
    }
}

#[tokio::test]
async fn on_shutdown_a_kept_alive_connection_is_still_answered_and_told_to_close() {
    use tokio::io::AsyncReadExt as _;
    let app = TestApp::spawn().await;
    let mut stream = tokio::net::TcpStream::connect(app.address)
        .await
        .expect("connects");
    let (status, head) = get_on(&mut stream, "/healthz").await;
    assert_eq!(status, 200);
    assert!(!head.contains("connection: close"), "{head}");

    // A proxy may send its next request on this idle connection just as the server
    // is told to stop: the request is answered, and the answer says to close.
    app.stop();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (status, head) = get_on(&mut stream, "/healthz").await;
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("connection: close"), "{head}");
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest).await.expect("closed cleanly");
    assert_eq!(read, 0, "nothing after the last answer");
}
