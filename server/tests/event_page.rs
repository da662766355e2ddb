//! The host's event page `/events/<id>`: rendered on the server for its owner (guests,
//! counts, answer badges, the filter of the query string), "not found" for anyone else,
//! and its server functions called over HTTP as the hydrated page calls them.

mod support;

use app::{
    error::AppError,
    events::Event,
    guests::{
        server_fns::{GuestTable, ImportMode, ImportOutcome},
        Guest,
    },
    invitations::{IssuedLink, LinkStatus},
};
use serde::de::DeserializeOwned;
use serde_json::json;
use support::api::{Call, Host, Reply, TestApi};
use uuid::Uuid;

// ----- helpers ------------------------------------------------------------------------

/// Percent-encodes a form field.
fn encode(value: &str) -> String {
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

/// Calls a server function as the hydrated page does: a form-encoded POST to
/// `/api/fn/<endpoint>` asking for JSON, with the host's session cookie and our own
/// `Origin`.
fn call(app: &TestApi, host: &Host, endpoint: &str, fields: &[(&str, &str)]) -> Call {
    let body = fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    app.post(&format!("/api/fn/{endpoint}"))
        .as_host(host)
        .header("accept", "application/json")
        .body("application/x-www-form-urlencoded", body.into_bytes())
}

/// The typed answer of a server function that succeeded.
#[track_caller]
fn ok<T: DeserializeOwned>(reply: Reply) -> T {
    reply.expect_status(200).parse()
}

/// The error of a server function that failed with `status`.
#[track_caller]
fn failed(reply: Reply, status: u16) -> AppError {
    reply.expect_status(status).parse()
}

/// The token at the end of a personal link `https://…/i/<token>`.
fn token_of(url: &str) -> &str {
    url.rsplit_once("/i/").map_or("", |(_, token)| token)
}

/// The event page as this host sees it: (status, HTML).
async fn page(app: &TestApi, host: &Host, path: &str) -> (u16, String) {
    let reply = app.get(path).as_host(host).await;
    (reply.status, reply.text)
}

/// How many guest rows the HTML shows.
fn rows(html: &str) -> usize {
    html.matches(r#"data-testid="guest-row""#).count()
}

/// The text right inside every element with this `data-testid`, in page order.
fn texts(html: &str, testid: &str) -> Vec<String> {
    let marker = format!(r#"data-testid="{testid}""#);
    html.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = &html[at..];
            let start = rest.find('>')? + 1;
            let end = rest[start..].find('<')?;
            Some(rest[start..start + end].to_owned())
        })
        .collect()
}

/// The opening tag of the (first) element with this `data-testid`.
#[track_caller]
fn opening_tag<'a>(html: &'a str, testid: &str) -> &'a str {
    let marker = format!(r#"data-testid="{testid}""#);
    let at = html.find(&marker).unwrap_or_else(|| panic!("no {testid}"));
    let start = html[..at].rfind('<').unwrap_or(at);
    let end = at + html[at..].find('>').unwrap_or(0);
    &html[start..=end]
}

/// The one text inside the element with this `data-testid`.
#[track_caller]
fn text(html: &str, testid: &str) -> String {
    let found = texts(html, testid);
    assert_eq!(found.len(), 1, "one {testid}: {found:?}");
    found.into_iter().next().unwrap_or_default()
}

/// A signed-up host with an event ("Summer party", 18:00 Paris time on Thu 12 Jun 2031)
/// and three guests: Ada (attending with one plus-one), Grace and Linus (no answer).
async fn party(app: &TestApi) -> (Host, Event, Vec<Guest>) {
    let host = app.signup("host@example.com").await;
    let event = app
        .create_event(
            &host,
            json!({"default_max_plus_ones": 2, "capacity": 80, "venue": "The Old Mill"}),
        )
        .await;
    let ada = app
        .add_guest(
            &host,
            &event,
            json!({"name": "Ada Lovelace", "email": "ada@example.com"}),
        )
        .await;
    let grace = app
        .add_guest(
            &host,
            &event,
            json!({"name": "Grace Hopper", "email": "grace@example.com"}),
        )
        .await;
    let linus = app.add_guest(&host, &event, json!({"name": "Linus"})).await;
    let link = app.issue_link(&host, &ada).await;
    app.rsvp(
        &link.token,
        json!({"response": "attending", "plus_ones": 1}),
    )
    .await
    .expect_status(201);
    (host, event, vec![ada, grace, linus])
}

// ----- the page -----------------------------------------------------------------------

#[tokio::test]
async fn the_owner_sees_the_event_its_guests_their_answers_and_the_counts() {
    let app = TestApi::spawn().await;
    let (host, event, _) = party(&app).await;

    let (status, html) = page(&app, &host, &format!("/events/{}", event.id)).await;

    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Summer party"), "{html}");
    assert!(
        html.contains("Thu 12 Jun 2031, 18:00"),
        "the date is in the event's time zone: {html}"
    );
    assert!(html.contains("The Old Mill"), "{html}");
    assert!(
        html.contains(&format!("/events/{}/edit", event.id)),
        "{html}"
    );
    assert_eq!(rows(&html), 3, "{html}");
    assert_eq!(
        texts(&html, "row-name"),
        ["Ada Lovelace", "Grace Hopper", "Linus"]
    );
    assert_eq!(text(&html, "count-attending"), "1");
    assert_eq!(text(&html, "count-pending"), "2");
    assert_eq!(text(&html, "count-declined"), "0");
    assert_eq!(text(&html, "count-maybe"), "0");
    assert_eq!(text(&html, "count-plus-ones"), "1");
    assert_eq!(
        texts(&html, "status-badge"),
        ["Attending", "Pending", "Pending"]
    );
    assert!(
        html.contains(&format!("/api/v1/events/{}/guests/export", event.id)),
        "the export is a plain link: {html}"
    );
}

#[tokio::test]
async fn the_filter_in_the_query_string_is_applied_when_rendering_on_the_server() {
    let app = TestApi::spawn().await;
    let (host, event, _) = party(&app).await;
    let path = format!("/events/{}", event.id);

    let (_, attending) = page(&app, &host, &format!("{path}?status=attending")).await;
    assert_eq!(texts(&attending, "row-name"), ["Ada Lovelace"]);
    assert!(
        opening_tag(&attending, "filter-attending").contains(r#"aria-current="true""#),
        "the active filter is marked: {attending}"
    );
    assert!(!opening_tag(&attending, "filter-all").contains("aria-current"));

    let (_, pending) = page(&app, &host, &format!("{path}?status=pending")).await;
    assert_eq!(texts(&pending, "row-name"), ["Grace Hopper", "Linus"]);

    let (_, searched) = page(&app, &host, &format!("{path}?search=grace")).await;
    assert_eq!(texts(&searched, "row-name"), ["Grace Hopper"]);
    // Counts always cover the whole list.
    assert_eq!(text(&searched, "count-pending"), "2");

    let (_, nobody) = page(&app, &host, &format!("{path}?status=declined")).await;
    assert_eq!(rows(&nobody), 0);
    assert!(nobody.contains("No guest matches this filter."), "{nobody}");
}

#[tokio::test]
async fn another_hosts_event_is_as_unknown_as_a_random_id() {
    let app = TestApi::spawn().await;
    let (_, event, _) = party(&app).await;
    let stranger = app.signup("stranger@example.com").await;

    for path in [
        format!("/events/{}", event.id),
        format!("/events/{}", Uuid::new_v4()),
        "/events/not-an-id".to_owned(),
    ] {
        let (status, html) = page(&app, &stranger, &path).await;
        assert_eq!(status, 404, "{path}: {html}");
        assert!(
            html.contains(r#"data-testid="not-found""#),
            "{path}: {html}"
        );
        assert!(!html.contains("Summer party"), "{path}: {html}");
        assert!(!html.contains("Ada Lovelace"), "{path}: {html}");
    }

    // Its server functions say the same.
    let error = failed(
        call(
            &app,
            &stranger,
            "guest_table",
            &[("event_id", &event.id.to_string())],
        )
        .await,
        404,
    );
    assert!(matches!(error, AppError::NotFound(_)), "{error:?}");
}

#[tokio::test]
async fn a_visitor_is_asked_to_log_in() {
    let app = TestApi::spawn().await;
    let (_, event, _) = party(&app).await;
    let reply = app.get(&format!("/events/{}", event.id)).await;
    assert!(
        reply.text.contains(r#"data-testid="login-required""#),
        "{}",
        reply.text
    );
    assert!(!reply.text.contains("Ada Lovelace"));
}

// ----- server functions ---------------------------------------------------------------

#[tokio::test]
async fn adding_a_guest_names_the_bad_field_and_needs_our_own_origin() {
    let app = TestApi::spawn().await;
    let (host, event, _) = party(&app).await;
    let event_id = event.id.to_string();

    let guest: Guest = ok(call(
        &app,
        &host,
        "add_guest",
        &[
            ("event_id", &event_id),
            ("name", "  Margaret Hamilton "),
            ("email", "Margaret@Example.com"),
            ("phone", ""),
            ("max_plus_ones", ""),
        ],
    )
    .await);
    assert_eq!(guest.name, "Margaret Hamilton");
    assert_eq!(guest.email.as_deref(), Some("margaret@example.com"));
    assert_eq!(guest.max_plus_ones, None, "blank: the event's default");
    assert_eq!(guest.allowed_plus_ones, 2);

    let error = failed(
        call(
            &app,
            &host,
            "add_guest",
            &[
                ("event_id", &event_id),
                ("name", "Someone"),
                ("email", "not-an-email"),
                ("phone", ""),
                ("max_plus_ones", "1"),
            ],
        )
        .await,
        422,
    );
    assert!(
        matches!(&error, AppError::Invalid { field: Some(field), .. } if field == "email"),
        "{error:?}"
    );

    let error = failed(
        call(
            &app,
            &host,
            "add_guest",
            &[
                ("event_id", &event_id),
                ("name", "Other"),
                ("email", "ada@example.com"),
                ("phone", ""),
                ("max_plus_ones", ""),
            ],
        )
        .await,
        409,
    );
    assert!(matches!(error, AppError::Conflict { .. }), "{error:?}");

    let cross_site = app
        .post("/api/fn/add_guest")
        .as_host(&host)
        .without_origin()
        .header("accept", "application/json")
        .body(
            "application/x-www-form-urlencoded",
            format!("event_id={event_id}&name=Mallory&email=&phone=&max_plus_ones=").into_bytes(),
        )
        .await;
    assert_eq!(cross_site.status, 403, "{}", cross_site.text);
    assert_eq!(
        app.count("SELECT count(*) FROM guests WHERE name = 'Mallory'")
            .await,
        0
    );

    let table: GuestTable = ok(call(&app, &host, "guest_table", &[("event_id", &event_id)]).await);
    assert_eq!(table.counts.total, 4);
    assert!(table
        .guests
        .iter()
        .any(|entry| entry.guest.name == "Margaret Hamilton"));
}

#[tokio::test]
async fn an_issued_link_opens_and_is_shown_again_until_it_is_rotated_or_revoked() {
    let app = TestApi::spawn().await;
    let (host, event, guests) = party(&app).await;
    let grace = &guests[1];
    let ids = [
        ("event_id", event.id.to_string()),
        ("guest_id", grace.id.to_string()),
    ];
    let ids: Vec<(&str, &str)> = ids.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let table_of = |table: &GuestTable| {
        table
            .guests
            .iter()
            .find(|entry| entry.guest.id == grace.id)
            .and_then(|entry| entry.link.clone())
    };
    let event_only = [("event_id", event.id.to_string())];
    let event_only: Vec<(&str, &str)> = event_only.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // Issue: the link opens, and the table shows the very same URL to copy.
    let first: IssuedLink = ok(call(&app, &host, "issue_guest_link", &ids).await);
    assert!(
        first.url.starts_with("https://guestguard.test/i/"),
        "{}",
        first.url
    );
    app.open_link(token_of(&first.url)).await.expect_status(200);
    let table: GuestTable = ok(call(&app, &host, "guest_table", &event_only).await);
    let shown = table_of(&table).expect("Grace has a link");
    assert_eq!(shown.status, LinkStatus::Active);
    assert_eq!(shown.url.as_deref(), Some(first.url.as_str()));

    // Rotate: a new link; the old one is withdrawn.
    let second: IssuedLink = ok(call(&app, &host, "issue_guest_link", &ids).await);
    assert_ne!(second.url, first.url);
    app.open_link(token_of(&first.url))
        .await
        .expect_error(410, "link_revoked");
    app.open_link(token_of(&second.url))
        .await
        .expect_status(200);
    let table: GuestTable = ok(call(&app, &host, "guest_table", &event_only).await);
    assert_eq!(
        table_of(&table).and_then(|link| link.url),
        Some(second.url.clone())
    );

    // Revoke: the link stops working and is not shown any more.
    let link_id = second.id.to_string();
    let mut revoke = ids.clone();
    revoke.push(("link_id", &link_id));
    call(&app, &host, "revoke_guest_link", &revoke)
        .await
        .expect_status(200);
    app.open_link(token_of(&second.url))
        .await
        .expect_error(410, "link_revoked");
    let table: GuestTable = ok(call(&app, &host, "guest_table", &event_only).await);
    let revoked = table_of(&table).expect("the revoked link is listed");
    assert_eq!(revoked.status, LinkStatus::Revoked);
    assert_eq!(revoked.url, None);

    // The page shows Ada's working link in a read-only field.
    let (_, html) = page(&app, &host, &format!("/events/{}", event.id)).await;
    assert_eq!(
        html.matches(r#"data-testid="link-input""#).count(),
        1,
        "{html}"
    );
    assert!(html.contains(r#"data-testid="copy-link""#));
    assert!(
        html.contains(r#"data-testid="issue-link""#),
        "Grace and Linus: {html}"
    );

    // Another host cannot issue links for these guests.
    let stranger = app.signup("stranger@example.com").await;
    let error = failed(call(&app, &stranger, "issue_guest_link", &ids).await, 404);
    assert!(matches!(error, AppError::NotFound(_)), "{error:?}");
}

#[tokio::test]
async fn a_csv_preview_lists_rows_and_errors_by_line_and_imports_nothing() {
    let app = TestApi::spawn().await;
    let (host, event, _) = party(&app).await;
    let event_id = event.id.to_string();
    let csv = "name,email,phone,max_plus_ones\n\
               Katherine Johnson,katherine@example.com,,1\n\
               ,nobody@example.com,,\n\
               Dorothy Vaughan,ada@example.com,,\n\
               Mary Jackson,,,30\n\
               Annie Easley,annie@example.com,+1 555 0100,\n";
    let import = |mode: ImportMode| {
        let mode = match mode {
            ImportMode::Preview => "preview",
            ImportMode::All => "all",
            ImportMode::ValidOnly => "valid_only",
        };
        call(
            &app,
            &host,
            "import_guests",
            &[("event_id", &event_id), ("csv", csv), ("mode", mode)],
        )
    };

    let preview: ImportOutcome = ok(import(ImportMode::Preview).await);
    assert_eq!(preview.imported, 0);
    let lines: Vec<usize> = preview.rows.iter().map(|row| row.line).collect();
    assert_eq!(lines, [2, 6]);
    assert_eq!(preview.rows[0].name, "Katherine Johnson");
    assert_eq!(preview.rows[0].max_plus_ones, Some(1));
    let errors: Vec<(usize, Option<&str>)> = preview
        .errors
        .iter()
        .map(|error| (error.line, error.column.as_deref()))
        .collect();
    assert_eq!(
        errors,
        [
            (3, Some("name")),
            (4, Some("email")),
            (5, Some("max_plus_ones"))
        ]
    );
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 3);

    // "Import all" refuses a file with problems.
    let refused: ImportOutcome = ok(import(ImportMode::All).await);
    assert_eq!(refused.imported, 0);
    assert_eq!(refused.errors.len(), 3);
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 3);

    // "Import the valid rows only" adds the two good ones.
    let imported: ImportOutcome = ok(import(ImportMode::ValidOnly).await);
    assert_eq!(imported.imported, 2);
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 5);

    // A file that is not a guest list at all is one problem on line 0.
    let rejected: ImportOutcome = ok(call(
        &app,
        &host,
        "import_guests",
        &[
            ("event_id", &event_id),
            ("csv", "first;second\n1;2\n"),
            ("mode", "preview"),
        ],
    )
    .await);
    assert_eq!(rejected.rows.len(), 0);
    assert_eq!(rejected.errors.len(), 1);
    assert_eq!(rejected.errors[0].line, 0);
}

#[tokio::test]
async fn editing_and_removing_a_guest_change_the_table() {
    let app = TestApi::spawn().await;
    let (host, event, guests) = party(&app).await;
    let event_id = event.id.to_string();
    let linus_id = guests[2].id.to_string();

    let edited: Guest = ok(call(
        &app,
        &host,
        "edit_guest",
        &[
            ("event_id", &event_id),
            ("guest_id", &linus_id),
            ("name", "Linus Torvalds"),
            ("email", "linus@example.com"),
            ("phone", "+358 40 123 4567"),
            ("max_plus_ones", "0"),
        ],
    )
    .await);
    assert_eq!(edited.name, "Linus Torvalds");
    assert_eq!(edited.max_plus_ones, Some(0));

    let error = failed(
        call(
            &app,
            &host,
            "edit_guest",
            &[
                ("event_id", &event_id),
                ("guest_id", &linus_id),
                ("name", ""),
                ("email", ""),
                ("phone", ""),
                ("max_plus_ones", ""),
            ],
        )
        .await,
        422,
    );
    assert!(
        matches!(&error, AppError::Invalid { field: Some(field), .. } if field == "name"),
        "{error:?}"
    );

    call(
        &app,
        &host,
        "remove_guest",
        &[("event_id", &event_id), ("guest_id", &linus_id)],
    )
    .await
    .expect_status(200);
    let table: GuestTable = ok(call(&app, &host, "guest_table", &[("event_id", &event_id)]).await);
    assert_eq!(table.counts.total, 2);
    assert!(table
        .guests
        .iter()
        .all(|entry| entry.guest.id != guests[2].id));
    let again = failed(
        call(
            &app,
            &host,
            "remove_guest",
            &[("event_id", &event_id), ("guest_id", &linus_id)],
        )
        .await,
        404,
    );
    assert!(matches!(again, AppError::NotFound(_)), "{again:?}");
}

#[tokio::test]
async fn the_access_log_shows_every_attempt_with_its_verdict_newest_first() {
    let app = TestApi::spawn().await;
    let (host, event, guests) = party(&app).await;
    // A script answers Grace's invitation: refused for its score.
    let link = app.issue_link(&host, &guests[1]).await;
    app.rsvp(&link.token, json!({"response": "attending"}))
        .header("user-agent", "python-requests/2.32")
        .await
        .expect_error(403, "rsvp_refused");

    let (status, html) = page(&app, &host, &format!("/events/{}", event.id)).await;

    assert_eq!(status, 200);
    assert_eq!(
        texts(&html, "access-guest"),
        ["Grace Hopper", "Ada Lovelace"]
    );
    assert_eq!(texts(&html, "access-what"), ["Answer refused", "Answered"]);
    let verdicts = texts(&html, "access-verdict");
    assert!(verdicts[0].starts_with("Blocked · "), "{verdicts:?}");
    assert!(
        verdicts[1].starts_with("Verified · ") || verdicts[1].starts_with("Review · "),
        "a browser answering without signals is at most to review: {verdicts:?}"
    );
    assert!(texts(&html, "access-reasons")[0].contains("automation user agent"));

    // The hydrated page asks for the flagged ones only.
    let event_id = event.id.to_string();
    let flagged: Vec<serde_json::Value> = ok(call(
        &app,
        &host,
        "access_log",
        &[("event_id", &event_id), ("flagged_only", "true")],
    )
    .await);
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0]["access"]["guest_name"], "Grace Hopper");
    assert_eq!(flagged[0]["access"]["blocked"], true);
}
