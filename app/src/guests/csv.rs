//! CSV import and export of guest lists (server only).
//!
//! Import ([`parse_guest_csv`]) reads a UTF-8 file (a leading byte order mark is fine)
//! whose first line is a header naming the columns `name`, `email`, `phone` and
//! `max_plus_ones` in any order and case; only `name` is required. The extra columns of
//! an export (`status`, `plus_ones`, `responded_at`) are accepted and ignored, so a host
//! can re-import a file they exported. Every row is validated with the newtypes of
//! [`super::fields`]; problems are reported per row with the line number in the file
//! (the header is line 1) so the host can fix them, while problems with the file as a
//! whole (too big, not UTF-8, bad header, …) are reported once.
//!
//! Export ([`write_guest_csv`]) writes the guest list with answers. Cells that a
//! spreadsheet would run as a formula are prefixed with `'`; import removes that prefix
//! again.

use super::fields::{EmailAddress, Field, GuestDraft};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// The most data rows (not counting the header and blank lines) a file may have.
pub const MAX_ROWS: usize = 5000;
/// The largest file accepted, in bytes.
pub const MAX_BYTES: usize = 1_000_000;
/// The columns an import understands.
pub const IMPORT_COLUMNS: [&str; 4] = ["name", "email", "phone", "max_plus_ones"];
/// The columns of an export, in order.
pub const EXPORT_COLUMNS: [&str; 7] = [
    "name",
    "email",
    "phone",
    "max_plus_ones",
    "status",
    "plus_ones",
    "responded_at",
];

/// Export columns an import accepts but ignores.
const IGNORED_COLUMNS: [&str; 3] = ["status", "plus_ones", "responded_at"];
const HEADER_HINT: &str =
    "the first line must name the columns, e.g. name,email,phone,max_plus_ones";
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A valid row of an imported file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvRow {
    /// 1-based line in the file where the row starts (the header is line 1).
    pub line: usize,
    /// The guest the row describes.
    pub guest: GuestDraft,
}

/// A problem with one row of an imported file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvRowError {
    /// 1-based line in the file where the row starts (the header is line 1).
    pub line: usize,
    /// The column of the bad cell, or `None` when the row as a whole is wrong.
    pub column: Option<String>,
    /// What is wrong, in words for the host.
    pub message: String,
}

/// The outcome of reading an imported file: valid rows and row problems, or a problem
/// with the whole file (then there are no rows at all).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvImport {
    /// Rows that passed, in file order.
    pub valid: Vec<CsvRow>,
    /// Problems with rows, in file order (a row may have several).
    pub errors: Vec<CsvRowError>,
    /// A problem with the whole file; when set, `valid` and `errors` are empty.
    pub file_error: Option<String>,
}

impl CsvImport {
    /// `true` when the file and every row in it are valid.
    pub fn is_clean(&self) -> bool {
        self.file_error.is_none() && self.errors.is_empty()
    }

    fn rejected(message: String) -> Self {
        Self {
            file_error: Some(message),
            ..Self::default()
        }
    }
}

/// One guest of an export, with their answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestExportRow {
    /// The guest's name.
    pub name: String,
    /// The guest's email address, if known.
    pub email: Option<String>,
    /// The guest's phone number, if known.
    pub phone: Option<String>,
    /// How many plus-ones the guest may bring.
    pub max_plus_ones: i32,
    /// The guest's answer (`attending`, `declined`, `maybe`, `pending`).
    pub status: String,
    /// How many plus-ones the guest is bringing.
    pub plus_ones: i32,
    /// When the guest answered.
    pub responded_at: Option<DateTime<Utc>>,
}

/// What a column of an imported file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Guest(Field),
    /// An export-only column, read past.
    Ignored,
}

/// A header cell as a column key: trimmed, lower-cased, with spaces and dashes as `_`
/// (so `Max Plus Ones` and `max-plus-ones` mean `max_plus_ones`).
fn column_key(cell: &str) -> String {
    cell.to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

fn column(key: &str) -> Option<Column> {
    match key {
        "name" => Some(Column::Guest(Field::Name)),
        "email" => Some(Column::Guest(Field::Email)),
        "phone" => Some(Column::Guest(Field::Phone)),
        "max_plus_ones" => Some(Column::Guest(Field::MaxPlusOnes)),
        _ if IGNORED_COLUMNS.contains(&key) => Some(Column::Ignored),
        _ => None,
    }
}

/// A cell quoted in a message, shortened so a runaway cell cannot flood it.
fn quoted(cell: &str) -> String {
    const SHOWN: usize = 40;
    let cell = cell.trim();
    if cell.chars().count() > SHOWN {
        format!("\"{}…\"", cell.chars().take(SHOWN).collect::<String>())
    } else {
        format!("\"{cell}\"")
    }
}

/// Reads the header row into the column of each cell.
fn header(record: &csv::StringRecord) -> Result<Vec<Column>, String> {
    let mut seen = HashSet::new();
    let mut columns = Vec::with_capacity(record.len());
    for (index, cell) in record.iter().enumerate() {
        let key = column_key(cell);
        if key.is_empty() {
            return Err(format!(
                "column {} of the header has no name; {HEADER_HINT}",
                index + 1
            ));
        }
        let Some(column) = column(&key) else {
            let separator = if cell.contains(';') || cell.contains('\t') {
                "; separate the columns with commas"
            } else {
                ""
            };
            return Err(format!(
                "unknown column {} in the header{separator}; {HEADER_HINT}",
                quoted(cell)
            ));
        };
        if !seen.insert(key.clone()) {
            return Err(format!("the column \"{key}\" appears twice in the header"));
        }
        columns.push(column);
    }
    if !columns.contains(&Column::Guest(Field::Name)) {
        return Err(format!("the header has no name column; {HEADER_HINT}"));
    }
    Ok(columns)
}

/// Byte offsets where the lines of a text start; `\n`, `\r\n` and a lone `\r` each end
/// a line, as for the CSV reader.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &[u8]) -> Self {
        let mut starts = vec![0];
        for (at, byte) in text.iter().enumerate() {
            let ends_line = *byte == b'\n' || (*byte == b'\r' && text.get(at + 1) != Some(&b'\n'));
            if ends_line {
                starts.push(at + 1);
            }
        }
        Self(starts)
    }

    /// The 1-based line holding the byte at `offset`.
    fn line_at(&self, offset: usize) -> usize {
        self.0.partition_point(|start| *start <= offset)
    }
}

/// The line a record starts on. The reader positions a record right after the previous
/// one, so skip the line breaks (blank lines, the rest of a `\r\n`) in between.
fn record_line(text: &[u8], lines: &Lines, record: &csv::StringRecord) -> usize {
    let after_previous = record
        .position()
        .and_then(|position| usize::try_from(position.byte()).ok())
        .unwrap_or(0);
    let start = text
        .iter()
        .skip(after_previous)
        .position(|byte| *byte != b'\r' && *byte != b'\n')
        .map_or(text.len(), |skipped| after_previous + skipped);
    lines.line_at(start)
}

/// The first character of a cell that a spreadsheet treats as the start of a formula.
fn is_formula_start(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

/// Defuses a cell for spreadsheets: a cell that (after any `'`s) starts like a formula
/// gets a leading `'`. Cells that already start with `'`s get one more, so
/// [`unescape_cell`] restores every cell exactly.
fn escape_cell(cell: &str) -> String {
    if cell.trim_start_matches('\'').starts_with(is_formula_start) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// Undoes [`escape_cell`].
fn unescape_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.trim_start_matches('\'').starts_with(is_formula_start) => rest,
        _ => cell,
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// Reads an uploaded guest list. Never fails: problems are in the result, the file's
/// own in `file_error`, each row's in `errors`.
pub fn parse_guest_csv(bytes: &[u8]) -> CsvImport {
    read(bytes).unwrap_or_else(CsvImport::rejected)
}

/// [`parse_guest_csv`], with a file-level problem as the error.
fn read(bytes: &[u8]) -> Result<CsvImport, String> {
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "the file is larger than {MAX_BYTES} bytes; split it into smaller files"
        ));
    }
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let line = Lines::new(bytes).line_at(error.valid_up_to());
        format!(
            "the file is not UTF-8 text (line {line} has other characters); \
             save it as \"CSV UTF-8\" and try again"
        )
    })?;
    if text.trim().is_empty() {
        return Err(format!("the file is empty; {HEADER_HINT}"));
    }

    let text = text.as_bytes();
    let lines = Lines::new(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut columns: Option<Vec<Column>> = None;
    let mut rows = 0_usize;
    let mut emails: HashMap<String, usize> = HashMap::new();
    let mut import = CsvImport::default();

    for record in reader.records() {
        let record = record.map_err(|error| format!("the file is not valid CSV: {error}"))?;
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        let Some(columns) = &columns else {
            columns = Some(header(&record)?);
            continue;
        };
        rows += 1;
        if rows > MAX_ROWS {
            return Err(format!(
                "the file has more than {MAX_ROWS} guests; split it into smaller files"
            ));
        }
        let line = record_line(text, &lines, &record);
        if record.len() != columns.len() {
            import.errors.push(CsvRowError {
                line,
                column: None,
                message: format!(
                    "this line has {} but the header has {}",
                    plural(record.len(), "cell", "cells"),
                    plural(columns.len(), "column", "columns"),
                ),
            });
            continue;
        }

        // Name, email, phone, max_plus_ones; missing columns stay blank.
        let mut cells = [""; 4];
        for (column, cell) in columns.iter().zip(record.iter()) {
            let slot = match column {
                Column::Guest(Field::Name) => 0,
                Column::Guest(Field::Email) => 1,
                Column::Guest(Field::Phone) => 2,
                Column::Guest(Field::MaxPlusOnes) => 3,
                Column::Ignored => continue,
            };
            cells[slot] = unescape_cell(cell.trim());
        }
        let [name, email, phone, max_plus_ones] = cells;
        let (guest, mut row_errors) = match GuestDraft::parse(name, email, phone, max_plus_ones) {
            Ok(guest) => (Some(guest), Vec::new()),
            Err(errors) => (
                None,
                errors
                    .into_iter()
                    .map(|error| CsvRowError {
                        line,
                        column: Some(error.field().to_owned()),
                        message: error.to_string(),
                    })
                    .collect(),
            ),
        };

        // The first line with an email keeps it; later lines with the same one fail.
        if let Ok(email) = EmailAddress::parse(email) {
            let key = email.as_str().to_lowercase();
            match emails.get(&key) {
                Some(first) => row_errors.push(CsvRowError {
                    line,
                    column: Some(Field::Email.as_str().to_owned()),
                    message: format!("this email is already used on line {first}"),
                }),
                None => {
                    emails.insert(key, line);
                }
            }
        }

        match guest {
            Some(guest) if row_errors.is_empty() => import.valid.push(CsvRow { line, guest }),
            _ => import.errors.extend(row_errors),
        }
    }

    if columns.is_none() {
        return Err(format!("the file is empty; {HEADER_HINT}"));
    }
    Ok(import)
}

/// Writes guests with their answers as CSV (RFC 4180, `\r\n` line ends) under the header
/// `name,email,phone,max_plus_ones,status,plus_ones,responded_at`. `responded_at` is
/// RFC 3339 in UTC. Cells that a spreadsheet would run as a formula (starting with `=`,
/// `+`, `-`, `@`, tab or carriage return) get a leading `'`.
pub fn write_guest_csv(rows: &[GuestExportRow]) -> String {
    let mut out = Vec::new();
    if let Err(error) = write_rows(&mut out, rows) {
        // Unreachable: writing to memory cannot fail and every record has 7 cells.
        tracing::error!(%error, "writing the guest CSV failed");
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn write_rows(out: &mut Vec<u8>, rows: &[GuestExportRow]) -> Result<(), csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    writer.write_record(EXPORT_COLUMNS)?;
    for row in rows {
        let responded_at = row
            .responded_at
            .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_default();
        writer.write_record(
            [
                row.name.as_str(),
                row.email.as_deref().unwrap_or(""),
                row.phone.as_deref().unwrap_or(""),
                &row.max_plus_ones.to_string(),
                row.status.as_str(),
                &row.plus_ones.to_string(),
                &responded_at,
            ]
            .map(escape_cell),
        )?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const HEADER: &str = "name,email,phone,max_plus_ones\n";

    fn import(text: &str) -> CsvImport {
        parse_guest_csv(text.as_bytes())
    }

    fn valid_lines(import: &CsvImport) -> Vec<usize> {
        import.valid.iter().map(|row| row.line).collect()
    }

    fn error_places(import: &CsvImport) -> Vec<(usize, Option<&str>)> {
        import
            .errors
            .iter()
            .map(|error| (error.line, error.column.as_deref()))
            .collect()
    }

    fn file_error(import: &CsvImport) -> &str {
        assert!(import.valid.is_empty() && import.errors.is_empty());
        import.file_error.as_deref().expect("a file error")
    }

    fn export_row(name: &str) -> GuestExportRow {
        GuestExportRow {
            name: name.into(),
            email: None,
            phone: None,
            max_plus_ones: 0,
            status: "pending".into(),
            plus_ones: 0,
            responded_at: None,
        }
    }

    // --- import ---

    #[test]
    fn a_well_formed_file_is_imported_with_line_numbers() {
        let result = import(&format!(
            "{HEADER}Ada Lovelace,ADA@Example.com,+44 20 7946 0958,2\nGrace Hopper,,,\n"
        ));
        assert!(result.is_clean(), "{result:?}");
        assert_eq!(valid_lines(&result), [2, 3]);
        let ada = &result.valid[0].guest;
        assert_eq!(ada.name.as_str(), "Ada Lovelace");
        assert_eq!(
            ada.email.as_ref().map(|e| e.as_str()),
            Some("ada@example.com")
        );
        assert_eq!(
            ada.phone.as_ref().map(|p| p.as_str()),
            Some("+44 20 7946 0958")
        );
        assert_eq!(ada.max_plus_ones.map(|n| n.get()), Some(2));
        let grace = &result.valid[1].guest;
        assert_eq!(grace.email, None);
        assert_eq!(grace.phone, None);
        assert_eq!(grace.max_plus_ones, None, "blank means the event default");
    }

    #[test]
    fn header_columns_may_come_in_any_order_and_case() {
        let result = import(" Max Plus Ones ,EMAIL,  Name\n1,ada@example.com,Ada\n");
        assert!(result.is_clean(), "{result:?}");
        let ada = &result.valid[0].guest;
        assert_eq!(ada.name.as_str(), "Ada");
        assert_eq!(ada.max_plus_ones.map(|n| n.get()), Some(1));
        assert_eq!(ada.phone, None);
    }

    #[test]
    fn a_name_column_alone_is_enough() {
        let result = import("name\nAda\n\"Lovelace, Ada\"\n");
        assert!(result.is_clean(), "{result:?}");
        assert_eq!(result.valid[1].guest.name.as_str(), "Lovelace, Ada");
    }

    #[test]
    fn a_file_without_a_header_is_rejected() {
        let result = import("Ada Lovelace,ada@example.com\n");
        let message = file_error(&result);
        assert!(message.contains("\"Ada Lovelace\""), "{message}");
        assert!(
            message.contains("the first line must name the columns"),
            "{message}"
        );
    }

    #[test]
    fn a_header_without_a_name_column_is_rejected() {
        let message = file_error(&import("email,phone\nada@example.com,555 0100\n")).to_owned();
        assert!(message.contains("no name column"), "{message}");
    }

    #[test]
    fn unknown_duplicate_or_empty_header_columns_are_rejected() {
        let message = file_error(&import("name,email,age\nAda,,36\n")).to_owned();
        assert!(message.contains("unknown column \"age\""), "{message}");
        let message = file_error(&import("name,Email,email\n")).to_owned();
        assert!(message.contains("\"email\" appears twice"), "{message}");
        let message = file_error(&import("name,,email\n")).to_owned();
        assert!(message.contains("column 2"), "{message}");
    }

    #[test]
    fn a_semicolon_separated_file_gets_a_hint_to_use_commas() {
        let message = file_error(&import("name;email\nAda;ada@example.com\n")).to_owned();
        assert!(
            message.contains("separate the columns with commas"),
            "{message}"
        );
    }

    #[test]
    fn an_empty_file_is_rejected() {
        for text in ["", "\n\n", " \r\n ", "\u{FEFF}", ",,,\n"] {
            let message = file_error(&import(text)).to_owned();
            assert!(message.contains("empty"), "{text:?}: {message}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let result = parse_guest_csv(b"\xEF\xBB\xBFname,email\nAda,ada@example.com\n");
        assert!(result.is_clean(), "{result:?}");
        assert_eq!(valid_lines(&result), [2]);
    }

    #[test]
    fn blank_lines_are_skipped_but_still_counted() {
        let result = import("\nname,email\n\nAda,ada@example.com\n   \n,\nBob,not-an-email\n\n");
        assert_eq!(valid_lines(&result), [4]);
        assert_eq!(error_places(&result), [(7, Some("email"))]);
    }

    #[test]
    fn crlf_line_ends_give_the_same_line_numbers() {
        let result = import("name,email\r\nAda,nope\r\n\r\nBob,bob@example.com\r\nCy,\r\n");
        assert_eq!(error_places(&result), [(2, Some("email"))]);
        assert_eq!(valid_lines(&result), [4, 5]);
        let result = import("name,email\rAda,nope\r\rBob,bob@example.com\r");
        assert_eq!(error_places(&result), [(2, Some("email"))]);
        assert_eq!(valid_lines(&result), [4]);
    }

    #[test]
    fn a_row_spanning_lines_is_reported_on_the_line_where_it_starts() {
        // Lines: 1 header, 2–3 Ada, 4–6 Grace, 7 Bob, 8 Cy.
        let result = import(
            "name,email,status\n\
             \"Ada\nLovelace\",ada@example.com,x\n\
             Grace,grace@example.com,\"multi\n\nline\"\n\
             Bob,nope,\n\
             Cy,,\n",
        );
        assert_eq!(
            error_places(&result),
            [(2, Some("name")), (7, Some("email"))]
        );
        assert_eq!(valid_lines(&result), [4, 8]);
    }

    #[test]
    fn each_bad_cell_of_a_row_is_reported_with_its_column() {
        let result = import(&format!("{HEADER},bad,12,-1\nAda,,,21\n"));
        assert_eq!(
            error_places(&result),
            [
                (2, Some("name")),
                (2, Some("email")),
                (2, Some("phone")),
                (2, Some("max_plus_ones")),
                (3, Some("max_plus_ones")),
            ]
        );
        assert_eq!(result.errors[0].message, "enter a name");
        assert!(result.valid.is_empty());
        assert!(!result.is_clean());
    }

    #[test]
    fn a_row_with_the_wrong_number_of_cells_is_an_error() {
        let result = import("name,email\nAda\nBob,bob@example.com,extra\nCy,cy@example.com\n");
        assert_eq!(error_places(&result), [(2, None), (3, None)]);
        assert_eq!(
            result.errors[0].message,
            "this line has 1 cell but the header has 2 columns"
        );
        assert_eq!(valid_lines(&result), [4]);
    }

    #[test]
    fn a_later_row_with_the_same_email_is_an_error() {
        let result = import(
            "name,email\nAda,ada@example.com\nAda again,ADA@example.COM\nGrace,grace@example.com\n",
        );
        assert_eq!(valid_lines(&result), [2, 4]);
        assert_eq!(error_places(&result), [(3, Some("email"))]);
        assert_eq!(
            result.errors[0].message,
            "this email is already used on line 2"
        );
    }

    #[test]
    fn markup_and_unicode_names_are_imported_as_text() {
        let result = import("name\n<script>alert(1)</script>\nZoë Ångström\n");
        assert!(result.is_clean(), "{result:?}");
        assert_eq!(
            result.valid[0].guest.name.as_str(),
            "<script>alert(1)</script>"
        );
        assert_eq!(result.valid[1].guest.name.as_str(), "Zoë Ångström");
    }

    #[test]
    fn up_to_max_rows_are_accepted_and_one_more_rejects_the_file() {
        let mut text = String::from("name\n");
        for n in 0..MAX_ROWS {
            text.push_str(&format!("Guest {n}\n"));
        }
        let result = import(&text);
        assert!(result.is_clean());
        assert_eq!(result.valid.len(), MAX_ROWS);
        assert_eq!(result.valid[MAX_ROWS - 1].line, MAX_ROWS + 1);

        text.push_str("One too many\n");
        let message = file_error(&import(&text)).to_owned();
        assert!(message.contains("more than 5000"), "{message}");
    }

    #[test]
    fn a_file_larger_than_max_bytes_is_rejected() {
        let mut text = String::from("name\n");
        while text.len() <= MAX_BYTES {
            text.push_str(&"x".repeat(99));
            text.push('\n');
        }
        let message = file_error(&import(&text)).to_owned();
        assert!(message.contains("larger than"), "{message}");
    }

    #[test]
    fn a_file_that_is_not_utf8_is_rejected_with_the_line() {
        let result = parse_guest_csv(b"name,email\nAda,ada@example.com\nJos\xE9,\n");
        let message = file_error(&result);
        assert!(message.contains("not UTF-8"), "{message}");
        assert!(message.contains("line 3"), "{message}");
    }

    // --- export ---

    #[test]
    fn an_export_has_the_header_and_one_line_per_guest() {
        let responded = Utc
            .with_ymd_and_hms(2027, 6, 1, 12, 30, 0)
            .single()
            .expect("a valid time");
        let rows = [
            GuestExportRow {
                name: "Ada Lovelace".into(),
                email: Some("ada@example.com".into()),
                phone: Some("555 0100".into()),
                max_plus_ones: 2,
                status: "attending".into(),
                plus_ones: 1,
                responded_at: Some(responded),
            },
            export_row("Grace"),
        ];
        assert_eq!(
            write_guest_csv(&rows),
            "name,email,phone,max_plus_ones,status,plus_ones,responded_at\r\n\
             Ada Lovelace,ada@example.com,555 0100,2,attending,1,2027-06-01T12:30:00Z\r\n\
             Grace,,,0,pending,0,\r\n"
        );
        assert_eq!(
            write_guest_csv(&[]),
            "name,email,phone,max_plus_ones,status,plus_ones,responded_at\r\n"
        );
    }

    #[test]
    fn cells_with_commas_quotes_or_line_breaks_are_quoted() {
        let out = write_guest_csv(&[export_row("Lovelace, Ada \"The Countess\"")]);
        assert!(
            out.contains("\"Lovelace, Ada \"\"The Countess\"\"\",,,0,pending"),
            "{out}"
        );
        let out = write_guest_csv(&[export_row("two\nlines")]);
        assert!(out.contains("\"two\nlines\""), "{out}");
    }

    #[test]
    fn cells_that_would_run_as_formulas_are_prefixed_with_a_quote() {
        for (name, cell) in [
            (
                "=HYPERLINK(\"http://evil\")",
                "\"'=HYPERLINK(\"\"http://evil\"\")\"",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "\"'\r=1\""),
            ("'=1", "''=1"),
        ] {
            let out = write_guest_csv(&[export_row(name)]);
            assert!(out.contains(&format!("\r\n{cell},")), "{name:?}: {out:?}");
        }
        let mut row = export_row("O'Brien");
        row.phone = Some("+44 20 7946 0958".into());
        row.email = Some("-ada@example.com".into());
        let out = write_guest_csv(&[row]);
        assert!(
            out.ends_with("\r\nO'Brien,'-ada@example.com,'+44 20 7946 0958,0,pending,0,\r\n"),
            "{out:?}"
        );
    }

    #[test]
    fn an_exported_file_can_be_imported_again() {
        let responded = Utc
            .with_ymd_and_hms(2027, 6, 1, 12, 30, 0)
            .single()
            .expect("a valid time");
        let rows = [
            GuestExportRow {
                name: "Ada \"Countess\" Lovelace, Jr.".into(),
                email: Some("ada@example.com".into()),
                phone: Some("+44 20 7946 0958".into()),
                max_plus_ones: 2,
                status: "attending".into(),
                plus_ones: 1,
                responded_at: Some(responded),
            },
            export_row("=cmd|' /C calc'!A0"),
            export_row("'=already quoted"),
            export_row("O'Brien"),
            export_row("-dash-"),
        ];
        let result = parse_guest_csv(write_guest_csv(&rows).as_bytes());
        assert!(result.is_clean(), "{result:?}");
        assert_eq!(valid_lines(&result), [2, 3, 4, 5, 6]);
        for (row, imported) in rows.iter().zip(&result.valid) {
            let guest = &imported.guest;
            assert_eq!(guest.name.as_str(), row.name);
            assert_eq!(
                guest.email.as_ref().map(|e| e.as_str()),
                row.email.as_deref()
            );
            assert_eq!(
                guest.phone.as_ref().map(|p| p.as_str()),
                row.phone.as_deref()
            );
            assert_eq!(guest.max_plus_ones.map(i32::from), Some(row.max_plus_ones));
        }
    }

    #[test]
    fn escaping_and_unescaping_restore_every_cell() {
        for cell in [
            "", "Ada", "'", "''", "'Ada", "=1", "'=1", "''=1", "-", "@", "'\t",
        ] {
            assert_eq!(unescape_cell(&escape_cell(cell)), cell, "{cell:?}");
        }
    }

    #[test]
    fn an_import_report_serializes_for_a_browser_preview() {
        let result = import("name,email\nAda,nope\nGrace,\n");
        let json = serde_json::to_value(&result).expect("serializes");
        assert_eq!(json["errors"][0]["line"], 2);
        assert_eq!(json["errors"][0]["column"], "email");
        assert_eq!(json["valid"][0]["guest"]["name"], "Grace");
        let back: CsvImport = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, result);
    }
}
