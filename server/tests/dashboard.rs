//! The host dashboard over HTTP, used the way a browser without the wasm bundle uses
//! it: server-rendered pages, and `ActionForm`s sent as plain
//! `application/x-www-form-urlencoded` posts to the server functions, answered with a
//! session cookie and a redirect. Also what the browser bundle relies on: JSON answers
//! with the error's own status, tenant isolation and the same-origin check.

mod support;

use app::error::AppError;
use reqwest::{header, redirect::Policy, Response, StatusCode};
use support::TestApp;
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";
/// What a browser's `Accept` header says when it submits a form.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// One browser: no JavaScript, keeps the session cookie, never follows redirects (so
/// the tests see them).
struct Browser<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    session: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .expect("http client"),
            session: None,
        }
    }

    fn origin(&self) -> String {
        format!("http://{}", self.app.address)
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.session {
            Some(token) => request.header(header::COOKIE, format!("gg_session={token}")),
            None => request,
        }
    }

    /// `GET` a page → (status, HTML).
    async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .with_cookie(self.http.get(self.app.url(path)))
            .send()
            .await
            .expect("the page answers");
        let status = response.status();
        (status, response.text().await.expect("HTML"))
    }

    /// Submits a form of the page `from` to a server function, as a browser does.
    async fn submit(&self, function: &str, from: &str, fields: &[(&str, &str)]) -> Response {
        self.submit_from_origin(&self.origin(), function, from, fields)
            .await
    }

    async fn submit_from_origin(
        &self,
        origin: &str,
        function: &str,
        from: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        self.with_cookie(self.http.post(self.app.url(&format!("/api/fn/{function}"))))
            .header(header::ORIGIN, origin)
            .header(header::REFERER, format!("{origin}{from}"))
            .header(header::ACCEPT, BROWSER_ACCEPT)
            .form(fields)
            .send()
            .await
            .expect("the server function answers")
    }

    /// Calls a server function as the hydrated page does (asks for JSON).
    async fn call(&self, function: &str, fields: &[(&str, &str)]) -> Response {
        self.with_cookie(self.http.post(self.app.url(&format!("/api/fn/{function}"))))
            .header(header::ORIGIN, self.origin())
            .header(header::ACCEPT, "application/json")
            .form(fields)
            .send()
            .await
            .expect("the server function answers")
    }

    /// Signs up through the form and keeps the session cookie.
    async fn sign_up(&mut self, name: &str, email: &str) {
        let response = self
            .submit(
                "hosts/signup",
                "/signup",
                &[("name", name), ("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FOUND, "{response:?}");
        assert_eq!(location(&response), "/events");
        self.session = Some(session_cookie(&response).expect("a session cookie is set"));
    }

    /// Creates an event through the form; returns its id.
    async fn create_event(&self, name: &str) -> Uuid {
        let response = self
            .submit("events/create", "/events/new", &event_fields(name))
            .await;
        assert_eq!(response.status(), StatusCode::FOUND, "{response:?}");
        let location = location(&response);
        let id = location
            .strip_prefix("/events/")
            .and_then(|id| Uuid::parse_str(id).ok())
            .unwrap_or_else(|| panic!("redirected to the new event's page, not {location}"));
        id
    }
}

fn event_fields(name: &str) -> Vec<(&str, &str)> {
    vec![
        ("name", name),
        ("slug", ""),
        ("event_date", "2027-06-12T18:00"),
        ("time_zone", "Europe/Paris"),
        ("venue", "The Old Mill"),
        ("description", "Dinner and dancing"),
        ("capacity", "120"),
        ("rsvp_deadline", "2027-05-31T23:59"),
        ("default_max_plus_ones", "1"),
    ]
}

fn location(response: &Response) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The value of the `gg_session` cookie the response sets.
fn session_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| cookie.strip_prefix("gg_session="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

async fn app_error(response: Response) -> AppError {
    let body = response.bytes().await.expect("body");
    serde_json::from_slice(&body)
        .unwrap_or_else(|error| panic!("an AppError ({error}): {}", String::from_utf8_lossy(&body)))
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let pool = sqlx::PgPool::connect(&app.postgres.url)
        .await
        .expect("connect");
    sqlx::query_scalar(sql).fetch_one(&pool).await.expect(sql)
}

#[tokio::test]
async fn the_signup_page_renders_a_form_that_works_without_javascript() {
    let app = TestApp::spawn().await;
    let (status, html) = Browser::new(&app).page("/signup").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"action="/api/fn/hosts/signup""#), "{html}");
    assert!(html.contains(r#"method="post""#), "{html}");
    for field in [
        r#"name="name""#,
        r#"name="email""#,
        r#"name="password""#,
        r#"data-testid="signup-submit""#,
    ] {
        assert!(html.contains(field), "{field} in {html}");
    }
    assert!(
        html.contains(r#"data-testid="nav-login""#),
        "a visitor sees Log in: {html}"
    );
}

#[tokio::test]
async fn a_plain_form_signup_creates_the_account_sets_the_cookie_and_redirects_to_events() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);

    let response = browser
        .submit(
            "hosts/signup",
            "/signup",
            &[
                ("name", "Ada Lovelace"),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/events");
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .expect("Set-Cookie")
        .to_owned();
    assert!(
        cookie.starts_with("gg_session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM hosts WHERE email = 'ada@example.com'"
        )
        .await,
        1
    );
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM hosts")
        .fetch_one(&sqlx::PgPool::connect(&app.postgres.url).await.expect("db"))
        .await
        .expect("hash");
    assert!(hash.starts_with("$argon2id$"));

    browser.session = session_cookie(&response);
    let (status, html) = browser.page("/events").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Create your first event"), "{html}");
    assert!(
        html.contains("Ada Lovelace"),
        "the nav names the host: {html}"
    );
    assert!(html.contains(r#"data-testid="logout""#), "{html}");
}

#[tokio::test]
async fn a_visitor_is_asked_to_log_in_and_a_logged_out_session_stops_working() {
    let app = TestApp::spawn().await;
    let (_, html) = Browser::new(&app).page("/events").await;
    assert!(html.contains(r#"data-testid="login-required""#), "{html}");
    assert!(!html.contains(r#"data-testid="event-list""#), "{html}");

    let mut browser = Browser::new(&app);
    browser.sign_up("Grace Hopper", "grace@example.com").await;
    let response = browser.submit("hosts/logout", "/events", &[]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/login");
    let cleared = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    // The old cookie no longer signs anyone in.
    let (_, html) = browser.page("/events").await;
    assert!(html.contains(r#"data-testid="login-required""#), "{html}");
    let response = browser.call("events/list", &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app_error(response).await, AppError::Unauthenticated);

    // Logging in again works, with the same form flow.
    browser.session = None;
    let response = browser
        .submit(
            "hosts/login",
            "/login",
            &[("email", "GRACE@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/events");
    assert!(session_cookie(&response).is_some());
}

#[tokio::test]
async fn an_event_created_through_the_form_is_listed_and_not_found_by_another_host() {
    let app = TestApp::spawn().await;
    let mut ada = Browser::new(&app);
    ada.sign_up("Ada Lovelace", "ada@example.com").await;

    let id = ada.create_event("Ada & Grace's wedding").await;

    let (status, html) = ada.page("/events").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"data-testid="event-row""#), "{html}");
    assert!(html.contains(&id.to_string()), "{html}");
    assert!(
        html.contains("Ada &amp; Grace&#x27;s wedding")
            || html.contains("Ada &amp; Grace's wedding"),
        "{html}"
    );
    assert!(
        html.contains("Sat 12 Jun 2027, 18:00") && html.contains("Europe/Paris"),
        "the date shows in the event's time zone: {html}"
    );
    let stored: (String, String) = sqlx::query_as(
        "SELECT slug, to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM events",
    )
    .fetch_one(&sqlx::PgPool::connect(&app.postgres.url).await.expect("db"))
    .await
    .expect("the event is stored");
    assert_eq!(
        stored,
        (
            "ada-grace-s-wedding".to_owned(),
            "2027-06-12 16:00".to_owned()
        )
    );
    let (_, edit) = ada.page(&format!("/events/{id}/edit")).await;
    assert!(edit.contains(r#"value="2027-06-12T18:00""#), "{edit}");

    let mut grace = Browser::new(&app);
    grace.sign_up("Grace Hopper", "grace@example.com").await;
    let (_, html) = grace.page("/events").await;
    assert!(html.contains("Create your first event"), "{html}");
    assert!(!html.contains("wedding"), "{html}");

    let (theirs_status, theirs) = grace.page(&format!("/events/{id}/edit")).await;
    let (random_status, random) = grace
        .page(&format!("/events/{}/edit", Uuid::new_v4()))
        .await;
    assert_eq!(theirs_status, StatusCode::NOT_FOUND);
    assert_eq!(random_status, StatusCode::NOT_FOUND);
    for html in [&theirs, &random] {
        assert!(html.contains(r#"data-testid="not-found""#), "{html}");
        assert!(!html.contains("wedding"), "{html}");
    }

    let id_text = id.to_string();
    let theirs = grace.call("events/form", &[("id", &id_text)]).await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let random_id = Uuid::new_v4().to_string();
    let random = grace.call("events/form", &[("id", &random_id)]).await;
    assert_eq!(random.status(), StatusCode::NOT_FOUND);
    assert_eq!(app_error(theirs).await, app_error(random).await);

    let delete = grace.call("events/delete", &[("id", &id_text)]).await;
    assert_eq!(delete.status(), StatusCode::NOT_FOUND);
    assert_eq!(count(&app, "SELECT count(*) FROM events").await, 1);

    let delete = ada
        .submit("events/delete", "/events", &[("id", &id_text)])
        .await;
    assert_eq!(delete.status(), StatusCode::FOUND);
    assert_eq!(count(&app, "SELECT count(*) FROM events").await, 0);
}

#[tokio::test]
async fn a_field_error_comes_back_to_the_form_beside_its_field() {
    let app = TestApp::spawn().await;
    let mut ada = Browser::new(&app);
    ada.sign_up("Ada Lovelace", "ada@example.com").await;
    let mut fields = event_fields("Launch party");
    fields[3] = ("time_zone", "Mars/Olympus");

    // Without JavaScript: back to the form, which shows the error.
    let response = ada.submit("events/create", "/events/new", &fields).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = location(&response);
    assert!(
        back.contains("/events/new?") && back.contains("__err="),
        "{back}"
    );
    let path = back.trim_start_matches(&ada.origin()).to_owned();
    let (_, html) = ada.page(&path).await;
    assert!(
        html.contains("Unknown time zone; use an IANA name like Europe/Paris"),
        "{html}"
    );
    assert!(html.contains(r#"aria-invalid="true""#), "{html}");

    // With JavaScript: a 422 naming the field.
    let response = ada.call("events/create", &fields).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    match app_error(response).await {
        AppError::Invalid { field, .. } => assert_eq!(field.as_deref(), Some("time_zone")),
        other => panic!("expected a field error, got {other:?}"),
    }
    assert_eq!(count(&app, "SELECT count(*) FROM events").await, 0);
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = TestApp::spawn().await;
    let mut ada = Browser::new(&app);
    ada.sign_up("Ada Lovelace", "ada@example.com").await;
    let evil = "https://evil.example";

    let response = ada
        .with_cookie(ada.http.post(app.url("/api/fn/events/create")))
        .header(header::ORIGIN, evil)
        .header(header::ACCEPT, "application/json")
        .form(&event_fields("Phished party"))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(matches!(app_error(response).await, AppError::Forbidden(_)));

    let response = ada
        .submit_from_origin(evil, "events/create", "/", &event_fields("Phished party"))
        .await;
    assert_ne!(response.status(), StatusCode::OK);
    assert!(
        !location(&response).starts_with("/events/"),
        "no event page to go to"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM events").await, 0);

    // Nor can another site sign a visitor up (or in) to an account of its choosing.
    let visitor = Browser::new(&app);
    let response = visitor
        .submit_from_origin(
            evil,
            "hosts/signup",
            "/",
            &[
                ("name", "Mallory"),
                ("email", "mallory@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(session_cookie(&response).is_none());
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM hosts WHERE email = 'mallory@example.com'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn the_dashboard_login_shares_the_rest_login_rate_limit() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    for _ in 0..10 {
        let response = app
            .http
            .post(app.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": "nobody@example.com", "password": "wrong password"}))
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = browser
        .call(
            "hosts/login",
            &[
                ("email", "nobody@example.com"),
                ("password", "wrong password"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(matches!(
        app_error(response).await,
        AppError::RateLimited { .. }
    ));
}

#[tokio::test]
async fn an_api_key_is_shown_once_and_works_until_revoked() {
    let app = TestApp::spawn().await;
    let mut ada = Browser::new(&app);
    ada.sign_up("Ada Lovelace", "ada@example.com").await;

    let response = ada
        .call("hosts/api_keys/create", &[("name", "Wedding site")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let key: app::hosts::NewApiKey = response.json().await.expect("the new key");
    assert!(key.key.starts_with("ggk_"));
    let me = app
        .http
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&key.key)
        .send()
        .await
        .expect("answer");
    assert_eq!(me.status(), StatusCode::OK);

    let (_, html) = ada.page("/settings/api-keys").await;
    assert!(html.contains("Wedding site"), "{html}");
    assert!(
        !html.contains(&key.key),
        "the key is never shown again: {html}"
    );

    let id = key.id.to_string();
    let revoke = ada
        .submit(
            "hosts/api_keys/revoke",
            "/settings/api-keys",
            &[("id", &id)],
        )
        .await;
    assert_eq!(revoke.status(), StatusCode::FOUND);
    let me = app
        .http
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&key.key)
        .send()
        .await
        .expect("answer");
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let (_, html) = ada.page("/settings/api-keys").await;
    assert!(html.contains("Revoked"), "{html}");
}

#[tokio::test]
async fn the_security_page_changes_the_password_and_signs_out_everywhere_without_javascript() {
    let app = TestApp::spawn().await;
    let mut laptop = Browser::new(&app);
    laptop.sign_up("Ada Lovelace", "ada@example.com").await;
    let mut phone = Browser::new(&app);
    let login = phone
        .submit(
            "hosts/login",
            "/login",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    phone.session = session_cookie(&login);

    let (status, html) = laptop.page("/settings/security").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"password-form\""), "{html}");
    assert!(
        html.contains("data-testid=\"sign-out-everywhere\""),
        "{html}"
    );

    // A wrong current password is refused beside its field.
    let wrong = laptop
        .call(
            "hosts/password",
            &[
                ("current_password", "not it at all"),
                ("new_password", "a whole new password"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(matches!(
        app_error(wrong).await,
        AppError::Invalid { field: Some(field), .. } if field == "current_password"
    ));

    let changed = laptop
        .submit(
            "hosts/password",
            "/settings/security",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a whole new password"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::FOUND);
    assert_eq!(laptop.page("/settings/security").await.0, StatusCode::OK);
    let (_, phone_page) = phone.page("/settings/api-keys").await;
    assert!(
        phone_page.contains("data-testid=\"login-required\""),
        "the phone is signed out: {phone_page}"
    );

    let everywhere = laptop
        .submit("hosts/logout_everywhere", "/settings/security", &[])
        .await;
    assert_eq!(everywhere.status(), StatusCode::FOUND);
    assert_eq!(location(&everywhere), "/login");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM host_sessions WHERE revoked_at IS NULL"
        )
        .await,
        0
    );
}
