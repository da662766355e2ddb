//! Server functions of the host's event pages: the list, and creating, editing and
//! deleting an event. Writes run the same validation and storage as the REST routes
//! (`rest::create_event`, `rest::update_event`); only the transport differs. The form
//! posts plain text (a local date and time in the event's time zone, empty optional
//! numbers), which is turned into the REST input here.
//!
//! Every function starts with `require_host()`: all queries are scoped to the signed-in
//! host, so another host's event is "not found" exactly like a random id.

use super::Event;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One row of the host's event list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventListItem {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub venue: String,
    /// When it starts, in the event's own time zone, e.g. `Sat 12 Jun 2027, 18:00`.
    pub starts: String,
    /// IANA name of the event's time zone.
    pub time_zone: String,
    pub capacity: Option<i32>,
    /// Guests on the list.
    pub guests: i64,
    /// Guests who answered "attending".
    pub attending: i64,
}

/// The event form's fields as the form shows and posts them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFormValues {
    pub name: String,
    pub slug: String,
    /// Local date and time in `time_zone`, `YYYY-MM-DDTHH:MM` (a `datetime-local` value).
    pub event_date: String,
    pub time_zone: String,
    pub venue: String,
    pub description: String,
    /// Empty for "no limit".
    pub capacity: String,
    /// Local date and time in `time_zone`; empty for "no deadline".
    pub rsvp_deadline: String,
    pub default_max_plus_ones: String,
    /// `accept`, `hold` or `refuse` (answers the fraud engine could not check).
    pub fraud_on_unavailable: String,
    /// `relaxed`, `standard` or `strict`.
    pub fraud_sensitivity: String,
    /// Score and show, never refuse.
    pub fraud_shadow: bool,
    /// Language of guests' emails (`en`, `fr`, `es`, `de`; empty: English).
    #[serde(default)]
    pub language: String,
    /// Hours before the deadline to remind guests who have not answered; empty: none.
    #[serde(default)]
    pub reminder_hours: String,
}

/// Time zones offered in the form's suggestion list (any IANA name is accepted).
pub const COMMON_TIME_ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Brussels",
    "Europe/Zurich",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Istanbul",
    "Europe/Kyiv",
    "Africa/Cairo",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Hong_Kong",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/St_Johns",
    "America/Halifax",
    "America/New_York",
    "America/Toronto",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Mexico_City",
    "America/Bogota",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
];

/// A slug suggested from an event name: lowercase ASCII letters and digits joined by
/// single dashes, at most 60 characters (common accented letters lose their accent).
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    let mut dash = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = fold_accent(c);
        if c.is_ascii_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            slug.push(c);
        } else {
            dash = true;
        }
        if slug.len() >= 60 {
            break;
        }
    }
    slug.truncate(60);
    slug.trim_end_matches('-').to_owned()
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' | 'ń' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' => 'u',
        'ý' | 'ÿ' => 'y',
        'ß' => 's',
        'ł' => 'l',
        'ś' | 'š' => 's',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

/// The host's events, soonest first, with their guest counts.
#[server(prefix = "/api/fn", endpoint = "events/list")]
pub async fn list_events() -> Result<Vec<EventListItem>, AppError> {
    answer(async {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let events = super::store::list(&state.pool, host.id).await?;
        let counts = super::store::guest_counts(&state.pool, host.id).await?;
        Ok(events
            .into_iter()
            .map(|event| {
                let (guests, attending) = counts
                    .iter()
                    .find(|(id, _, _)| *id == event.id)
                    .map(|(_, guests, attending)| (*guests, *attending))
                    .unwrap_or((0, 0));
                EventListItem {
                    starts: ssr::starts_display(&event),
                    id: event.id,
                    name: event.name,
                    slug: event.slug,
                    venue: event.venue,
                    time_zone: event.time_zone,
                    capacity: event.capacity,
                    guests,
                    attending,
                }
            })
            .collect())
    })
    .await
}

/// One of the host's events, as the edit form shows it.
#[server(prefix = "/api/fn", endpoint = "events/form")]
pub async fn event_form(id: Uuid) -> Result<EventFormValues, AppError> {
    answer(async {
        let (host, state) = crate::hosts::auth::require_host().await?;
        let event = super::store::get(&state.pool, host.id, id).await?;
        Ok(ssr::form_values(&event))
    })
    .await
}

pub use writes::{add_event, save_event, AddEvent, SaveEvent};

/// The form posts (one argument per form field, so a plain HTML form can send them).
#[expect(clippy::too_many_arguments, reason = "one argument per form field")]
mod writes {
    use super::*;

    /// Creates an event and goes to its page. An empty slug is made from the name.
    #[server(prefix = "/api/fn", endpoint = "events/create")]
    pub async fn add_event(
        name: String,
        slug: String,
        event_date: String,
        time_zone: String,
        venue: String,
        description: String,
        capacity: String,
        rsvp_deadline: String,
        default_max_plus_ones: String,
        fraud_on_unavailable: Option<String>,
        fraud_sensitivity: Option<String>,
        fraud_shadow: Option<String>,
        language: Option<String>,
        reminder_hours: Option<String>,
    ) -> Result<Event, AppError> {
        let form = EventFormValues {
            name,
            slug,
            event_date,
            time_zone,
            venue,
            description,
            capacity,
            rsvp_deadline,
            default_max_plus_ones,
            fraud_on_unavailable: fraud_on_unavailable.unwrap_or_default(),
            fraud_sensitivity: fraud_sensitivity.unwrap_or_default(),
            fraud_shadow: fraud_shadow.is_some(),
            language: language.unwrap_or_default(),
            reminder_hours: reminder_hours.unwrap_or_default(),
        };
        answer(async {
            let (host, state) = crate::hosts::auth::require_host().await?;
            let input = ssr::create_input(&form)?;
            let event = crate::events::rest::create_event(&state, host.id, &input).await?;
            tracing::info!(host_id = %host.id, event_id = %event.id, "event created");
            leptos_axum::redirect(&format!("/events/{}", event.id));
            Ok(event)
        })
        .await
    }

    /// Saves the edit form of one of the host's events and goes to its page.
    #[server(prefix = "/api/fn", endpoint = "events/update")]
    pub async fn save_event(
        id: Uuid,
        name: String,
        slug: String,
        event_date: String,
        time_zone: String,
        venue: String,
        description: String,
        capacity: String,
        rsvp_deadline: String,
        default_max_plus_ones: String,
        fraud_on_unavailable: Option<String>,
        fraud_sensitivity: Option<String>,
        fraud_shadow: Option<String>,
        language: Option<String>,
        reminder_hours: Option<String>,
    ) -> Result<Event, AppError> {
        let form = EventFormValues {
            name,
            slug,
            event_date,
            time_zone,
            venue,
            description,
            capacity,
            rsvp_deadline,
            default_max_plus_ones,
            fraud_on_unavailable: fraud_on_unavailable.unwrap_or_default(),
            fraud_sensitivity: fraud_sensitivity.unwrap_or_default(),
            fraud_shadow: fraud_shadow.is_some(),
            language: language.unwrap_or_default(),
            reminder_hours: reminder_hours.unwrap_or_default(),
        };
        answer(async {
            let (host, state) = crate::hosts::auth::require_host().await?;
            let input = ssr::update_input(&form)?;
            let event = crate::events::rest::update_event(&state, host.id, id, &input).await?;
            leptos_axum::redirect(&format!("/events/{}", event.id));
            Ok(event)
        })
        .await
    }
}

/// Deletes one of the host's events with its guests, links and answers.
#[server(prefix = "/api/fn", endpoint = "events/delete")]
pub async fn remove_event(id: Uuid) -> Result<(), AppError> {
    answer(async {
        let (host, state) = crate::hosts::auth::require_host().await?;
        super::store::delete(&state.pool, host.id, id).await?;
        tracing::info!(host_id = %host.id, event_id = %id, "event deleted");
        Ok(())
    })
    .await
}

#[cfg(feature = "ssr")]
use crate::server_fns::answer;

#[cfg(feature = "ssr")]
mod ssr {
    //! Turning the form's text into the REST input, and stored events back into text.

    use super::{slugify, EventFormValues};
    use crate::{
        error::AppError,
        events::{CreateEvent, Event, UpdateEvent},
        fraud::policy::{FraudPolicy, PolicyChange, Sensitivity, WhenUnavailable},
    };
    use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone as _, Utc};
    use chrono_tz::Tz;

    const LOCAL_FORMAT: &str = "%Y-%m-%dT%H:%M";

    /// When an event starts, in its own time zone.
    pub fn starts_display(event: &Event) -> String {
        crate::guests::server_fns::ssr::local_time(event.event_date, &event.time_zone)
    }

    /// A stored event as the edit form shows it.
    pub fn form_values(event: &Event) -> EventFormValues {
        let tz = event.time_zone.parse::<Tz>().unwrap_or(Tz::UTC);
        let local = |time: DateTime<Utc>| time.with_timezone(&tz).format(LOCAL_FORMAT).to_string();
        EventFormValues {
            name: event.name.clone(),
            slug: event.slug.clone(),
            event_date: local(event.event_date),
            time_zone: tz.name().to_owned(),
            venue: event.venue.clone(),
            description: event.description.clone(),
            capacity: event.capacity.map(|c| c.to_string()).unwrap_or_default(),
            rsvp_deadline: event.rsvp_deadline.map(local).unwrap_or_default(),
            default_max_plus_ones: event.default_max_plus_ones.to_string(),
            fraud_on_unavailable: event.fraud_policy.on_engine_unavailable.as_str().to_owned(),
            fraud_sensitivity: event.fraud_policy.sensitivity.as_str().to_owned(),
            fraud_shadow: event.fraud_policy.shadow,
            language: event.language.clone(),
            reminder_hours: event
                .reminder_hours
                .map(|hours| hours.to_string())
                .unwrap_or_default(),
        }
    }

    /// The form's fraud policy; an empty choice keeps the default.
    fn policy(form: &EventFormValues) -> Result<FraudPolicy, AppError> {
        let on_engine_unavailable = match form.fraud_on_unavailable.trim() {
            "" => WhenUnavailable::default(),
            text => WhenUnavailable::parse(text)
                .ok_or_else(|| required("fraud_on_unavailable", "choose accept, hold or refuse"))?,
        };
        let sensitivity = match form.fraud_sensitivity.trim() {
            "" => Sensitivity::default(),
            text => Sensitivity::parse(text).ok_or_else(|| {
                required("fraud_sensitivity", "choose relaxed, standard or strict")
            })?,
        };
        Ok(FraudPolicy {
            on_engine_unavailable,
            sensitivity,
            shadow: form.fraud_shadow,
        })
    }

    /// The REST input of a new event.
    pub fn create_input(form: &EventFormValues) -> Result<CreateEvent, AppError> {
        let tz = time_zone(&form.time_zone)?;
        let slug = match form.slug.trim() {
            "" => slugify(&form.name),
            given => given.to_owned(),
        };
        Ok(CreateEvent {
            name: form.name.clone(),
            slug,
            event_date: local_time("event_date", &form.event_date, tz)?
                .ok_or_else(|| required("event_date", "choose the date and time of the event"))?,
            time_zone: Some(tz.name().to_owned()),
            venue: form.venue.clone(),
            description: Some(form.description.clone()),
            capacity: number("capacity", &form.capacity)?,
            rsvp_deadline: local_time("rsvp_deadline", &form.rsvp_deadline, tz)?,
            default_max_plus_ones: number("default_max_plus_ones", &form.default_max_plus_ones)?,
            fraud_policy: Some(policy(form)?),
            language: Some(form.language.trim().to_owned()).filter(|code| !code.is_empty()),
            reminder_hours: number("reminder_hours", &form.reminder_hours)?,
        })
    }

    /// The REST input of an edit: every field is set (an empty slug keeps the old one,
    /// empty capacity and deadline clear them).
    pub fn update_input(form: &EventFormValues) -> Result<UpdateEvent, AppError> {
        let tz = time_zone(&form.time_zone)?;
        Ok(UpdateEvent {
            name: Some(form.name.clone()),
            slug: Some(form.slug.trim().to_owned()).filter(|slug| !slug.is_empty()),
            event_date: Some(
                local_time("event_date", &form.event_date, tz)?.ok_or_else(|| {
                    required("event_date", "choose the date and time of the event")
                })?,
            ),
            time_zone: Some(tz.name().to_owned()),
            venue: Some(form.venue.clone()),
            description: Some(form.description.clone()),
            capacity: Some(number("capacity", &form.capacity)?),
            rsvp_deadline: Some(local_time("rsvp_deadline", &form.rsvp_deadline, tz)?),
            default_max_plus_ones: Some(
                number("default_max_plus_ones", &form.default_max_plus_ones)?.unwrap_or(0),
            ),
            fraud_policy: Some({
                let policy = policy(form)?;
                PolicyChange {
                    on_engine_unavailable: Some(policy.on_engine_unavailable),
                    sensitivity: Some(policy.sensitivity),
                    shadow: Some(policy.shadow),
                }
            }),
            language: Some(form.language.trim().to_owned()).filter(|code| !code.is_empty()),
            reminder_hours: Some(number("reminder_hours", &form.reminder_hours)?),
        })
    }

    fn required(field: &str, message: &str) -> AppError {
        AppError::invalid(field, &format!("invalid_{field}"), message)
    }

    fn time_zone(value: &str) -> Result<Tz, AppError> {
        match value.trim() {
            "" => Ok(Tz::UTC),
            name => name.parse::<Tz>().map_err(|_| {
                AppError::invalid(
                    "time_zone",
                    "invalid_time_zone",
                    "unknown time zone; use an IANA name like Europe/Paris",
                )
            }),
        }
    }

    /// A local `YYYY-MM-DDTHH:MM[:SS]` in `tz` as RFC 3339; `None` when empty.
    fn local_time(field: &str, value: &str, tz: Tz) -> Result<Option<String>, AppError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        let naive = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
            .ok_or_else(|| {
                required(
                    field,
                    "give a date and time like 2027-06-12T18:00 (in the event's time zone)",
                )
            })?;
        let time = match tz.from_local_datetime(&naive) {
            LocalResult::Single(time) => time,
            // Clocks going back: the first of the two moments.
            LocalResult::Ambiguous(earliest, _) => earliest,
            LocalResult::None => {
                return Err(required(
                    field,
                    &format!(
                        "{} does not exist in {} (the clocks change then)",
                        naive.format("%Y-%m-%d %H:%M"),
                        tz.name()
                    ),
                ))
            }
        };
        Ok(Some(time.to_rfc3339()))
    }

    /// A whole number; `None` when empty.
    fn number(field: &str, value: &str) -> Result<Option<i64>, AppError> {
        match value.trim() {
            "" => Ok(None),
            text => text
                .parse::<i64>()
                .map(Some)
                .map_err(|_| required(field, "give a whole number")),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::events::validate;

        fn form() -> EventFormValues {
            EventFormValues {
                name: "Ada & Grace's wedding".into(),
                slug: String::new(),
                event_date: "2027-06-12T18:00".into(),
                time_zone: "Europe/Paris".into(),
                venue: "Old Mill".into(),
                description: String::new(),
                capacity: String::new(),
                rsvp_deadline: "2027-05-31T23:59".into(),
                default_max_plus_ones: "1".into(),
                fraud_on_unavailable: "hold".into(),
                fraud_sensitivity: String::new(),
                fraud_shadow: true,
                language: String::new(),
                reminder_hours: String::new(),
            }
        }

        fn field_of(error: AppError) -> Option<String> {
            match error {
                AppError::Invalid { field, .. } => field,
                _ => None,
            }
        }

        #[test]
        fn a_local_time_is_read_in_the_events_time_zone() {
            let input = create_input(&form()).expect("valid form");
            assert_eq!(input.event_date, "2027-06-12T18:00:00+02:00");
            assert_eq!(input.slug, "ada-grace-s-wedding");
            assert_eq!(input.capacity, None);
            assert_eq!(input.default_max_plus_ones, Some(1));
            let valid = validate::create(&input).expect("valid event");
            assert_eq!(valid.event_date.to_rfc3339(), "2027-06-12T16:00:00+00:00");
            assert_eq!(
                valid.rsvp_deadline.map(|d| d.to_rfc3339()).as_deref(),
                Some("2027-05-31T21:59:00+00:00")
            );
        }

        #[test]
        fn bad_text_is_a_field_error_of_its_own_field() {
            let cases = [
                (
                    "time_zone",
                    EventFormValues {
                        time_zone: "Mars/Olympus".into(),
                        ..form()
                    },
                ),
                (
                    "event_date",
                    EventFormValues {
                        event_date: "next friday".into(),
                        ..form()
                    },
                ),
                (
                    "event_date",
                    EventFormValues {
                        event_date: String::new(),
                        ..form()
                    },
                ),
                (
                    "event_date",
                    // Paris skips from 02:00 to 03:00 on this night.
                    EventFormValues {
                        event_date: "2027-03-28T02:30".into(),
                        ..form()
                    },
                ),
                (
                    "capacity",
                    EventFormValues {
                        capacity: "many".into(),
                        ..form()
                    },
                ),
            ];
            for (field, case) in cases {
                let error = create_input(&case).expect_err(field);
                assert_eq!(field_of(error).as_deref(), Some(field));
            }
        }

        #[test]
        fn an_edit_round_trips_through_the_form() {
            let valid = validate::create(&create_input(&form()).expect("form")).expect("valid");
            let now = Utc::now();
            let event = Event {
                id: uuid::Uuid::new_v4(),
                name: valid.name,
                slug: valid.slug,
                event_date: valid.event_date,
                time_zone: valid.time_zone,
                venue: valid.venue,
                description: valid.description,
                capacity: valid.capacity,
                rsvp_deadline: valid.rsvp_deadline,
                default_max_plus_ones: valid.default_max_plus_ones,
                fraud_policy: valid.fraud_policy,
                language: valid.language,
                reminder_hours: valid.reminder_hours,
                created_at: now,
                updated_at: now,
            };
            let values = form_values(&event);
            assert_eq!(values.event_date, "2027-06-12T18:00");
            assert_eq!(values.rsvp_deadline, "2027-05-31T23:59");
            assert_eq!(values.slug, "ada-grace-s-wedding");
            let update = update_input(&EventFormValues {
                capacity: String::new(),
                rsvp_deadline: String::new(),
                ..values
            })
            .expect("form");
            let updated = validate::update(&event, &update).expect("valid");
            assert_eq!(updated.event_date, event.event_date);
            assert_eq!(updated.rsvp_deadline, None);
            assert_eq!(
                updated.fraud_policy,
                FraudPolicy {
                    on_engine_unavailable: WhenUnavailable::Hold,
                    sensitivity: Sensitivity::Standard,
                    shadow: true,
                }
            );
            assert_eq!(starts_display(&event), "Sat 12 Jun 2027, 18:00");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn a_slug_is_suggested_from_the_name() {
        assert_eq!(slugify("Ada & Grace's Wedding!"), "ada-grace-s-wedding");
        assert_eq!(slugify("  Fête de l'été 2027 "), "fete-de-l-ete-2027");
        assert_eq!(slugify("---"), "");
        assert_eq!(slugify(&"a".repeat(100)).len(), 60);
        let long = slugify(&"word ".repeat(30));
        assert!(long.len() <= 60 && !long.ends_with('-'), "{long}");
    }
}
