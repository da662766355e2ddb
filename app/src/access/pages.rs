//! The access log on the host's event page: the newest openings of the event's links and
//! answers, each with the fraud engine's verdict (Verified, Review, Suspicious, Blocked)
//! and its reasons, newest first; "Flagged only" keeps the ones to look at.

use super::server_fns::{get_access_log, AccessLogLine};
use crate::components::{Badge, ErrorBox, Loading, Tone, BUTTON_SECONDARY, CARD};
use leptos::prelude::*;
use uuid::Uuid;

/// The access log section of one event; `refresh` re-reads it (bumped after changes).
#[component]
pub fn AccessLogPanel(event_id: Uuid, refresh: RwSignal<u32>) -> impl IntoView {
    let flagged_only = RwSignal::new(false);
    let log = Resource::new(
        move || (flagged_only.get(), refresh.get()),
        move |(flagged, _)| get_access_log(event_id, flagged),
    );
    view! {
        <section
            class=format!("{CARD} mt-6")
            aria-labelledby="access-log-heading"
            data-testid="access-log"
        >
            <div class="flex flex-wrap items-center justify-between gap-3">
                <h2 id="access-log-heading" class="text-lg font-semibold">"Access log"</h2>
                <div class="flex items-center gap-3 text-sm">
                    <label class="flex items-center gap-1">
                        <input
                            type="checkbox"
                            data-testid="access-flagged-only"
                            on:change=move |ev| flagged_only.set(event_target_checked(&ev))
                        />
                        "Flagged only"
                    </label>
                    <button
                        type="button"
                        class=BUTTON_SECONDARY
                        data-testid="access-refresh"
                        on:click=move |_| refresh.update(|n| *n = n.wrapping_add(1))
                    >
                        "Refresh"
                    </button>
                </div>
            </div>
            <Transition fallback=|| view! { <Loading label="Loading the access log…"/> }>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(lines) => access_table(lines).into_any(),
                        Err(error) => view! { <ErrorBox error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

fn access_table(lines: Vec<AccessLogLine>) -> impl IntoView {
    if lines.is_empty() {
        return view! {
            <p class="mt-3 text-sm text-muted" data-testid="access-log-empty">
                "Nobody has opened an invitation link yet."
            </p>
        }
        .into_any();
    }
    let rows = lines.into_iter().map(access_row).collect_view();
    view! {
        <div class="relative mt-3 overflow-x-auto" tabindex="0" role="region" aria-label="Access log">
            <table class="min-w-full text-left text-sm">
                <thead class="text-muted">
                    <tr>
                        <th class="py-2 pr-3 font-medium">"When"</th>
                        <th class="px-3 py-2 font-medium">"Guest"</th>
                        <th class="px-3 py-2 font-medium">"What"</th>
                        <th class="px-3 py-2 font-medium">"Verdict"</th>
                        <th class="px-3 py-2 font-medium">"Reasons"</th>
                        <th class="py-2 pl-3 font-medium">"Address"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-line">{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

fn access_row(line: AccessLogLine) -> impl IntoView {
    let access = line.access;
    let what = match (access.kind.as_str(), access.blocked) {
        ("rsvp", true) => "Answer refused",
        ("rsvp", false) => "Answered",
        _ => "Opened the link",
    };
    let (verdict, tone) = match (access.risk, access.risk_score) {
        (Some(band), Some(score)) => (format!("{} · {score}", band.label()), band.tone()),
        _ => ("Scoring…".to_owned(), Tone::Neutral),
    };
    let reasons = if access.reasons.is_empty() {
        "—".to_owned()
    } else {
        access.reasons.join(", ").replace('_', " ")
    };
    view! {
        <tr
            data-testid="access-row"
            data-flagged=access.flagged.to_string()
            data-kind=access.kind.clone()
        >
            <td class="py-2 pr-3 align-top whitespace-nowrap">{line.accessed_at_local}</td>
            <td class="px-3 py-2 align-top" data-testid="access-guest">{access.guest_name}</td>
            <td class="px-3 py-2 align-top" data-testid="access-what">{what}</td>
            <td class="px-3 py-2 align-top">
                <Badge tone attr:data-testid="access-verdict">{verdict}</Badge>
            </td>
            <td class="px-3 py-2 align-top text-muted" data-testid="access-reasons">
                {reasons}
            </td>
            <td class="py-2 pl-3 align-top text-muted">
                {access.ip.unwrap_or_else(|| "—".to_owned())}
            </td>
        </tr>
    }
}
