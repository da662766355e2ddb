//! PostgreSQL storage of webhook endpoints (never their secrets).

use super::{EventType, Webhook};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Row {
    pub id: Uuid,
    pub host_id: Uuid,
    pub event_id: Option<Uuid>,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub secret_version: i32,
    pub previous_valid_until: Option<DateTime<Utc>>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Row> for Webhook {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            event_id: row.event_id,
            url: row.url,
            description: row.description,
            event_types: row
                .event_types
                .iter()
                .filter_map(|kind| EventType::parse(kind))
                .collect(),
            enabled: row.enabled,
            secret_version: row.secret_version,
            previous_secret_valid_until: row
                .previous_valid_until
                .filter(|until| *until > Utc::now()),
            created_at: row.created_at,
        }
    }
}

const COLUMNS: &str = "id, host_id, event_id, url, description, event_types, secret_version,
    previous_valid_until, enabled, created_at";

/// Stores a new endpoint.
pub async fn insert(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Option<Uuid>,
    url: &str,
    description: &str,
    event_types: &[EventType],
) -> Result<Row, sqlx::Error> {
    let types: Vec<&str> = event_types.iter().map(|kind| kind.as_str()).collect();
    sqlx::query_as(&format!(
        "INSERT INTO webhooks (id, host_id, event_id, url, description, event_types)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(host_id)
    .bind(event_id)
    .bind(url)
    .bind(description)
    .bind(&types)
    .fetch_one(pool)
    .await
}

/// The host's endpoints (of one event, or all), oldest first.
pub async fn list(
    pool: &PgPool,
    host_id: Uuid,
    event_id: Option<Uuid>,
) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhooks
         WHERE host_id = $1 AND ($2::uuid IS NULL OR event_id = $2 OR event_id IS NULL)
         ORDER BY created_at, id"
    ))
    .bind(host_id)
    .bind(event_id)
    .fetch_all(pool)
    .await
}

/// One of the host's endpoints.
pub async fn get(pool: &PgPool, host_id: Uuid, id: Uuid) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE host_id = $1 AND id = $2"
    ))
    .bind(host_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// An endpoint by id alone (the worker).
pub async fn by_id(pool: &PgPool, id: Uuid) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Applies the given changes; `None` when the host has no such endpoint.
pub async fn update(
    pool: &PgPool,
    host_id: Uuid,
    id: Uuid,
    url: Option<&str>,
    description: Option<&str>,
    event_types: Option<&[EventType]>,
    enabled: Option<bool>,
) -> Result<Option<Row>, sqlx::Error> {
    let types: Option<Vec<&str>> =
        event_types.map(|types| types.iter().map(|kind| kind.as_str()).collect());
    sqlx::query_as(&format!(
        "UPDATE webhooks SET url = coalesce($3, url), description = coalesce($4, description),
             event_types = coalesce($5, event_types), enabled = coalesce($6, enabled),
             updated_at = now()
         WHERE host_id = $1 AND id = $2
         RETURNING {COLUMNS}"
    ))
    .bind(host_id)
    .bind(id)
    .bind(url)
    .bind(description)
    .bind(types)
    .bind(enabled)
    .fetch_optional(pool)
    .await
}

/// Bumps the secret version; the previous one stays valid until `previous_valid_until`.
pub async fn rotate(
    pool: &PgPool,
    host_id: Uuid,
    id: Uuid,
    previous_valid_until: DateTime<Utc>,
) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE webhooks SET secret_version = secret_version + 1,
             previous_valid_until = $3, updated_at = now()
         WHERE host_id = $1 AND id = $2
         RETURNING {COLUMNS}"
    ))
    .bind(host_id)
    .bind(id)
    .bind(previous_valid_until)
    .fetch_optional(pool)
    .await
}

/// Deletes an endpoint (and its delivery log); `false` when there was none.
pub async fn delete(pool: &PgPool, host_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM webhooks WHERE host_id = $1 AND id = $2")
            .bind(host_id)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
            == 1,
    )
}

/// The enabled endpoints of the host that want `event_type` for `event_id`.
pub async fn subscribers(
    conn: &mut PgConnection,
    host_id: Uuid,
    event_id: Uuid,
    event_type: EventType,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, url FROM webhooks
         WHERE host_id = $1 AND enabled AND (event_id IS NULL OR event_id = $2)
           AND $3 = ANY(event_types)
         ORDER BY created_at, id",
    )
    .bind(host_id)
    .bind(event_id)
    .bind(event_type.as_str())
    .fetch_all(conn)
    .await
}
