//! CSV import (all or nothing by default, `valid_only`, `dry_run`, errors with their
//! line numbers) and CSV export with every guest's answer.

use crate::support::api::TestApi;
use app::guests::ImportReport;
use serde_json::json;

const GOOD_FILE: &str = "\u{feff}Name,Email,Phone,Max Plus Ones\r\n\
Grace Hopper,grace@example.com,+1 555 0100,2\r\n\
\r\n\
\"Turing, Alan\",alan@example.com,,\r\n\
Linus Torvalds,,,0\r\n";

/// Lines 3 and 5 are wrong (bad email; duplicate email of line 2), line 6 has no name.
const FILE_WITH_ERRORS: &str = "name,email,max_plus_ones\n\
Grace Hopper,grace@example.com,1\n\
Alan Turing,not-an-email,0\n\
Linus Torvalds,linus@example.com,\n\
Copy Cat,GRACE@example.com,0\n\
,nobody@example.com,0\n";

fn lines_of(report: &ImportReport) -> Vec<(usize, Option<String>)> {
    report
        .errors
        .iter()
        .map(|error| (error.line, error.column.clone()))
        .collect()
}

#[tokio::test]
async fn a_file_with_a_header_imports_every_row() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"default_max_plus_ones": 1}))
        .await;

    let report: ImportReport = app
        .import_csv(&host, &event, "", GOOD_FILE)
        .await
        .expect_status(200)
        .parse();

    assert_eq!(report.imported, 3);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let list = app.guest_list(&host, &event, "").await;
    let rows: Vec<_> = list
        .guests
        .iter()
        .map(|g| {
            (
                g.name.as_str(),
                g.email.as_deref(),
                g.phone.as_deref(),
                g.allowed_plus_ones,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "Grace Hopper",
                Some("grace@example.com"),
                Some("+1 555 0100"),
                2
            ),
            ("Linus Torvalds", None, None, 0),
            ("Turing, Alan", Some("alan@example.com"), None, 1),
        ]
    );
}

#[tokio::test]
async fn a_file_with_errors_imports_nothing_and_reports_each_error_with_its_line() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;

    let report: ImportReport = app
        .import_csv(&host, &event, "", FILE_WITH_ERRORS)
        .await
        .expect_status(422)
        .parse();

    assert_eq!(report.imported, 0);
    assert_eq!(
        lines_of(&report),
        [
            (3, Some("email".to_owned())),
            (5, Some("email".to_owned())),
            (6, Some("name".to_owned())),
        ]
    );
    assert!(report.errors.iter().all(|e| !e.message.is_empty()));
    assert!(
        report.errors[1].message.contains("line 2"),
        "{:?}",
        report.errors[1]
    );
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 0);
}

#[tokio::test]
async fn valid_only_imports_the_valid_rows_and_reports_the_others() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;

    let report: ImportReport = app
        .import_csv(&host, &event, "valid_only=true", FILE_WITH_ERRORS)
        .await
        .expect_status(200)
        .parse();

    assert_eq!(report.imported, 2);
    assert_eq!(
        lines_of(&report)
            .iter()
            .map(|(line, _)| *line)
            .collect::<Vec<_>>(),
        [3, 5, 6]
    );
    let names: Vec<String> = app
        .guest_list(&host, &event, "")
        .await
        .guests
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["Grace Hopper", "Linus Torvalds"]);
}

#[tokio::test]
async fn a_dry_run_checks_the_file_and_imports_nothing() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;

    let clean: ImportReport = app
        .import_csv(&host, &event, "dry_run=true", GOOD_FILE)
        .await
        .expect_status(200)
        .parse();
    assert_eq!((clean.imported, clean.errors.len()), (0, 0));

    let checked: ImportReport = app
        .import_csv(
            &host,
            &event,
            "dry_run=true&valid_only=true",
            FILE_WITH_ERRORS,
        )
        .await
        .expect_status(200)
        .parse();
    assert_eq!(checked.imported, 0);
    assert_eq!(checked.errors.len(), 3);

    let blocked = app
        .import_csv(&host, &event, "dry_run=true", FILE_WITH_ERRORS)
        .await;
    assert_eq!(blocked.status, 422, "{}", blocked.text);
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 0);
}

#[tokio::test]
async fn a_row_whose_email_is_already_on_the_list_is_an_error() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;
    app.add_guest(
        &host,
        &event,
        json!({"name": "Grace", "email": "grace@example.com"}),
    )
    .await;

    let report: ImportReport = app
        .import_csv(
            &host,
            &event,
            "",
            "name,email\nAlan,alan@example.com\nG,Grace@Example.com\n",
        )
        .await
        .expect_status(422)
        .parse();

    assert_eq!(lines_of(&report), [(3, Some("email".to_owned()))]);
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 1);
}

#[tokio::test]
async fn a_file_that_is_not_a_guest_list_is_one_error_on_line_0() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app.create_event(&host, json!({})).await;

    for file in [
        "".as_bytes().to_vec(),
        b"email,phone\nx@example.com,123\n".to_vec(),
        b"colour,size\nred,big\n".to_vec(),
        vec![0xff, 0xfe, b'n', 0, b'a', 0],
    ] {
        let reply = app
            .post(&format!("/api/v1/events/{}/guests/import", event.id))
            .as_host(&host)
            .body("text/csv", file.clone())
            .await
            .expect_status(422);
        let report: ImportReport = reply.parse();
        assert_eq!(report.imported, 0);
        assert_eq!(report.errors.len(), 1, "{}", reply.text);
        assert_eq!(report.errors[0].line, 0, "{}", reply.text);
    }
    assert_eq!(app.count("SELECT count(*) FROM guests").await, 0);
}

#[tokio::test]
async fn the_export_is_a_csv_file_with_every_guests_answer() {
    let app = TestApi::spawn().await;
    let host = app.signup("ada@example.com").await;
    let event = app
        .create_event(&host, json!({"slug": "summer", "default_max_plus_ones": 2}))
        .await;
    let (_, grace) = app
        .invite(
            &host,
            &event,
            json!({"name": "Grace Hopper", "email": "grace@example.com"}),
        )
        .await;
    let (_, linus) = app
        .invite(
            &host,
            &event,
            json!({"name": "Linus", "phone": "+1 555 0100"}),
        )
        .await;
    app.add_guest(&host, &event, json!({"name": "=HYPERLINK(\"evil\")"}))
        .await;
    app.rsvp(
        &grace.token,
        json!({"response": "attending", "plus_ones": 2}),
    )
    .await
    .expect_status(201);
    app.rsvp(&linus.token, json!({"response": "declined"}))
        .await
        .expect_status(201);

    let reply = app.export_csv(&host, &event).await.expect_status(200);

    assert!(
        reply
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/csv")),
        "{:?}",
        reply.header("content-type")
    );
    assert_eq!(
        reply.header("content-disposition").as_deref(),
        Some("attachment; filename=\"summer-guests.csv\"")
    );
    let lines: Vec<&str> = reply.text.lines().collect();
    assert_eq!(
        lines[0],
        "name,email,phone,max_plus_ones,status,plus_ones,responded_at"
    );
    assert_eq!(lines.len(), 4, "{}", reply.text);
    let row = |name: &str| {
        lines
            .iter()
            .find(|line| line.contains(name))
            .unwrap_or_else(|| panic!("{name} in {}", reply.text))
            .split(',')
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let grace_row = row("Grace Hopper");
    assert_eq!(
        &grace_row[..6],
        [
            "Grace Hopper",
            "grace@example.com",
            "",
            "2",
            "attending",
            "2"
        ]
    );
    assert!(grace_row[6].ends_with('Z'), "{grace_row:?}");
    let linus_row = row("Linus");
    assert_eq!(
        &linus_row[..6],
        ["Linus", "", "'+1 555 0100", "2", "declined", "0"]
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("\"'=HYPERLINK") && line.contains(",pending,0,")),
        "formulas are neutralised: {}",
        reply.text
    );

    // A file exported from GuestGuard imports again as it is.
    let other = app.create_event(&host, json!({})).await;
    let report: ImportReport = app
        .import_csv(&host, &other, "", &reply.text)
        .await
        .expect_status(200)
        .parse();
    assert_eq!(report.imported, 3);
    let phones: Vec<Option<String>> = app
        .guest_list(&host, &other, "search=linus")
        .await
        .guests
        .into_iter()
        .map(|g| g.phone)
        .collect();
    assert_eq!(phones, [Some("+1 555 0100".to_owned())]);
}
