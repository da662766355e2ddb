//! CSV import on the event page: choose a file (read in the browser) or paste its text,
//! check it first (a preview of the guests that would be added and every problem with
//! its line and column), then import all of it, or only the valid rows.

use super::{browser, EventContext};
use crate::{
    components::{capitalise, ErrorBox, BUTTON_PRIMARY, BUTTON_SECONDARY, CARD},
    error::AppError,
    guests::server_fns::{import_guests, ImportMode, ImportOutcome},
};
use leptos::prelude::*;

/// The import section.
#[component]
pub(super) fn CsvImport() -> impl IntoView {
    let context = expect_context::<EventContext>();
    let text = RwSignal::new(String::new());
    // The last preview, while the text it was made from is unchanged.
    let preview = RwSignal::new(None::<ImportOutcome>);
    let done = RwSignal::new(None::<usize>);
    let file_problem = RwSignal::new(None::<String>);
    let import = Action::new(move |(csv, mode): &(String, ImportMode)| {
        let (csv, mode) = (csv.clone(), *mode);
        async move {
            let outcome = import_guests(context.event_id, csv, mode).await?;
            if outcome.imported > 0 {
                done.set(Some(outcome.imported));
                preview.set(None);
                text.set(String::new());
                context.changed();
            } else {
                done.set(None);
                preview.set(Some(outcome));
            }
            Ok::<(), AppError>(())
        }
    });
    let error = move || {
        import
            .value()
            .with(|value| value.as_ref().and_then(|r| r.as_ref().err().cloned()))
    };
    let edited = move || {
        preview.set(None);
        done.set(None);
    };
    let check = move |_| {
        import.dispatch((text.get_untracked(), ImportMode::Preview));
    };
    view! {
        <section class=CARD aria-labelledby="import-heading" data-testid="csv-import">
            <h2 id="import-heading" class="text-lg font-semibold">"Import guests from CSV"</h2>
            <p class="mt-1 text-sm text-muted">
                "The first line names the columns: "
                <code class="text-xs">"name,email,phone,max_plus_ones"</code>
                " (only name is required)."
            </p>
            <div class="mt-3 space-y-3">
                <div>
                    <label for="csv-file" class="block text-sm font-medium text-ink">
                        "CSV file"
                    </label>
                    <input
                        id="csv-file"
                        type="file"
                        accept=".csv,text/csv,text/plain"
                        data-testid="csv-file"
                        class="mt-1 block w-full text-sm"
                        on:change=move |ev| {
                            edited();
                            browser::read_chosen_file(&ev, text, file_problem);
                        }
                    />
                    {move || {
                        file_problem
                            .get()
                            .map(|problem| {
                                view! {
                                    <p class="mt-1 text-sm text-danger-fg" role="alert" data-testid="csv-file-error">
                                        {problem}
                                    </p>
                                }
                            })
                    }}
                </div>
                <div>
                    <label for="csv-text" class="block text-sm font-medium text-ink">
                        "…or paste the CSV"
                    </label>
                    <textarea
                        id="csv-text"
                        rows="6"
                        data-testid="csv-text"
                        placeholder="name,email,phone,max_plus_ones\nAda Lovelace,ada@example.com,,1"
                        class="mt-1 block w-full rounded-md border border-line-strong px-3 py-2 font-mono text-xs focus:border-brand focus:outline-none focus:ring-1 focus:ring-brand"
                        prop:value=move || text.get()
                        on:input=move |ev| {
                            text.set(event_target_value(&ev));
                            edited();
                        }
                    ></textarea>
                </div>
                <button
                    type="button"
                    class=BUTTON_SECONDARY
                    data-testid="csv-check"
                    disabled=move || import.pending().get() || text.with(|t| t.trim().is_empty())
                    on:click=check
                >
                    {move || if import.pending().get() { "Checking…" } else { "Check file" }}
                </button>
                {move || error().map(|error| view! { <ErrorBox error/> })}
                {move || {
                    done.get()
                        .map(|count| {
                            view! {
                                <p class="text-sm text-ok-fg" role="status" data-testid="import-result">
                                    {match count {
                                        1 => "1 guest was imported.".to_owned(),
                                        n => format!("{n} guests were imported."),
                                    }}
                                </p>
                            }
                        })
                }}
                {move || preview.get().map(|outcome| view! { <Preview outcome text import/> })}
            </div>
        </section>
    }
    .into_any()
}

/// What a checked file would add, its problems, and the import buttons.
#[component]
fn Preview(
    outcome: ImportOutcome,
    text: RwSignal<String>,
    import: Action<(String, ImportMode), Result<(), AppError>>,
) -> impl IntoView {
    let valid = outcome.rows.len();
    let problems = outcome.errors.len();
    let clean = problems == 0;
    let blocked_import = outcome.mode == ImportMode::All && !clean;
    let run = move |mode: ImportMode| {
        import.dispatch((text.get_untracked(), mode));
    };
    let summary = match (valid, problems) {
        (0, 0) => "The file has no guests.".to_owned(),
        (v, 0) => format!("{} will be added.", guests(v)),
        (v, p) => format!(
            "{} can be added; {} {} to fix.",
            guests(v),
            p,
            if p == 1 { "problem" } else { "problems" }
        ),
    };
    view! {
        <div class="space-y-3 rounded-md border border-line p-3" data-testid="csv-preview">
            {blocked_import
                .then(|| {
                    view! {
                        <p class="text-sm text-danger-fg" role="alert">
                            "Nothing was imported: the file has problems."
                        </p>
                    }
                })}
            <p class="text-sm font-medium" data-testid="csv-summary">{summary}</p>
            {(!clean)
                .then(|| {
                    view! {
                        <ul class="space-y-1 text-sm text-danger-fg" data-testid="csv-errors">
                            {outcome
                                .errors
                                .into_iter()
                                .map(|error| {
                                    let place = match (error.line, error.column) {
                                        (0, _) => "File".to_owned(),
                                        (line, Some(column)) => format!("Line {line}, {column}"),
                                        (line, None) => format!("Line {line}"),
                                    };
                                    view! {
                                        <li
                                            data-testid="csv-error"
                                            data-line=error.line.to_string()
                                        >
                                            <span class="font-medium">{place}</span>
                                            ": "
                                            {capitalise(&error.message)}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                })}
            {(valid > 0)
                .then(|| {
                    view! {
                        <div class="max-h-64 overflow-auto">
                            <table class="min-w-full text-xs" data-testid="csv-rows">
                                <thead>
                                    <tr class="text-left text-muted">
                                        <th scope="col" class="pr-2">"Line"</th>
                                        <th scope="col" class="pr-2">"Name"</th>
                                        <th scope="col" class="pr-2">"Email"</th>
                                        <th scope="col" class="pr-2">"Phone"</th>
                                        <th scope="col">"Max plus-ones"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {outcome
                                        .rows
                                        .into_iter()
                                        .map(|row| {
                                            view! {
                                                <tr data-testid="csv-row">
                                                    <td class="pr-2">{row.line}</td>
                                                    <td class="pr-2">{row.name}</td>
                                                    <td class="pr-2">{row.email.unwrap_or_default()}</td>
                                                    <td class="pr-2">{row.phone.unwrap_or_default()}</td>
                                                    <td>
                                                        {row
                                                            .max_plus_ones
                                                            .map_or_else(|| "default".to_owned(), |n| n.to_string())}
                                                    </td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                })}
            <div class="flex flex-wrap gap-2">
                <button
                    type="button"
                    class=BUTTON_PRIMARY
                    data-testid="import-all"
                    disabled=move || !clean || valid == 0 || import.pending().get()
                    on:click=move |_| run(ImportMode::All)
                >
                    {format!("Import all {}", guests(valid))}
                </button>
                {(!clean && valid > 0)
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class=BUTTON_SECONDARY
                                data-testid="import-valid"
                                disabled=move || import.pending().get()
                                on:click=move |_| run(ImportMode::ValidOnly)
                            >
                                {if valid == 1 {
                                    "Import the 1 valid row only".to_owned()
                                } else {
                                    format!("Import the {valid} valid rows only")
                                }}
                            </button>
                        }
                    })}
            </div>
        </div>
    }
    .into_any()
}

/// "1 guest", "3 guests".
fn guests(count: usize) -> String {
    if count == 1 {
        "1 guest".to_owned()
    } else {
        format!("{count} guests")
    }
}
