//! REST transport of guests: `/api/v1/events/{id}/guests[/{guest_id}]`, CSV import
//! (`POST .../guests/import`, body `text/csv`) and export (`GET .../guests/export`).

use super::{
    csv::{write_guest_csv, GuestExportRow},
    fields::{EmailAddress, GuestDraft, GuestName, PhoneNumber, PlusOnes},
    import, store, CreateGuest, Guest, GuestList, GuestStatus, ImportReport, UpdateGuest,
};
use crate::{
    error::AppError,
    hosts::auth::CurrentHost,
    rest::{ApiBytes, ApiPath, ApiQuery, JsonBody},
    state::AppState,
};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
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

#[utoipa::path(
    post,
    path = "/api/v1/events/{id}/guests",
    tag = "guests",
    summary = "Add a guest",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id")
    ),
    request_body = super::CreateGuest,
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 201, description = "The guest", body = super::Guest),
        crate::api_docs::responses::BodyErrors,
        crate::api_docs::responses::ResourceErrors,
        (status = 409, description = "The email is already on the list", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/events/{id}/guests` → 201 with the guest.
pub(crate) async fn create(
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

/// The guest list's filter from its raw fields (shared with the dashboard): a status
/// (`attending`, `declined`, `maybe`, `pending`; empty: all) and a search of at most 200
/// bytes (a longer one, or one with a NUL, is ignored).
pub fn list_filter<'a>(
    status: Option<&str>,
    search: Option<&'a str>,
) -> Result<(Option<GuestStatus>, Option<&'a str>), AppError> {
    let status = match status.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(GuestStatus::parse(raw).ok_or_else(|| {
            AppError::bad_request(
                "invalid_status",
                "status must be attending, declined, maybe or pending",
            )
        })?),
    };
    // PostgreSQL text holds no NUL: such a search finds nothing anyone typed.
    Ok((
        status,
        search.filter(|s| s.len() <= 200 && !s.contains('\0')),
    ))
}

/// Query of the guest list.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
    search: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/guests",
    tag = "guests",
    summary = "List guests with counts",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id"),
        ("status" = Option<super::GuestStatus>, Query, description = "attending, declined, maybe, pending or held"),
        ("search" = Option<String>, Query, description = "Part of a name or email")
    ),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Guests and counts", body = super::GuestList),
        crate::api_docs::responses::MalformedBody,
        crate::api_docs::responses::ResourceErrors
    )
)]
/// `GET /api/v1/events/{id}/guests?status=attending&search=ada`.
pub(crate) async fn list(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<GuestList>, AppError> {
    let (status, search) = list_filter(query.status.as_deref(), query.search.as_deref())?;
    let event = crate::events::store::get(&state.pool, host.id, event_id).await?;
    Ok(Json(
        store::list(&state.pool, &event, status, search).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/guests/{guest_id}",
    tag = "guests",
    summary = "One guest",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id"),
        ("guest_id" = uuid::Uuid, Path, description = "Guest id")
    ),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The guest", body = super::Guest),
        crate::api_docs::responses::ResourceErrors
    )
)]
/// `GET /api/v1/events/{id}/guests/{guest_id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<Guest>, AppError> {
    Ok(Json(
        store::get(&state.pool, host.id, event_id, guest_id).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/api/v1/events/{id}/guests/{guest_id}",
    tag = "guests",
    summary = "Change a guest",
    description = "Only the fields sent change; `null` clears email, phone or the per-guest plus-one limit.",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id"),
        ("guest_id" = uuid::Uuid, Path, description = "Guest id")
    ),
    request_body = super::UpdateGuest,
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The changed guest", body = super::Guest),
        crate::api_docs::responses::BodyErrors,
        crate::api_docs::responses::ResourceErrors,
        (status = 409, description = "The email is already on the list", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `PATCH /api/v1/events/{id}/guests/{guest_id}` with only the fields to change.
pub(crate) async fn update(
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

#[utoipa::path(
    delete,
    path = "/api/v1/events/{id}/guests/{guest_id}",
    tag = "guests",
    summary = "Remove a guest",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id"),
        ("guest_id" = uuid::Uuid, Path, description = "Guest id")
    ),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 204, description = "Removed, with their links and answer"),
        crate::api_docs::responses::ResourceErrors
    )
)]
/// `DELETE /api/v1/events/{id}/guests/{guest_id}` → 204.
pub(crate) async fn remove(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath((event_id, guest_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    store::delete(&state.pool, host.id, event_id, guest_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of the CSV import.
#[derive(Debug, Deserialize)]
pub(crate) struct ImportQuery {
    /// `true`: import the valid rows even when others have errors.
    #[serde(default)]
    valid_only: bool,
    /// `true`: only check the file (a preview); import nothing.
    #[serde(default)]
    dry_run: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/events/{id}/guests/import",
    tag = "guests",
    summary = "Import guests from CSV",
    description = "Columns `name,email,phone,max_plus_ones` with a header row. A file with errors imports nothing (422 with every row error and its line) unless `valid_only=true`; `dry_run=true` only checks.",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id"),
        ("valid_only" = Option<bool>, Query, description = "Import the valid rows even if others have errors"),
        ("dry_run" = Option<bool>, Query, description = "Check only; store nothing")
    ),
    request_body(content = String, content_type = "text/csv"),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Imported (or checked, on a dry run)", body = super::ImportReport),
        (status = 422, description = "Rows with errors; nothing imported", body = super::ImportReport),
        crate::api_docs::responses::MalformedBody,
        crate::api_docs::responses::ResourceErrors,
        (status = 413, description = "The file is over 1 MiB", body = crate::api_docs::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/events/{id}/guests/import` with a `text/csv` body. A file with errors
/// imports nothing (422 with every error and its line) unless `?valid_only=true`.
pub(crate) async fn import(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(event_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    ApiBytes(body): ApiBytes,
) -> Result<(StatusCode, Json<ImportReport>), AppError> {
    let checked = import::check(&state.pool, host.id, event_id, &body).await?;
    if checked.file_rejected {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(ImportReport {
                imported: 0,
                errors: checked.errors,
            }),
        ));
    }
    let blocked = !checked.is_clean() && !query.valid_only;
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
                errors: checked.errors,
            }),
        ));
    }
    let drafts: Vec<_> = checked.rows.into_iter().map(|row| row.guest).collect();
    let imported = store::insert_many(&state.pool, host.id, event_id, &drafts).await?;
    Ok((
        StatusCode::OK,
        Json(ImportReport {
            imported,
            errors: checked.errors,
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/guests/export",
    tag = "guests",
    summary = "Export the guest list as CSV",
    description = "With each guest's RSVP status, plus-ones and answer time.",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id")
    ),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "CSV file", content_type = "text/csv", body = String),
        crate::api_docs::responses::ResourceErrors
    )
)]
/// `GET /api/v1/events/{id}/guests/export` → the guest list with answers as CSV.
pub(crate) async fn export(
    State(state): State<AppState>,
    host: CurrentHost,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<impl IntoResponse, AppError> {
    let event = crate::events::store::get(&state.pool, host.id, event_id).await?;
    let list = store::list(&state.pool, &event, None, None).await?;
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
