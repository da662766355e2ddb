//! The JSON schemas of the API's checked text and numbers, written once: what each
//! parser of the request types accepts (`guests/fields.rs`, `events/validate.rs`, the
//! token's format, ...), said in JSON Schema so that a client — or a fuzzer reading
//! `/api/v1/openapi.json` — knows exactly which values are taken. Fields name them with
//! `#[schema(schema_with = ...)]`.
//!
//! The patterns describe the canonical form of each value: the server also trims
//! surrounding whitespace (and lower-cases emails), so what it accepts is a little wider
//! than the pattern, never narrower. The regular expressions use only what ECMA-262,
//! Python's `re` and Rust's `regex` read alike (`\uXXXX` escapes, classes, groups).

use utoipa::openapi::{
    schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type},
    Object, RefOr, Schema,
};

/// What Rust's `char::is_whitespace` takes (the `White_Space` property), for classes.
const WHITESPACE: &str =
    r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// What `char::is_control` takes (general category Cc), for classes.
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
/// Line and paragraph separators, bidirectional overrides and the BOM (`fields.rs`).
const LAYOUT: &str = r"\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff";
/// Characters that show as nothing besides whitespace (`fields.rs`: `is_invisible`).
const ZERO_WIDTH: &str = r"\u00ad\u034f\u180e\u200b-\u200f\u2060-\u2064\ufeff";

fn string(nullable: bool) -> ObjectBuilder {
    if nullable {
        ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
    } else {
        ObjectBuilder::new().schema_type(Type::String)
    }
}

/// `^F(?:M*F)?$`: text whose first and last characters are of class `F` and whose
/// others are of class `M`.
fn framed(first_and_last: &str, middle: &str) -> String {
    format!("^[{first_and_last}](?:[{middle}]*[{first_and_last}])?$")
}

fn text(pattern: String, max_chars: usize, nullable: bool, description: &str) -> Object {
    string(nullable)
        .min_length(Some(1))
        .max_length(Some(max_chars))
        .pattern(Some(pattern))
        .description(Some(description))
        .build()
}

/// A person's name (`GuestName`): 1 to 200 characters, not only whitespace or
/// invisible ones, no control characters, line or paragraph separators or
/// bidirectional overrides.
pub fn person_name() -> Object {
    person_name_of(false)
}

/// [`person_name`], or `null` (the field is left as it is).
pub fn person_name_or_null() -> Object {
    person_name_of(true)
}

fn person_name_of(nullable: bool) -> Object {
    let visible = format!("^{WHITESPACE}{CONTROL}{LAYOUT}{ZERO_WIDTH}");
    let inner = format!("^{CONTROL}{LAYOUT}");
    text(
        framed(&visible, &inner),
        crate::guests::fields::GuestName::MAX_CHARS,
        nullable,
        "1 to 200 characters; no control characters, line separators or \
         bidirectional overrides; not only spaces",
    )
}

/// An event's text field (`events/validate.rs`): 1 to `max` characters after
/// trimming, line breaks and tabs allowed, no other control characters.
fn event_text(max: usize, nullable: bool) -> Object {
    let edge = format!("^{WHITESPACE}{CONTROL}");
    let inner = r"^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f";
    text(
        framed(&edge, inner),
        max,
        nullable,
        "Line breaks and tabs are text; other control characters are refused",
    )
}

/// An event's name: 1 to 200 characters.
pub fn event_name() -> Object {
    event_text(200, false)
}

/// An event's name, or `null` (unchanged).
pub fn event_name_or_null() -> Object {
    event_text(200, true)
}

/// An event's venue: 1 to 300 characters.
pub fn venue() -> Object {
    event_text(300, false)
}

/// An event's venue, or `null` (unchanged).
pub fn venue_or_null() -> Object {
    event_text(300, true)
}

/// Up to `max` characters after trimming (empty is none), line breaks and tabs
/// allowed, no other control characters.
fn long_text_or_null(max: usize, description: &str) -> Object {
    let edge = format!("^{WHITESPACE}{CONTROL}");
    let inner = r"^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f";
    string(true)
        .max_length(Some(max))
        .pattern(Some(format!("^(?:[{edge}](?:[{inner}]*[{edge}])?)?$")))
        .description(Some(description))
        .build()
}

/// An event's description: up to 5,000 characters (empty is none).
pub fn event_description_or_null() -> Object {
    long_text_or_null(5000, "Up to 5,000 characters; line breaks and tabs allowed")
}

/// A guest's note with their answer: up to 1,000 characters.
pub fn note_or_null() -> Object {
    long_text_or_null(
        crate::rsvps::NOTE_MAX_CHARS,
        "Up to 1,000 characters; line breaks and tabs allowed",
    )
}

/// An event's slug: 1 to 60 lowercase letters, digits and inner dashes.
pub fn slug() -> Object {
    slug_of(false)
}

/// A slug, or `null` (unchanged).
pub fn slug_or_null() -> Object {
    slug_of(true)
}

fn slug_of(nullable: bool) -> Object {
    string(nullable)
        .min_length(Some(1))
        .max_length(Some(60))
        .pattern(Some("^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"))
        .description(Some(
            "1 to 60 lowercase letters, digits and inner dashes; unique among the host's events",
        ))
        .build()
}

/// An RFC 3339 date and time with its offset, e.g. `2027-06-12T18:00:00+02:00`.
pub fn date_time() -> Object {
    date_time_of(false)
}

/// An RFC 3339 date and time, or `null`.
pub fn date_time_or_null() -> Object {
    date_time_of(true)
}

/// RFC 3339 as chrono reads it: a real calendar date (leap years included), `T`, a
/// time with seconds and up to nine digits of fractions, and `Z` or an offset.
const DATE_TIME: &str = concat!(
    "^(?:[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])",
    "|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)",
    "|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[048]|[2468][048]|[13579][26])00)-02-29)",
    "T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?",
    "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$",
);

fn date_time_of(nullable: bool) -> Object {
    string(nullable)
        .pattern(Some(DATE_TIME))
        .description(Some("RFC 3339, e.g. `2027-06-12T18:00:00+02:00`"))
        .build()
}

/// An IANA time zone name that GuestGuard knows (`chrono-tz`), e.g. `Europe/Paris`.
pub fn time_zone_or_null() -> Object {
    let mut names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    names.sort_unstable();
    string(true)
        .enum_values(Some(
            names
                .into_iter()
                .map(serde_json::Value::from)
                .chain([serde_json::Value::Null]),
        ))
        .description(Some("An IANA time zone, e.g. `Europe/Paris`"))
        .build()
}

/// The language of guests' emails.
pub fn language_or_null() -> Object {
    string(true)
        .enum_values(Some(
            crate::events::LANGUAGES
                .iter()
                .map(|(code, _)| serde_json::Value::from(*code))
                .chain([serde_json::Value::Null]),
        ))
        .description(Some("`en`, `fr`, `es` or `de`"))
        .build()
}

/// An email address (`EmailAddress`): a part before the `@` of 1 to 64 characters
/// without spaces, quotes, brackets, commas, colons, semicolons or backslashes, and a
/// domain of two or more labels; at most 254 characters. (The server also takes
/// internationalised domains; the pattern names ASCII ones.)
pub fn email() -> Object {
    email_of(false, false)
}

/// An email address, an empty string or `null`: none.
pub fn email_or_none() -> Object {
    email_of(true, true)
}

fn email_of(nullable: bool, blank: bool) -> Object {
    let local = format!("[^{WHITESPACE}{CONTROL}{LAYOUT}\"(),:;<>\\[\\]\\\\@]{{1,64}}");
    let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    let address = format!("{local}@{label}(?:\\.{label})+");
    let pattern = if blank {
        format!("^(?:{address})?$")
    } else {
        format!("^{address}$")
    };
    let builder = string(nullable)
        .max_length(Some(crate::guests::fields::EmailAddress::MAX_CHARS))
        .pattern(Some(pattern));
    let builder = if blank {
        builder.description(Some("An email address; empty or `null`: none"))
    } else {
        builder.min_length(Some(3))
    };
    builder.build()
}

/// A phone number (`PhoneNumber`), empty or `null` (none): 3 to 32 characters of
/// digits, spaces and `+ - ( ) .` with at least three digits, a `+` only first. (The
/// pattern names those that begin and end with a digit, after the `+`.)
pub fn phone_or_none() -> Object {
    string(true)
        .max_length(Some(crate::guests::fields::PhoneNumber::MAX_CHARS))
        .pattern(Some(r"^(?:\+?[0-9][0-9 ().-]*[0-9][0-9 ().-]*[0-9])?$"))
        .description(Some(
            "3 to 32 characters: digits, spaces and + - ( ) . with at least three digits \
             and a + only first; empty or `null`: none",
        ))
        .build()
}

/// A password being set: 10 to 256 characters.
pub fn new_password() -> Object {
    string(false)
        .min_length(Some(*crate::hosts::PASSWORD_CHARS.start()))
        .max_length(Some(*crate::hosts::PASSWORD_CHARS.end()))
        .build()
}

/// An API key's name: 1 to 100 characters, no control characters.
pub fn key_name() -> Object {
    let edge = format!("^{WHITESPACE}{CONTROL}");
    let inner = format!("^{CONTROL}");
    text(
        framed(&edge, &inner),
        100,
        false,
        "1 to 100 characters, no control characters",
    )
}

/// A guest's invitation token: `gg1_` and 128 URL-safe base64 characters
/// (`invitations/token.rs`). Any other string is a 400 `malformed_token`; one of this
/// shape that this server did not sign is a 404.
pub fn token() -> Object {
    let length = crate::invitations::token::TOKEN_LENGTH;
    string(false)
        .min_length(Some(length))
        .max_length(Some(length))
        .pattern(Some(format!(
            "^gg1_[A-Za-z0-9_-]{{{}}}$",
            length - crate::invitations::token::TOKEN_PREFIX.len()
        )))
        .description(Some("The guest's token, from their link `/i/<token>`"))
        .build()
}

/// A SHA-256 digest in hexadecimal, empty or `null` (none reported).
pub fn fingerprint_or_none() -> Object {
    string(true)
        .pattern(Some("^(?:[0-9A-Fa-f]{64})?$"))
        .description(Some(
            "SHA-256 (64 hex digits) of stable browser properties; the server keeps only a \
             keyed hash of it",
        ))
        .build()
}

/// The page's automation signs, from their fixed vocabulary.
pub fn automation_signs() -> RefOr<Schema> {
    let sign = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(crate::fraud::devices::AUTOMATION_TRAITS));
    ArrayBuilder::new()
        .items(sign)
        .description(Some("Signs of automation the page observed"))
        .build()
        .into()
}

/// A cursor from a page's `next_cursor`: microseconds, `_` and a row id.
pub fn cursor_or_null() -> Object {
    string(true)
        .pattern(Some(
            "^-?[0-9]{1,16}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        ))
        .description(Some("The `next_cursor` of the previous page, as it is"))
        .build()
}

/// A webhook receiver: an `http://` or `https://` URL without credentials, at most
/// 2,048 characters (production also requires `https://` and public addresses).
pub fn webhook_url() -> Object {
    webhook_url_of(false)
}

/// A webhook receiver, or `null` (unchanged).
pub fn webhook_url_or_null() -> Object {
    webhook_url_of(true)
}

fn webhook_url_of(nullable: bool) -> Object {
    // The last label begins with a letter: one that is a number makes the host an IPv4
    // address to URL parsers (`http://a.3` is refused as an invalid one).
    let label = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
    let last = "[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?";
    string(nullable)
        .max_length(Some(2048))
        .pattern(Some(format!(
            "^https?://(?:{label}\\.)*{last}(?::[1-9][0-9]{{0,3}})?(?:/[A-Za-z0-9._~/-]*)?$"
        )))
        .description(Some(
            "http:// or https:// (only https:// in production, on public addresses)",
        ))
        .build()
}

/// The event types a webhook can subscribe to: at least one.
pub fn subscribable_types() -> RefOr<Schema> {
    subscribable_types_of(false)
}

/// Subscribable event types, or `null` (unchanged).
pub fn subscribable_types_or_null() -> RefOr<Schema> {
    subscribable_types_of(true)
}

fn subscribable_types_of(nullable: bool) -> RefOr<Schema> {
    let kind = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(
            crate::notifications::webhooks::EventType::SUBSCRIBABLE
                .iter()
                .map(|kind| kind.as_str()),
        ));
    let array = ArrayBuilder::new().items(kind).min_items(Some(1));
    let array = if nullable {
        array.schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
    } else {
        array
    };
    array.build().into()
}

/// A webhook's description: up to 200 characters, no control characters.
pub fn webhook_description_or_null() -> Object {
    string(true)
        .max_length(Some(200))
        .pattern(Some(format!("^[^{CONTROL}]*$")))
        .build()
}

/// The body of a CSV import (`guests/csv.rs`) in its simplest shapes: a header of
/// `name` (and `max_plus_ones`), then one guest a line. The server takes more than the
/// pattern names — `email` and `phone` columns, in any order, quoted cells, `;` in
/// quotes, up to 5,000 rows — and refuses a file with a repeated or known email (422
/// with the report), which no pattern can say.
pub fn guest_csv() -> Object {
    let name = "[A-Za-z0-9](?:[A-Za-z0-9 .'-]{0,60}[A-Za-z0-9.])?";
    let limit = "(?:[0-9]|1[0-9]|20)";
    string(false)
        .max_length(Some(crate::guests::csv::MAX_BYTES))
        .pattern(Some(format!(
            "^(?:name\\r?\\n(?:{name}\\r?\\n)*|name,max_plus_ones\\r?\\n(?:{name},{limit}?\\r?\\n)*)$"
        )))
        .description(Some(
            "CSV with a header row: `name` and optionally `email`, `phone`, \
             `max_plus_ones`; one guest a line",
        ))
        .build()
}
