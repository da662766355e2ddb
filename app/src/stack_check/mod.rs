//! The start page that proves the whole stack works: it is rendered on the server,
//! hydrated in the browser (the counter only counts once the wasm runs), and calls a
//! server function that reads from PostgreSQL.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the database told the server function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseFacts {
    /// PostgreSQL's own version string, e.g. `15.20`.
    pub server_version: String,
    /// Number of schema migrations applied to this database.
    pub migrations_applied: i64,
}

/// Reads the database version and the applied migrations.
#[server(prefix = "/api/fn", endpoint = "database_facts")]
pub async fn database_report() -> Result<DatabaseFacts, ServerFnError> {
    let state = expect_context::<crate::state::AppState>();
    let row: (String, i64) = sqlx::query_as(
        "SELECT current_setting('server_version'), \
                (SELECT count(*) FROM _sqlx_migrations WHERE success)",
    )
    .fetch_one(&state.pool)
    .await
    .map_err(|error| {
        tracing::error!(%error, "database report failed");
        ServerFnError::new("the database is not reachable right now")
    })?;
    Ok(DatabaseFacts {
        server_version: row.0,
        migrations_applied: row.1,
    })
}

/// The start page: a counter (proves hydration) and a database check (proves the
/// server-function round trip).
#[component]
pub fn StackCheckPage() -> impl IntoView {
    let (clicks, set_clicks) = signal(0_u32);
    let hydrated = RwSignal::new(false);
    // Effects only run in the browser, so this flips once hydration is complete.
    Effect::new(move |_| hydrated.set(true));
    let check = Action::new(|_: &()| database_report());

    view! {
        <h1 class="text-3xl font-bold">"GuestGuard"</h1>
        <p class="mt-2 text-muted">
            "Personal invitation links, RSVPs and fraud checks for your events."
        </p>
        <section
            class="mt-6 rounded-lg border border-line bg-surface p-4"
            data-testid="stack-check"
            data-hydrated=move || hydrated.get().to_string()
        >
            <h2 class="text-lg font-semibold">"System check"</h2>
            <button
                class="mt-3 rounded bg-brand px-3 py-1 text-on-brand"
                data-testid="counter"
                on:click=move |_| set_clicks.update(|n| *n += 1)
            >
                {move || match clicks.get() {
                    1 => "Clicked 1 time".to_string(),
                    n => format!("Clicked {n} times"),
                }}
            </button>
            <button
                class="mt-3 ml-2 rounded bg-surface-2 px-3 py-1 text-ink"
                data-testid="check-database"
                on:click=move |_| {
                    check.dispatch(());
                }
            >
                "Check the database"
            </button>
            <p class="mt-3" data-testid="database-result">
                {move || match check.value().get() {
                    None if check.pending().get() => "Checking…".to_string(),
                    None => "Not checked yet.".to_string(),
                    Some(Ok(report)) => format!(
                        "PostgreSQL {} answered; {} migrations applied.",
                        report.server_version,
                        report.migrations_applied,
                    ),
                    Some(Err(error)) => format!("The check failed: {error}"),
                }}
            </p>
        </section>
    }
}
