//! Personal invitation links: issuing, the shared answers for malformed (400), forged
//! or unknown (one 404 body), revoked and expired (410) tokens, and rotation.

use crate::support::api::{tokens_path, TestApi, PUBLIC_URL};
use app::invitations::{
    token::{KeyId, Keyring},
    IssuedLink, LinkStatus, LinkSummary,
};
use serde_json::json;
use sqlx::types::chrono::{DateTime, Utc};
use uuid::Uuid;

/// The moment `seconds` from now (whole seconds).
fn in_seconds(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp() + seconds, 0).expect("a valid time")
}

/// RFC 3339 in UTC with whole seconds.
fn rfc3339(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `token` with one character of its signature changed.
fn with_forged_signature(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let at = chars.len() - 5;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[tokio::test]
async fn issuing_a_link_answers_201_with_the_token_and_its_public_url() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"event_date": "2031-06-12T18:00:00Z"}))
        .await;
    let guest = app.add_guest(&host, &event, json!({"name": "Grace"})).await;

    let link: IssuedLink = app
        .try_issue_link(&host, &guest, serde_json::Value::Null)
        .await
        .expect_status(201)
        .parse();

    assert!(link.token.starts_with("gg1_"), "{}", link.token);
    assert_eq!(link.url, format!("{PUBLIC_URL}/i/{}", link.token));
    assert_eq!(
        link.expires_at.timestamp(),
        event.event_date.timestamp() + 24 * 3600,
        "by default a link lasts until a day after the event"
    );
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM invitations WHERE id = $1")
        .bind(link.id)
        .fetch_one(&app.db)
        .await
        .expect("the link is stored");
    assert_eq!(stored.len(), 32, "only a digest of the token is stored");

    let listed: Vec<LinkSummary> = app
        .get(&tokens_path(&guest))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id, listed[0].status),
        (link.id, LinkStatus::Active)
    );
    assert!(!serde_json::to_string(&listed)
        .unwrap_or_default()
        .contains(&link.token));
}

#[tokio::test]
async fn a_link_may_be_given_its_own_expiry_but_not_one_in_the_past() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let guest = app.add_guest(&host, &event, json!({})).await;
    let in_a_week = rfc3339(in_seconds(7 * 24 * 3600));

    let link: IssuedLink = app
        .try_issue_link(&host, &guest, json!({ "expires_at": in_a_week }))
        .await
        .expect_status(201)
        .parse();
    assert_eq!(rfc3339(link.expires_at), in_a_week);

    let past = rfc3339(in_seconds(-60));
    for body in [
        json!({ "expires_at": past }),
        json!({ "expires_at": "tomorrow" }),
    ] {
        let reply = app
            .try_issue_link(&host, &guest, body)
            .await
            .expect_error(422, "invalid_expires_at");
        assert_eq!(reply.field().as_deref(), Some("expires_at"));
    }
    app.post(&tokens_path(&guest))
        .as_host(&host)
        .body("application/json", b"{not json".to_vec())
        .await
        .expect_error(400, "invalid_body");
    app.open_link(&link.token).await.expect_status(200);
}

#[tokio::test]
async fn a_malformed_token_is_a_400_without_touching_anything() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (_, link) = app.invite(&host, &event, json!({})).await;
    let wrong_prefix = format!("gg2_{}", &link.token[4..]);
    let bad_alphabet = format!("{}*", &link.token[..link.token.len() - 1]);
    let too_long = format!("{}A", link.token);

    for token in [
        "abc",
        "gg1_",
        wrong_prefix.as_str(),
        bad_alphabet.as_str(),
        too_long.as_str(),
        &link.token[..link.token.len() - 1],
        "%00",
        "..%2F..%2Fetc%2Fpasswd",
    ] {
        app.open_link(token)
            .await
            .expect_error(400, "malformed_token");
        app.rsvp(token, json!({"response": "attending"}))
            .await
            .expect_error(400, "malformed_token");
    }
    assert_eq!(app.count("SELECT count(*) FROM access_attempts").await, 0);
}

#[tokio::test]
async fn unknown_and_forged_tokens_get_one_and_the_same_404() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (guest, link) = app.invite(&host, &event, json!({"name": "Grace"})).await;
    let (gone_guest, gone_link) = app.invite(&host, &event, json!({"name": "Gone"})).await;
    app.delete(&crate::support::api::guest_path(&gone_guest))
        .as_host(&host)
        .await
        .expect_status(204);

    // Signed with the server's own (development) key, but never issued.
    let keyring = Keyring::new(
        KeyId::parse("k1").expect("key id"),
        app::settings::DEVELOPMENT_SIGNING_KEY.to_owned().into(),
    )
    .expect("keyring");
    let never_issued = keyring
        .issue(
            Uuid::new_v4(),
            guest.id,
            event.id,
            in_seconds(3 * 24 * 3600),
        )
        .0;
    // The real link's id, re-signed for another guest: the signature is valid but the
    // stored digest does not match.
    let reissued_for_other = keyring
        .issue(link.id, gone_guest.id, event.id, link.expires_at)
        .0;
    // Signed with a key this server does not have.
    let foreign = Keyring::new(
        KeyId::parse("k1").expect("key id"),
        "some other secret entirely".to_owned().into(),
    )
    .expect("keyring")
    .issue(link.id, guest.id, event.id, link.expires_at)
    .0;

    let mut bodies = Vec::new();
    for token in [
        with_forged_signature(&link.token),
        never_issued,
        reissued_for_other,
        foreign,
        gone_link.token.clone(),
    ] {
        let opened = app.open_link(&token).await.expect_error(404, "not_found");
        let answered = app
            .rsvp(&token, json!({"response": "attending"}))
            .await
            .expect_error(404, "not_found");
        bodies.push(opened.text);
        bodies.push(answered.text);
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "{bodies:#?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM access_attempts").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, 0);
    app.open_link(&link.token).await.expect_status(200);
}

#[tokio::test]
async fn a_revoked_link_is_410_and_records_no_answer() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (guest, link) = app.invite(&host, &event, json!({})).await;

    app.revoke_link(&host, &guest, &link)
        .await
        .expect_status(204);

    app.open_link(&link.token)
        .await
        .expect_error(410, "link_revoked");
    app.rsvp(&link.token, json!({"response": "attending"}))
        .await
        .expect_error(410, "link_revoked");
    assert_eq!(app.count("SELECT count(*) FROM rsvps").await, 0);
    let listed: Vec<LinkSummary> = app
        .get(&tokens_path(&guest))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(listed[0].status, LinkStatus::Revoked);
    app.revoke_link(&host, &guest, &link)
        .await
        .expect_status(204);
}

#[tokio::test]
async fn an_expired_link_is_410() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let guest = app.add_guest(&host, &event, json!({})).await;
    let link: IssuedLink = app
        .try_issue_link(&host, &guest, json!({"expires_at": rfc3339(in_seconds(3))}))
        .await
        .expect_status(201)
        .parse();
    app.open_link(&link.token).await.expect_status(200);

    let wait = (link.expires_at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(1100)).await;

    app.open_link(&link.token)
        .await
        .expect_error(410, "link_expired");
    app.rsvp(&link.token, json!({"response": "attending"}))
        .await
        .expect_error(410, "link_expired");
    let listed: Vec<LinkSummary> = app
        .get(&tokens_path(&guest))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(listed[0].status, LinkStatus::Expired);
}

#[tokio::test]
async fn issuing_a_new_link_makes_the_old_one_410_at_once() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let (guest, old) = app.invite(&host, &event, json!({})).await;
    app.rsvp(&old.token, json!({"response": "maybe"}))
        .await
        .expect_status(201);

    let new = app.issue_link(&host, &guest).await;

    assert_ne!(new.token, old.token);
    app.open_link(&old.token)
        .await
        .expect_error(410, "link_revoked");
    let opened = app.open_link(&new.token).await.expect_status(200).json();
    assert_eq!(
        opened["rsvp"]["response"], "maybe",
        "the answer stays with the guest"
    );
    assert_eq!(opened["token"]["status"], "used");
    app.rsvp(&new.token, json!({"response": "attending"}))
        .await
        .expect_status(200);
    let listed: Vec<LinkSummary> = app
        .get(&tokens_path(&guest))
        .as_host(&host)
        .await
        .expect_status(200)
        .parse();
    let statuses: Vec<(uuid::Uuid, LinkStatus)> = listed.iter().map(|l| (l.id, l.status)).collect();
    assert_eq!(
        statuses,
        [(new.id, LinkStatus::Used), (old.id, LinkStatus::Revoked)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn links_issued_at_the_same_time_leave_exactly_one_working() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    let guest = app.add_guest(&host, &event, json!({})).await;

    let mut race = tokio::task::JoinSet::new();
    for _ in 0..12 {
        race.spawn(std::future::IntoFuture::into_future(
            app.post(&tokens_path(&guest)).as_host(&host),
        ));
    }
    let mut links = Vec::new();
    while let Some(reply) = race.join_next().await {
        links.push(
            reply
                .expect("the request task finished")
                .expect_status(201)
                .parse::<IssuedLink>(),
        );
    }

    assert_eq!(
        app.count("SELECT count(*) FROM invitations WHERE revoked_at IS NULL")
            .await,
        1,
        "only the newest link may work"
    );
    let mut working = 0;
    for link in &links {
        let reply = app.open_link(&link.token).await;
        match reply.status {
            200 => working += 1,
            410 => assert_eq!(reply.code(), "link_revoked"),
            other => panic!("{other}: {}", reply.text),
        }
    }
    assert_eq!(working, 1);
}

#[tokio::test]
async fn a_live_link_gives_its_event_as_a_calendar_file_and_counts_no_opening() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"name": "Summer party, with cake"}))
        .await;
    let (guest, link) = app.invite(&host, &event, json!({})).await;

    let reply = app
        .get(&format!("/i/{}/calendar.ics", link.token))
        .await
        .expect_status(200);
    assert!(reply
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/calendar")));
    let ics = &reply.text;
    assert!(
        ics.contains("SUMMARY:Summer party\\, with cake\r\n"),
        "{ics}"
    );
    assert!(ics.contains("DTSTART:20310612T160000Z\r\n"), "{ics}");
    assert_eq!(
        app.count("SELECT count(*) FROM access_attempts").await,
        0,
        "downloading the file is not an opening"
    );

    app.revoke_link(&host, &guest, &link)
        .await
        .expect_status(204);
    app.get(&format!("/i/{}/calendar.ics", link.token))
        .await
        .expect_error(410, "link_revoked");
    app.get("/i/not-a-token/calendar.ics")
        .await
        .expect_error(400, "malformed_token");
}
