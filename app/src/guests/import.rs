//! Checking an uploaded guest list against the event (server only), shared by the REST
//! import route and the event page's import: the file is read with
//! [`super::csv::parse_guest_csv`], then rows whose email is already on the list are
//! refused too. What happens next (a preview, a full import, only the valid rows) is the
//! caller's choice.

use super::{
    csv::{parse_guest_csv, CsvRow},
    store, ImportError,
};
use crate::error::AppError;
use sqlx::PgPool;
use std::collections::HashSet;
use uuid::Uuid;

/// An uploaded file, checked: the rows that can be added and every problem.
#[derive(Clone, Debug, Default)]
pub struct CheckedImport {
    /// Rows that can be added, in file order.
    pub rows: Vec<CsvRow>,
    /// Problems, by line (line 0: the file as a whole).
    pub errors: Vec<ImportError>,
    /// `true` when the file as a whole was refused (then `rows` is empty and `errors`
    /// holds that one problem).
    pub file_rejected: bool,
}

impl CheckedImport {
    /// Whether every row can be added.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Reads an uploaded file for one of the host's events (404 for anyone else's).
pub async fn check(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Uuid,
    bytes: &[u8],
) -> Result<CheckedImport, AppError> {
    store::require_event(pool, host_id, event_id).await?;
    let parsed = parse_guest_csv(bytes);
    if let Some(message) = parsed.file_error {
        return Ok(CheckedImport {
            rows: Vec::new(),
            errors: vec![ImportError {
                line: 0,
                column: None,
                message,
            }],
            file_rejected: true,
        });
    }
    let mut errors: Vec<ImportError> = parsed
        .errors
        .into_iter()
        .map(|e| ImportError {
            line: e.line,
            column: e.column,
            message: e.message,
        })
        .collect();
    let known: HashSet<String> = store::existing_emails(pool, event_id)
        .await?
        .into_iter()
        .collect();
    let mut rows = Vec::new();
    for row in parsed.valid {
        match &row.guest.email {
            Some(email) if known.contains(&email.as_str().to_lowercase()) => {
                errors.push(ImportError {
                    line: row.line,
                    column: Some("email".into()),
                    message: "a guest with this email is already on the list".into(),
                })
            }
            _ => rows.push(row),
        }
    }
    errors.sort_by_key(|e| e.line);
    Ok(CheckedImport {
        rows,
        errors,
        file_rejected: false,
    })
}
