//! The REST API's OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! annotations (in each `app/src/<concern>/rest.rs`) and the shared request and
//! response types. Served as JSON at `/api/v1/openapi.json` and as a browsable page at
//! `/docs/api` (see [`reference`]).

use super::Operation;
use serde::Serialize;
use utoipa::{
    openapi::{
        link::LinkBuilder,
        path::{Operation as PathOperation, ParameterIn, PathItem},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        ContentBuilder, Ref, RefOr, ResponseBuilder,
    },
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

/// Every operation of a path, with its method.
fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut PathOperation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("patch", item.patch.as_mut()),
        ("head", item.head.as_mut()),
        ("options", item.options.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
}

/// The path parameters of an address, in order: `/events/{id}/guests/{guest_id}` →
/// `["id", "guest_id"]`.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

/// The operation's id: its method and address, e.g. `get_events_id_guests`, unique in
/// the document (handler names such as `create` repeat across modules).
fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<&str> = path
        .trim_start_matches("/api/v1/")
        .split(['/', '-', '{', '}'])
        .filter(|word| !word.is_empty())
        .collect();
    format!("{method}_{}", words.join("_"))
}

/// Gives every operation its unique id, describes the guest's token wherever it is a
/// path parameter, and adds the response links that lead from a created resource to
/// the operations on it: a new event to its guests, access log, activity, ...; a new
/// guest to their links, devices, audit and notifications; a new link to the guest's
/// side (`/access/{token}`, `/rsvp/{token}`) and to its revocation. Clients (and the
/// API drill's fuzzer) follow them with ids that exist.
struct Links;

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let paths = &mut openapi.paths.paths;
        // (operation, its parameters) of every address, to link to.
        let mut targets: Vec<(String, Vec<String>, String)> = Vec::new();
        for (path, item) in paths.iter_mut() {
            let parameters: Vec<String> = path_parameters(path)
                .into_iter()
                .map(str::to_owned)
                .collect();
            for (method, operation) in operations_mut(item) {
                let id = operation_id(method, path);
                operation.operation_id = Some(id.clone());
                for parameter in operation.parameters.iter_mut().flatten() {
                    if parameter.name == "token" && parameter.parameter_in == ParameterIn::Path {
                        parameter.schema = Some(super::schemas::token().into());
                    }
                }
                targets.push((path.clone(), parameters.clone(), id));
            }
        }
        // What a creating operation's answer names: (its address, status, the new
        // resource's path parameter, where its value is in the answer).
        let creations = [
            ("/api/v1/events", "201", "id", "$response.body#/id"),
            (
                "/api/v1/events/{id}/guests",
                "201",
                "guest_id",
                "$response.body#/id",
            ),
            (
                "/api/v1/events/{id}/guests/{guest_id}/tokens",
                "201",
                "token_id",
                "$response.body#/id",
            ),
            (
                "/api/v1/webhooks",
                "201",
                "id",
                "$response.body#/webhook/id",
            ),
            ("/api/v1/api-keys", "201", "id", "$response.body#/id"),
        ];
        for (created_at, status, new_parameter, value) in creations {
            let known = path_parameters(created_at);
            let mut links = Vec::new();
            for (path, parameters, id) in &targets {
                let under = path
                    .strip_prefix(created_at)
                    .is_some_and(|rest| rest.starts_with(&format!("/{{{new_parameter}}}")));
                let fits = parameters.len() == known.len() + 1
                    && parameters.last().map(String::as_str) == Some(new_parameter);
                if !(under && fits) {
                    continue;
                }
                let mut link = LinkBuilder::new().operation_id(id.clone());
                for parameter in &known {
                    link = link.parameter(*parameter, format!("$request.path.{parameter}"));
                }
                link = link.parameter(new_parameter, value);
                links.push((id.clone(), link.build()));
            }
            // A new link also opens the guest's side of it.
            if created_at.ends_with("/tokens") {
                let guest_side = targets
                    .iter()
                    .filter(|(_, parameters, _)| parameters.as_slice() == ["token"]);
                for (_, _, id) in guest_side {
                    let link = LinkBuilder::new()
                        .operation_id(id.clone())
                        .parameter("token", "$response.body#/token")
                        .build();
                    links.push((id.clone(), link));
                }
            }
            let response = paths
                .get_mut(created_at)
                .and_then(|item| item.post.as_mut())
                .and_then(|operation| operation.responses.responses.get_mut(status));
            if let Some(RefOr::T(response)) = response {
                for (name, link) in links {
                    response.links.insert(name, RefOr::T(link));
                }
            }
        }
    }
}

/// The answers every route gives through the shared extractors (`rest.rs`), written
/// once for every operation that has them: 400 for a body that is not JSON or does not
/// fit, or a query that does not (`invalid_json`, `invalid_body`, `invalid_query`,
/// `unsupported_media_type`); 404 for a path parameter that does not parse (nothing
/// can live there); 401 without valid credentials. An operation that says more about
/// one of these keeps its own words.
struct ExtractorAnswers;

impl Modify for ExtractorAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_path_parameters = path.contains('{');
            for (_, operation) in operations_mut(item) {
                let has_query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|parameter| parameter.parameter_in == ParameterIn::Query);
                let secured = operation
                    .security
                    .as_ref()
                    .is_some_and(|requirements| !requirements.is_empty());
                let mut answers = Vec::new();
                if operation.request_body.is_some() || has_query {
                    answers.push((
                        "400",
                        "A body that is not JSON or does not fit, or a query that does not \
                         (`invalid_json`, `invalid_body`, `invalid_query`, \
                         `unsupported_media_type`)",
                    ));
                }
                if secured {
                    answers.push(("401", "Not signed in, or the key or session is not valid"));
                }
                if has_path_parameters {
                    answers.push(("404", "Nothing at this address for this caller"));
                }
                for (status, description) in answers {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| {
                            RefOr::T(
                                ResponseBuilder::new()
                                    .description(description)
                                    .content("application/json", error())
                                    .build(),
                            )
                        });
                }
            }
        }
    }
}

/// Bodies that are not JSON, described by their pattern: the CSV import's.
struct TextBodies;

impl Modify for TextBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let import = openapi
            .paths
            .paths
            .get_mut("/api/v1/events/{id}/guests/import")
            .and_then(|item| item.post.as_mut())
            .and_then(|operation| operation.request_body.as_mut())
            .and_then(|body| body.content.get_mut("text/csv"));
        if let Some(content) = import {
            content.schema = Some(super::schemas::guest_csv().into());
        }
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
    modifiers(&Security, &Links, &ExtractorAnswers, &TextBodies),
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

/// The document as served at `/api/v1/openapi.json`: [`document`] in JSON, with what
/// utoipa's types cannot say put right —
///
/// - a link's fields in the specification's spelling (`operationId`, `requestBody`:
///   utoipa 5 writes `operation_id`);
/// - every `uuid` string with the pattern the server parses (the hyphenated form), so
///   that generators make UUIDs where a type list (`[string, null]`) hides the format;
/// - no `null` in the types of query and path parameters: a parameter is left out,
///   never null (`Option` fields make utoipa say `[integer, null]`).
pub fn document_json() -> serde_json::Value {
    use serde_json::Value;
    const UUID: &str =
        "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

    fn walk(value: &mut Value) {
        match value {
            Value::Object(fields) => {
                if fields.get("format").and_then(Value::as_str) == Some("uuid")
                    && !fields.contains_key("pattern")
                {
                    fields.insert("pattern".into(), UUID.into());
                }
                if let Some(Value::Object(links)) = fields.get_mut("links") {
                    for link in links.values_mut().filter_map(Value::as_object_mut) {
                        for (from, to) in [
                            ("operation_id", "operationId"),
                            ("operation_ref", "operationRef"),
                            ("request_body", "requestBody"),
                        ] {
                            if let Some(moved) = link.remove(from) {
                                link.insert(to.into(), moved);
                            }
                        }
                    }
                }
                if let Some(Value::Array(parameters)) = fields.get_mut("parameters") {
                    for schema in parameters
                        .iter_mut()
                        .filter_map(|parameter| parameter.get_mut("schema"))
                    {
                        never_null(schema);
                    }
                }
                fields.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }

    /// `[T, null]` → `T`; `oneOf: [null, S]` → `S`; `null` out of an `enum`.
    fn never_null(schema: &mut Value) {
        let Some(fields) = schema.as_object_mut() else {
            return;
        };
        if let Some(Value::Array(types)) = fields.get_mut("type") {
            types.retain(|kind| kind != "null");
            if let [only] = types.as_slice() {
                let only = only.clone();
                fields.insert("type".into(), only);
            }
        }
        if let Some(Value::Array(values)) = fields.get_mut("enum") {
            values.retain(|value| !value.is_null());
        }
        let one_of = fields
            .get("oneOf")
            .and_then(Value::as_array)
            .map(|choices| {
                choices
                    .iter()
                    .filter(|choice| choice.get("type").and_then(Value::as_str) != Some("null"))
                    .cloned()
                    .collect::<Vec<_>>()
            });
        if let Some([only]) = one_of.as_deref() {
            let only = only.clone();
            fields.remove("oneOf");
            if let Value::Object(inner) = only {
                fields.extend(inner);
            }
        }
    }

    let mut value = serde_json::to_value(document()).unwrap_or_default();
    walk(&mut value);
    value
}

/// The operations of the document in path order, for the `/docs/api` page.
pub fn reference() -> Vec<Operation> {
    let value = document_json();
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
