//! Guest field newtypes, shared by the server and the browser forms: [`GuestName`],
//! [`EmailAddress`], [`PhoneNumber`] and [`PlusOnes`], the [`FieldError`] their
//! constructors return, and [`GuestDraft`], a guest whose fields all passed.
//!
//! Parse, don't validate: a value of one of these types is valid by construction. The
//! only ways to get one are `parse` / `new`, `FromStr`, `TryFrom` and serde
//! deserialization, and all of them reject bad input. Each type serializes as its plain
//! string or number.
//!
//! This module is compiled for the browser (wasm32) too, so it uses only `std`, `serde`
//! and `thiserror`.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Which guest field a [`FieldError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The guest's name.
    Name,
    /// The guest's email address.
    Email,
    /// The guest's phone number.
    Phone,
    /// How many plus-ones the guest may bring.
    MaxPlusOnes,
}

impl Field {
    /// The field's name in forms, the API and CSV files (`name`, `email`, `phone`,
    /// `max_plus_ones`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::MaxPlusOnes => "max_plus_ones",
        }
    }

    /// The stable machine-readable code of an invalid value of this field.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Name => "invalid_name",
            Self::Email => "invalid_email",
            Self::Phone => "invalid_phone",
            Self::MaxPlusOnes => "invalid_plus_ones",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A guest field value that was rejected. Its `Display` is the message to show next to
/// the form field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum FieldError {
    /// The value of `field` is not acceptable; `message` says why, in words for a person.
    #[error("{message}")]
    Invalid {
        /// The rejected field.
        field: Field,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl FieldError {
    fn invalid(field: Field, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The rejected field's name (`name`, `email`, `phone`, `max_plus_ones`).
    pub fn field(&self) -> &'static str {
        self.field_kind().as_str()
    }

    /// The rejected field.
    pub fn field_kind(&self) -> Field {
        match self {
            Self::Invalid { field, .. } => *field,
        }
    }

    /// The stable machine-readable code (`invalid_name`, `invalid_email`,
    /// `invalid_phone`, `invalid_plus_ones`).
    pub fn code(&self) -> &'static str {
        self.field_kind().code()
    }

    /// The message for a person (same as `Display`).
    pub fn message(&self) -> &str {
        match self {
            Self::Invalid { message, .. } => message,
        }
    }
}

/// Line and paragraph separators and bidirectional overrides: not `char::is_control`,
/// but they break lines or reorder the text around them when displayed.
fn is_layout_control(c: char) -> bool {
    matches!(
        c,
        '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// Characters that show as nothing: whitespace and the common zero-width ones.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'..='\u{2064}'
                | '\u{FEFF}'
        )
}

/// Implements the string plumbing shared by the text newtypes: `as_str`, `into_inner`,
/// `Display`, `AsRef<str>`, `FromStr`, `TryFrom<String>`, `TryFrom<&str>` and
/// `From<Self> for String` (which serde's `try_from` / `into` use).
macro_rules! text_newtype {
    ($name:ident) => {
        impl $name {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value as an owned `String`.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = FieldError;

            fn from_str(input: &str) -> Result<Self, FieldError> {
                Self::parse(input)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = FieldError;

            fn try_from(input: &str) -> Result<Self, FieldError> {
                Self::parse(input)
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;

            fn try_from(input: String) -> Result<Self, FieldError> {
                Self::parse(&input)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

/// A guest's name: trimmed, 1 to [`GuestName::MAX_CHARS`] characters, with no control
/// characters (line breaks, tabs, NUL, …), line separators or bidirectional overrides.
/// Spaces inside the name are kept as given. Markup such as `<b>` is kept as plain text:
/// whatever renders a name escapes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GuestName(String);

impl GuestName {
    /// The most characters (not bytes) a name may have.
    pub const MAX_CHARS: usize = 200;

    /// Trims and checks a name.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let name = input.trim();
        if name.chars().all(is_invisible) {
            return Err(FieldError::invalid(Field::Name, "enter a name"));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::invalid(
                Field::Name,
                format!("the name must have at most {} characters", Self::MAX_CHARS),
            ));
        }
        if name.chars().any(|c| c.is_control() || is_layout_control(c)) {
            return Err(FieldError::invalid(
                Field::Name,
                "the name must not contain line breaks, tabs or other control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }
}

text_newtype!(GuestName);

/// An email address: trimmed and lower-cased, at most [`EmailAddress::MAX_CHARS`]
/// characters, exactly one `@` with a non-empty part before it and a domain with a dot
/// after it, and no spaces or control characters.
///
/// This is a plausibility check for typos, not full RFC 5322: quoted local parts and
/// IP-literal domains are not accepted. Internationalised addresses are.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// The most characters an address may have.
    pub const MAX_CHARS: usize = 254;
    /// The most characters before the `@`.
    pub const MAX_LOCAL_CHARS: usize = 64;

    /// Trims, lower-cases and checks an email address.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let invalid = |message: &str| Err(FieldError::invalid(Field::Email, message));
        let email = input.trim().to_lowercase();
        if email.is_empty() {
            return invalid("enter an email address");
        }
        if email.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::invalid(
                Field::Email,
                format!(
                    "the email address must have at most {} characters",
                    Self::MAX_CHARS
                ),
            ));
        }
        if email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_layout_control(c))
        {
            return invalid("the email address must not contain spaces or control characters");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return invalid("the email address needs an @, like ada@example.com");
        };
        if domain.contains('@') {
            return invalid("the email address must contain only one @");
        }
        if local.is_empty() {
            return invalid("the email address needs a name before the @, like ada@example.com");
        }
        if local.chars().count() > Self::MAX_LOCAL_CHARS {
            return Err(FieldError::invalid(
                Field::Email,
                format!(
                    "the part before the @ must have at most {} characters",
                    Self::MAX_LOCAL_CHARS
                ),
            ));
        }
        if local.contains(['"', '(', ')', ',', ':', ';', '<', '>', '[', ']', '\\']) {
            return invalid(
                "the part before the @ must not contain quotes, brackets, commas, colons or semicolons",
            );
        }
        if !is_domain(domain) {
            return invalid("the part after the @ must be a domain with a dot, like example.com");
        }
        Ok(Self(email))
    }
}

/// Two or more dot-separated labels of letters, digits and inner dashes.
fn is_domain(domain: &str) -> bool {
    let mut labels = 0_usize;
    for label in domain.split('.') {
        let valid = !label.is_empty()
            && label.chars().count() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-');
        if !valid {
            return false;
        }
        labels += 1;
    }
    labels >= 2
}

text_newtype!(EmailAddress);

/// A phone number, stored as typed (trimmed): [`PhoneNumber::MIN_CHARS`] to
/// [`PhoneNumber::MAX_CHARS`] characters of digits, spaces, `+`, `-`, `(`, `)` and `.`,
/// with at least three digits and a `+` only as the first character.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// The fewest characters a phone number may have.
    pub const MIN_CHARS: usize = 3;
    /// The most characters a phone number may have.
    pub const MAX_CHARS: usize = 32;
    /// The fewest digits a phone number must have.
    pub const MIN_DIGITS: usize = 3;

    /// Trims and checks a phone number.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let invalid = |message: String| Err(FieldError::invalid(Field::Phone, message));
        let phone = input.trim();
        if phone.is_empty() {
            return invalid("enter a phone number".into());
        }
        if !phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
        {
            return invalid(
                "a phone number may contain only digits, spaces and the characters + - ( ) ."
                    .into(),
            );
        }
        if phone.rfind('+').is_some_and(|at| at > 0) {
            return invalid("a + may only be the first character of a phone number".into());
        }
        // Only ASCII from here on, so bytes are characters.
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&phone.len()) {
            return invalid(format!(
                "a phone number must have {} to {} characters",
                Self::MIN_CHARS,
                Self::MAX_CHARS
            ));
        }
        if phone.bytes().filter(u8::is_ascii_digit).count() < Self::MIN_DIGITS {
            return invalid(format!(
                "a phone number must have at least {} digits",
                Self::MIN_DIGITS
            ));
        }
        Ok(Self(phone.to_owned()))
    }
}

text_newtype!(PhoneNumber);

/// How many plus-ones a guest may bring: 0 to [`PlusOnes::MAX`].
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(try_from = "i64", into = "u8")]
pub struct PlusOnes(u8);

impl PlusOnes {
    /// The most plus-ones a guest may bring.
    pub const MAX: u8 = 20;

    fn out_of_range() -> FieldError {
        FieldError::invalid(
            Field::MaxPlusOnes,
            format!("plus-ones must be a whole number from 0 to {}", Self::MAX),
        )
    }

    /// Checks a count.
    pub fn new(count: i64) -> Result<Self, FieldError> {
        u8::try_from(count)
            .ok()
            .filter(|n| *n <= Self::MAX)
            .map(Self)
            .ok_or_else(Self::out_of_range)
    }

    /// Parses a count typed as text (trimmed), such as `"2"`.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        input
            .trim()
            .parse::<i64>()
            .map_err(|_| Self::out_of_range())
            .and_then(Self::new)
    }

    /// The count.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for PlusOnes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for PlusOnes {
    type Err = FieldError;

    fn from_str(input: &str) -> Result<Self, FieldError> {
        Self::parse(input)
    }
}

impl TryFrom<i64> for PlusOnes {
    type Error = FieldError;

    fn try_from(count: i64) -> Result<Self, FieldError> {
        Self::new(count)
    }
}

impl From<PlusOnes> for u8 {
    fn from(value: PlusOnes) -> u8 {
        value.0
    }
}

impl From<PlusOnes> for i32 {
    fn from(value: PlusOnes) -> i32 {
        i32::from(value.0)
    }
}

impl From<PlusOnes> for i64 {
    fn from(value: PlusOnes) -> i64 {
        i64::from(value.0)
    }
}

/// A guest whose fields all passed validation, ready to store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestDraft {
    /// The guest's name.
    pub name: GuestName,
    /// The guest's email address, if known.
    pub email: Option<EmailAddress>,
    /// The guest's phone number, if known.
    pub phone: Option<PhoneNumber>,
    /// The guest's own plus-one limit; `None` means the event's default applies.
    pub max_plus_ones: Option<PlusOnes>,
}

impl GuestDraft {
    /// Validates the four fields as typed into a form (or a CSV row) and reports every
    /// invalid field, not only the first. Blank optional fields mean "not given".
    pub fn parse(
        name: &str,
        email: &str,
        phone: &str,
        max_plus_ones: &str,
    ) -> Result<Self, Vec<FieldError>> {
        fn optional<T>(
            input: &str,
            parse: fn(&str) -> Result<T, FieldError>,
            errors: &mut Vec<FieldError>,
        ) -> Option<T> {
            let input = input.trim();
            if input.is_empty() {
                return None;
            }
            parse(input).map_err(|error| errors.push(error)).ok()
        }

        let mut errors = Vec::new();
        let name = GuestName::parse(name)
            .map_err(|error| errors.push(error))
            .ok();
        let email = optional(email, EmailAddress::parse, &mut errors);
        let phone = optional(phone, PhoneNumber::parse, &mut errors);
        let max_plus_ones = optional(max_plus_ones, PlusOnes::parse, &mut errors);
        match name {
            Some(name) if errors.is_empty() => Ok(Self {
                name,
                email,
                phone,
                max_plus_ones,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::{value::Error as DeError, IntoDeserializer};

    fn field_of<T: fmt::Debug>(result: Result<T, FieldError>) -> Field {
        result.expect_err("should be rejected").field_kind()
    }

    // --- GuestName ---

    #[test]
    fn a_name_is_trimmed_and_keeps_its_inner_spaces() {
        let name = GuestName::parse("  Ada   Lovelace \t").expect("valid");
        assert_eq!(name.as_str(), "Ada   Lovelace");
        assert_eq!(name.to_string(), "Ada   Lovelace");
        assert_eq!(AsRef::<str>::as_ref(&name), "Ada   Lovelace");
    }

    #[test]
    fn an_empty_or_blank_name_is_rejected() {
        for input in ["", "   ", "\n\t", "\u{200B}\u{00A0}"] {
            let error = GuestName::parse(input).expect_err(input);
            assert_eq!(error.field(), "name");
            assert_eq!(error.code(), "invalid_name");
            assert_eq!(error.to_string(), "enter a name");
        }
    }

    #[test]
    fn markup_in_a_name_is_kept_as_text() {
        let name = GuestName::parse("<script>alert(1)</script>").expect("valid");
        assert_eq!(name.as_str(), "<script>alert(1)</script>");
        assert!(GuestName::parse("Tom & \"Jerry\" O'Brien").is_ok());
    }

    #[test]
    fn unicode_names_are_accepted_and_counted_in_characters() {
        for input in [
            "Zoë Ångström",
            "李小龙",
            "Дмитрий",
            "محمد",
            "👩‍👩‍👧 Family",
            "José María",
        ] {
            assert_eq!(GuestName::parse(input).expect(input).as_str(), input);
        }
        // 200 three-byte characters: 600 bytes but exactly at the limit.
        let long = "字".repeat(200);
        assert_eq!(GuestName::parse(&long).expect("200 chars").as_str(), long);
    }

    #[test]
    fn a_name_of_201_characters_is_rejected() {
        assert!(GuestName::parse(&"a".repeat(200)).is_ok());
        let error = GuestName::parse(&"a".repeat(201)).expect_err("too long");
        assert_eq!(
            error.to_string(),
            "the name must have at most 200 characters"
        );
        assert!(GuestName::parse(&"é".repeat(201)).is_err());
    }

    #[test]
    fn control_characters_inside_a_name_are_rejected() {
        for input in [
            "Ada\nLovelace",
            "Ada\r\nLovelace",
            "Ada\tLovelace",
            "Ada\0",
            "Ada\u{7F}",
            "Ada\u{85}x",
            "Ada\u{2028}Lovelace",
            "evil\u{202E}gnp.exe",
        ] {
            let error = GuestName::parse(input).expect_err(input);
            assert_eq!(error.field_kind(), Field::Name);
        }
    }

    // --- EmailAddress ---

    #[test]
    fn an_email_is_trimmed_and_lower_cased() {
        let email = EmailAddress::parse("  Ada.Lovelace+Party@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "ada.lovelace+party@example.com");
    }

    #[test]
    fn plausible_emails_are_accepted() {
        for input in [
            "a@b.co",
            "first.last@sub.example.org",
            "o'brien@example.ie",
            "x_y-z@my-domain.example",
            "用户@例子.广告",
        ] {
            assert!(EmailAddress::parse(input).is_ok(), "{input}");
        }
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for input in [
            "",
            "  ",
            "ada",
            "ada.example.com",
            "@example.com",
            "ada@",
            "ada@localhost",
            "ada@@example.com",
            "ada@b@example.com",
            "ada lovelace@example.com",
            "ada@exa mple.com",
            "ada\0@example.com",
            "ada@.example.com",
            "ada@example..com",
            "ada@example.com.",
            "ada@-example.com",
            "ada@exa_mple.com",
            "<ada>@example.com",
            "\"ada\"@example.com",
            "ada,grace@example.com",
        ] {
            let error = EmailAddress::parse(input).expect_err(input);
            assert_eq!(error.field(), "email", "{input:?}");
            assert_eq!(error.code(), "invalid_email");
        }
    }

    #[test]
    fn an_email_longer_than_254_characters_is_rejected() {
        let label = "d".repeat(61);
        let fits = format!("{}@{label}.{label}.{label}.com", "a".repeat(64));
        assert_eq!(fits.chars().count(), 254);
        assert!(EmailAddress::parse(&fits).is_ok());
        let too_long = format!("{}@{label}d.{label}.{label}.com", "a".repeat(64));
        let error = EmailAddress::parse(&too_long).expect_err("255 characters");
        assert_eq!(
            error.to_string(),
            "the email address must have at most 254 characters"
        );
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn a_trailing_line_break_around_an_email_is_trimmed_away() {
        assert_eq!(
            EmailAddress::parse("ada@example.com\r\n")
                .expect("valid")
                .as_str(),
            "ada@example.com"
        );
    }

    // --- PhoneNumber ---

    #[test]
    fn common_phone_formats_are_accepted_as_typed() {
        for input in [
            "+44 20 7946 0958",
            "(555) 123-4567",
            "555.123.4567",
            "0049-30-1234567",
            "112",
        ] {
            assert_eq!(PhoneNumber::parse(input).expect(input).as_str(), input);
        }
        assert_eq!(
            PhoneNumber::parse("  +1 555 0100 ")
                .expect("valid")
                .as_str(),
            "+1 555 0100"
        );
    }

    #[test]
    fn bad_phone_numbers_are_rejected() {
        for input in [
            "",
            "12",
            "1-2",
            "+ - ( )",
            "555-CALL-NOW",
            "1 555 0100 ext 2",
            "555\t0100",
            "555\n0100",
            "1+555 0100",
            "++1 555",
            "=1+2",
            "１２３", // full-width digits
        ] {
            let error = PhoneNumber::parse(input).expect_err(input);
            assert_eq!(error.field(), "phone", "{input:?}");
            assert_eq!(error.code(), "invalid_phone");
        }
    }

    #[test]
    fn a_phone_number_has_at_most_32_characters() {
        assert!(PhoneNumber::parse(&"1".repeat(32)).is_ok());
        assert!(PhoneNumber::parse(&"1".repeat(33)).is_err());
    }

    // --- PlusOnes ---

    #[test]
    fn plus_ones_from_zero_to_twenty_are_accepted() {
        assert_eq!(PlusOnes::new(0).expect("zero").get(), 0);
        assert_eq!(PlusOnes::new(20).expect("max").get(), PlusOnes::MAX);
        assert_eq!(PlusOnes::default().get(), 0);
        assert_eq!(i32::from(PlusOnes::new(7).expect("7")), 7);
        assert_eq!(PlusOnes::new(3).expect("3").to_string(), "3");
    }

    #[test]
    fn negative_or_huge_plus_ones_are_rejected() {
        for count in [-1, 21, 255, 256, i64::MIN, i64::MAX] {
            let error = PlusOnes::new(count).expect_err("out of range");
            assert_eq!(error.field(), "max_plus_ones");
            assert_eq!(error.code(), "invalid_plus_ones");
            assert_eq!(
                error.to_string(),
                "plus-ones must be a whole number from 0 to 20"
            );
        }
    }

    #[test]
    fn plus_ones_are_parsed_from_text() {
        assert_eq!(PlusOnes::parse(" 2 ").expect("2").get(), 2);
        assert_eq!("20".parse::<PlusOnes>().expect("20").get(), 20);
        for input in [
            "",
            "two",
            "1.5",
            "-1",
            "21",
            "99999999999999999999999",
            "2 3",
        ] {
            assert_eq!(
                field_of(PlusOnes::parse(input)),
                Field::MaxPlusOnes,
                "{input:?}"
            );
        }
    }

    // --- serde ---

    #[test]
    fn deserialization_runs_the_same_checks() {
        let name: Result<GuestName, DeError> = GuestName::deserialize(" Ada ".into_deserializer());
        assert_eq!(name.expect("valid").as_str(), "Ada");
        let bad: Result<GuestName, DeError> = GuestName::deserialize("a\nb".into_deserializer());
        assert!(bad.is_err());
        let bad: Result<EmailAddress, DeError> =
            EmailAddress::deserialize("nope".into_deserializer());
        assert!(bad.is_err());
        let bad: Result<PhoneNumber, DeError> = PhoneNumber::deserialize("12".into_deserializer());
        assert!(bad.is_err());
        let ok: Result<PlusOnes, DeError> = PlusOnes::deserialize(4_i64.into_deserializer());
        assert_eq!(ok.expect("valid").get(), 4);
        let bad: Result<PlusOnes, DeError> = PlusOnes::deserialize((-1_i64).into_deserializer());
        assert!(bad.is_err());
        let bad: Result<PlusOnes, DeError> = PlusOnes::deserialize(21_u64.into_deserializer());
        assert!(bad.is_err());
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn values_serialize_as_plain_strings_and_numbers() {
        let draft = GuestDraft::parse("Ada", "ADA@example.com", "+1 555 0100", "2").expect("valid");
        let json = serde_json::to_value(&draft).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "name": "Ada",
                "email": "ada@example.com",
                "phone": "+1 555 0100",
                "max_plus_ones": 2
            })
        );
        let back: GuestDraft = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, draft);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn invalid_json_values_fail_deserialization() {
        for json in [
            r#"{"name": "", "email": null, "phone": null, "max_plus_ones": null}"#,
            r#"{"name": "Ada", "email": "not-an-email"}"#,
            r#"{"name": "Ada", "phone": "call me"}"#,
            r#"{"name": "Ada", "max_plus_ones": 21}"#,
            r#"{"name": "Ada", "max_plus_ones": -3}"#,
            r#"{"name": "Ada", "max_plus_ones": "2"}"#,
        ] {
            assert!(serde_json::from_str::<GuestDraft>(json).is_err(), "{json}");
        }
        let minimal: GuestDraft = serde_json::from_str(r#"{"name": "Ada"}"#).expect("valid");
        assert_eq!(minimal.email, None);
        assert_eq!(minimal.max_plus_ones, None);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_field_error_round_trips_through_json() {
        let error = EmailAddress::parse("nope").expect_err("invalid");
        let json = serde_json::to_string(&error).expect("serializes");
        assert!(json.contains(r#""field":"email""#), "{json}");
        let back: FieldError = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, error);
        assert_eq!(back.message(), error.to_string());
    }

    // --- GuestDraft ---

    #[test]
    fn a_draft_treats_blank_optional_fields_as_not_given() {
        let draft = GuestDraft::parse(" Grace ", "", "  ", "").expect("valid");
        assert_eq!(draft.name.as_str(), "Grace");
        assert_eq!(draft.email, None);
        assert_eq!(draft.phone, None);
        assert_eq!(draft.max_plus_ones, None);
    }

    #[test]
    fn a_draft_reports_every_invalid_field() {
        let errors = GuestDraft::parse("", "x", "y", "-1").expect_err("all invalid");
        let fields: Vec<&str> = errors.iter().map(FieldError::field).collect();
        assert_eq!(fields, ["name", "email", "phone", "max_plus_ones"]);
        let errors = GuestDraft::parse("Ada", "ada@example.com", "", "50").expect_err("one");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field_kind(), Field::MaxPlusOnes);
    }
}
