//! Turning event input into values that are valid to store, with a field error for the
//! first field that is not.

use super::{CreateEvent, Event, UpdateEvent};
use crate::error::AppError;
use chrono::{DateTime, Utc};

/// Event fields that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidEvent {
    pub name: String,
    pub slug: String,
    pub event_date: DateTime<Utc>,
    pub time_zone: String,
    pub venue: String,
    pub description: String,
    pub capacity: Option<i32>,
    pub rsvp_deadline: Option<DateTime<Utc>>,
    pub default_max_plus_ones: i32,
    pub fraud_policy: crate::fraud::policy::FraudPolicy,
    pub language: String,
    pub reminder_hours: Option<i32>,
}

fn text(field: &str, value: &str, max: usize, required: bool) -> Result<String, AppError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(AppError::invalid(
            field,
            &format!("invalid_{field}"),
            format!("{field} is required"),
        ));
    }
    if value.chars().count() > max {
        return Err(AppError::invalid(
            field,
            &format!("invalid_{field}"),
            format!("{field} must have at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(AppError::invalid(
            field,
            &format!("invalid_{field}"),
            format!("{field} contains control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A slug: 1–60 of `a-z`, `0-9` and inner `-`.
pub fn slug(value: &str) -> Result<String, AppError> {
    let value = value.trim();
    let valid = (1..=60).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if valid {
        Ok(value.to_owned())
    } else {
        Err(AppError::invalid(
            "slug",
            "invalid_slug",
            "the slug must be 1 to 60 lowercase letters, digits or inner dashes",
        ))
    }
}

fn timestamp(field: &str, value: &str) -> Result<DateTime<Utc>, AppError> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            AppError::invalid(
                field,
                &format!("invalid_{field}"),
                format!(
                    "{field} must be an RFC 3339 date and time, e.g. 2027-06-12T18:00:00+02:00"
                ),
            )
        })
}

fn time_zone(value: &str) -> Result<String, AppError> {
    value
        .trim()
        .parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| {
            AppError::invalid(
                "time_zone",
                "invalid_time_zone",
                "unknown time zone; use an IANA name like Europe/Paris",
            )
        })
}

fn capacity(value: i64) -> Result<i32, AppError> {
    i32::try_from(value)
        .ok()
        .filter(|c| (1..=1_000_000).contains(c))
        .ok_or_else(|| {
            AppError::invalid(
                "capacity",
                "invalid_capacity",
                "capacity must be between 1 and 1000000",
            )
        })
}

fn plus_ones(value: i64) -> Result<i32, AppError> {
    i32::try_from(value)
        .ok()
        .filter(|n| (0..=20).contains(n))
        .ok_or_else(|| {
            AppError::invalid(
                "default_max_plus_ones",
                "invalid_default_max_plus_ones",
                "default plus-ones must be between 0 and 20",
            )
        })
}

fn language(value: &str) -> Result<String, AppError> {
    let value = value.trim().to_ascii_lowercase();
    if super::LANGUAGES.iter().any(|(code, _)| *code == value) {
        Ok(value)
    } else {
        Err(AppError::invalid(
            "language",
            "invalid_language",
            "the language must be en, fr, es or de",
        ))
    }
}

fn reminder_hours(value: i64) -> Result<i32, AppError> {
    i32::try_from(value)
        .ok()
        .filter(|hours| (1..=720).contains(hours))
        .ok_or_else(|| {
            AppError::invalid(
                "reminder_hours",
                "invalid_reminder_hours",
                "the reminder goes 1 to 720 hours before the deadline",
            )
        })
}

fn deadline_before_event(valid: &ValidEvent) -> Result<(), AppError> {
    match valid.rsvp_deadline {
        Some(deadline) if deadline > valid.event_date => Err(AppError::invalid(
            "rsvp_deadline",
            "invalid_rsvp_deadline",
            "the RSVP deadline must not be after the event starts",
        )),
        _ => Ok(()),
    }
}

/// Validates a new event.
pub fn create(input: &CreateEvent) -> Result<ValidEvent, AppError> {
    let valid = ValidEvent {
        name: text("name", &input.name, 200, true)?,
        slug: slug(&input.slug)?,
        event_date: timestamp("event_date", &input.event_date)?,
        time_zone: time_zone(input.time_zone.as_deref().unwrap_or("UTC"))?,
        venue: text("venue", &input.venue, 300, true)?,
        description: text(
            "description",
            input.description.as_deref().unwrap_or(""),
            5000,
            false,
        )?,
        capacity: input.capacity.map(capacity).transpose()?,
        rsvp_deadline: input
            .rsvp_deadline
            .as_deref()
            .map(|d| timestamp("rsvp_deadline", d))
            .transpose()?,
        default_max_plus_ones: input
            .default_max_plus_ones
            .map(plus_ones)
            .transpose()?
            .unwrap_or(0),
        fraud_policy: input.fraud_policy.unwrap_or_default(),
        language: language(input.language.as_deref().unwrap_or("en"))?,
        reminder_hours: input.reminder_hours.map(reminder_hours).transpose()?,
    };
    deadline_before_event(&valid)?;
    Ok(valid)
}

/// Applies a partial update to an existing event and validates the result.
pub fn update(current: &Event, input: &UpdateEvent) -> Result<ValidEvent, AppError> {
    let valid = ValidEvent {
        name: match &input.name {
            Some(v) => text("name", v, 200, true)?,
            None => current.name.clone(),
        },
        slug: match &input.slug {
            Some(v) => slug(v)?,
            None => current.slug.clone(),
        },
        event_date: match &input.event_date {
            Some(v) => timestamp("event_date", v)?,
            None => current.event_date,
        },
        time_zone: match &input.time_zone {
            Some(v) => time_zone(v)?,
            None => current.time_zone.clone(),
        },
        venue: match &input.venue {
            Some(v) => text("venue", v, 300, true)?,
            None => current.venue.clone(),
        },
        description: match &input.description {
            Some(v) => text("description", v, 5000, false)?,
            None => current.description.clone(),
        },
        capacity: match input.capacity {
            Some(Some(v)) => Some(capacity(v)?),
            Some(None) => None,
            None => current.capacity,
        },
        rsvp_deadline: match &input.rsvp_deadline {
            Some(Some(v)) => Some(timestamp("rsvp_deadline", v)?),
            Some(None) => None,
            None => current.rsvp_deadline,
        },
        default_max_plus_ones: match input.default_max_plus_ones {
            Some(v) => plus_ones(v)?,
            None => current.default_max_plus_ones,
        },
        fraud_policy: match input.fraud_policy {
            Some(change) => current.fraud_policy.with(change),
            None => current.fraud_policy,
        },
        language: match &input.language {
            Some(v) => language(v)?,
            None => current.language.clone(),
        },
        reminder_hours: match input.reminder_hours {
            Some(Some(v)) => Some(reminder_hours(v)?),
            Some(None) => None,
            None => current.reminder_hours,
        },
    };
    deadline_before_event(&valid)?;
    Ok(valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CreateEvent {
        CreateEvent {
            name: "Ada & Grace's wedding".into(),
            slug: "wedding-2027".into(),
            event_date: "2027-06-12T18:00:00+02:00".into(),
            time_zone: Some("Europe/Paris".into()),
            venue: "Old Mill".into(),
            ..CreateEvent::default()
        }
    }

    #[test]
    fn a_complete_event_is_valid_and_its_date_is_stored_in_utc() {
        let valid = create(&input()).expect("valid");
        assert_eq!(valid.event_date.to_rfc3339(), "2027-06-12T16:00:00+00:00");
        assert_eq!(valid.time_zone, "Europe/Paris");
        assert_eq!(valid.default_max_plus_ones, 0);
    }

    #[test]
    fn each_bad_field_is_named_in_the_error() {
        let cases: Vec<(&str, CreateEvent)> = vec![
            (
                "name",
                CreateEvent {
                    name: "  ".into(),
                    ..input()
                },
            ),
            (
                "slug",
                CreateEvent {
                    slug: "Not A Slug".into(),
                    ..input()
                },
            ),
            (
                "slug",
                CreateEvent {
                    slug: "-edge".into(),
                    ..input()
                },
            ),
            (
                "event_date",
                CreateEvent {
                    event_date: "12/06/2027".into(),
                    ..input()
                },
            ),
            (
                "time_zone",
                CreateEvent {
                    time_zone: Some("Mars/Olympus".into()),
                    ..input()
                },
            ),
            (
                "capacity",
                CreateEvent {
                    capacity: Some(0),
                    ..input()
                },
            ),
            (
                "capacity",
                CreateEvent {
                    capacity: Some(i64::MAX),
                    ..input()
                },
            ),
            (
                "default_max_plus_ones",
                CreateEvent {
                    default_max_plus_ones: Some(-1),
                    ..input()
                },
            ),
            (
                "rsvp_deadline",
                CreateEvent {
                    rsvp_deadline: Some("2028-01-01T00:00:00Z".into()),
                    ..input()
                },
            ),
            (
                "language",
                CreateEvent {
                    language: Some("klingon".into()),
                    ..input()
                },
            ),
            (
                "reminder_hours",
                CreateEvent {
                    reminder_hours: Some(0),
                    ..input()
                },
            ),
        ];
        for (field, case) in cases {
            match create(&case) {
                Err(AppError::Invalid { field: Some(f), .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected a field error, got {other:?}"),
            }
        }
    }
}
