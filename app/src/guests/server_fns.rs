//! Server functions of the host's event page (`/events/:id`): the event's header, the
//! guest table with counts and each guest's link, adding, editing and removing guests,
//! and CSV import with a preview.
//!
//! They call the same store code as the REST routes in [`super::rest`], for the
//! signed-in host of the request; another host's event is "not found" like a random id.

use super::{Guest, GuestCounts, ImportError};
#[cfg(feature = "ssr")]
use crate::server_fns::answer;
use crate::{error::AppError, events::Event, invitations::GuestLink};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The event as the page's header shows it, with its times written out in the event's
/// own time zone (the browser has no time zone database).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventOverview {
    pub event: Event,
    /// When the event starts, in its time zone, e.g. `Sat 12 Jun 2027, 18:00`.
    pub starts_at_local: String,
    /// The RSVP deadline in the event's time zone, if there is one.
    pub rsvp_deadline_local: Option<String>,
}

/// One line of the guest table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestEntry {
    pub guest: Guest,
    /// When the guest answered, in the event's time zone.
    pub responded_at_local: Option<String>,
    /// The guest's newest link, if one was ever issued.
    pub link: Option<GuestLink>,
    /// When that link expires, in the event's time zone.
    pub link_expires_local: Option<String>,
}

/// The guest table: the guests that match the filter, and counts over the whole list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestTable {
    pub guests: Vec<GuestEntry>,
    pub counts: GuestCounts,
}

/// What an import request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Only check the file and show what would happen.
    Preview,
    /// Add every row, or none when any row has a problem.
    All,
    /// Add the rows without problems and skip the others.
    ValidOnly,
}

/// A row of an imported file that can be added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRow {
    /// 1-based line in the file (the header is line 1).
    pub line: usize,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The guest's own plus-one limit; `None`: the event's default.
    pub max_plus_ones: Option<u8>,
}

/// The answer of an import request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportOutcome {
    /// What was asked.
    pub mode: ImportMode,
    /// Rows that can be added (a preview) or were added (an import).
    pub rows: Vec<ImportRow>,
    /// Problems, by line; line 0 is a problem with the whole file.
    pub errors: Vec<ImportError>,
    /// Guests added: 0 for a preview, and for a full import of a file with problems.
    pub imported: usize,
}

/// The header of the event page.
#[server(prefix = "/api/fn", endpoint = "event_page_overview")]
pub async fn get_event_overview(event_id: Uuid) -> Result<EventOverview, AppError> {
    answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let event = crate::events::store::get(&state.pool, host.id, event_id).await?;
        Ok(ssr::overview(event))
    })
    .await
}

/// The guest table of one of the host's events, filtered by status (`attending`,
/// `declined`, `maybe`, `pending`; empty: all) and by a search in name, email and phone.
#[server(prefix = "/api/fn", endpoint = "guest_table")]
pub async fn get_guest_table(
    event_id: Uuid,
    status: Option<String>,
    search: Option<String>,
) -> Result<GuestTable, AppError> {
    answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let (status, search) = super::rest::list_filter(status.as_deref(), search.as_deref())?;
        let event = crate::events::store::get(&state.pool, host.id, event_id).await?;
        let list = super::store::list(&state.pool, &event, status, search).await?;
        let mut links =
            crate::invitations::server_fns::ssr::links_by_guest(&state, host.id, event_id).await?;
        let guests = list
            .guests
            .into_iter()
            .map(|guest| {
                let link = links.remove(&guest.id);
                GuestEntry {
                    responded_at_local: guest
                        .responded_at
                        .map(|at| ssr::local_time(at, &event.time_zone)),
                    link_expires_local: link
                        .as_ref()
                        .map(|link| ssr::local_time(link.expires_at, &event.time_zone)),
                    link,
                    guest,
                }
            })
            .collect();
        Ok(GuestTable {
            guests,
            counts: list.counts,
        })
    })
    .await
}

/// Adds a guest. Blank email, phone and plus-ones mean "not given" (the event's default
/// number of plus-ones applies). A bad field fails with its name.
#[server(prefix = "/api/fn", endpoint = "add_guest")]
pub async fn add_guest(
    event_id: Uuid,
    name: String,
    email: String,
    phone: String,
    max_plus_ones: String,
) -> Result<Guest, AppError> {
    answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let draft = ssr::draft(&name, &email, &phone, &max_plus_ones)?;
        let guest = super::store::insert(&state.pool, host.id, event_id, &draft).await?;
        tracing::info!(%event_id, guest_id = %guest.id, "guest added");
        Ok(guest)
    })
    .await
}

/// Replaces a guest's fields (blank optional fields are cleared).
#[server(prefix = "/api/fn", endpoint = "edit_guest")]
pub async fn edit_guest(
    event_id: Uuid,
    guest_id: Uuid,
    name: String,
    email: String,
    phone: String,
    max_plus_ones: String,
) -> Result<Guest, AppError> {
    answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let draft = ssr::draft(&name, &email, &phone, &max_plus_ones)?;
        super::store::update(&state.pool, host.id, event_id, guest_id, &draft).await
    })
    .await
}

/// Removes a guest with their links and answer.
#[server(prefix = "/api/fn", endpoint = "remove_guest")]
pub async fn remove_guest(event_id: Uuid, guest_id: Uuid) -> Result<(), AppError> {
    answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::store::delete(&state.pool, host.id, event_id, guest_id).await?;
        tracing::info!(%event_id, %guest_id, "guest removed");
        Ok(())
    })
    .await
}

/// Checks (and, unless `mode` is a preview, imports) a CSV guest list; see
/// [`super::csv`] for the format.
#[server(prefix = "/api/fn", endpoint = "import_guests")]
pub async fn import_guests(
    event_id: Uuid,
    csv: String,
    mode: ImportMode,
) -> Result<ImportOutcome, AppError> {
    answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let checked = super::import::check(&state.pool, host.id, event_id, csv.as_bytes()).await?;
        let rows: Vec<ImportRow> = checked.rows.iter().map(ssr::import_row).collect();
        let write = match mode {
            ImportMode::Preview => false,
            ImportMode::All => checked.is_clean(),
            ImportMode::ValidOnly => !checked.file_rejected,
        };
        let imported = if write && !checked.rows.is_empty() {
            let drafts: Vec<_> = checked.rows.into_iter().map(|row| row.guest).collect();
            super::store::insert_many(&state.pool, host.id, event_id, &drafts).await?
        } else {
            0
        };
        if imported > 0 {
            tracing::info!(%event_id, imported, "guests imported");
        }
        Ok(ImportOutcome {
            mode,
            rows,
            errors: checked.errors,
            imported,
        })
    })
    .await
}

/// Server-only helpers of these functions.
#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::{EventOverview, ImportRow};
    use crate::{
        error::AppError,
        events::Event,
        guests::{csv::CsvRow, fields::GuestDraft},
    };
    use chrono::{DateTime, Utc};

    /// `at` written out in `time_zone` (UTC, said so, when the zone is unknown).
    pub fn local_time(at: DateTime<Utc>, time_zone: &str) -> String {
        const FORMAT: &str = "%a %-d %b %Y, %H:%M";
        match time_zone.parse::<chrono_tz::Tz>() {
            Ok(zone) => at.with_timezone(&zone).format(FORMAT).to_string(),
            Err(_) => format!("{} UTC", at.format(FORMAT)),
        }
    }

    /// The header of an event.
    pub fn overview(event: Event) -> EventOverview {
        EventOverview {
            starts_at_local: local_time(event.event_date, &event.time_zone),
            rsvp_deadline_local: event
                .rsvp_deadline
                .map(|at| local_time(at, &event.time_zone)),
            event,
        }
    }

    /// A guest typed into a form; the first bad field is the error.
    pub fn draft(
        name: &str,
        email: &str,
        phone: &str,
        max_plus_ones: &str,
    ) -> Result<GuestDraft, AppError> {
        GuestDraft::parse(name, email, phone, max_plus_ones).map_err(|errors| {
            errors
                .into_iter()
                .next()
                .map_or(AppError::Internal, AppError::from)
        })
    }

    /// A checked CSV row as the preview shows it.
    pub fn import_row(row: &CsvRow) -> ImportRow {
        ImportRow {
            line: row.line,
            name: row.guest.name.as_str().to_owned(),
            email: row.guest.email.as_ref().map(|e| e.as_str().to_owned()),
            phone: row.guest.phone.as_ref().map(|p| p.as_str().to_owned()),
            max_plus_ones: row.guest.max_plus_ones.map(|n| n.get()),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use chrono::TimeZone as _;

        #[test]
        fn times_are_written_in_the_event_time_zone() {
            let at = Utc
                .with_ymd_and_hms(2027, 6, 12, 16, 0, 0)
                .single()
                .expect("valid time");
            assert_eq!(local_time(at, "Europe/Paris"), "Sat 12 Jun 2027, 18:00");
            assert_eq!(local_time(at, "UTC"), "Sat 12 Jun 2027, 16:00");
            assert_eq!(local_time(at, "Not/AZone"), "Sat 12 Jun 2027, 16:00 UTC");
        }

        #[test]
        fn a_form_draft_fails_with_the_first_bad_field() {
            let error = draft("", "nope", "", "").expect_err("invalid");
            assert!(
                matches!(&error, AppError::Invalid { field: Some(f), .. } if f == "name"),
                "{error:?}"
            );
            let error = draft("Ada", "", "", "99").expect_err("invalid");
            assert!(
                matches!(&error, AppError::Invalid { field: Some(f), .. } if f == "max_plus_ones"),
                "{error:?}"
            );
            let ok = draft("Ada", "", "", "").expect("valid");
            assert_eq!(ok.max_plus_ones, None);
        }
    }
}
