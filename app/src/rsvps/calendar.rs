//! "Add to calendar" for a guest: `GET /i/{token}/calendar.ics` answers the event as an
//! iCalendar file (RFC 5545, `text/calendar`) for a live link, and the same answers as
//! the invitation page for one that is not (400 malformed, 404 unknown, 410 revoked or
//! expired). It does not count as an opening of the link, and says nothing about the
//! fraud checks.

use crate::{
    access::EventView, edge::client::ClientIp, error::AppError, invitations::resolve,
    rest::ApiPath, state::AppState,
};
use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};

/// `GET /i/{token}/calendar.ics` → 200 `text/calendar`.
pub async fn download(
    State(state): State<AppState>,
    client: ClientIp,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, AppError> {
    crate::access::rest::limit(&state, client).await?;
    let invitation = resolve::live_invitation(&state, &token).await?;
    let (_, event) = crate::access::store::guest_and_event(&state.pool, &invitation).await?;
    let body = ics(&event, invitation.guest_id, Utc::now());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"invitation.ics\""),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}

/// The iCalendar text of one guest's copy of `event`, stamped `now`.
pub fn ics(event: &EventView, guest_id: uuid::Uuid, now: DateTime<Utc>) -> String {
    let stamp = |at: DateTime<Utc>| at.format("%Y%m%dT%H%M%SZ").to_string();
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//GuestGuard//Invitations//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}-{}@guestguard", event.id.simple(), guest_id.simple()),
        format!("DTSTAMP:{}", stamp(now)),
        format!("DTSTART:{}", stamp(event.event_date)),
        format!("SUMMARY:{}", text(&event.name)),
    ];
    if !event.venue.is_empty() {
        lines.push(format!("LOCATION:{}", text(&event.venue)));
    }
    if !event.description.is_empty() {
        lines.push(format!("DESCRIPTION:{}", text(&event.description)));
    }
    lines.extend(["END:VEVENT".to_owned(), "END:VCALENDAR".to_owned()]);
    lines
        .iter()
        .map(|line| fold(line))
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

/// A TEXT value escaped (backslash, semicolon, comma, line breaks; other control
/// characters dropped).
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line folded at 75 octets (a CRLF and a space before each continuation),
/// never inside a character.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3);
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(description: &str) -> EventView {
        EventView {
            id: uuid::Uuid::nil(),
            name: "Garden party; with friends, and cake".into(),
            event_date: DateTime::parse_from_rfc3339("2027-06-12T16:00:00Z")
                .expect("date")
                .with_timezone(&Utc),
            time_zone: "Europe/Paris".into(),
            venue: "The Orchard".into(),
            description: description.into(),
            rsvp_deadline: None,
        }
    }

    #[test]
    fn the_calendar_file_has_the_event_in_utc_with_escaped_text() {
        let now = DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
            .expect("now")
            .with_timezone(&Utc);
        let ics = ics(&event("Bring\na chair"), uuid::Uuid::nil(), now);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.contains("\r\nDTSTART:20270612T160000Z\r\n"), "{ics}");
        assert!(ics.contains("\r\nSUMMARY:Garden party\\; with friends\\, and cake\r\n"));
        assert!(ics.contains("\r\nDESCRIPTION:Bring\\na chair\r\n"));
        assert!(ics.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let long = "é".repeat(100);
        let ics = ics(&event(&long), uuid::Uuid::nil(), Utc::now());
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("DESCRIPTION:{long}")));
    }
}
