//! The guest's invitation page `/i/<token>` and its RSVP form, as a browser without wasm
//! sees them: the server-rendered page (and the access attempt it records), the
//! friendly pages of links that do not work, and the form posted as plain HTML.

mod support;

use reqwest::{header, redirect::Policy, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use support::TestApp;
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) InvitationPageTest/1.0";
/// The event starts on Saturday 15 June 2030 at 18:00 in Paris.
const EVENT_DATE: &str = "2030-06-15T16:00:00Z";
const EVENT_DATE_IN_PARIS: &str = "Saturday 15 June 2030 at 18:00 (Europe/Paris)";

/// A GuestGuard with a host, their event and one invited guest holding a fresh link.
struct Invitation {
    app: TestApp,
    /// A client that shows redirects instead of following them, like a test wants to.
    browser: reqwest::Client,
    db: PgPool,
    session: String,
    event_id: Uuid,
    guest_id: Uuid,
    link_id: Uuid,
    token: String,
}

impl Invitation {
    /// Ada Lovelace (up to 2 plus-ones) is invited to the Summer Party; `event` overrides
    /// fields of the event (`rsvp_deadline`, `capacity`, ...).
    async fn new(event: Value) -> Self {
        let app = TestApp::spawn().await;
        let browser = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("http client");
        let db = PgPool::connect(&app.postgres.url).await.expect("database");
        let signup = app
            .http
            .post(app.url("/api/v1/auth/signup"))
            .json(&json!({"email": "host@example.com", "name": "Grace Host", "password": PASSWORD}))
            .send()
            .await
            .expect("sign up");
        assert_eq!(signup.status(), StatusCode::CREATED);
        let session = signup
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| value.strip_prefix("gg_session="))
            .and_then(|value| value.split(';').next())
            .expect("session cookie")
            .to_owned();
        let mut invitation = Self {
            app,
            browser,
            db,
            session,
            event_id: Uuid::nil(),
            guest_id: Uuid::nil(),
            link_id: Uuid::nil(),
            token: String::new(),
        };
        let mut body = json!({
            "name": "Summer Party",
            "slug": "summer-party",
            "event_date": EVENT_DATE,
            "time_zone": "Europe/Paris",
            "venue": "The Old Mill, Riverside Lane",
            "description": "Dinner and dancing by the river.",
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), event.as_object()) {
            body.extend(extra.clone());
        }
        let created = invitation.as_host("/api/v1/events", body).await;
        invitation.event_id = id_of(&created);
        let (guest_id, link_id, token) = invitation.invite("Ada Lovelace", 2).await;
        invitation.guest_id = guest_id;
        invitation.link_id = link_id;
        invitation.token = token;
        invitation
    }

    /// Adds a guest to the event and issues their link: (guest id, link id, token).
    async fn invite(&self, name: &str, max_plus_ones: i64) -> (Uuid, Uuid, String) {
        let guest = self
            .as_host(
                &format!("/api/v1/events/{}/guests", self.event_id),
                json!({"name": name, "max_plus_ones": max_plus_ones}),
            )
            .await;
        let guest_id = id_of(&guest);
        let link = self
            .as_host(
                &format!("/api/v1/events/{}/guests/{guest_id}/tokens", self.event_id),
                json!({}),
            )
            .await;
        let token = link["token"].as_str().expect("token").to_owned();
        (guest_id, id_of(&link), token)
    }

    /// A host's `POST` that must create something; returns the created JSON.
    async fn as_host(&self, path: &str, body: Value) -> Value {
        let response = self
            .app
            .http
            .post(self.app.url(path))
            .header(header::COOKIE, format!("gg_session={}", self.session))
            .header(header::ORIGIN, self.app.url(""))
            .json(&body)
            .send()
            .await
            .expect("host request");
        let status = response.status();
        let json: Value = response.json().await.expect("JSON answer");
        assert_eq!(status, StatusCode::CREATED, "{path}: {json}");
        json
    }

    /// The host withdraws the guest's link.
    async fn revoke_link(&self) {
        let response = self
            .app
            .http
            .delete(self.app.url(&format!(
                "/api/v1/events/{}/guests/{}/tokens/{}",
                self.event_id, self.guest_id, self.link_id
            )))
            .header(header::COOKIE, format!("gg_session={}", self.session))
            .header(header::ORIGIN, self.app.url(""))
            .send()
            .await
            .expect("revoke");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    /// A browser opens `path` (the invitation page, or where a redirect led).
    async fn open(&self, path: &str) -> (StatusCode, String) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            self.app.url(path)
        };
        let response = self
            .browser
            .get(url)
            .header(header::USER_AGENT, BROWSER)
            .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.8")
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .send()
            .await
            .expect("page answers");
        let status = response.status();
        let is_html = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/html"));
        let body = response.text().await.expect("body");
        assert!(is_html, "{path} is not an HTML page: {body}");
        (status, body)
    }

    /// The guest's own page.
    async fn open_invitation(&self) -> (StatusCode, String) {
        self.open(&format!("/i/{}", self.token)).await
    }

    /// The RSVP form posted by a browser without wasm, from the guest's page; returns
    /// the status and where the browser is sent next.
    async fn post_form(&self, token: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        self.post_form_as(BROWSER, token, fields).await
    }

    /// [`Self::post_form`] from a client with this user agent.
    async fn post_form_as(
        &self,
        user_agent: &str,
        token: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let mut form = vec![("token", token)];
        form.extend_from_slice(fields);
        let body = form
            .iter()
            .map(|(name, value)| format!("{name}={}", urlencode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let response = self
            .browser
            .post(self.app.url("/api/fn/submit_rsvp"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::REFERER, self.app.url(&format!("/i/{token}")))
            .header(header::USER_AGENT, user_agent)
            .body(body)
            .send()
            .await
            .expect("form post answers");
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (response.status(), location)
    }

    /// Access attempts recorded for the guest's link.
    async fn attempts(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM access_attempts WHERE invitation_id = $1")
            .bind(self.link_id)
            .fetch_one(&self.db)
            .await
            .expect("count attempts")
    }

    /// The guest's stored answer: (response, plus-ones, note).
    async fn stored_answer(&self, guest_id: Uuid) -> Option<(String, i32, String)> {
        sqlx::query_as("SELECT response, plus_ones, note FROM rsvps WHERE guest_id = $1")
            .bind(guest_id)
            .fetch_optional(&self.db)
            .await
            .expect("read answer")
    }
}

fn id_of(json: &Value) -> Uuid {
    json["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id in {json}"))
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                char::from(byte).to_string()
            }
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The same token with one character of its signature changed.
fn tampered(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let at = chars.len() - 5;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[tokio::test]
async fn opening_the_link_shows_the_event_and_the_guest_and_records_one_attempt() {
    let invitation = Invitation::new(json!({})).await;

    let (status, html) = invitation.open_invitation().await;

    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"data-testid="invitation-event-name""#),
        "{html}"
    );
    assert!(html.contains("Summer Party"), "{html}");
    assert!(html.contains("Ada Lovelace"), "{html}");
    assert!(html.contains(EVENT_DATE_IN_PARIS), "{html}");
    assert!(html.contains("The Old Mill, Riverside Lane"), "{html}");
    assert!(html.contains("Dinner and dancing by the river."), "{html}");
    assert!(html.contains("You have not answered yet."), "{html}");
    assert!(html.contains(r#"data-testid="rsvp-form""#), "{html}");
    assert!(html.contains(r#"data-hydrated="false""#), "{html}");
    // The token is only in the form's hidden field, which a plain form post needs.
    assert_eq!(html.matches(&invitation.token).count(), 1, "{html}");
    assert_eq!(invitation.attempts().await, 1);
    let (ip, user_agent, language): (Option<String>, String, String) = sqlx::query_as(
        "SELECT host(ip), user_agent, accept_language FROM access_attempts
         WHERE invitation_id = $1",
    )
    .bind(invitation.link_id)
    .fetch_one(&invitation.db)
    .await
    .expect("attempt");
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(user_agent, BROWSER);
    assert_eq!(language, "en-GB,en;q=0.8");

    invitation.open_invitation().await;
    assert_eq!(invitation.attempts().await, 2, "one attempt per page load");
}

#[tokio::test]
async fn a_malformed_link_gets_a_friendly_400_page_and_records_nothing() {
    let invitation = Invitation::new(json!({})).await;
    let cut = &invitation.token[..invitation.token.len() - 10];

    let (status, html) = invitation.open(&format!("/i/{cut}")).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("This link is not complete — check you copied the whole link"),
        "{html}"
    );
    assert!(!html.contains(r#"data-testid="rsvp-form""#), "{html}");
    assert!(!html.contains(cut), "the page never shows the link: {html}");
    assert_eq!(invitation.attempts().await, 0);
}

#[tokio::test]
async fn a_tampered_link_gets_a_friendly_404_page() {
    let invitation = Invitation::new(json!({})).await;
    let forged = tampered(&invitation.token);

    let (status, html) = invitation.open(&format!("/i/{forged}")).await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("This invitation link is not valid"), "{html}");
    assert!(!html.contains("Ada Lovelace"), "{html}");
    assert!(!html.contains(&forged), "{html}");
    assert_eq!(invitation.attempts().await, 0);
}

#[tokio::test]
async fn a_revoked_link_gets_a_friendly_410_page() {
    let invitation = Invitation::new(json!({})).await;
    invitation.revoke_link().await;

    let (status, html) = invitation.open_invitation().await;

    assert_eq!(status, StatusCode::GONE);
    assert!(
        html.contains("This link was replaced or withdrawn — ask your host for a new one"),
        "{html}"
    );
    assert!(!html.contains("Summer Party"), "{html}");
}

#[tokio::test]
async fn an_expired_link_gets_a_friendly_410_page() {
    let invitation = Invitation::new(json!({})).await;
    sqlx::query("UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE id = $1")
        .bind(invitation.link_id)
        .execute(&invitation.db)
        .await
        .expect("expire the link");

    let (status, html) = invitation.open_invitation().await;

    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("This link has expired"), "{html}");
}

#[tokio::test]
async fn a_plain_form_post_saves_the_answer_and_returns_to_the_page() {
    let invitation = Invitation::new(json!({})).await;
    let token = invitation.token.clone();

    let (status, location) = invitation
        .post_form(
            &token,
            &[
                ("response", "attending"),
                ("plus_ones", "1"),
                ("note", "See you there & thanks!"),
            ],
        )
        .await;

    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location, format!("/i/{token}?saved=1"));
    assert_eq!(
        invitation.stored_answer(invitation.guest_id).await,
        Some(("attending".into(), 1, "See you there & thanks!".into()))
    );
    let (status, html) = invitation.open(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Thanks — your answer is saved: attending with 1 guest"),
        "{html}"
    );
    assert!(
        html.contains("Your answer: attending with 1 guest."),
        "{html}"
    );

    // The answer can change until the deadline.
    let (status, _) = invitation
        .post_form(&token, &[("response", "declined"), ("plus_ones", "")])
        .await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(
        invitation.stored_answer(invitation.guest_id).await,
        Some(("declined".into(), 0, String::new()))
    );
}

#[tokio::test]
async fn plus_ones_over_the_guests_limit_are_refused_with_a_message_beside_the_field() {
    let invitation = Invitation::new(json!({})).await;
    let token = invitation.token.clone();

    let (status, location) = invitation
        .post_form(&token, &[("response", "attending"), ("plus_ones", "3")])
        .await;

    assert_eq!(status, StatusCode::FOUND);
    assert!(
        location.starts_with(&invitation.app.url(&format!("/i/{token}?"))),
        "back to the page: {location}"
    );
    assert_eq!(invitation.stored_answer(invitation.guest_id).await, None);
    let (status, html) = invitation.open(&location).await;
    assert_eq!(status, StatusCode::OK);
    let error = html
        .split(r#"data-testid="plus-ones-error""#)
        .nth(1)
        .unwrap_or_else(|| panic!("no error beside the field: {html}"));
    assert!(
        error.contains("You can bring between 0 and 2 plus-ones."),
        "{html}"
    );
    assert!(
        !html.contains(r#"data-testid="rsvp-confirmation""#),
        "{html}"
    );

    // The hydrated form's server-function client gets the error itself, as a 422.
    let response = invitation
        .browser
        .post(invitation.app.url("/api/fn/submit_rsvp"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(format!("token={token}&response=attending&plus_ones=3"))
        .send()
        .await
        .expect("server function answers");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.expect("JSON error");
    assert_eq!(error["Invalid"]["field"], "plus_ones", "{error}");
    assert_eq!(invitation.stored_answer(invitation.guest_id).await, None);
}

#[tokio::test]
async fn a_form_posted_by_a_script_is_refused_with_a_friendly_message_and_records_nothing() {
    let invitation = Invitation::new(json!({})).await;
    let token = invitation.token.clone();

    // No JavaScript ran, no fingerprint, and the agent is a tool: the block band.
    let (status, location) = invitation
        .post_form_as("python-requests/2.32", &token, &[("response", "attending")])
        .await;

    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(invitation.stored_answer(invitation.guest_id).await, None);
    let (status, html) = invitation.open(&location).await;
    assert_eq!(status, StatusCode::OK);
    let error = html
        .split(r#"data-testid="rsvp-error""#)
        .nth(1)
        .unwrap_or_else(|| panic!("no error on the form: {html}"));
    assert!(
        error.contains("We could not confirm this answer; please contact your host."),
        "{html}"
    );
    // The link still works: the guest can answer from their own browser.
    let (status, location) = invitation
        .post_form(&token, &[("response", "declined")])
        .await;
    assert_eq!(status, StatusCode::FOUND, "{location}");
    assert_eq!(
        invitation
            .stored_answer(invitation.guest_id)
            .await
            .map(|answer| answer.0),
        Some("declined".to_owned())
    );
}

#[tokio::test]
async fn after_the_deadline_the_form_is_replaced_by_the_closed_message() {
    let invitation = Invitation::new(json!({"rsvp_deadline": "2024-01-01T12:00:00Z"})).await;

    let (status, html) = invitation.open_invitation().await;

    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Responses closed on Monday 1 January 2024 at 13:00 (Europe/Paris)."),
        "{html}"
    );
    assert!(!html.contains(r#"data-testid="rsvp-form""#), "{html}");
    let token = invitation.token.clone();
    let (status, _) = invitation
        .post_form(&token, &[("response", "attending")])
        .await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(invitation.stored_answer(invitation.guest_id).await, None);
}

#[tokio::test]
async fn a_full_event_refuses_one_more_guest_with_a_clear_message() {
    let invitation = Invitation::new(json!({"capacity": 2})).await;
    let first = invitation.token.clone();
    let (status, _) = invitation
        .post_form(&first, &[("response", "attending"), ("plus_ones", "1")])
        .await;
    assert_eq!(status, StatusCode::FOUND);
    let (late_guest, _, late_token) = invitation.invite("Charles Babbage", 0).await;

    let (status, location) = invitation
        .post_form(&late_token, &[("response", "attending")])
        .await;

    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(invitation.stored_answer(late_guest).await, None);
    let (_, html) = invitation.open(&location).await;
    assert!(html.contains("Sorry — the event is full"), "{html}");
}
