//! The REST API's OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! annotations (in each `app/src/<concern>/rest.rs`) and the shared request and
//! response types. Served as JSON at `/api/v1/openapi.json` and as a browsable page at
//! `/docs/api` (see [`reference`]).

use super::Operation;
use serde::Serialize;
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi, ToSchema,
};

/// Every error answer of the API: `{"error": {"code", "message", "field"?}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The stable part of an error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable and stable, e.g. `invalid_email`, `link_revoked`, `event_full`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The offending request field, for validation errors (422).
    pub field: Option<String>,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key from `POST /api/v1/api-keys`, sent as \
                         `Authorization: Bearer ggk_...`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::hosts::auth::SESSION_COOKIE,
                "The dashboard's session cookie from signup or login. Writes must come \
                 from the same origin (Origin or Referer header).",
            ))),
        );
    }
}

/// The document's root: every annotated handler and the error schema.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "GuestGuard API",
        version = "1",
        description = "Events, guests, signed invitation links and RSVPs. JSON in and out; \
            errors are `{\"error\": {\"code\", \"message\", \"field\"?}}` with a stable code. \
            Host endpoints take an API key (`Authorization: Bearer`) or the session cookie; \
            `/access` and `/rsvp` are public and take the guest's token."
    ),
    paths(
        crate::hosts::rest::signup,
        crate::hosts::rest::login,
        crate::hosts::rest::logout,
        crate::hosts::rest::logout_everywhere,
        crate::hosts::rest::change_password,
        crate::hosts::rest::me,
        crate::hosts::rest::create_api_key,
        crate::hosts::rest::list_api_keys,
        crate::hosts::rest::revoke_api_key,
        crate::events::rest::create,
        crate::events::rest::list,
        crate::events::rest::show,
        crate::events::rest::update,
        crate::events::rest::remove,
        crate::guests::rest::create,
        crate::guests::rest::list,
        crate::guests::rest::show,
        crate::guests::rest::update,
        crate::guests::rest::remove,
        crate::guests::rest::import,
        crate::guests::rest::export,
        crate::invitations::rest::issue,
        crate::invitations::rest::list,
        crate::invitations::rest::revoke,
        crate::access::rest::open,
        crate::access::rest::signals,
        crate::access::rest::access_log,
        crate::monitor::rest::activity,
        crate::monitor::rest::live,
        crate::rsvps::rest::submit,
        crate::review::rest::held,
        crate::review::rest::devices,
        crate::review::rest::approve,
        crate::review::rest::reset,
        crate::review::rest::accept,
        crate::review::rest::reject,
        crate::review::rest::audit,
        crate::review::rest::export,
        crate::notifications::rest::send,
        crate::notifications::rest::event_notifications,
        crate::notifications::rest::guest_notifications,
        crate::notifications::rest::attempts,
        crate::notifications::rest::preferences,
        crate::notifications::rest::set_preferences,
        crate::notifications::webhooks::rest::list,
        crate::notifications::webhooks::rest::create,
        crate::notifications::webhooks::rest::show,
        crate::notifications::webhooks::rest::change,
        crate::notifications::webhooks::rest::remove,
        crate::notifications::webhooks::rest::secret,
        crate::notifications::webhooks::rest::rotate,
        crate::notifications::webhooks::rest::test,
        crate::notifications::webhooks::rest::deliveries,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        crate::notifications::webhooks::WebhookPayload,
        crate::monitor::ActivityItem,
        crate::monitor::ActivityCounts,
    )),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Host accounts and sessions"),
        (name = "api-keys", description = "Keys for integrations"),
        (name = "events", description = "A host's events"),
        (name = "guests", description = "An event's guests, CSV import and export"),
        (name = "links", description = "Personal invitation links"),
        (name = "guest-side", description = "What a guest's link can do (public)"),
        (name = "review", description = "A host reviewing and correcting the fraud checks of a guest"),
        (name = "notifications", description = "Invitations, reminders, confirmations and alerts sent by email or text, with their delivery status"),
        (name = "webhooks", description = "Signed webhooks: a host's endpoints receive answers, refusals and flagged openings (body schema: WebhookPayload)"),
    )
)]
pub struct ApiDoc;

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The operations of the document in path order, for the `/docs/api` page.
pub fn reference() -> Vec<Operation> {
    let value = serde_json::to_value(document()).unwrap_or_default();
    let schemas = value
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or_default();
    let mut operations = Vec::new();
    let Some(paths) = value.get("paths").and_then(|p| p.as_object()) else {
        return operations;
    };
    for (path, item) in paths {
        let Some(methods) = item.as_object() else {
            continue;
        };
        for (method, op) in methods {
            let text = |key: &str| {
                op.get(key)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let auth = match op.get("security").and_then(|s| s.as_array()) {
                Some(list) if !list.is_empty() => list
                    .iter()
                    .filter_map(|entry| entry.as_object()?.keys().next().cloned())
                    .collect::<Vec<_>>()
                    .join(" or "),
                _ => "public".to_owned(),
            };
            let request = op
                .pointer("/requestBody/content")
                .and_then(|c| c.as_object())
                .and_then(|content| content.iter().next())
                .map(|(media, body)| {
                    let schema = body.get("schema").cloned().unwrap_or_default();
                    let schema = resolve(&schema, &schemas);
                    format!(
                        "{media}\n{}",
                        serde_json::to_string_pretty(&schema).unwrap_or_default()
                    )
                });
            let responses = op
                .get("responses")
                .and_then(|r| r.as_object())
                .map(|all| {
                    all.iter()
                        .map(|(status, r)| {
                            let description = r
                                .get("description")
                                .and_then(|d| d.as_str())
                                .unwrap_or_default();
                            (status.clone(), description.to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            operations.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                tag: op
                    .pointer("/tags/0")
                    .and_then(|t| t.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                summary: text("summary"),
                description: text("description"),
                auth,
                request,
                responses,
            });
        }
    }
    operations
}

/// Inlines a top-level `$ref` so the page shows the fields, not a reference.
fn resolve(schema: &serde_json::Value, schemas: &serde_json::Value) -> serde_json::Value {
    match schema.get("$ref").and_then(|r| r.as_str()) {
        Some(reference) => reference
            .rsplit('/')
            .next()
            .and_then(|name| schemas.get(name))
            .cloned()
            .unwrap_or_else(|| schema.clone()),
        None => schema.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_the_api_is_documented() {
        let document = serde_json::to_value(document()).expect("serializable");
        let paths = document["paths"].as_object().expect("paths");
        for (path, methods) in [
            ("/api/v1/auth/signup", &["post"][..]),
            ("/api/v1/auth/login", &["post"]),
            ("/api/v1/auth/logout", &["post"]),
            ("/api/v1/auth/logout-everywhere", &["post"]),
            ("/api/v1/auth/password", &["post"]),
            ("/api/v1/auth/me", &["get"]),
            ("/api/v1/api-keys", &["get", "post"]),
            ("/api/v1/api-keys/{id}", &["delete"]),
            ("/api/v1/events", &["get", "post"]),
            ("/api/v1/events/{id}", &["get", "patch", "delete"]),
            ("/api/v1/events/{id}/guests", &["get", "post"]),
            (
                "/api/v1/events/{id}/guests/{guest_id}",
                &["get", "patch", "delete"],
            ),
            ("/api/v1/events/{id}/guests/import", &["post"]),
            ("/api/v1/events/{id}/guests/export", &["get"]),
            (
                "/api/v1/events/{id}/guests/{guest_id}/tokens",
                &["get", "post"],
            ),
            (
                "/api/v1/events/{id}/guests/{guest_id}/tokens/{token_id}",
                &["delete"],
            ),
            ("/api/v1/access/{token}", &["get"]),
            ("/api/v1/access/{token}/signals", &["post"]),
            ("/api/v1/rsvp/{token}", &["post"]),
            ("/api/v1/events/{id}/held", &["get"]),
            ("/api/v1/events/{id}/guests/{guest_id}/devices", &["get"]),
            (
                "/api/v1/events/{id}/guests/{guest_id}/devices/{device_key}/approve",
                &["post"],
            ),
            ("/api/v1/events/{id}/guests/{guest_id}/reset", &["post"]),
            (
                "/api/v1/events/{id}/guests/{guest_id}/answer/accept",
                &["post"],
            ),
            (
                "/api/v1/events/{id}/guests/{guest_id}/answer/reject",
                &["post"],
            ),
            ("/api/v1/events/{id}/guests/{guest_id}/audit", &["get"]),
            ("/api/v1/events/{id}/guests/{guest_id}/export", &["get"]),
            ("/api/v1/events/{id}/activity", &["get"]),
            ("/api/v1/events/{id}/activity/live", &["get"]),
        ] {
            for method in methods {
                assert!(
                    paths.get(path).and_then(|p| p.get(*method)).is_some(),
                    "{method} {path} is not documented"
                );
            }
        }
    }

    #[test]
    fn the_reference_page_lists_request_bodies_and_answers() {
        let operations = reference();
        let create = operations
            .iter()
            .find(|op| op.method == "POST" && op.path == "/api/v1/events")
            .expect("POST /api/v1/events");
        assert!(create
            .request
            .as_deref()
            .is_some_and(|r| r.contains("event_date")));
        assert!(create.responses.iter().any(|(status, _)| status == "201"));
        assert_ne!(create.auth, "public");
        let rsvp = operations
            .iter()
            .find(|op| op.path == "/api/v1/rsvp/{token}")
            .expect("rsvp");
        assert_eq!(rsvp.auth, "public");
    }
}
