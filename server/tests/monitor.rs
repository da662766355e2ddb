//! The host's live monitor: the activity history (`GET /api/v1/events/{id}/activity`,
//! newest first with cursor pagination, only for the event's host) and its WebSocket
//! (who may open it, what it pushes, how it ends), on real PostgreSQL, NATS and fraud
//! engine — with two server instances where the push must cross between them.

mod support;

use app::{events::Event, monitor::ActivityPage};
use futures::StreamExt as _;
use serde_json::{json, Value};
use std::time::Duration;
use support::api::{Host, TestApi};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest as _, http::HeaderValue, Message},
    MaybeTlsStream, WebSocketStream,
};
use uuid::Uuid;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The longest any awaited push may take before the test gives up (not a latency
/// assertion: a generous bound so a broken push fails instead of hanging).
const PUSH_WAIT: Duration = Duration::from_secs(20);

fn activity_path(event: &Event, query: &str) -> String {
    format!("/api/v1/events/{}/activity{query}", event.id)
}

/// `GET .../activity{query}` as the host.
async fn activity(app: &TestApi, host: &Host, event: &Event, query: &str) -> ActivityPage {
    app.get(&activity_path(event, query))
        .as_host(host)
        .await
        .expect_status(200)
        .parse()
}

/// Who knocks on the socket's door.
struct Knock<'a> {
    session: Option<&'a str>,
    origin: Option<String>,
}

/// Opens the monitor socket of `event_id` on the server at `address`; `Err(status)`
/// when the upgrade is refused.
async fn open_socket(
    address: std::net::SocketAddr,
    event_id: Uuid,
    knock: Knock<'_>,
) -> Result<Socket, u16> {
    let mut request = format!("ws://{address}/api/v1/events/{event_id}/activity/live")
        .into_client_request()
        .expect("a socket request");
    if let Some(session) = knock.session {
        request.headers_mut().insert(
            "cookie",
            HeaderValue::from_str(&format!("gg_session={session}")).expect("cookie"),
        );
    }
    if let Some(origin) = knock.origin {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(&origin).expect("origin"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(error) => panic!("the socket handshake failed: {error}"),
    }
}

/// The host's own socket, from our own pages, once it said it is ready.
async fn host_socket(address: std::net::SocketAddr, host: &Host, event: &Event) -> Socket {
    let mut socket = open_socket(
        address,
        event.id,
        Knock {
            session: Some(&host.session),
            origin: Some(format!("http://{address}")),
        },
    )
    .await
    .expect("the host's socket opens");
    let ready = next_json(&mut socket).await;
    assert_eq!(ready["type"], "ready", "{ready}");
    socket
}

/// The next JSON message of the socket (panics on a close or after [`PUSH_WAIT`]).
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(PUSH_WAIT, socket.next())
            .await
            .expect("a message arrives")
            .expect("the socket is open")
            .expect("a readable message");
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).expect("JSON"),
            Message::Close(frame) => panic!("the socket closed: {frame:?}"),
            _ => {}
        }
    }
}

/// Activity messages until one about `guest` comes; returns it and every guest named
/// before it.
async fn activity_of(socket: &mut Socket, guest: Uuid) -> (Value, Vec<String>) {
    let mut before = Vec::new();
    loop {
        let message = next_json(socket).await;
        if message["type"] != "activity" {
            continue;
        }
        if message["item"]["guest_id"] == guest.to_string() {
            return (message, before);
        }
        before.push(
            message["item"]["guest_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
}

/// The close code the socket ends with (panics after [`PUSH_WAIT`] × 2).
async fn close_code(socket: &mut Socket) -> Option<u16> {
    let deadline = PUSH_WAIT * 2;
    tokio::time::timeout(deadline, async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the socket closes")
}

#[tokio::test]
async fn the_history_pages_newest_first_with_openings_and_answers_and_is_the_hosts_alone() {
    let app = TestApi::spawn().await;
    let ada = app.signup("ada@example.org").await;
    let event = app.create_event(&ada, json!({})).await;
    let (grace, grace_link) = app
        .invite(&ada, &event, json!({"name": "Grace", "max_plus_ones": 1}))
        .await;
    let (_, alan_link) = app.invite(&ada, &event, json!({"name": "Alan"})).await;
    app.open_link(&alan_link.token).await.expect_status(200);
    app.open_link(&grace_link.token).await.expect_status(200);
    app.open_link(&grace_link.token).await.expect_status(200);
    app.rsvp(
        &grace_link.token,
        json!({"response": "attending", "plus_ones": 1}),
    )
    .await
    .expect_status(201);

    let first = activity(&app, &ada, &event, "?limit=2").await;
    assert_eq!(first.items.len(), 2);
    let answer = &first.items[0];
    assert_eq!(answer.guest_id, grace.id);
    assert_eq!(answer.kind, app::monitor::ActivityKind::Answered);
    assert_eq!(answer.response, Some(app::rsvps::RsvpResponse::Attending));
    assert_eq!(answer.plus_ones, Some(1));
    let cursor = first.next_cursor.clone().expect("a second page");
    let second = activity(&app, &ada, &event, &format!("?limit=2&before={cursor}")).await;
    assert_eq!(second.items.len(), 2);
    assert_eq!(second.next_cursor, None, "the last page says so");
    let ids: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|i| i.id)
        .collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique, "no row is on two pages");
    let times: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|i| i.at)
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(second.items[1].guest_name, "Alan", "the oldest comes last");
    assert_eq!(first.counts.attending, 1);
    assert_eq!(first.counts.plus_ones, 1);
    assert_eq!(first.counts.pending, 1);

    let answers = activity(&app, &ada, &event, "?kind=answered").await;
    assert_eq!(answers.items.len(), 1);
    let grace_only = activity(&app, &ada, &event, &format!("?guest_id={}", grace.id)).await;
    assert_eq!(grace_only.items.len(), 3);
    let since_at = second.items[1].at + chrono::Duration::microseconds(1);
    let since = since_at.to_rfc3339();
    let since = app
        .get(&format!(
            "{}?since={}",
            activity_path(&event, ""),
            urlencode(&since)
        ))
        .as_host(&ada)
        .await
        .expect_status(200)
        .parse::<ActivityPage>();
    // Alan's opening counts only if it was scored meanwhile (a change since).
    assert!(since.items.iter().all(|item| item.changed_at >= since_at));
    assert_eq!(
        since
            .items
            .iter()
            .filter(|item| item.guest_name == "Grace")
            .count(),
        3
    );

    let bob = app.signup("bob@example.org").await;
    app.get(&activity_path(&event, ""))
        .as_host(&bob)
        .await
        .expect_error(404, "not_found");
    app.get(&activity_path(&event, ""))
        .await
        .expect_error(401, "unauthenticated");
    app.get(&activity_path(&event, "?before=yesterday"))
        .as_host(&ada)
        .await
        .expect_error(400, "invalid_cursor");
    app.get(&activity_path(&event, "?limit=0"))
        .as_host(&ada)
        .await
        .expect_error(422, "invalid_limit");
    app.get(&activity_path(&event, "?kind=dancing"))
        .as_host(&ada)
        .await
        .expect_error(422, "invalid_kind");
}

/// Percent-encodes a query value.
fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_socket_refuses_visitors_without_a_session_foreign_origins_and_other_hosts() {
    let app = TestApi::spawn().await;
    let ada = app.signup("ada@example.org").await;
    let bob = app.signup("bob@example.org").await;
    let event = app.create_event(&ada, json!({})).await;
    let own_origin = Some(app.origin());

    let nobody = Knock {
        session: None,
        origin: own_origin.clone(),
    };
    assert_eq!(
        open_socket(app.address, event.id, nobody).await.err(),
        Some(401)
    );
    let foreign = Knock {
        session: Some(&ada.session),
        origin: Some("https://evil.example".to_owned()),
    };
    assert_eq!(
        open_socket(app.address, event.id, foreign).await.err(),
        Some(403)
    );
    let no_origin = Knock {
        session: Some(&ada.session),
        origin: None,
    };
    assert_eq!(
        open_socket(app.address, event.id, no_origin).await.err(),
        Some(403),
        "a cookie without an origin is not from our pages"
    );
    let other_host = Knock {
        session: Some(&bob.session),
        origin: own_origin.clone(),
    };
    assert_eq!(
        open_socket(app.address, event.id, other_host).await.err(),
        Some(404)
    );
    // A plain GET (no upgrade) gets the API's JSON error.
    app.get(&activity_path(&event, "/live"))
        .as_host(&ada)
        .await
        .expect_error(400, "websocket_required");

    let key = app.create_api_key(&ada, "integration").await;
    let mut request = format!(
        "ws://{}/api/v1/events/{}/activity/live",
        app.address, event.id
    )
    .into_client_request()
    .expect("request");
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {}", key.key)).expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("an integration opens the socket with its API key");
    assert_eq!(next_json(&mut socket).await["type"], "ready");
}

#[tokio::test]
async fn a_host_receives_their_own_guests_activity_and_never_another_hosts() {
    let app = TestApi::spawn().await;
    let ada = app.signup("ada@example.org").await;
    let bob = app.signup("bob@example.org").await;
    let ada_event = app.create_event(&ada, json!({"name": "Ada's"})).await;
    let bob_event = app.create_event(&bob, json!({"name": "Bob's"})).await;
    let (_, bobs_guest_link) = app.invite(&bob, &bob_event, json!({"name": "Eve"})).await;
    let (grace, grace_link) = app.invite(&ada, &ada_event, json!({"name": "Grace"})).await;
    let mut ada_socket = host_socket(app.address, &ada, &ada_event).await;
    let mut bob_socket = host_socket(app.address, &bob, &bob_event).await;

    app.open_link(&bobs_guest_link.token)
        .await
        .expect_status(200);
    app.open_link(&grace_link.token).await.expect_status(200);

    let (pushed, before) = activity_of(&mut ada_socket, grace.id).await;
    assert!(
        before.is_empty(),
        "Ada was pushed someone else's row first: {before:?}"
    );
    assert_eq!(pushed["item"]["guest_name"], "Grace");
    assert_eq!(pushed["item"]["kind"], "opened");
    assert_eq!(pushed["counts"]["pending"], 1);
    let bob_pushed = next_json(&mut bob_socket).await;
    assert_eq!(bob_pushed["item"]["guest_name"], "Eve");
    assert_ne!(
        bob_pushed["item"]["guest_id"],
        grace.id.to_string(),
        "Bob is never pushed Ada's guest"
    );
}

#[tokio::test]
async fn a_burst_of_guests_reaches_every_socket_each_answer_with_the_counters_after_it() {
    let app = TestApi::spawn().await;
    let ada = app.signup("ada@example.org").await;
    let event = app.create_event(&ada, json!({})).await;
    let mut guests = Vec::new();
    for n in 0..24 {
        guests.push(
            app.invite(&ada, &event, json!({"name": format!("Guest {n}")}))
                .await,
        );
    }
    let mut sockets = vec![
        host_socket(app.address, &ada, &event).await,
        host_socket(app.address, &ada, &event).await,
    ];

    // Everyone at once: the pushes arrive in bursts, which the server reads and sends
    // together; none may be lost or merged into another guest's.
    let openings = guests
        .iter()
        .map(|(_, link)| app.open_link(&link.token))
        .collect::<Vec<_>>();
    for opened in futures::future::join_all(openings).await {
        opened.expect_status(200);
    }
    let answers = guests
        .iter()
        .map(|(_, link)| {
            std::future::IntoFuture::into_future(
                app.rsvp(&link.token, json!({"response": "attending"})),
            )
        })
        .collect::<Vec<_>>();
    // Many guests from one address may be scored as suspicious: a refused answer is
    // pushed too (as "blocked"), and the counters say what was confirmed.
    for answered in futures::future::join_all(answers).await {
        assert!(
            matches!(answered.status, 201 | 403),
            "{} {}",
            answered.status,
            answered.text
        );
    }
    let confirmed = app
        .count("SELECT count(*) FROM rsvps WHERE status = 'confirmed' AND response = 'attending'")
        .await;

    let everyone: std::collections::BTreeSet<String> = guests
        .iter()
        .map(|(guest, _)| guest.id.to_string())
        .collect();
    for socket in &mut sockets {
        let (mut opened, mut answered) = (
            std::collections::BTreeSet::new(),
            std::collections::BTreeSet::new(),
        );
        let mut attending_seen = Vec::new();
        while answered.len() < everyone.len() || opened.len() < everyone.len() {
            let message = next_json(socket).await;
            if message["type"] != "activity" {
                continue;
            }
            let guest = message["item"]["guest_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(
                everyone.contains(&guest),
                "a row of no guest here: {message}"
            );
            match message["item"]["kind"].as_str() {
                Some("opened") => opened.insert(guest),
                Some("answered") | Some("blocked") => {
                    attending_seen.push(message["counts"]["attending"].as_i64().unwrap_or(-1));
                    answered.insert(guest)
                }
                other => panic!("unexpected row kind {other:?}: {message}"),
            };
        }
        assert_eq!(answered, everyone, "every answer reached the socket");
        // The counters pushed with an answer are read after it was stored, and the last
        // ones count every confirmed answer.
        assert!(
            attending_seen.iter().all(|&n| (0..=confirmed).contains(&n)),
            "{attending_seen:?}"
        );
        assert_eq!(
            attending_seen.iter().max(),
            Some(&confirmed),
            "{attending_seen:?}"
        );
    }
}

#[tokio::test]
async fn a_change_made_through_one_server_reaches_a_socket_on_another() {
    let app = TestApi::spawn().await;
    let other = app.replica().await;
    let ada = app.signup("ada@example.org").await;
    let event = app.create_event(&ada, json!({})).await;
    let (grace, link) = app.invite(&ada, &event, json!({"name": "Grace"})).await;
    let mut socket = host_socket(other.address, &ada, &event).await;

    // The guest's opening and answer are served by the first server only.
    app.open_link(&link.token).await.expect_status(200);
    let (opened, _) = activity_of(&mut socket, grace.id).await;
    assert_eq!(opened["item"]["kind"], "opened");
    app.rsvp(&link.token, json!({"response": "declined"}))
        .await
        .expect_status(201);
    loop {
        let (pushed, _) = activity_of(&mut socket, grace.id).await;
        if pushed["item"]["kind"] == "answered" {
            assert_eq!(pushed["item"]["response"], "declined");
            assert_eq!(pushed["counts"]["declined"], 1);
            break;
        }
    }
}

#[tokio::test]
async fn the_socket_closes_with_session_ended_once_the_host_signs_out() {
    let app = TestApi::spawn().await;
    let ada = app.signup("ada@example.org").await;
    let event = app.create_event(&ada, json!({})).await;
    let mut socket = host_socket(app.address, &ada, &event).await;

    app.post("/api/v1/auth/logout")
        .as_host(&ada)
        .await
        .expect_status(204);

    assert_eq!(
        close_code(&mut socket).await,
        Some(app::monitor::close::SESSION_ENDED)
    );
}
