//! What every answer carries and how the HTTP server treats slow or idle clients:
//! security and cache headers on pages and API answers, compression for clients that
//! accept it, the header-read timeout against slowloris clients, the request deadline,
//! the idle timeout and the connection cap.

use crate::support::api::TestApi;
use serde_json::json;
use std::time::Duration;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

#[tokio::test]
async fn every_page_and_api_answer_carries_the_security_headers() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (_, link) = app.invite(&host, &event, json!({"name": "Grace"})).await;

    let pages = [
        "/login".to_owned(),
        format!("/i/{}", link.token),
        "/no-such-page".to_owned(),
    ];
    for path in &pages {
        let page = app.get(path).await;
        let policy = page.header("content-security-policy").unwrap_or_default();
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("{path}: a nonce in {policy:?}"));
        assert!(policy.contains("'wasm-unsafe-eval'"), "{path}: {policy}");
        assert!(!policy.contains("'unsafe-eval'") && !policy.contains("'unsafe-inline'"));
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        // Every script of the page carries this render's nonce: nothing inline runs
        // without it.
        let scripts = page.text.matches("<script").count();
        assert!(scripts > 0, "{path}: the page has its hydration script");
        assert_eq!(
            page.text.matches(&format!("nonce=\"{nonce}\"")).count(),
            scripts,
            "{path}: every script has the nonce"
        );
        assert_eq!(
            page.header("cache-control").as_deref(),
            Some("no-store"),
            "{path}"
        );
        assert_eq!(
            page.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        let referrer = if path.starts_with("/i/") {
            "no-referrer"
        } else {
            "strict-origin"
        };
        assert_eq!(
            page.header("referrer-policy").as_deref(),
            Some(referrer),
            "{path}"
        );
        assert!(
            page.header("strict-transport-security").is_none(),
            "HSTS only in production"
        );
    }

    for (path, cache) in [
        ("/api/v1/events", "no-store"),
        ("/api/v1/openapi.json", "no-cache"),
        ("/healthz", "no-store"),
        ("/api/v1/nothing-here", "no-store"),
    ] {
        let answer = app.get(path).await;
        assert_eq!(
            answer.header("content-security-policy").as_deref(),
            Some("default-src 'none'; frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(
            answer.header("cache-control").as_deref(),
            Some(cache),
            "{path}"
        );
        assert_eq!(answer.header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(
            answer.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
    }
    // A host's own data, read with their key, is never stored by caches either.
    let key = app.create_api_key(&host, "crm").await;
    let listed = app
        .get("/api/v1/events")
        .bearer(&key.key)
        .await
        .expect_status(200);
    assert_eq!(listed.header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test]
async fn answers_are_compressed_for_clients_that_accept_it() {
    let app = TestApi::spawn().await;
    let fetch = |encoding: Option<&'static str>| {
        let mut request = app.http.get(app.url("/api/v1/openapi.json"));
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        async move {
            let response = request.send().await.expect("answers");
            let encoding = response
                .headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (encoding, response.bytes().await.expect("body").len())
        }
    };
    let (none, plain) = fetch(None).await;
    assert_eq!(none, None);
    for encoding in ["br", "gzip"] {
        let (used, packed) = fetch(Some(encoding)).await;
        assert_eq!(used.as_deref(), Some(encoding));
        assert!(packed * 3 < plain, "{encoding}: {packed} of {plain} bytes");
    }
    let page = app
        .get("/login")
        .header("accept-encoding", "gzip, br")
        .await;
    assert!(
        page.header("content-encoding").is_some(),
        "pages are compressed too"
    );
}

/// Connects to the app on a raw socket.
async fn raw(app: &TestApi) -> TcpStream {
    TcpStream::connect(app.address).await.expect("connects")
}

/// Reads until the server closes the connection or `limit` passes; the bytes read and
/// whether it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (received, true),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => return (received, false),
        }
    }
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off_at_the_header_timeout_while_others_are_served() {
    let app = TestApi::spawn_with(&[("GUESTGUARD_HEADER_TIMEOUT_SECS", "1")]).await;
    let mut slow = raw(&app).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .expect("write");
    // The rest of the headers, a byte every 100 ms: 6 s in all, far past the timeout.
    let rest = b"Host: guests\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut_off = false;
    for (sent, byte) in rest.iter().enumerate() {
        if slow.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        // Meanwhile an ordinary client is served.
        if sent == 5 {
            app.get("/healthz").await.expect_status(200);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (answer, closed) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(cut_off || closed, "the slow connection was closed");
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "the trickled request was never served"
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let app = TestApi::spawn_with(&[
        ("GUESTGUARD_IDLE_TIMEOUT_SECS", "1"),
        ("GUESTGUARD_HEADER_TIMEOUT_SECS", "60"),
    ])
    .await;
    let mut client = raw(&app).await;
    client
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: guests\r\n\r\n")
        .await
        .expect("write");
    // The answer, then the connection stays open for the next request — until the idle
    // timeout (1 s) closes it, long before the header timeout (60 s) would.
    let (answer, closed) = read_until_closed(&mut client, Duration::from_secs(20)).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    assert!(closed, "the idle connection was closed");
}

#[tokio::test]
async fn a_request_that_takes_too_long_is_answered_503() {
    let app = TestApi::spawn_with(&[("GUESTGUARD_REQUEST_TIMEOUT_SECS", "1")]).await;
    let mut client = raw(&app).await;
    // A body announced but sent far slower than the deadline allows.
    client
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: guests\r\n\
              Content-Type: application/json\r\nContent-Length: 60\r\n\r\n{\"email\":",
        )
        .await
        .expect("write");
    let (answer, _) = read_until_closed(&mut client, Duration::from_secs(10)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("timed_out"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let app = TestApi::spawn_with(&[("GUESTGUARD_MAX_CONNECTIONS", "2")]).await;
    let (mut first, mut second) = (raw(&app).await, raw(&app).await);
    for held in [&mut first, &mut second] {
        held.write_all(b"GET /healthz HTTP/1.1\r\nHost: guests\r\n\r\n")
            .await
            .expect("write");
        let mut buffer = [0u8; 1024];
        let n = held.read(&mut buffer).await.expect("answer");
        assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
    }
    // Both slots are taken by kept-alive connections: a third client waits...
    let third = tokio::spawn({
        let http = app.http.clone();
        let url = app.url("/healthz");
        async move { http.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "the third connection is not served yet"
    );
    // ...until one of them leaves.
    drop(first);
    let status = third.await.expect("task").expect("answered");
    assert_eq!(status, 200);
}
