//! The API documents itself: an OpenAPI document generated from the handlers, and a
//! browsable page of it.

use crate::support::api::TestApi;

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint_with_its_credentials() {
    let app = TestApi::spawn().await;

    let reply = app.get("/api/v1/openapi.json").await.expect_status(200);
    assert!(reply.is_json());
    let document = reply.json();
    assert!(document["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.")));
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.len() >= 14, "only {} paths documented", paths.len());
    let create_event = &document["paths"]["/api/v1/events"]["post"];
    assert!(create_event["requestBody"].is_object());
    assert!(create_event["responses"]["201"].is_object());
    assert!(create_event["responses"]["422"].is_object());
    assert!(create_event["security"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
    let rsvp = &document["paths"]["/api/v1/rsvp/{token}"]["post"];
    assert!(
        rsvp["security"].is_null(),
        "answering an invitation is public"
    );
    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert!(schemes.contains_key("api_key") && schemes.contains_key("session"));
    let schemas = &document["components"]["schemas"];
    assert!(schemas["Event"]["properties"]["event_date"].is_object());
    // An RSVP's answer documents both shapes: the guest's receipt (no fraud verdict) and
    // the host's decision (with it), and a refused one its 403.
    assert!(
        schemas["RsvpDecision"]["properties"]["fraud"].is_object(),
        "{schemas}"
    );
    assert!(
        schemas["RsvpReceipt"]["properties"]["fraud"].is_null(),
        "{schemas}"
    );
    assert_eq!(
        schemas["RsvpAnswer"]["oneOf"].as_array().map(Vec::len),
        Some(2),
        "{schemas}"
    );
    assert!(
        schemas["FraudVerdict"]["properties"]["used"].is_object(),
        "{schemas}"
    );
    assert!(schemas["RsvpRequest"]["properties"]["access_log_id"].is_object());
    assert!(document["paths"]["/api/v1/rsvp/{token}"]["post"]["responses"]["403"].is_object());
}

#[tokio::test]
async fn the_api_reference_page_lists_the_endpoints() {
    let app = TestApi::spawn().await;

    let page = app.get("/docs/api").await.expect_status(200);
    assert!(page.text.contains("REST API"));
    assert!(page.text.contains("/api/v1/events/{id}/guests/import"));
    assert!(page.text.contains("/api/v1/rsvp/{token}"));
    assert!(page.text.contains("/api/v1/openapi.json"));
}

#[tokio::test]
async fn the_document_states_what_the_server_takes_and_links_what_it_creates() {
    let app = TestApi::spawn().await;

    let document = app
        .get("/api/v1/openapi.json")
        .await
        .expect_status(200)
        .json();
    let mut ids = std::collections::HashSet::new();
    for (path, methods) in document["paths"].as_object().expect("paths") {
        for (method, operation) in methods.as_object().expect("methods") {
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(
                ids.insert(id.to_owned()),
                "{method} {path}: operationId {id} twice"
            );
        }
    }
    // The token's exact shape, and a new link leads to the guest's side.
    let rsvp = &document["paths"]["/api/v1/rsvp/{token}"]["post"];
    let token = &rsvp["parameters"][0]["schema"];
    assert_eq!(token["pattern"], "^gg1_[A-Za-z0-9_-]{128}$", "{token}");
    assert_eq!(token["minLength"], 132);
    let issued = &document["paths"]["/api/v1/events/{id}/guests/{guest_id}/tokens"]["post"]
        ["responses"]["201"]["links"];
    assert_eq!(
        issued["post_rsvp_token"]["parameters"]["token"], "$response.body#/token",
        "{issued}"
    );
    let created = &document["paths"]["/api/v1/events"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        created["get_events_id_guests"]["operationId"], "get_events_id_guests",
        "{created}"
    );
    // Checked fields say their rule.
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["CreateEvent"]["properties"]["capacity"]["maximum"],
        1_000_000
    );
    assert!(schemas["CreateEvent"]["properties"]["slug"]["pattern"].is_string());
    assert!(schemas["SignupRequest"]["properties"]["email"]["pattern"].is_string());
    assert_eq!(
        schemas["RsvpReceipt"]["additionalProperties"], false,
        "{}",
        schemas["RsvpReceipt"]
    );
}
