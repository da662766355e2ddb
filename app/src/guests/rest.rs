//! REST transport of guests: `/api/v1/events/{id}/guests[/{guest_id}]`, CSV import
//! (`POST .../guests/import`, body `text/csv`) and export (`GET .../guests/export`).

use super::{
    csv::{parse_guest_csv, write_guest_csv, GuestExportRow},
    fields::{EmailAddress, GuestDraft, GuestName, PhoneNumber, PlusOnes},
    store, CreateGuest, Guest, GuestList, GuestStatus, ImportError, ImportReport, UpdateGuest,
};
use crate::{
    error::AppError,
    hosts::auth::CurrentHost,
    rest::{ApiPath, ApiQuery, JsonBody},
    state::AppState,
};
use axum::{
    body::Bytes,
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use std::collections::HashSet;
use uuid::Uuid;

/// Routes of this module, mounted under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events/{id}/guests", get(list).post(create))
        .route("/events/{id}/guests/import", post(import))
        .route("/events/{id}/guests/export", get(export))
        .route(
            "/events/{id}/guests/{guest_id}",
            get(show).patch(update).delete(remove),
        )
}

fn optional<T>(
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, super::fields::FieldError>,
) -> Result<Option<T>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Ok(Some(parse(v)?)),
        None => Ok(None),
    }
}

/// Validates guest input into a draft.
pub fn draft(
    name: &str,
    email: Option<&str>,
    phone: Option<&str>,
    max_plus_ones: Option<i64>,
) -> Result<GuestDraft, AppError> {
    Ok(GuestDraft {
        name: GuestName::parse(name)?,
        email: optional(email, EmailAddress::parse)?,
        phone: optional(phone, PhoneNumber::parse)?,
        max_plus_ones: max_plus_ones.map(PlusOnes::new).transpose()?,
    })
}

/// `POST /api/v1/events/{id}/guests` → 201 with the guest.
async fn create(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(event_id): ApiPath<Uuid>,
    JsonBody(input): JsonBody<CreateGuest>,
) -> Result<(StatusCode, Json<Guest>), AppError> {
    let draft = draft(
        &input.name,
        input.email.as_deref(),
        input.phone.as_deref(),
        input.max_plus_ones,
    )?;
    let guest = store::insert(&state.pool, host.id, event_id, &draft).await?;
    Ok((StatusCode::CREATED, Json(guest)))
}

/// Query of the guest list.
#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
    search: Option<String>,
}

/// `GET /api/v1/events/{id}/guests?status=attending&search=ada`.
async fn list(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<GuestList>, AppError> {
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(GuestStatus::parse(raw).ok_or_else(|| {
            AppError::bad_request(
                "invalid_status",
                "status must be attending, declined, maybe or pending",
            )
        })?),
    };
    let search = query.search.as_deref().filter(|s| s.len() <= 200);
    Ok(Json(
        store::list(&state.pool, host.id, event_id, status, search).await?,
    ))
}

/// `GET /api/v1/events/{id}/guests/{guest_id}`.
async fn show(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<Guest>, AppError> {
    Ok(Json(
        store::get(&state.pool, host.id, event_id, guest_id).await?,
    ))
}

/// `PATCH /api/v1/events/{id}/guests/{guest_id}` with only the fields to change.
async fn update(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
    JsonBody(input): JsonBody<UpdateGuest>,
) -> Result<Json<Guest>, AppError> {
    let current = store::get(&state.pool, host.id, event_id, guest_id).await?;
    let name = input.name.unwrap_or(current.name);
    let email = input.email.unwrap_or(current.email);
    let phone = input.phone.unwrap_or(current.phone);
    let max_plus_ones = input
        .max_plus_ones
        .unwrap_or(current.max_plus_ones.map(i64::from));
    let draft = draft(&name, email.as_deref(), phone.as_deref(), max_plus_ones)?;
    Ok(Json(
        store::update(&state.pool, host.id, event_id, guest_id, &draft).await?,
    ))
}

/// `DELETE /api/v1/events/{id}/guests/{guest_id}` → 204.
async fn remove(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    store::delete(&state.pool, host.id, event_id, guest_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of the CSV import.
#[derive(Debug, Deserialize)]
struct ImportQuery {
    /// `true`: import the valid rows even when others have errors.
    #[serde(default)]
    valid_only: bool,
    /// `true`: only check the file (a preview); import nothing.
    #[serde(default)]
    dry_run: bool,
}

/// `POST /api/v1/events/{id}/guests/import` with a `text/csv` body. A file with errors
/// imports nothing (422 with every error and its line) unless `?valid_only=true`.
async fn import(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<ImportReport>), AppError> {
    store::require_event(&state.pool, host.id, event_id).await?;
    let parsed = parse_guest_csv(&body);
    let mut errors: Vec<ImportError> = Vec::new();
    if let Some(message) = parsed.file_error {
        errors.push(ImportError {
            line: 0,
            column: None,
            message,
        });
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(ImportReport {
                imported: 0,
                errors,
            }),
        ));
    }
    errors.extend(parsed.errors.into_iter().map(|e| ImportError {
        line: e.line,
        column: e.column,
        message: e.message,
    }));
    let known: HashSet<String> = store::existing_emails(&state.pool, event_id)
        .await?
        .into_iter()
        .collect();
    let mut drafts = Vec::new();
    for row in parsed.valid {
        match &row.guest.email {
            Some(email) if known.contains(&email.as_str().to_lowercase()) => {
                errors.push(ImportError {
                    line: row.line,
                    column: Some("email".into()),
                    message: "a guest with this email is already on the list".into(),
                })
            }
            _ => drafts.push(row.guest),
        }
    }
    errors.sort_by_key(|e| e.line);
    let blocked = !errors.is_empty() && !query.valid_only;
    if query.dry_run || blocked {
        let status = if blocked {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        return Ok((
            status,
            Json(ImportReport {
                imported: 0,
                errors,
            }),
        ));
    }
    let imported = store::insert_many(&state.pool, host.id, event_id, &drafts).await?;
    Ok((StatusCode::OK, Json(ImportReport { imported, errors })))
}

/// `GET /api/v1/events/{id}/guests/export` → the guest list with answers as CSV.
async fn export(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<impl IntoResponse, AppError> {
    let event = crate::events::store::get(&state.pool, host.id, event_id).await?;
    let list = store::list(&state.pool, host.id, event_id, None, None).await?;
    let rows: Vec<GuestExportRow> = list
        .guests
        .into_iter()
        .map(|g| GuestExportRow {
            name: g.name,
            email: g.email,
            phone: g.phone,
            max_plus_ones: g.allowed_plus_ones,
            status: g.status.as_str().to_owned(),
            plus_ones: g.plus_ones,
            responded_at: g.responded_at,
        })
        .collect();
    let file_name = format!("attachment; filename=\"{}-guests.csv\"", event.slug);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file_name),
        ],
        write_guest_csv(&rows),
    ))
}
