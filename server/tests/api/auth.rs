//! Host accounts: sign-up, login, logout, sign-out everywhere, password changes, idle
//! sessions, login rate limits (per client and per account), and the same-origin rule
//! for cookie-authenticated writes (CSRF).

use crate::support::api::{TestApi, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn signing_up_answers_201_with_the_profile_and_an_httponly_lax_session_cookie() {
    let app = TestApi::spawn().await;

    let reply = app
        .try_signup(json!({"email": " Ada@Example.COM ", "name": "Ada", "password": PASSWORD}))
        .await
        .expect_status(201);

    let profile = reply.json();
    assert_eq!(profile["email"], "ada@example.com");
    assert_eq!(profile["name"], "Ada");
    assert!(profile["id"].is_string());
    assert!(profile.get("password_hash").is_none(), "{profile}");
    let cookie = reply.session_set_cookie().expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    let session = reply.session_cookie().expect("a session value");
    let me = app
        .get("/api/v1/auth/me")
        .with_session(&session)
        .await
        .expect_status(200)
        .json();
    assert_eq!(me, profile);
}

#[tokio::test]
async fn the_password_is_stored_only_as_an_argon2_hash() {
    let app = TestApi::spawn().await;
    app.signup("ada@example.com").await;

    let hash: String = sqlx::query_scalar("SELECT password_hash FROM hosts")
        .fetch_one(&app.db)
        .await
        .expect("one host");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn signing_up_twice_with_the_same_email_in_any_case_is_a_409() {
    let app = TestApi::spawn().await;
    app.signup("ada@example.com").await;

    app.try_signup(json!({"email": "ADA@example.com", "name": "Other", "password": PASSWORD}))
        .await
        .expect_error(409, "email_taken");
    assert_eq!(app.count("SELECT count(*) FROM hosts").await, 1);
}

#[tokio::test]
async fn a_weak_password_a_bad_email_or_no_name_is_a_422_naming_the_field() {
    let app = TestApi::spawn().await;
    let cases = [
        (
            "password",
            json!({"email": "a@example.com", "name": "Ada", "password": "short"}),
        ),
        (
            "password",
            json!({"email": "a@example.com", "name": "Ada", "password": "x".repeat(300)}),
        ),
        (
            "email",
            json!({"email": "not-an-email", "name": "Ada", "password": PASSWORD}),
        ),
        (
            "email",
            json!({"email": "ada@localhost", "name": "Ada", "password": PASSWORD}),
        ),
        (
            "email",
            json!({"email": "", "name": "Ada", "password": PASSWORD}),
        ),
        (
            "name",
            json!({"email": "a@example.com", "name": "   ", "password": PASSWORD}),
        ),
    ];
    for (field, body) in cases {
        let reply = app.try_signup(body.clone()).await.expect_status(422);
        assert_eq!(
            reply.field().as_deref(),
            Some(field),
            "{body}: {}",
            reply.text
        );
        assert!(reply.session_cookie().is_none());
    }
    assert_eq!(app.count("SELECT count(*) FROM hosts").await, 0);
}

#[tokio::test]
async fn logging_in_with_the_right_password_starts_a_new_session() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;

    let reply = app
        .login("ADA@example.com", PASSWORD)
        .await
        .expect_status(200);

    assert_eq!(reply.json()["id"], host.id.to_string());
    let session = reply.session_cookie().expect("a session cookie");
    assert_ne!(session, host.session, "a new session for each login");
    app.get("/api/v1/auth/me")
        .with_session(&session)
        .await
        .expect_status(200);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = TestApi::spawn().await;
    app.signup("ada@example.com").await;

    let wrong_password = app
        .login("ada@example.com", "not the password at all")
        .await
        .expect_error(401, "invalid_credentials");
    let unknown_email = app
        .login("nobody@example.com", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");

    assert_eq!(wrong_password.text, unknown_email.text);
    assert!(wrong_password.session_cookie().is_none());
    assert!(unknown_email.session_cookie().is_none());
}

#[tokio::test]
async fn logging_out_revokes_the_session_at_once() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let other_session = app
        .login("ada@example.com", PASSWORD)
        .await
        .expect_status(200)
        .session_cookie()
        .expect("a second session");

    let reply = app
        .post("/api/v1/auth/logout")
        .as_host(&host)
        .await
        .expect_status(204);

    let cleared = reply.session_set_cookie().expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    app.me(&host).await.expect_error(401, "unauthenticated");
    app.get("/api/v1/events")
        .as_host(&host)
        .await
        .expect_error(401, "unauthenticated");
    app.get("/api/v1/auth/me")
        .with_session(&other_session)
        .await
        .expect_status(200);
}

#[tokio::test]
async fn auth_me_needs_a_live_session() {
    let app = TestApi::spawn().await;
    app.signup("ada@example.com").await;

    app.get("/api/v1/auth/me")
        .await
        .expect_error(401, "unauthenticated");
    app.get("/api/v1/auth/me")
        .with_session("made-up-session-value")
        .await
        .expect_error(401, "unauthenticated");
    app.get("/api/v1/auth/me")
        .header("cookie", "gg_session=")
        .await
        .expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn too_many_login_attempts_are_a_429_with_retry_after() {
    let app = TestApi::spawn().await;
    app.signup("ada@example.com").await;

    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(app.login("ada@example.com", "wrong password!").await.status);
    }
    assert!(statuses.iter().all(|status| *status == 401), "{statuses:?}");

    let limited = app
        .login("ada@example.com", PASSWORD)
        .await
        .expect_error(429, "rate_limited");
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(
        limited.session_cookie().is_none(),
        "even the right password waits"
    );
}

#[tokio::test]
async fn login_attempts_on_one_account_are_limited_from_any_number_of_addresses() {
    let app = TestApi::spawn().await;
    app.signup("ada@example.com").await;
    // Ten guesses, each from another address: no address reaches its own limit.
    for n in 0..10 {
        app.post("/api/v1/auth/login")
            .sent_from(&format!("127.0.9.{}", n + 1))
            .json(json!({"email": "ada@example.com", "password": "wrong password!"}))
            .await
            .expect_error(401, "invalid_credentials");
    }
    app.post("/api/v1/auth/login")
        .sent_from("127.0.9.99")
        .json(json!({"email": "ADA@example.com", "password": PASSWORD}))
        .await
        .expect_error(429, "rate_limited");
    // Another account is not affected.
    app.signup("grace@example.com").await;
    app.post("/api/v1/auth/login")
        .sent_from("127.0.9.98")
        .json(json!({"email": "grace@example.com", "password": PASSWORD}))
        .await
        .expect_status(200);
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_of_the_host_and_no_one_elses() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let laptop = app
        .login("ada@example.com", PASSWORD)
        .await
        .expect_status(200)
        .session_cookie()
        .expect("a second session");
    let other = app.signup("grace@example.com").await;

    let ended = app
        .post("/api/v1/auth/logout-everywhere")
        .as_host(&host)
        .await
        .expect_status(200);
    assert_eq!(ended.json()["ended"], 2);
    assert!(ended
        .session_set_cookie()
        .is_some_and(|cookie| cookie.contains("Max-Age=0")));
    app.me(&host).await.expect_error(401, "unauthenticated");
    app.get("/api/v1/auth/me")
        .with_session(&laptop)
        .await
        .expect_error(401, "unauthenticated");
    app.me(&other).await.expect_status(200);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let laptop = app
        .login("ada@example.com", PASSWORD)
        .await
        .expect_status(200)
        .session_cookie()
        .expect("a second session");

    app.post("/api/v1/auth/password")
        .as_host(&host)
        .json(
            json!({"current_password": "not the password", "new_password": "a brand new password"}),
        )
        .await
        .expect_error(422, "wrong_password");
    app.post("/api/v1/auth/password")
        .as_host(&host)
        .json(json!({"current_password": PASSWORD, "new_password": "short"}))
        .await
        .expect_error(422, "invalid_password");
    app.get("/api/v1/auth/me")
        .with_session(&laptop)
        .await
        .expect_status(200);

    app.post("/api/v1/auth/password")
        .as_host(&host)
        .json(json!({"current_password": PASSWORD, "new_password": "a brand new password"}))
        .await
        .expect_status(204);
    app.me(&host).await.expect_status(200);
    app.get("/api/v1/auth/me")
        .with_session(&laptop)
        .await
        .expect_error(401, "unauthenticated");
    app.login("ada@example.com", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    app.login("ada@example.com", "a brand new password")
        .await
        .expect_status(200);
}

#[tokio::test]
async fn a_session_left_unused_for_a_day_ends() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    app.me(&host).await.expect_status(200);
    sqlx::query("UPDATE host_sessions SET last_seen_at = now() - interval '23 hours'")
        .execute(&app.db)
        .await
        .expect("update");
    app.me(&host).await.expect_status(200);
    let touched: bool = sqlx::query_scalar(
        "SELECT bool_and(last_seen_at > now() - interval '1 minute') FROM host_sessions",
    )
    .fetch_one(&app.db)
    .await
    .expect("select");
    assert!(touched, "using a session keeps it alive");
    sqlx::query("UPDATE host_sessions SET last_seen_at = now() - interval '25 hours'")
        .execute(&app.db)
        .await
        .expect("update");
    app.me(&host).await.expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn a_cookie_authenticated_write_without_origin_or_referer_is_403() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;

    app.post("/api/v1/events")
        .as_host(&host)
        .without_origin()
        .json(TestApi::event_body(json!({})))
        .await
        .expect_error(403, "forbidden");

    assert_eq!(app.count("SELECT count(*) FROM events").await, 0);
}

#[tokio::test]
async fn a_cookie_authenticated_write_from_another_site_is_403() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let lookalike = format!("{}.evil.example", app.origin());

    for (header, value) in [
        ("origin", "https://evil.example"),
        ("origin", lookalike.as_str()),
        ("origin", "null"),
        ("referer", "https://evil.example/page"),
    ] {
        app.delete(&format!("/api/v1/events/{}", event.id))
            .as_host(&host)
            .without_origin()
            .header(header, value)
            .await
            .expect_error(403, "forbidden");
    }
    app.get(&format!("/api/v1/events/{}", event.id))
        .as_host(&host)
        .await
        .expect_status(200);
}

#[tokio::test]
async fn a_cookie_authenticated_write_from_our_own_pages_works() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;

    app.post("/api/v1/events")
        .as_host(&host)
        .json(TestApi::event_body(json!({"slug": "by-origin"})))
        .await
        .expect_status(201);
    app.post("/api/v1/events")
        .as_host(&host)
        .without_origin()
        .header("referer", &format!("{}/events/new", app.origin()))
        .json(TestApi::event_body(json!({"slug": "by-referer"})))
        .await
        .expect_status(201);
}

#[tokio::test]
async fn cookie_authenticated_reads_need_no_origin() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;

    app.get("/api/v1/events")
        .as_host(&host)
        .without_origin()
        .await
        .expect_status(200);
}

#[tokio::test]
async fn a_cross_site_logout_is_refused_and_the_session_keeps_working() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;

    app.post("/api/v1/auth/logout")
        .as_host(&host)
        .without_origin()
        .header("origin", "https://evil.example")
        .await
        .expect_error(403, "forbidden");

    app.me(&host).await.expect_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_sign_ups_with_one_email_make_one_account() {
    let app = TestApi::spawn().await;

    let mut race = tokio::task::JoinSet::new();
    for i in 0..6 {
        race.spawn(std::future::IntoFuture::into_future(
            app.post("/api/v1/auth/signup").json(json!({
                "email": if i % 2 == 0 { "ada@example.com" } else { "ADA@example.com" },
                "name": format!("Ada {i}"),
                "password": PASSWORD,
            })),
        ));
    }
    let mut statuses = Vec::new();
    while let Some(reply) = race.join_next().await {
        let reply = reply.expect("the request task finished");
        if reply.status == 409 {
            assert_eq!(reply.code(), "email_taken");
        }
        statuses.push(reply.status);
    }
    statuses.sort_unstable();

    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
    assert_eq!(app.count("SELECT count(*) FROM hosts").await, 1);
}
