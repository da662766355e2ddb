//! Notifications on the real pipeline: the web server, PostgreSQL, NATS JetStream, the
//! fraud engine, the notification worker, a real SMTP server (the project's mail
//! catcher on aiosmtpd) whose received messages the tests read, and webhook / SMS
//! receivers started by the tests. Each test has its own services (`spawn_isolated`):
//! one NATS per worker, so no test's worker consumes another's events.

mod support;

use app::notifications::{
    webhooks::{Webhook, WebhookWithSecret},
    DeliveryAttempt, InvitationsQueued, Notification, SkipReason, Status,
};
use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use support::{
    api::{Host, TestApi},
    mail::{start_worker, MailCatcher, NotifyWorker},
};
use uuid::Uuid;

/// Polls `probe` until it returns `Some` (30 s at most).
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
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

/// A GuestGuard with its own services, a mail catcher and a notification worker.
struct Stack {
    app: TestApi,
    mail: MailCatcher,
    _worker: NotifyWorker,
}

impl Stack {
    async fn start(web: &[(&str, &str)], worker: &[(&str, &str)]) -> Self {
        let mut app = TestApi::spawn_isolated(web).await;
        let mail = MailCatcher::start().await;
        let database_url = app.own().postgres.url.clone();
        let worker = start_worker(&database_url, &app.nats_url(), mail.smtp_port, worker).await;
        Self {
            app,
            mail,
            _worker: worker,
        }
    }

    /// The event's notifications, newest first.
    async fn notifications(&self, host: &Host, event_id: Uuid) -> Vec<Notification> {
        self.app
            .get(&format!("/api/v1/events/{event_id}/notifications"))
            .as_host(host)
            .await
            .expect_status(200)
            .parse()
    }

    async fn attempts(&self, host: &Host, id: Uuid) -> Vec<DeliveryAttempt> {
        self.app
            .get(&format!("/api/v1/notifications/{id}/attempts"))
            .as_host(host)
            .await
            .expect_status(200)
            .parse()
    }

    async fn send_invitations(
        &self,
        host: &Host,
        event_id: Uuid,
        body: Value,
    ) -> InvitationsQueued {
        let call = self
            .app
            .post(&format!("/api/v1/events/{event_id}/invitations/send"))
            .as_host(host);
        let call = if body.is_null() {
            call
        } else {
            call.json(body)
        };
        call.await.expect_status(202).parse()
    }
}

/// An answer from a browser, as the API takes it.
fn answer(response: &str, plus_ones: i32) -> Value {
    json!({ "response": response, "plus_ones": plus_ones })
}

#[tokio::test]
async fn invitations_reach_each_guest_with_their_personal_link() {
    let stack = Stack::start(&[], &[]).await;
    let app = &stack.app;
    let host = app.signup("ada@example.org").await;
    let event = app
        .create_event(
            &host,
            json!({
                "name": "Ada's launch",
                "event_date": "2031-06-12T18:00:00+02:00",
                "time_zone": "Europe/Paris",
                "rsvp_deadline": "2031-06-01T23:59:00+02:00",
            }),
        )
        .await;
    let grace = app
        .add_guest(
            &host,
            &event,
            json!({"name": "Grace", "email": "grace@example.org"}),
        )
        .await;
    let alan = app
        .add_guest(
            &host,
            &event,
            json!({"name": "Alan", "email": "alan@example.org"}),
        )
        .await;
    let nobody = app
        .add_guest(&host, &event, json!({"name": "No Contact"}))
        .await;

    let sent = stack.send_invitations(&host, event.id, Value::Null).await;
    assert_eq!(sent.queued.len(), 2, "{sent:?}");
    assert_eq!(sent.skipped.len(), 1);
    assert_eq!(sent.skipped[0].guest_id, nobody.id);
    assert_eq!(sent.skipped[0].reason, SkipReason::NoContact);

    for (guest, address) in [(&grace, "grace@example.org"), (&alan, "alan@example.org")] {
        let mails = stack.mail.wait_for(address, 1).await;
        let mail = &mails[0];
        assert_eq!(mail.subject, "You're invited: Ada's launch");
        assert!(mail.from.contains("GuestGuard"), "{}", mail.from);
        assert_eq!(mail.content_type, "multipart/alternative");
        assert!(mail.text().contains(&format!("Hello {},", guest.name)));
        // 18:00 in Paris, in the event's own time zone.
        assert!(
            mail.text()
                .contains("Thursday 12 June 2031, 18:00 (Europe/Paris)"),
            "{}",
            mail.text()
        );
        let token = mail.token().expect("the personal link is in the email");
        assert!(mail.html().contains(&format!("/i/{token}")));
        // The link in the email is the guest's own, and it works.
        let opened = app.open_link(&token).await.expect_status(200).json();
        assert_eq!(opened["guest"]["name"], guest.name.as_str(), "{opened}");
    }

    // Delivered, with the message id recorded for the host.
    let notifications = eventually("both invitations marked sent", || async {
        let all = stack.notifications(&host, event.id).await;
        (all.len() == 2 && all.iter().all(|n| n.status == Status::Sent)).then_some(all)
    })
    .await;
    let mails = stack.mail.messages().await;
    for notification in &notifications {
        let id = notification
            .provider_message_id
            .as_deref()
            .expect("message id");
        assert!(mails.iter().any(|m| m.message_id == id), "{id}");
        assert_eq!(notification.attempts, 1);
    }

    // Everyone pending has been invited: a second run sends nothing more...
    let again = stack.send_invitations(&host, event.id, Value::Null).await;
    assert!(again.queued.is_empty());
    assert!(again
        .skipped
        .iter()
        .any(|s| s.guest_id == grace.id && s.reason == SkipReason::AlreadyInvited));
    // ...but the host can send one guest theirs again, on purpose.
    let resend = stack
        .send_invitations(&host, event.id, json!({ "guest_ids": [grace.id] }))
        .await;
    assert_eq!(resend.queued.len(), 1);
    stack.mail.wait_for("grace@example.org", 2).await;
    assert_eq!(stack.mail.to("alan@example.org").await.len(), 1);

    // Another event's guest is not one of this event's.
    let stranger = stack
        .app
        .post(&format!("/api/v1/events/{}/invitations/send", event.id))
        .as_host(&host)
        .json(json!({ "guest_ids": [Uuid::new_v4()] }))
        .await;
    stranger.expect_error(422, "unknown_guest");
}

#[tokio::test]
async fn an_answer_sends_the_guest_a_receipt_in_the_events_language_and_the_host_a_notice() {
    let stack = Stack::start(&[], &[]).await;
    let app = &stack.app;
    let host = app.signup("host@example.org").await;
    let event = app
        .create_event(
            &host,
            json!({
                "name": "Sommerfest",
                "language": "de",
                "event_date": "2031-07-04T19:30:00+02:00",
                "time_zone": "Europe/Berlin",
            }),
        )
        .await;
    assert_eq!(event.language, "de");
    let (_guest, link) = app
        .invite(
            &host,
            &event,
            json!({"name": "Grete", "email": "grete@example.org", "max_plus_ones": 2}),
        )
        .await;
    app.open_link(&link.token).await.expect_status(200);
    app.rsvp(&link.token, answer("attending", 2))
        .await
        .expect_status(201);

    let receipt = &stack.mail.wait_for("grete@example.org", 1).await[0];
    assert_eq!(receipt.subject, "Ihre Antwort ist angekommen: Sommerfest");
    assert!(
        receipt
            .text()
            .contains("Ich komme (mit 2 weiteren Personen)"),
        "{}",
        receipt.text()
    );
    assert!(
        receipt.text().contains("19:30 Uhr (Europe/Berlin)"),
        "{}",
        receipt.text()
    );
    assert_eq!(receipt.token().as_deref(), Some(link.token.as_str()));
    // Never a word of the fraud check to a guest.
    for part in [receipt.text(), receipt.html()] {
        let lower = part.to_lowercase();
        for word in ["score", "risk", "verified", "suspicious", "fraud"] {
            assert!(!lower.contains(word), "{word} in the guest's email");
        }
    }

    let notice = &stack.mail.wait_for("host@example.org", 1).await[0];
    assert_eq!(notice.subject, "Grete: attending with 2 more — Sommerfest");
    assert!(notice.text().contains("Fraud check:"), "{}", notice.text());
    assert!(notice
        .text()
        .contains(&format!("https://guestguard.test/events/{}", event.id)));

    // A host who turns answer notices off gets none; the guest still gets a receipt.
    app.request(reqwest::Method::PUT, "/api/v1/account/notifications")
        .as_host(&host)
        .json(json!({"rsvps": false, "fraud": true}))
        .await
        .expect_status(200);
    app.rsvp(&link.token, answer("declined", 0))
        .await
        .expect_status(200);
    let receipts = stack.mail.wait_for("grete@example.org", 2).await;
    assert!(receipts[1].text().contains("Ich kann nicht kommen"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stack.mail.to("host@example.org").await.len(), 1);
}

#[tokio::test]
async fn the_same_event_delivered_twice_sends_one_email() {
    let stack = Stack::start(&[], &[]).await;
    let app = &stack.app;
    let host = app.signup("host@example.org").await;
    let event = app.create_event(&host, json!({"name": "Gala"})).await;
    let (_guest, link) = app
        .invite(
            &host,
            &event,
            json!({"name": "Rosa", "email": "rosa@example.org"}),
        )
        .await;
    app.rsvp(&link.token, answer("maybe", 0))
        .await
        .expect_status(201);
    stack.mail.wait_for("rosa@example.org", 1).await;

    // The outbox published it once; publish the very same event again, as a relay
    // would after JetStream's duplicate window (a new message id).
    let payload: Value = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE subject = 'rsvp.confirmed' ORDER BY created_at LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("the rsvp.confirmed event");
    let nats = app.nats_ops().await.expect("NATS");
    let jetstream = async_nats::jetstream::new(nats);
    for _ in 0..2 {
        jetstream
            .send_publish(
                "rsvp.confirmed",
                async_nats::jetstream::message::PublishMessage::build()
                    .payload(serde_json::to_vec(&payload).expect("json").into())
                    .message_id(Uuid::new_v4().to_string()),
            )
            .await
            .expect("published")
            .await
            .expect("stored");
    }
    // Wait until the worker has taken both copies, then check nothing more went out.
    eventually("the worker consumed the copies", || async {
        let mut consumer: async_nats::jetstream::consumer::PullConsumer = jetstream
            .get_stream("GUESTGUARD")
            .await
            .ok()?
            .get_consumer("guestguard-notify")
            .await
            .ok()?;
        let info = consumer.info().await.ok()?;
        (info.num_pending == 0 && info.num_ack_pending == 0 && info.delivered.stream_sequence >= 3)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stack.mail.to("rosa@example.org").await.len(), 1);
    assert_eq!(
        app.count("SELECT count(*) FROM notifications WHERE kind = 'confirmation'")
            .await,
        1
    );
}

#[tokio::test]
async fn while_the_mail_server_is_down_sends_are_retried_then_delivered_once() {
    let stack = Stack::start(&[], &[]).await;
    let app = &stack.app;
    let host = app.signup("host@example.org").await;
    let event = app.create_event(&host, json!({"name": "Picnic"})).await;
    let guest = app
        .add_guest(
            &host,
            &event,
            json!({"name": "Mia", "email": "mia@example.org"}),
        )
        .await;
    stack.mail.stop_server().await;

    let sent = stack.send_invitations(&host, event.id, Value::Null).await;
    let id = sent.queued[0].id;
    // Two failed attempts, recorded with their error, and another one coming.
    let waiting = eventually("two failed attempts", || async {
        let all = stack.notifications(&host, event.id).await;
        let invitation = all.into_iter().find(|n| n.id == id)?;
        (invitation.attempts >= 2 && invitation.status == Status::Queued).then_some(invitation)
    })
    .await;
    assert!(waiting.last_error.is_some(), "{waiting:?}");
    assert!(waiting.next_attempt_at.is_some());

    stack.mail.start_server().await;
    let mails = stack.mail.wait_for("mia@example.org", 1).await;
    assert!(mails[0].text().contains("Mia"));
    let delivered = eventually("the invitation marked sent", || async {
        let all = stack.notifications(&host, event.id).await;
        all.into_iter()
            .find(|n| n.id == id && n.status == Status::Sent)
    })
    .await;
    assert!(delivered.last_error.is_none());
    let log = stack.attempts(&host, id).await;
    assert!(log.len() >= 3, "{log:?}");
    assert!(log[..log.len() - 1]
        .iter()
        .all(|a| a.outcome == "retry" && a.error.is_some()));
    assert_eq!(log.last().expect("attempts").outcome, "sent");
    assert_eq!(log.last().expect("attempts").status_code, Some(250));
    // Exactly one email, and no more after a while.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(stack.mail.to("mia@example.org").await.len(), 1);
    // The guest's row in the dashboard says so.
    let deliveries: Vec<app::notifications::GuestDelivery> =
        app::notifications::store::guest_deliveries(&app.db, host.id, event.id)
            .await
            .expect("deliveries");
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].guest_id, guest.id);
    assert_eq!(deliveries[0].status, Status::Sent);
}

#[tokio::test]
async fn a_notification_that_keeps_failing_is_marked_failed_for_the_host() {
    let stack = Stack::start(&[], &[]).await;
    let app = &stack.app;
    let host = app.signup("host@example.org").await;
    let event = app.create_event(&host, json!({"name": "Dinner"})).await;
    app.add_guest(
        &host,
        &event,
        json!({"name": "Ola", "email": "ola@example.org"}),
    )
    .await;
    stack.mail.stop_server().await;
    let sent = stack.send_invitations(&host, event.id, Value::Null).await;
    let id = sent.queued[0].id;
    // Invitations queued by hosts try 8 times with the test's 200 ms base (capped 800 ms).
    let failed = eventually("the invitation failed for good", || async {
        stack
            .notifications(&host, event.id)
            .await
            .into_iter()
            .find(|n| n.id == id && n.status == Status::Failed)
    })
    .await;
    assert_eq!(failed.attempts, failed.max_attempts);
    assert!(failed
        .last_error
        .as_deref()
        .is_some_and(|e| e.starts_with("gave up after 8 attempts")));
    assert_eq!(stack.attempts(&host, id).await.len(), 8);
}

/// What a webhook receiver saw.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// A webhook receiver: answers the scripted statuses in turn (then 200), keeping every
/// request.
#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Vec<u16>>>,
    url: String,
}

impl Receiver {
    async fn start(script: &[u16]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!(
            "http://{}/hooks/guestguard",
            listener.local_addr().expect("address")
        );
        let receiver = Self {
            seen: Arc::default(),
            script: Arc::new(Mutex::new(script.iter().rev().copied().collect())),
            url,
        };
        let router = Router::new()
            .route("/hooks/guestguard", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        receiver
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().expect("lock").clone()
    }

    async fn wait_for(&self, count: usize) -> Vec<Received> {
        eventually(&format!("{count} webhook request(s)"), || async {
            let seen = self.seen();
            (seen.len() >= count).then_some(seen)
        })
        .await
    }
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::http::StatusCode {
    receiver
        .seen
        .lock()
        .expect("lock")
        .push(Received { headers, body });
    let status = receiver.script.lock().expect("lock").pop().unwrap_or(200);
    axum::http::StatusCode::from_u16(status).expect("status")
}

/// What a receiver does, written from the documentation, independently of the server's
/// code: the signature header's `t` is recent and one `v1` is HMAC-SHA256(secret,
/// "t.body").
fn verifies(secret: &str, received: &Received) -> bool {
    let header = received
        .headers
        .get("guestguard-signature")
        .and_then(|v| v.to_str().ok())
        .expect("a signature header");
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v.to_owned()),
            _ => {}
        }
    }
    let timestamp = timestamp.expect("t=");
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&received.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    signatures.contains(&expected)
}

async fn register(app: &TestApi, host: &Host, body: Value) -> WebhookWithSecret {
    app.post("/api/v1/webhooks")
        .as_host(host)
        .json(body)
        .await
        .expect_status(201)
        .parse()
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_exactly_one_signed_delivery_then() {
    let stack = Stack::start(&[], &[]).await;
    let app = &stack.app;
    let host = app.signup("host@example.org").await;
    let event = app.create_event(&host, json!({"name": "Hackathon"})).await;
    let receiver = Receiver::start(&[500, 503]).await;
    let webhook = register(
        app,
        &host,
        json!({"url": receiver.url, "event_types": ["rsvp.created", "rsvp.changed"], "event_id": event.id}),
    )
    .await;
    assert!(webhook.secret.starts_with("whsec_"));
    let (guest, link) = app
        .invite(
            &host,
            &event,
            json!({"name": "Lin", "email": "lin@example.org"}),
        )
        .await;
    app.rsvp(&link.token, answer("attending", 0))
        .await
        .expect_status(201);

    let seen = receiver.wait_for(3).await;
    // Three tries of one delivery: the same id and body, each signed and verifiable.
    let ids: Vec<_> = seen
        .iter()
        .map(|r| r.headers.get("guestguard-delivery").cloned())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    assert!(seen.windows(2).all(|w| w[0].body == w[1].body));
    for received in &seen {
        assert!(verifies(&webhook.secret, received));
        assert!(!verifies("whsec_somebody-else", received));
        assert_eq!(received.headers["guestguard-event"], "rsvp.created");
    }
    let body: Value = serde_json::from_slice(&seen[0].body).expect("JSON");
    assert_eq!(body["type"], "rsvp.created");
    assert_eq!(body["data"]["guest"]["id"], guest.id.to_string());
    assert_eq!(body["data"]["response"], "attending");
    assert!(body["data"]["fraud"]["label"].is_string(), "{body}");
    // Exactly one delivery: nothing more comes.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(receiver.seen().len(), 3);

    let deliveries: Vec<Notification> = app
        .get(&format!(
            "/api/v1/webhooks/{}/deliveries",
            webhook.webhook.id
        ))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, Status::Sent);
    assert_eq!(deliveries[0].attempts, 3);
    assert_eq!(deliveries[0].event_type.as_deref(), Some("rsvp.created"));
    let log = stack.attempts(&host, deliveries[0].id).await;
    let statuses: Vec<_> = log
        .iter()
        .map(|a| (a.outcome.as_str(), a.status_code))
        .collect();
    assert_eq!(
        statuses,
        [
            ("retry", Some(500)),
            ("retry", Some(503)),
            ("sent", Some(200))
        ]
    );

    // A changed answer is `rsvp.changed`.
    app.rsvp(&link.token, answer("declined", 0))
        .await
        .expect_status(200);
    let seen = receiver.wait_for(4).await;
    assert_eq!(seen[3].headers["guestguard-event"], "rsvp.changed");
}

#[tokio::test]
async fn rotating_a_secret_signs_with_both_during_the_overlap_and_send_test_pings() {
    let stack = Stack::start(&[], &[]).await;
    let app = &stack.app;
    let host = app.signup("host@example.org").await;
    let receiver = Receiver::start(&[]).await;
    let first = register(
        app,
        &host,
        json!({"url": receiver.url, "event_types": ["access.flagged"]}),
    )
    .await;
    let id = first.webhook.id;
    let rotated: WebhookWithSecret = app
        .post(&format!("/api/v1/webhooks/{id}/rotate-secret"))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_ne!(rotated.secret, first.secret);
    assert_eq!(rotated.webhook.secret_version, 2);
    assert!(rotated.webhook.previous_secret_valid_until.is_some());

    let test: Notification = app
        .post(&format!("/api/v1/webhooks/{id}/test"))
        .as_host(&host)
        .await
        .expect_status(202)
        .parse();
    assert_eq!(test.event_type.as_deref(), Some("ping"));
    let seen = receiver.wait_for(1).await;
    assert_eq!(seen[0].headers["guestguard-event"], "ping");
    let header = seen[0].headers["guestguard-signature"]
        .to_str()
        .expect("ascii");
    assert_eq!(header.matches("v1=").count(), 2, "{header}");
    assert!(verifies(&rotated.secret, &seen[0]));
    assert!(verifies(&first.secret, &seen[0]));

    // Ending the overlap at once: only the new secret signs.
    let again: WebhookWithSecret = app
        .post(&format!("/api/v1/webhooks/{id}/rotate-secret"))
        .as_host(&host)
        .json(json!({"overlap_hours": 0}))
        .await
        .expect_status(200)
        .parse();
    app.post(&format!("/api/v1/webhooks/{id}/test"))
        .as_host(&host)
        .await
        .expect_status(202);
    let seen = receiver.wait_for(2).await;
    assert!(verifies(&again.secret, &seen[1]));
    assert!(!verifies(&rotated.secret, &seen[1]));

    // The secret can be read again by its host only.
    let revealed: WebhookWithSecret = app
        .get(&format!("/api/v1/webhooks/{id}/secret"))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(revealed.secret, again.secret);
    let other = app.signup("other@example.org").await;
    app.get(&format!("/api/v1/webhooks/{id}/secret"))
        .as_host(&other)
        .await
        .expect_error(404, "not_found");

    // A paused webhook gets nothing.
    let paused: Webhook = app
        .patch(&format!("/api/v1/webhooks/{id}"))
        .as_host(&host)
        .json(json!({"enabled": false}))
        .await
        .expect_status(200)
        .parse();
    assert!(!paused.enabled);
    let skipped: Notification = app
        .post(&format!("/api/v1/webhooks/{id}/test"))
        .as_host(&host)
        .await
        .expect_status(202)
        .parse();
    eventually("the paused delivery cancelled", || async {
        let deliveries: Vec<Notification> = app
            .get(&format!("/api/v1/webhooks/{id}/deliveries"))
            .as_host(&host)
            .await
            .parse();
        deliveries
            .into_iter()
            .find(|d| d.id == skipped.id && d.status == Status::Cancelled)
    })
    .await;
    assert_eq!(receiver.seen().len(), 2);
}

#[tokio::test]
async fn receivers_on_private_or_loopback_addresses_are_refused_when_private_is_off() {
    // Production never allows them; the switch makes development behave the same.
    let app = TestApi::spawn_with(&[("GUESTGUARD_WEBHOOKS_ALLOW_PRIVATE", "false")]).await;
    let host = app.signup("host@example.org").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:192.168.0.1]/hook",
    ] {
        let reply = app
            .post("/api/v1/webhooks")
            .as_host(&host)
            .json(json!({"url": url, "event_types": ["rsvp.created"]}))
            .await;
        reply.expect_error(422, "webhook_url_refused");
    }
    for (body, code) in [
        (
            json!({"url": "ftp://93.184.215.14/x", "event_types": ["rsvp.created"]}),
            "invalid_url",
        ),
        (
            json!({"url": "https://93.184.215.14/x", "event_types": ["rsvp.deleted"]}),
            "unknown_event_type",
        ),
        (
            json!({"url": "https://93.184.215.14/x", "event_types": []}),
            "required",
        ),
    ] {
        app.post("/api/v1/webhooks")
            .as_host(&host)
            .json(body)
            .await
            .expect_error(422, code);
    }
    // A public address is fine.
    let ok = register(
        &app,
        &host,
        json!({"url": "https://93.184.215.14/hook", "event_types": ["rsvp.held"]}),
    )
    .await;
    assert_eq!(ok.webhook.event_types.len(), 1);
    // Changing it to a private one is refused too.
    app.patch(&format!("/api/v1/webhooks/{}", ok.webhook.id))
        .as_host(&host)
        .json(json!({"url": "http://192.168.1.1/"}))
        .await
        .expect_error(422, "webhook_url_refused");
}

#[tokio::test]
async fn reminders_go_once_to_guests_who_have_not_answered_and_can_be_stopped_in_one_click() {
    let stack = Stack::start(&[], &[]).await;
    let app = &stack.app;
    let host = app.signup("host@example.org").await;
    // Deadline in ten hours; the reminder is set once the guests are in (24 hours
    // before the deadline: due at once).
    let deadline = chrono::Utc::now() + chrono::Duration::hours(10);
    let event = app
        .create_event(
            &host,
            json!({
                "name": "Fiesta",
                "language": "es",
                "rsvp_deadline": deadline.to_rfc3339(),
            }),
        )
        .await;
    let (_answered, answered_link) = app
        .invite(
            &host,
            &event,
            json!({"name": "Ana", "email": "ana@example.org"}),
        )
        .await;
    app.rsvp(&answered_link.token, answer("attending", 0))
        .await
        .expect_status(201);
    let (_pending, pending_link) = app
        .invite(
            &host,
            &event,
            json!({"name": "Beto", "email": "beto@example.org"}),
        )
        .await;

    app.patch(&format!("/api/v1/events/{}", event.id))
        .as_host(&host)
        .json(json!({"reminder_hours": 24}))
        .await
        .expect_status(200);

    let reminder = stack.mail.wait_for("beto@example.org", 1).await.remove(0);
    assert!(
        reminder
            .subject
            .starts_with("Recordatorio: ¿vendrás a Fiesta?"),
        "{}",
        reminder.subject
    );
    assert_eq!(
        reminder.token().as_deref(),
        Some(pending_link.token.as_str())
    );
    let unsubscribe = reminder.link("/unsubscribe/").expect("an unsubscribe link");
    assert_eq!(
        reminder.headers.get("List-Unsubscribe").map(String::as_str),
        Some(format!("<{unsubscribe}>").as_str())
    );
    assert_eq!(
        reminder
            .headers
            .get("List-Unsubscribe-Post")
            .map(String::as_str),
        Some("List-Unsubscribe=One-Click")
    );
    // Sent once: several scheduler rounds later, still one; the guest who answered got
    // only their receipt.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(stack.mail.to("beto@example.org").await.len(), 1);
    let ana = stack.mail.to("ana@example.org").await;
    assert!(
        ana.iter().all(|m| !m.subject.starts_with("Recordatorio")),
        "{ana:?}"
    );

    // One-click unsubscribe (RFC 8058) as a mail client sends it.
    let path = unsubscribe.trim_start_matches(support::api::PUBLIC_URL);
    let page = app.get(path).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Stop reminders"), "{}", page.text);
    let done = app
        .post(path)
        .body(
            "application/x-www-form-urlencoded",
            b"List-Unsubscribe=One-Click".to_vec(),
        )
        .await;
    assert_eq!(done.status, 200);
    assert_eq!(
        app.count("SELECT count(*) FROM guests WHERE reminders_unsubscribed_at IS NOT NULL")
            .await,
        1
    );
    let page = app.get(path).await;
    assert!(
        page.text.contains("You will get no more reminders"),
        "{}",
        page.text
    );
    app.get("/unsubscribe/not-a-reminder").await;
}

#[tokio::test]
async fn a_suspicious_opening_alerts_the_host_with_its_reasons_and_flags_to_webhooks() {
    let stack = Stack::start(&[], &[]).await;
    let app = &stack.app;
    let host = app.signup("host@example.org").await;
    let event = app.create_event(&host, json!({"name": "Vernissage"})).await;
    let receiver = Receiver::start(&[]).await;
    let webhook = register(
        app,
        &host,
        json!({"url": receiver.url, "event_types": ["access.flagged"]}),
    )
    .await;
    let (guest, link) = app
        .invite(
            &host,
            &event,
            json!({"name": "Paul", "email": "paul@example.org"}),
        )
        .await;
    let opened = app.open_link(&link.token).await.expect_status(200).json();
    let access_log_id: Uuid = opened["access_log_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("the opening's id");

    // The engine's verdicts on two openings: 75 (alert) and 30 (nothing).
    let jetstream = async_nats::jetstream::new(app.nats_ops().await.expect("NATS"));
    for (score, risk, flagged, attempt) in [
        (30, "low", false, Uuid::new_v4()),
        (75, "high", true, access_log_id),
    ] {
        let scored = proto::events::FraudScored {
            event_id: event.id,
            guest_id: guest.id,
            token_id: link.id,
            access_log_id: attempt,
            score,
            risk: risk.into(),
            reasons: vec!["fingerprint_mismatch".into(), "new_network".into()],
            flagged,
            scored_at: chrono::Utc::now(),
        };
        jetstream
            .send_publish(
                "fraud.scored",
                async_nats::jetstream::message::PublishMessage::build()
                    .payload(serde_json::to_vec(&scored).expect("json").into())
                    .message_id(Uuid::new_v4().to_string()),
            )
            .await
            .expect("published")
            .await
            .expect("stored");
    }
    let alert = stack.mail.wait_for("host@example.org", 1).await.remove(0);
    assert_eq!(alert.subject, "Suspicious opening: Paul — Vernissage");
    assert!(
        alert.text().contains("Suspicious (score 75 of 100)"),
        "{}",
        alert.text()
    );
    assert!(alert
        .text()
        .contains("fingerprint_mismatch: opened from a device other than the guest's trusted one"));
    assert!(alert
        .text()
        .contains("new_network: a network the guest has not used before"));
    let flagged = receiver.wait_for(1).await;
    let body: Value = serde_json::from_slice(&flagged[0].body).expect("JSON");
    assert_eq!(body["type"], "access.flagged");
    assert_eq!(body["data"]["fraud"]["score"], 75);
    assert_eq!(body["data"]["fraud"]["label"], "Suspicious");
    assert!(verifies(&webhook.secret, &flagged[0]));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stack.mail.to("host@example.org").await.len(), 1);
    assert_eq!(receiver.seen().len(), 1);
    // The guest hears nothing of it.
    assert!(stack.mail.to("paul@example.org").await.is_empty());
}

#[tokio::test]
async fn guests_with_only_a_phone_number_get_a_text_through_the_sms_provider() {
    // A Twilio-compatible API, started by the test.
    /// The `Authorization` header and the form body of one request.
    type Request = (Option<String>, String);
    #[derive(Clone, Default)]
    struct Provider {
        seen: Arc<Mutex<Vec<Request>>>,
    }
    async fn messages(
        State(provider): State<Provider>,
        headers: HeaderMap,
        body: String,
    ) -> axum::Json<Value> {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        provider.seen.lock().expect("lock").push((auth, body));
        axum::Json(json!({"sid": "SM0123456789", "status": "queued"}))
    }
    let provider = Provider::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let api = format!("http://{}", listener.local_addr().expect("address"));
    let router = Router::new()
        .route("/2010-04-01/Accounts/AC42/Messages.json", post(messages))
        .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let stack = Stack::start(
        &[],
        &[
            ("SMS_API_URL", api.as_str()),
            ("SMS_ACCOUNT_SID", "AC42"),
            ("SMS_AUTH_TOKEN", "sms-token"),
            ("SMS_FROM", "+15550001111"),
        ],
    )
    .await;
    let app = &stack.app;
    let host = app.signup("host@example.org").await;
    let event = app.create_event(&host, json!({"name": "Barbecue"})).await;
    app.add_guest(
        &host,
        &event,
        json!({"name": "Tom", "phone": "+15557654321"}),
    )
    .await;
    let sent = stack.send_invitations(&host, event.id, Value::Null).await;
    assert_eq!(sent.queued[0].channel, app::notifications::Channel::Sms);
    let sent_id = sent.queued[0].id;
    let notification = eventually("the text sent", || async {
        stack
            .notifications(&host, event.id)
            .await
            .into_iter()
            .find(|n| n.id == sent_id && n.status == Status::Sent)
    })
    .await;
    assert_eq!(
        notification.provider_message_id.as_deref(),
        Some("SM0123456789")
    );
    let seen = provider.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    let (auth, form) = &seen[0];
    assert!(auth.as_deref().is_some_and(|a| a.starts_with("Basic ")));
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(field("To"), "+15557654321");
    assert_eq!(field("From"), "+15550001111");
    assert!(
        field("Body").contains("https://guestguard.test/i/"),
        "{}",
        field("Body")
    );
}

#[tokio::test]
async fn held_and_refused_answers_reach_the_host_and_their_webhooks_and_the_guest_learns_nothing() {
    let mut stack = Stack::start(&[], &[]).await;
    let host = stack.app.signup("host@example.org").await;
    let receiver = Receiver::start(&[]).await;
    let webhook = register(
        &stack.app,
        &host,
        json!({"url": receiver.url, "event_types": ["rsvp.held", "rsvp.blocked"]}),
    )
    .await;
    let holding = stack
        .app
        .create_event(
            &host,
            json!({"name": "Careful gala", "fraud_policy": {"on_engine_unavailable": "hold"}}),
        )
        .await;
    let open = stack
        .app
        .create_event(&host, json!({"name": "Open day"}))
        .await;
    let (_hana, hana_link) = stack
        .app
        .invite(
            &host,
            &holding,
            json!({"name": "Hana", "email": "hana@example.org"}),
        )
        .await;
    let (_bob, bob_link) = stack
        .app
        .invite(
            &host,
            &open,
            json!({"name": "Bob", "email": "bob@example.org"}),
        )
        .await;

    // A script's answer scores in the block band: refused, recorded nowhere but the log.
    stack
        .app
        .rsvp(&bob_link.token, answer("attending", 0))
        .header("user-agent", "python-requests/2.32")
        .await
        .expect_error(403, "rsvp_refused");
    let alert = stack.mail.wait_for("host@example.org", 1).await.remove(0);
    assert_eq!(alert.subject, "Answer refused: Bob — Open day");
    assert!(
        alert.text().contains("automation_user_agent"),
        "{}",
        alert.text()
    );
    let blocked = receiver.wait_for(1).await;
    let body: Value = serde_json::from_slice(&blocked[0].body).expect("JSON");
    assert_eq!(body["type"], "rsvp.blocked");
    assert_eq!(body["data"]["reason"], "fraud_block");
    assert_eq!(body["data"]["fraud"]["label"], "Blocked");
    assert!(verifies(&webhook.secret, &blocked[0]));

    // The engine is down and the event holds unchecked answers.
    stack.app.own().fraud.stop().await;
    stack
        .app
        .rsvp(&hana_link.token, answer("attending", 0))
        .await
        .expect_status(201);
    let receipt = stack.mail.wait_for("hana@example.org", 1).await.remove(0);
    // Exactly the receipt of any answer: nothing says it waits for review.
    assert_eq!(receipt.subject, "We received your answer: Careful gala");
    assert!(!receipt.text().to_lowercase().contains("review"));
    assert!(!receipt.text().to_lowercase().contains("held"));
    let notices = stack.mail.wait_for("host@example.org", 2).await;
    assert_eq!(
        notices[1].subject,
        "Held for your review: Hana — Careful gala"
    );
    assert!(notices[1]
        .text()
        .contains("the fraud check was unavailable when the guest answered"));
    let seen = receiver.wait_for(2).await;
    let body: Value = serde_json::from_slice(&seen[1].body).expect("JSON");
    assert_eq!(body["type"], "rsvp.held");
    assert_eq!(body["data"]["reason"], "engine_unavailable");
    // The refused guest heard nothing.
    assert!(stack.mail.to("bob@example.org").await.is_empty());
}
