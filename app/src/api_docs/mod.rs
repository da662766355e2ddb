//! Documentation of the REST API: the OpenAPI document generated from the handlers
//! (`openapi.rs`, served at `/api/v1/openapi.json`; the error answers many operations
//! share are in `responses.rs`) and a browsable page of it at `/docs/api`.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod openapi;
#[cfg(feature = "ssr")]
pub mod responses;
#[cfg(feature = "ssr")]
pub mod schemas;

/// One operation of the API, flattened for the browsable page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub method: String,
    pub path: String,
    pub tag: String,
    pub summary: String,
    pub description: String,
    /// Who may call it: `public`, or the accepted credentials.
    pub auth: String,
    /// Media type and pretty JSON schema of the request body, if any.
    pub request: Option<String>,
    /// `(status, description)` of each documented answer.
    pub responses: Vec<(String, String)>,
}

/// The API's operations, read from the generated OpenAPI document.
#[server(prefix = "/api/fn", endpoint = "api_reference")]
pub async fn api_reference() -> Result<Vec<Operation>, AppError> {
    Ok(openapi::reference())
}

/// `/docs/api`: every endpoint with its method, credentials, request body and answers.
#[component]
pub fn ApiDocsPage() -> impl IntoView {
    let operations = Resource::new(|| (), |_| api_reference());
    view! {
        <Title text="REST API · GuestGuard"/>
        <h1 class="text-2xl font-semibold">"REST API"</h1>
        <p class="mt-2 text-muted">
            "JSON in and out under " <code>"/api/v1"</code> ". Host endpoints take an API key ("
            <code>"Authorization: Bearer ggk_…"</code>
            ", create one on the API keys page) or the dashboard's session. Errors are "
            <code>"{\"error\": {\"code\", \"message\", \"field\"?}}"</code> " with a stable code. "
            "The machine-readable document is "
            <a class="text-brand-fg underline" href="/api/v1/openapi.json" rel="external">
                "/api/v1/openapi.json"
            </a> "."
        </p>
        <Suspense fallback=|| view! { <p class="mt-6 text-muted">"Loading the reference…"</p> }>
            {move || Suspend::new(async move {
                match operations.await {
                    Ok(list) => {
                        view! {
                            <div class="mt-6 space-y-4" data-testid="api-operations">
                                {list.into_iter().map(operation_view).collect_view()}
                            </div>
                        }
                            .into_any()
                    }
                    Err(error) => {
                        view! {
                            <p class="mt-6 rounded border border-danger-line bg-danger-bg p-3 text-danger-fg">
                                {error.to_string()}
                            </p>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

fn operation_view(op: Operation) -> impl IntoView {
    let method_class = match op.method.as_str() {
        "GET" => "bg-info-bg text-info-fg",
        "POST" => "bg-ok-bg text-ok-fg",
        "PATCH" => "bg-warn-bg text-warn-fg",
        "DELETE" => "bg-danger-bg text-danger-fg",
        _ => "bg-surface-2 text-ink",
    };
    view! {
        <section class="rounded-lg border border-line bg-surface p-4" data-testid="api-operation">
            <h2 class="flex flex-wrap items-center gap-2 font-mono text-sm">
                <span class=format!("rounded px-2 py-0.5 font-semibold {method_class}")>{op.method}</span>
                <span>{op.path}</span>
                <span class="ml-auto rounded bg-surface-2 px-2 py-0.5 font-sans text-xs text-muted">
                    {op.tag}
                </span>
            </h2>
            <p class="mt-2 font-medium">{op.summary}</p>
            <p class="mt-1 text-sm text-muted">{op.description}</p>
            <p class="mt-1 text-xs text-muted">"Credentials: " {op.auth}</p>
            {op.request.map(|request| view! {
                <details class="mt-2">
                    <summary class="cursor-pointer text-sm">"Request body"</summary>
                    <pre class="mt-1 overflow-x-auto rounded bg-surface-2 p-2 text-xs">{request}</pre>
                </details>
            })}
            <ul class="mt-2 text-sm">
                {op.responses.into_iter().map(|(status, description)| view! {
                    <li><span class="font-mono">{status}</span> " " {description}</li>
                }).collect_view()}
            </ul>
        </section>
    }
}
