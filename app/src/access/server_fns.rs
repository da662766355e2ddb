//! Server-function transport of link openings, for the guest's page `/i/<token>`: the
//! page's server-side render calls [`open_invitation`] once, which resolves the token,
//! records the access attempt and gathers what the page shows, through the same code as
//! `GET /api/v1/access/{token}` ([`super::rest::open_link`]).

use super::{LoggedAccess, OpenedInvitation};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Opens an invitation link: resolves the token (format, then signature, then state),
/// records the access attempt with this request's IP, user agent and language, and
/// returns what the guest's page shows. A failure also sets the response's status (400,
/// 404, 410, 429), so the page rendering it answers with that status.
#[server(prefix = "/api/fn", endpoint = "open_invitation")]
pub async fn open_invitation(token: String) -> Result<OpenedInvitation, AppError> {
    let opened = ssr::open(&token).await;
    if let Err(error) = &opened {
        crate::server_fns::set_status(error);
    }
    opened
}

/// One line of the access log on the host's event page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLogLine {
    pub access: LoggedAccess,
    /// When, in the event's time zone, e.g. `Sat 12 Jun 2027, 18:00`.
    pub accessed_at_local: String,
}

/// The newest 50 access attempts of one of the host's events (only the flagged ones
/// when `flagged_only`), for the event page.
#[server(prefix = "/api/fn", endpoint = "access_log")]
pub async fn get_access_log(
    event_id: Uuid,
    flagged_only: bool,
) -> Result<Vec<AccessLogLine>, AppError> {
    crate::server_fns::answer(async move {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let event = crate::events::store::get(&state.pool, host.id, event_id).await?;
        let filter = super::store::LogFilter {
            guest: None,
            flagged: flagged_only,
            limit: 50,
        };
        let log = super::store::log(&state.pool, &event, filter).await?;
        Ok(log
            .into_iter()
            .map(|access| AccessLogLine {
                accessed_at_local: crate::guests::server_fns::ssr::local_time(
                    access.accessed_at,
                    &event.time_zone,
                ),
                access,
            })
            .collect())
    })
    .await
}

/// Server-side helpers shared by the guest's server functions.
#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::OpenedInvitation;
    use crate::{
        access::rest::{facts, limit, open_link},
        edge::client::ClientIp,
        error::AppError,
        state::AppState,
    };
    use axum::http::request::Parts;
    use chrono::{DateTime, Utc};

    /// The application state, the request and its client address, for the server
    /// function being run (or the page being rendered).
    pub(crate) fn request() -> Result<(AppState, Parts, ClientIp), AppError> {
        let (state, parts) = crate::server_fns::request()?;
        let client = ClientIp::of(&parts);
        Ok((state, parts, client))
    }

    /// Opens the link for the current request.
    pub(crate) async fn open(token: &str) -> Result<OpenedInvitation, AppError> {
        let (state, parts, client) = request()?;
        limit(&state, client).await?;
        let access = open_link(&state, token, &facts(client, &parts.headers)).await?;
        let event = &access.event;
        Ok(OpenedInvitation {
            starts_at_local: local_time(event.event_date, &event.time_zone),
            rsvp_deadline_local: event
                .rsvp_deadline
                .map(|deadline| local_time(deadline, &event.time_zone)),
            accepts_answers: event.accepts_answers(Utc::now()),
            access,
        })
    }

    /// `at` written in the IANA time zone `time_zone` (UTC when the zone is unknown),
    /// naming the zone: `Saturday 12 June 2027 at 18:00 (Europe/Paris)`.
    pub(crate) fn local_time(at: DateTime<Utc>, time_zone: &str) -> String {
        const FORMAT: &str = "%A %-d %B %Y at %H:%M";
        match time_zone.parse::<chrono_tz::Tz>() {
            Ok(zone) => format!("{} ({})", at.with_timezone(&zone).format(FORMAT), zone),
            Err(_) => format!("{} (UTC)", at.format(FORMAT)),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::local_time;
        use chrono::{TimeZone, Utc};

        #[test]
        fn times_are_written_in_the_events_time_zone() {
            let at = Utc
                .with_ymd_and_hms(2027, 6, 12, 16, 0, 0)
                .single()
                .expect("valid date");
            assert_eq!(
                local_time(at, "Europe/Paris"),
                "Saturday 12 June 2027 at 18:00 (Europe/Paris)"
            );
            assert_eq!(
                local_time(at, "UTC"),
                "Saturday 12 June 2027 at 16:00 (UTC)"
            );
        }

        #[test]
        fn an_unknown_time_zone_falls_back_to_utc() {
            let at = Utc
                .with_ymd_and_hms(2027, 1, 3, 9, 5, 0)
                .single()
                .expect("valid date");
            assert_eq!(
                local_time(at, "Mars/Olympus"),
                "Sunday 3 January 2027 at 09:05 (UTC)"
            );
        }
    }
}
