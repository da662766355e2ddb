//! The host's live monitor of one event (`/events/:id/monitor`): counters, filters and
//! the feed, newest first. The server renders the newest rows; once hydrated, the page
//! opens its socket (`live.rs`) and, every time the socket says `ready` (the first time
//! and after each reconnection), asks for the rows changed since the newest change it
//! has, so nothing that happened while it was away is missing. Rows are merged by id
//! (a scored opening replaces its "Scoring…" row).

use super::{
    server_fns::{monitor_view, MonitorSnapshot},
    ActivityCounts, ActivityItem, ActivityKind, ActivityLabel,
};
use crate::{
    components::{Badge, ErrorBox, Loading, BUTTON_SECONDARY, CARD, LINK},
    error::AppError,
    fraud::explain_reason,
    rsvps::RsvpResponse,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

/// The most rows the page keeps (older ones are in the REST API).
pub const MAX_ROWS: usize = 500;

/// Merges `incoming` rows into `items`: a row already there is replaced when the new one
/// is as recent or more (`changed_at`), others are added; newest first, at most
/// [`MAX_ROWS`].
pub fn merge(items: &mut Vec<ActivityItem>, incoming: impl IntoIterator<Item = ActivityItem>) {
    for item in incoming {
        match items.iter_mut().find(|known| known.id == item.id) {
            Some(known) if item.changed_at >= known.changed_at => *known = item,
            Some(_) => {}
            None => items.push(item),
        }
    }
    items.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    items.truncate(MAX_ROWS);
}

/// Which rows the host wants to see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedFilter {
    pub flagged_only: bool,
    pub guest: Option<Uuid>,
    /// `None`: everything; `Some(true)`: openings; `Some(false)`: answers (refused too).
    pub openings: Option<bool>,
}

impl FeedFilter {
    /// Whether `item` passes.
    pub fn keeps(&self, item: &ActivityItem) -> bool {
        (!self.flagged_only || item.flagged)
            && self.guest.is_none_or(|guest| item.guest_id == guest)
            && self
                .openings
                .is_none_or(|openings| openings == (item.kind == ActivityKind::Opened))
    }
}

/// What a row says happened.
pub fn describe(item: &ActivityItem) -> String {
    match item.kind {
        ActivityKind::Opened => "Opened the link".to_owned(),
        ActivityKind::Blocked => "Answer refused".to_owned(),
        ActivityKind::Answered => {
            let answer = match (item.response, item.plus_ones.unwrap_or(0)) {
                (Some(RsvpResponse::Attending), 0) => "Attending".to_owned(),
                (Some(RsvpResponse::Attending), n) => format!("Attending +{n}"),
                (Some(RsvpResponse::Declined), _) => "Declined".to_owned(),
                (Some(RsvpResponse::Maybe), _) => "Maybe".to_owned(),
                (None, _) => return "Answered".to_owned(),
            };
            match item.status.as_deref() {
                Some("held") => format!("Answered: {answer} (held for review)"),
                Some("rejected") => format!("Answered: {answer} (rejected)"),
                _ => format!("Answered: {answer}"),
            }
        }
    }
}

/// The page `/events/:id/monitor`.
#[component]
pub fn MonitorPage() -> impl IntoView {
    let params = use_params_map();
    let event_id = Memo::new(move |_| {
        params.with(|p| p.get_str("id").and_then(|id| Uuid::parse_str(id).ok()))
    });
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    move || match event_id.get() {
        Some(event_id) => view! { <MonitorLoader event_id/> }.into_any(),
        None => {
            let error = AppError::NotFound("there is no such event".into());
            not_found_status(&error);
            view! { <ErrorBox error/> }.into_any()
        }
    }
}

/// On the server, an unknown event answers 404 (and a missing session 401).
fn not_found_status(error: &AppError) {
    #[cfg(feature = "ssr")]
    crate::server_fns::set_status(error);
    #[cfg(not(feature = "ssr"))]
    let _ = error;
}

#[component]
fn MonitorLoader(event_id: Uuid) -> impl IntoView {
    let snapshot = Resource::new_blocking(move || event_id, monitor_view);
    view! {
        <Suspense fallback=|| view! { <Loading label="Loading the monitor…"/> }>
            {move || Suspend::new(async move {
                match snapshot.await {
                    Ok(snapshot) => view! { <Monitor snapshot/> }.into_any(),
                    Err(error) => {
                        not_found_status(&error);
                        view! { <ErrorBox error/> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The monitor once its first rows are known.
#[component]
fn Monitor(snapshot: MonitorSnapshot) -> impl IntoView {
    let event_id = snapshot.event_id;
    let items = RwSignal::new(snapshot.page.items);
    let counts = RwSignal::new(snapshot.page.counts);
    let state = RwSignal::new("connecting");
    let filter = RwSignal::new(FeedFilter::default());
    let notice = RwSignal::new(None::<String>);
    connect(event_id, items, counts, state);
    let guests = Memo::new(move |_| {
        let mut guests: Vec<(Uuid, String)> = items.with(|items| {
            items
                .iter()
                .map(|item| (item.guest_id, item.guest_name.clone()))
                .collect()
        });
        guests.sort_by(|a, b| {
            a.1.to_lowercase()
                .cmp(&b.1.to_lowercase())
                .then(a.0.cmp(&b.0))
        });
        guests.dedup_by_key(|guest| guest.0);
        guests
    });
    let shown = Memo::new(move |_| {
        let filter = filter.get();
        items.with(|items| {
            items
                .iter()
                .filter(|item| filter.keeps(item))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    view! {
        <Title text=format!("Live · {} · GuestGuard", snapshot.event_name)/>
        <header class="mb-6" data-testid="monitor-header">
            <p class="text-sm">
                <a class=LINK href=format!("/events/{event_id}")>"← Back to the event"</a>
            </p>
            <div class="mt-2 flex flex-wrap items-end justify-between gap-4">
                <div>
                    <h1 class="text-2xl font-semibold tracking-tight" data-testid="page-title">
                        {snapshot.event_name}
                    </h1>
                    <p class="mt-1 text-sm text-muted">{snapshot.starts_at_local}</p>
                </div>
                <LinkStatus state/>
            </div>
        </header>
        <Counters counts/>
        <section class=format!("{CARD} mt-6") aria-labelledby="feed-heading">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <h2 id="feed-heading" class="text-lg font-semibold">"Activity"</h2>
                <Filters filter guests/>
            </div>
            <p class="sr-only" aria-live="polite" data-testid="monitor-notice">
                {move || notice.get()}
            </p>
            {move || {
                notice
                    .get()
                    .map(|text| {
                        view! {
                            <p class="mt-3 rounded-md border border-line bg-surface-2 px-3 py-2 text-sm">
                                {text}
                            </p>
                        }
                    })
            }}
            <Show
                when=move || !shown.with(Vec::is_empty)
                fallback=move || {
                    view! {
                        <p class="mt-4 text-sm text-muted" data-testid="monitor-empty">
                            {move || {
                                if items.with(Vec::is_empty) {
                                    "Nothing yet. Openings and answers appear here as they happen."
                                } else {
                                    "No activity matches these filters."
                                }
                            }}
                        </p>
                    }
                }
            >
                <ol class="mt-4 divide-y divide-line" data-testid="monitor-feed">
                    <For
                        each=move || shown.get()
                        key=|item| (item.id, item.changed_at, item.status.clone())
                        children=move |item| view! { <Row item event_id notice/> }
                    />
                </ol>
            </Show>
        </section>
    }
}

/// Opens the socket once the page is live in the browser (never on the server).
fn connect(
    event_id: Uuid,
    items: RwSignal<Vec<ActivityItem>>,
    counts: RwSignal<ActivityCounts>,
    state: RwSignal<&'static str>,
) {
    #[cfg(feature = "hydrate")]
    {
        use super::{live::Live, server_fns::monitor_activity, LiveMessage};
        Effect::new(move |started: Option<()>| {
            if started.is_some() {
                return;
            }
            let live = Live::start(
                event_id,
                move |message| match message {
                    LiveMessage::Ready => {
                        // Catch up on what changed while the socket was not open.
                        let since = items.with_untracked(|items| {
                            items
                                .iter()
                                .map(|item| item.changed_at)
                                .max()
                                .map(|newest| newest - chrono::Duration::seconds(5))
                        });
                        leptos::task::spawn_local(async move {
                            if let Ok(page) = monitor_activity(event_id, None, since).await {
                                items.update(|items| merge(items, page.items));
                                counts.set(page.counts);
                            }
                        });
                    }
                    LiveMessage::Activity { item, counts: now } => {
                        items.update(|items| merge(items, [*item]));
                        counts.set(now);
                    }
                },
                move |link| state.set(link.as_str()),
            );
            let live = StoredValue::new_local(live);
            on_cleanup(move || live.with_value(|live| live.stop()));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (event_id, items, counts, state);
}

/// Whether the feed is live, reconnecting, or ended with the session.
#[component]
fn LinkStatus(state: RwSignal<&'static str>) -> impl IntoView {
    let text = move || match state.get() {
        "live" => "Live",
        "reconnecting" => "Reconnecting…",
        "ended" => "Signed out: sign in again to follow",
        _ => "Connecting…",
    };
    let dot = move || match state.get() {
        "live" => "bg-ok animate-pulse",
        "ended" => "bg-danger",
        _ => "bg-warn",
    };
    view! {
        <p
            class="inline-flex items-center gap-2 rounded-full border border-line bg-surface px-3 py-1 text-sm"
            role="status"
            data-testid="monitor-status"
            data-state=move || state.get()
        >
            <span class=move || format!("h-2 w-2 rounded-full {}", dot()) aria-hidden="true"></span>
            {text}
            {move || {
                (state.get() == "ended")
                    .then(|| view! { <a class=LINK href="/login">"Sign in"</a> })
            }}
        </p>
    }
}

/// The live counters.
#[component]
fn Counters(counts: RwSignal<ActivityCounts>) -> impl IntoView {
    let tile = move |label: &'static str,
                     testid: &'static str,
                     value: Signal<i64>,
                     tone: &'static str| {
        view! {
            <div class="rounded-lg border border-line bg-surface p-3 sm:p-4">
                <dt class="text-xs font-medium uppercase tracking-wide text-muted">{label}</dt>
                <dd class=format!("mt-1 text-2xl font-semibold tabular-nums {tone}") data-testid=testid>
                    {move || value.get()}
                </dd>
            </div>
        }
    };
    let of = move |pick: fn(&ActivityCounts) -> i64| Signal::derive(move || counts.with(pick));
    view! {
        <dl class="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6" data-testid="monitor-counts">
            {tile("Attending", "count-attending", of(|c| c.attending), "text-ok-fg")}
            {tile("Declined", "count-declined", of(|c| c.declined), "text-ink")}
            {tile("Maybe", "count-maybe", of(|c| c.maybe), "text-ink")}
            {tile("Pending", "count-pending", of(|c| c.pending), "text-muted")}
            {tile("Plus-ones", "count-plus-ones", of(|c| c.plus_ones), "text-ink")}
            {tile("Flagged", "count-flagged", of(|c| c.flagged), "text-danger-fg")}
        </dl>
    }
}

/// Flagged only, one guest, openings or answers.
#[component]
fn Filters(filter: RwSignal<FeedFilter>, guests: Memo<Vec<(Uuid, String)>>) -> impl IntoView {
    const SELECT: &str = "rounded-md border border-line-strong bg-surface px-2 py-1 text-sm text-ink focus:outline-none focus:ring-2 focus:ring-brand";
    view! {
        <div class="flex flex-wrap items-center gap-3 text-sm" data-testid="monitor-filters">
            <label class="inline-flex items-center gap-2">
                <input
                    type="checkbox"
                    class="h-4 w-4 accent-brand"
                    data-testid="filter-flagged"
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        filter.update(|f| f.flagged_only = on);
                    }
                />
                "Flagged only"
            </label>
            <label class="inline-flex items-center gap-2">
                <span>"Guest"</span>
                <select
                    class=SELECT
                    data-testid="filter-guest"
                    on:change=move |ev| {
                        let guest = Uuid::parse_str(&event_target_value(&ev)).ok();
                        filter.update(|f| f.guest = guest);
                    }
                >
                    <option value="">"Everyone"</option>
                    <For
                        each=move || guests.get()
                        key=|guest| guest.0
                        children=|(id, name)| view! { <option value=id.to_string()>{name}</option> }
                    />
                </select>
            </label>
            <label class="inline-flex items-center gap-2">
                <span>"Show"</span>
                <select
                    class=SELECT
                    data-testid="filter-kind"
                    on:change=move |ev| {
                        let openings = match event_target_value(&ev).as_str() {
                            "openings" => Some(true),
                            "answers" => Some(false),
                            _ => None,
                        };
                        filter.update(|f| f.openings = openings);
                    }
                >
                    <option value="all">"Openings and answers"</option>
                    <option value="openings">"Openings"</option>
                    <option value="answers">"Answers"</option>
                </select>
            </label>
        </div>
    }
}

/// One row of the feed, with the guest's link actions.
#[component]
fn Row(item: ActivityItem, event_id: Uuid, notice: RwSignal<Option<String>>) -> impl IntoView {
    let label = item.label;
    let badge = match (label, item.risk_score) {
        (ActivityLabel::Scoring | ActivityLabel::Unscored, _) | (_, None) => {
            label.text().to_owned()
        }
        (_, Some(score)) => format!("{} · {score}", label.text()),
    };
    let reasons = item
        .reasons
        .iter()
        .map(|code| explain_reason(code))
        .collect::<Vec<_>>();
    let details = [
        item.device.as_ref().map(|d| format!("device {d}")),
        item.ip.clone(),
        item.policy.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let (guest_id, link_id, name) = (item.guest_id, item.link_id, item.guest_name.clone());
    let busy = RwSignal::new(false);
    let revoke = {
        let name = name.clone();
        move |_| {
            busy.set(true);
            let name = name.clone();
            leptos::task::spawn_local(async move {
                let result =
                    crate::invitations::server_fns::revoke_guest_link(event_id, guest_id, link_id)
                        .await;
                notice.set(Some(match result {
                    Ok(()) => format!("{name}'s link is revoked: it no longer opens."),
                    Err(error) => crate::components::capitalise(&error.to_string()),
                }));
                busy.set(false);
            });
        }
    };
    let rotate = move |_| {
        busy.set(true);
        let name = name.clone();
        leptos::task::spawn_local(async move {
            let result = crate::invitations::server_fns::issue_guest_link(event_id, guest_id).await;
            notice.set(Some(match result {
                Ok(link) => format!(
                    "{name} has a new link (the old one no longer opens): {}",
                    link.url
                ),
                Err(error) => crate::components::capitalise(&error.to_string()),
            }));
            busy.set(false);
        });
    };
    view! {
        <li
            class="flex flex-col gap-2 py-3 sm:flex-row sm:items-start sm:justify-between"
            data-testid="monitor-row"
            data-kind=item.kind.as_str()
            data-label=format!("{label:?}").to_lowercase()
            data-flagged=item.flagged.to_string()
        >
            <div class="min-w-0 flex-1">
                <div class="flex flex-wrap items-center gap-2">
                    <Badge tone=label.tone() attr:data-testid="monitor-label">{badge}</Badge>
                    <span class="font-medium text-ink" data-testid="monitor-guest">{item.guest_name.clone()}</span>
                    <span class="text-sm text-muted" data-testid="monitor-what">{describe(&item)}</span>
                </div>
                {(!reasons.is_empty())
                    .then(|| {
                        view! {
                            <ul class="mt-1 list-disc pl-5 text-sm text-muted" data-testid="monitor-reasons">
                                {reasons.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}
                            </ul>
                        }
                    })}
                <p class="mt-1 text-xs text-faint">
                    <time datetime=item.at.to_rfc3339()>{item.at_local.clone()}</time>
                    {(!details.is_empty()).then(|| format!(" · {details}"))}
                </p>
            </div>
            <div class="flex shrink-0 gap-2">
                <button
                    type="button"
                    class=format!("{BUTTON_SECONDARY} px-3 py-1")
                    data-testid="row-rotate"
                    disabled=move || busy.get()
                    on:click=rotate
                >
                    "Rotate link"
                </button>
                <button
                    type="button"
                    class=format!("{BUTTON_SECONDARY} px-3 py-1")
                    data-testid="row-revoke"
                    disabled=move || busy.get()
                    on:click=revoke
                >
                    "Revoke link"
                </button>
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, Utc};

    fn item(at: DateTime<Utc>, label: ActivityLabel) -> ActivityItem {
        ActivityItem {
            id: Uuid::new_v4(),
            kind: ActivityKind::Opened,
            guest_id: Uuid::new_v4(),
            guest_name: "Ada".into(),
            link_id: Uuid::new_v4(),
            at,
            at_local: String::new(),
            changed_at: at,
            label,
            risk_score: None,
            risk: None,
            reasons: vec![],
            flagged: false,
            response: None,
            plus_ones: None,
            status: None,
            device: None,
            ip: None,
            policy: None,
        }
    }

    #[test]
    fn a_scored_row_replaces_its_pending_self_and_an_older_copy_never_wins() {
        let now = Utc::now();
        let pending = item(now, ActivityLabel::Scoring);
        let mut scored = pending.clone();
        scored.label = ActivityLabel::Verified;
        scored.changed_at = now + Duration::seconds(1);
        let newer = item(now + Duration::seconds(2), ActivityLabel::Scoring);
        let mut items = vec![pending.clone()];
        merge(&mut items, [scored.clone(), newer.clone()]);
        assert_eq!(items, vec![newer.clone(), scored.clone()]);
        merge(&mut items, [pending]);
        assert_eq!(items, vec![newer, scored], "a late stale copy is ignored");
    }

    #[test]
    fn filters_keep_flagged_rows_one_guest_and_one_kind() {
        let now = Utc::now();
        let mut flagged = item(now, ActivityLabel::Suspicious);
        flagged.flagged = true;
        let mut answer = item(now, ActivityLabel::Verified);
        answer.kind = ActivityKind::Answered;
        let only_flagged = FeedFilter {
            flagged_only: true,
            ..Default::default()
        };
        assert!(only_flagged.keeps(&flagged) && !only_flagged.keeps(&answer));
        let one_guest = FeedFilter {
            guest: Some(answer.guest_id),
            ..Default::default()
        };
        assert!(one_guest.keeps(&answer) && !one_guest.keeps(&flagged));
        let answers = FeedFilter {
            openings: Some(false),
            ..Default::default()
        };
        assert!(answers.keeps(&answer) && !answers.keeps(&flagged));
    }

    #[test]
    fn an_answer_says_what_was_answered() {
        let mut answer = item(Utc::now(), ActivityLabel::Verified);
        answer.kind = ActivityKind::Answered;
        answer.response = Some(RsvpResponse::Attending);
        answer.plus_ones = Some(2);
        answer.status = Some("confirmed".into());
        assert_eq!(describe(&answer), "Answered: Attending +2");
        answer.status = Some("held".into());
        assert_eq!(
            describe(&answer),
            "Answered: Attending +2 (held for review)"
        );
    }
}
