//! GuestGuard deployed as in production — two `server` processes behind a real nginx
//! terminating TLS, every internal service demanding credentials — used as hosts and
//! guests use it: each guest is seen, limited and scored by their own address, forged
//! forwarding headers are ignored, the replicas share one rate limit, cookie writes work
//! through the proxy, and a flood of logins is answered without exhausting memory.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::edge::Deployment;
use uuid::Uuid;

/// A 64-hex device fingerprint, as the hydrated page sends it.
const LAPTOP: &str = "5f1c0e1b7a3d4c2e9b8a7f6e5d4c3b2a1908f7e6d5c4b3a2918f7e6d5c4b3a29";

/// Polls `probe` until it returns `Some` (20 s at most).
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A host signed up through the proxy, with an event and one guest's link.
struct Invitation {
    host: reqwest::Client,
    event_id: String,
    token: String,
}

async fn invite(deployment: &Deployment) -> Invitation {
    let host = deployment.client("127.0.0.1");
    let signup = host
        .post(deployment.url("/api/v1/auth/signup"))
        .json(
            &json!({"email": format!("host-{}@example.org", Uuid::new_v4()),
                      "name": "Ada", "password": "correct horse battery staple"}),
        )
        .send()
        .await
        .expect("signup answers");
    assert_eq!(signup.status(), 201, "{}", deployment.logs());
    let cookie = signup
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        cookie.contains("; Secure"),
        "production cookies are Secure: {cookie}"
    );
    assert_eq!(
        signup
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=63072000; includeSubDomains"),
        "production answers carry HSTS"
    );

    // A cookie-authenticated write through the proxy: nginx passes `Host: 127.0.0.1`
    // (no port) while the browser's Origin is the public address.
    let write = |path: &str, body: Value| {
        host.post(deployment.url(path))
            .header("origin", &deployment.public_url)
            .json(&body)
            .send()
    };
    let event: Value = write(
        "/api/v1/events",
        json!({"name": "Garden party", "slug": format!("garden-{}", &Uuid::new_v4().simple().to_string()[..8]),
               "event_date": "2031-06-12T18:00:00+02:00", "time_zone": "Europe/Berlin",
               "venue": "Orchard"}),
    )
    .await
    .expect("answers")
    .json()
    .await
    .expect("JSON");
    let event_id = event["id"].as_str().expect("an event id").to_owned();
    let guest: Value = write(
        &format!("/api/v1/events/{event_id}/guests"),
        json!({"name": "Grace"}),
    )
    .await
    .expect("answers")
    .json()
    .await
    .expect("JSON");
    let guest_id = guest["id"].as_str().expect("a guest id");
    let link: Value = write(
        &format!("/api/v1/events/{event_id}/guests/{guest_id}/tokens"),
        json!({}),
    )
    .await
    .expect("answers")
    .json()
    .await
    .expect("JSON");
    Invitation {
        host,
        event_id,
        token: link["token"].as_str().expect("a token").to_owned(),
    }
}

/// Opens the link from `client` (and reports the page's signals, as the hydrated page
/// does); returns the access attempt's id.
async fn open(
    deployment: &Deployment,
    client: &reqwest::Client,
    token: &str,
    headers: &[(&str, &str)],
) -> String {
    let mut request = client.get(deployment.url(&format!("/api/v1/access/{token}")));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let opened = request.send().await.expect("answers");
    assert_eq!(opened.status(), 200);
    let view: Value = opened.json().await.expect("JSON");
    let id = view["access_log_id"]
        .as_str()
        .expect("an attempt id")
        .to_owned();
    let signals = client
        .post(deployment.url(&format!("/api/v1/access/{token}/signals")))
        .json(&json!({"access_log_id": id, "fingerprint_hash": LAPTOP,
                      "time_zone": "Europe/Berlin", "screen": "1920x1080"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(signals.status(), 204);
    id
}

/// The logged address, score and reasons of an attempt, once it is scored.
async fn scored(deployment: &Deployment, id: &str) -> (String, i32, Vec<String>) {
    let id = Uuid::parse_str(id).expect("uuid");
    eventually("the attempt's score", || async {
        sqlx::query_as::<_, (Option<String>, Option<i32>, Vec<String>)>(
            "SELECT host(ip), risk_score, reasons FROM access_attempts WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&deployment.db)
        .await
        .ok()
        .and_then(|(ip, score, reasons)| Some((ip?, score?, reasons)))
    })
    .await
}

#[tokio::test]
async fn behind_the_proxy_each_guest_is_logged_and_scored_by_their_own_address() {
    let deployment = Deployment::start(&[]).await;
    let Invitation { token, .. } = invite(&deployment).await;

    // The guest opens the link on their laptop; a forged X-Forwarded-For is ignored.
    let home = deployment.client("127.0.0.2");
    let first = open(
        &deployment,
        &home,
        &token,
        &[("x-forwarded-for", "6.6.6.6")],
    )
    .await;
    let (ip, score, reasons) = scored(&deployment, &first).await;
    assert_eq!(
        ip, "127.0.0.2",
        "the guest's own address, not the proxy's or a forged one"
    );
    assert_eq!(score, 0, "{reasons:?}");
    // The guest answers from home: the laptop and the home network are now trusted.
    let answered = home
        .post(deployment.url(&format!("/api/v1/rsvp/{token}")))
        .json(&json!({"response": "attending", "access_log_id": first}))
        .send()
        .await
        .expect("answers");
    assert_eq!(answered.status(), 201);

    // The same laptop from another address of the same network: the engine saw it.
    let cafe = deployment.client("127.0.0.3");
    let second = open(&deployment, &cafe, &token, &[]).await;
    let (ip, _, reasons) = scored(&deployment, &second).await;
    assert_eq!(ip, "127.0.0.3");
    assert!(
        reasons.iter().any(|r| r == "ip_changed_same_network"),
        "the engine scored the guest's own address: {reasons:?}"
    );

    // Straight to a replica (not through the proxy), a forged header counts for nothing.
    let sneaky = reqwest::Client::builder()
        .local_address("127.0.0.4".parse::<std::net::IpAddr>().expect("ip"))
        .user_agent(support::api::BROWSER)
        .build()
        .expect("client");
    let direct: Value = sneaky
        .get(format!(
            "http://{}/api/v1/access/{token}",
            deployment.replicas[0]
        ))
        .header("x-forwarded-for", "127.0.0.2")
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    let id = Uuid::parse_str(direct["access_log_id"].as_str().expect("id")).expect("uuid");
    let ip: Option<String> =
        sqlx::query_scalar("SELECT host(ip) FROM access_attempts WHERE id = $1")
            .bind(id)
            .fetch_one(&deployment.db)
            .await
            .expect("logged");
    assert_eq!(ip.as_deref(), Some("127.0.0.4"));
}

#[tokio::test]
async fn one_guest_hammering_is_limited_by_their_address_and_others_are_not() {
    let deployment = Deployment::start(&[]).await;
    let hammer = deployment.client("127.0.0.5");
    let mut answered = 0;
    loop {
        let status = hammer
            .get(deployment.url("/api/v1/access/not-a-token"))
            .send()
            .await
            .expect("answers")
            .status();
        if status == 429 {
            break;
        }
        answered += 1;
        assert!(answered < 250, "never limited");
    }
    assert!(answered >= 120, "{answered}");
    let neighbour = deployment
        .client("127.0.0.6")
        .get(deployment.url("/api/v1/access/not-a-token"))
        .send()
        .await
        .expect("answers");
    assert_eq!(neighbour.status(), 400, "another guest is not limited");
}

#[tokio::test]
async fn two_replicas_share_one_login_limit_and_cookie_writes_work_through_the_proxy() {
    let deployment = Deployment::start(&[]).await;
    let Invitation { host, event_id, .. } = invite(&deployment).await;
    // The host's session works on both replicas (nginx alternates between them).
    for _ in 0..4 {
        let read = host
            .get(deployment.url(&format!("/api/v1/events/{event_id}")))
            .send()
            .await
            .expect("answers");
        assert_eq!(read.status(), 200);
    }

    let guesser = deployment.client("127.0.0.7");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let status = guesser
            .post(deployment.url("/api/v1/auth/login"))
            .json(&json!({"email": format!("nobody-{}@example.org", statuses.len()), "password": "not the password"}))
            .send()
            .await
            .expect("answers")
            .status()
            .as_u16();
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 429, 429],
        "ten attempts per minute in total, not per replica"
    );
    let used = deployment.upstreams_used();
    for replica in &deployment.replicas {
        assert!(
            used.iter().any(|u| u == &replica.to_string()),
            "replica {replica} served requests: {used:?}"
        );
    }
}

/// Peak resident memory of a process, in MiB.
fn peak_memory_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib / 1024)
        .expect("VmHWM")
}

#[tokio::test]
async fn a_flood_of_200_concurrent_logins_is_answered_and_memory_stays_bounded() {
    let deployment = Deployment::start(&[
        ("GUESTGUARD_HASH_CONCURRENCY", "2"),
        ("GUESTGUARD_HASH_QUEUE_MS", "300"),
    ])
    .await;
    let replica = deployment.replicas[0];
    let flood = |path: &'static str, body: fn(u32) -> Value| {
        let mut requests = tokio::task::JoinSet::new();
        for n in 0..200u32 {
            let client = reqwest::Client::builder()
                .local_address(std::net::IpAddr::from([127, 0, 10, (n % 200 + 1) as u8]))
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client");
            requests.spawn(async move {
                let response = client
                    .post(format!("http://{replica}{path}"))
                    .json(&body(n))
                    .send()
                    .await
                    .expect("every request is answered");
                let retry_after = response.headers().get("retry-after").is_some();
                (response.status().as_u16(), retry_after)
            });
        }
        requests
    };
    // First the same flood of requests that need no hashing (a logout without a session):
    // what 200 connections at once cost by themselves.
    let mut plain = flood("/api/v1/auth/logout", |_| json!({}));
    while let Some(outcome) = plain.join_next().await {
        assert_eq!(outcome.expect("task").0, 204);
    }
    let before = peak_memory_mib(deployment.web_pid(0));
    let mut logins = flood(
        "/api/v1/auth/login",
        |n| json!({"email": format!("nobody-{n}@example.org"), "password": "a guess of a password"}),
    );
    let mut counts = std::collections::BTreeMap::<u16, u32>::new();
    while let Some(outcome) = logins.join_next().await {
        let (status, retry_after) = outcome.expect("the login task");
        if status == 503 || status == 429 {
            assert!(retry_after, "a {status} says when to come back");
        }
        *counts.entry(status).or_default() += 1;
    }
    let after = peak_memory_mib(deployment.web_pid(0));

    println!("statuses {counts:?}; peak memory {before} MiB before, {after} MiB after");
    assert!(
        counts.keys().all(|status| [401, 429, 503].contains(status)),
        "only refusals, never a failure: {counts:?}"
    );
    assert!(
        counts.get(&503).is_some_and(|n| *n > 0),
        "saturation answers 503: {counts:?}"
    );
    assert!(
        counts.get(&401).is_some_and(|n| *n > 0),
        "some logins were checked: {counts:?}"
    );
    // Two hashes at a time take about 2 × 19 MiB; unbounded, 200 would take 3.8 GiB.
    assert!(
        after < before + 120,
        "peak memory grew from {before} to {after} MiB: hashing is not bounded"
    );
}

#[tokio::test]
async fn in_production_the_internal_services_refuse_callers_without_credentials() {
    let deployment = Deployment::start(&[]).await;
    let Invitation { token, .. } = invite(&deployment).await;

    // The engine answers no Score call without the service token.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", deployment.fraud))
        .expect("address")
        .connect()
        .await
        .expect("connects");
    let request = proto::fraud::v1::ScoreRequest {
        event_id: Uuid::new_v4().to_string(),
        guest_id: Uuid::new_v4().to_string(),
        token_id: Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let refused = proto::fraud::v1::fraud_service_client::FraudServiceClient::new(channel)
        .score(request)
        .await
        .expect_err("no token, no score");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);

    // NATS: no connection without credentials; the web server's user cannot forge a score.
    assert!(async_nats::connect(&deployment.nats_url).await.is_err());
    let web = support::services::connect_as(&deployment.nats_url, proto::nats::SERVER)
        .await
        .expect("the web server's user");
    let mut jetstream = async_nats::jetstream::new(web);
    jetstream.set_timeout(Duration::from_secs(1));
    let forged = match jetstream
        .publish(proto::events::FRAUD_SCORED, b"{}".to_vec().into())
        .await
    {
        Ok(ack) => ack.await.is_ok(),
        Err(_) => false,
    };
    assert!(!forged, "a forged fraud.scored is refused");

    // With their credentials the services work as before: an opening is scored.
    let guest = deployment.client("127.0.0.8");
    let id = open(&deployment, &guest, &token, &[]).await;
    let (_, score, reasons) = scored(&deployment, &id).await;
    assert_eq!(score, 0, "{reasons:?}");
}

/// A host's event in shadow mode (the fraud check never refuses: this drill is about
/// the deployment, not about a burst looking suspicious) with `n` guests' tokens.
async fn shadow_event_with_guests(deployment: &Deployment, n: usize) -> Vec<String> {
    let invitation = invite(deployment).await;
    let write = |method: reqwest::Method, path: String, body: Value| {
        invitation
            .host
            .request(method, deployment.url(&path))
            .header("origin", &deployment.public_url)
            .json(&body)
            .send()
    };
    let event_path = format!("/api/v1/events/{}", invitation.event_id);
    let updated = write(
        reqwest::Method::PATCH,
        event_path.clone(),
        json!({"fraud_policy": {"shadow": true}}),
    )
    .await
    .expect("answers");
    assert_eq!(updated.status(), 200, "{}", deployment.logs());
    let mut tokens = vec![invitation.token];
    while tokens.len() < n {
        let guest: Value = write(
            reqwest::Method::POST,
            format!("{event_path}/guests"),
            json!({"name": format!("Guest {}", tokens.len())}),
        )
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
        let guest_id = guest["id"].as_str().expect("a guest id");
        let link: Value = write(
            reqwest::Method::POST,
            format!("{event_path}/guests/{guest_id}/tokens"),
            json!({}),
        )
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
        tokens.push(link["token"].as_str().expect("a token").to_owned());
    }
    tokens
}

#[tokio::test]
async fn a_replica_sent_sigterm_under_load_fails_no_request_and_the_other_takes_over() {
    const GUESTS: usize = 20;
    let mut deployment = Deployment::start(&[]).await;
    let tokens = shadow_event_with_guests(&deployment, GUESTS).await;
    let before = deployment.upstream_log().len();

    // Every guest answers again and again (a change each time), 10 times a second,
    // from their own address; the ledger keeps every status and the last answer each
    // guest was told was recorded.
    let stop = tokio_util::sync::CancellationToken::new();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut guests = Vec::new();
    for (n, token) in tokens.iter().enumerate() {
        let client = deployment.client(&format!("127.0.1.{}", n + 1));
        let url = deployment.url(&format!("/api/v1/rsvp/{token}"));
        let stop = stop.clone();
        let answered = answered.clone();
        guests.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut last_recorded: Option<(String, &str)> = None;
            let mut turn = 0usize;
            while !stop.is_cancelled() {
                let response = ["attending", "maybe", "declined"][turn % 3];
                turn += 1;
                let reply = client
                    .post(&url)
                    .json(&json!({"response": response, "plus_ones": 0}))
                    .send()
                    .await;
                let status = match reply {
                    Ok(reply) => {
                        let status = reply.status().as_u16();
                        if matches!(status, 200 | 201) {
                            let body: Value = reply.json().await.unwrap_or_default();
                            let id = body["rsvp"]["id"].as_str().unwrap_or_default();
                            last_recorded = Some((id.to_owned(), response));
                        }
                        status
                    }
                    Err(_) => 0,
                };
                statuses.push(status);
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (statuses, last_recorded)
        }));
    }

    // The load is measured in answers, not seconds (a slow machine answers fewer):
    // five per guest before the SIGTERM, and five per guest after the replica exited.
    let count = || answered.load(std::sync::atomic::Ordering::SeqCst);
    let answers_at_least = |wanted: usize| {
        let count = &count;
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while count() < wanted {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "only {} of {wanted} answers in a minute",
                    count()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    answers_at_least(GUESTS * 5).await;
    let at_sigterm = count();
    let exited = deployment.terminate_web(0).await;
    let during_drain = count() - at_sigterm;
    let terminated_at = deployment.upstream_log().len();
    answers_at_least(count() + GUESTS * 5).await;
    stop.cancel();

    let mut sent = 0;
    let mut failed = Vec::new();
    for (token, guest) in tokens.iter().zip(guests) {
        let (statuses, last_recorded) = guest.await.expect("the guest's task");
        sent += statuses.len();
        failed.extend(statuses.iter().filter(|s| !matches!(s, 200 | 201)).copied());
        // What the guest was last told was recorded is what is stored.
        let (rsvp_id, told) = last_recorded.expect("the guest's answers were recorded");
        let stored: Option<String> = sqlx::query_scalar("SELECT response FROM rsvps WHERE id = $1")
            .bind(Uuid::parse_str(&rsvp_id).expect("an rsvp id"))
            .fetch_optional(&deployment.db)
            .await
            .expect("query");
        assert_eq!(stored.as_deref(), Some(told), "guest {token}");
    }
    println!(
        "SIGTERM drill: {sent} RSVPs sent, {} failed, {during_drain} answered while the \
         replica drained; the replica exited with {exited}",
        failed.len()
    );
    assert!(
        exited.success(),
        "the replica drained and exited cleanly: {exited}"
    );
    assert!(
        failed.is_empty(),
        "failed answers {failed:?}\n{}",
        deployment.logs()
    );
    assert!(
        during_drain > 0,
        "requests were answered while the replica drained"
    );
    let log = deployment.upstream_log();
    let replica_1 = deployment.replicas[1].to_string();
    assert!(
        log[before..].iter().any(|u| *u != replica_1),
        "both replicas served before the SIGTERM"
    );
    assert!(
        log[terminated_at..].iter().all(|u| *u == replica_1),
        "after it exited, the second replica served everything: {:?}",
        &log[terminated_at..]
    );
}
