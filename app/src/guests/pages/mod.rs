//! One event's page for its host (`/events/:id`): the event's header, answer counts,
//! the guest table filtered by status and search (both in the query string, so a
//! filtered list survives a reload and renders on the server), forms to add and edit
//! guests, invitation links, and CSV import and export.
//!
//! Everything is read and changed through the server functions of
//! [`super::server_fns`] and [`crate::invitations::server_fns`]; after every change the
//! table and counts are read again.

mod browser;
mod forms;
mod import;
mod table;

use super::{
    server_fns::{get_event_overview, get_guest_table, EventOverview, GuestTable},
    GuestCounts, GuestStatus,
};
use crate::{
    access::pages::AccessLogPanel,
    components::{ErrorBox, Loading, BUTTON_SECONDARY, CARD, LINK},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::Form,
    hooks::{use_params_map, use_query_map},
    params::ParamsMap,
};
use uuid::Uuid;

/// What the page shares with its parts: the event, and a counter that re-reads the
/// guest table when bumped (after every change).
#[derive(Clone, Copy)]
struct EventContext {
    event_id: Uuid,
    refresh: RwSignal<u32>,
    /// The guest whose devices are under review (kept when the table is read again).
    reviewing: RwSignal<Option<Uuid>>,
}

impl EventContext {
    /// Re-reads the guest table and counts.
    fn changed(self) {
        self.refresh.update(|n| *n = n.wrapping_add(1));
    }
}

/// The guest list filter of the query string: `?status=attending&search=ada`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Filter {
    /// `None`: every status.
    status: Option<GuestStatus>,
    /// Trimmed; empty: no search.
    search: String,
}

impl Filter {
    /// Reads the query string; an unknown status means every status.
    fn from_query(query: &ParamsMap) -> Self {
        Self {
            status: query.get_str("status").and_then(GuestStatus::parse),
            search: query
                .get_str("search")
                .map(|s| s.trim().chars().take(200).collect())
                .unwrap_or_default(),
        }
    }

    /// The page's address with this search and the given status.
    fn href(&self, event_id: Uuid, status: Option<GuestStatus>) -> String {
        let mut pairs = Vec::new();
        if let Some(status) = status {
            pairs.push(format!("status={}", status.as_str()));
        }
        if !self.search.is_empty() {
            pairs.push(format!("search={}", encode_query_value(&self.search)));
        }
        if pairs.is_empty() {
            format!("/events/{event_id}")
        } else {
            format!("/events/{event_id}?{}", pairs.join("&"))
        }
    }
}

/// Percent-encodes a query-string value (everything but unreserved characters).
fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The host's page of one event.
#[component]
pub fn EventPage() -> impl IntoView {
    let params = use_params_map();
    let event_id = Memo::new(move |_| {
        params.with(|p| p.get_str("id").and_then(|id| Uuid::parse_str(id).ok()))
    });
    // The page carries the guests' personal links: no cache may keep it.
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    move || match event_id.get() {
        Some(event_id) => view! { <EventDashboard event_id/> }.into_any(),
        None => {
            let error = AppError::NotFound("there is no such event".into());
            answer_status(&error);
            view! { <ErrorBox error/> }.into_any()
        }
    }
}

/// On the server, a missing event answers 404 like any unknown address.
fn answer_status(error: &AppError) {
    #[cfg(feature = "ssr")]
    if matches!(error, AppError::NotFound(_)) {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = error;
}

/// The page of an event whose id is well formed.
#[component]
fn EventDashboard(event_id: Uuid) -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(Filter::from_query));
    let context = EventContext {
        event_id,
        refresh: RwSignal::new(0),
        reviewing: RwSignal::new(None),
    };
    provide_context(context);
    let overview = Resource::new_blocking(move || event_id, get_event_overview);
    let table = Resource::new(
        move || (filter.get(), context.refresh.get()),
        move |(filter, _)| {
            get_guest_table(
                event_id,
                filter.status.map(|s| s.as_str().to_owned()),
                Some(filter.search).filter(|s| !s.is_empty()),
            )
        },
    );
    view! {
        <Suspense fallback=|| view! { <Loading label="Loading the event…"/> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => {
                        view! { <EventSections overview table filter/> }.into_any()
                    }
                    Err(error) => {
                        answer_status(&error);
                        view! { <ErrorBox error/> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// Everything below the header's data once the event is known.
#[component]
fn EventSections(
    overview: EventOverview,
    table: Resource<Result<GuestTable, AppError>>,
    filter: Memo<Filter>,
) -> impl IntoView {
    let event_id = overview.event.id;
    let default_plus_ones = overview.event.default_max_plus_ones;
    let refresh = expect_context::<EventContext>().refresh;
    view! {
        <Title text=format!("{} · GuestGuard", overview.event.name)/>
        <EventHeader overview/>
        <crate::review::pages::HeldAnswersPanel event_id refresh/>
        <Transition fallback=|| view! { <Loading label="Loading the guests…"/> }>
            {move || Suspend::new(async move {
                match table.await {
                    Ok(table) => view! { <Counts counts=table.counts/> }.into_any(),
                    Err(_) => ().into_any(),
                }
            })}
        </Transition>
        <section class=format!("{CARD} mt-6") aria-labelledby="guests-heading">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <h2 id="guests-heading" class="text-lg font-semibold">"Guests"</h2>
                <a
                    class=BUTTON_SECONDARY
                    href=format!("/api/v1/events/{event_id}/guests/export")
                    rel="external"
                    download=""
                    data-testid="csv-export"
                >
                    "Export CSV"
                </a>
            </div>
            <Filters event_id filter/>
            <Transition fallback=|| view! { <Loading label="Loading the guests…"/> }>
                {move || Suspend::new(async move {
                    match table.await {
                        Ok(table) => view! { <table::GuestTableView table filter/> }.into_any(),
                        Err(error) => view! { <ErrorBox error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <crate::notifications::pages::InvitationsPanel event_id refresh/>
        <div class="mt-6 grid gap-6 lg:grid-cols-2">
            <forms::AddGuestForm default_plus_ones/>
            <import::CsvImport/>
        </div>
        <AccessLogPanel event_id refresh/>
    }
    .into_any()
}

/// Name, date and place of the event, and a link to edit it.
#[component]
fn EventHeader(overview: EventOverview) -> impl IntoView {
    let event = overview.event;
    let edit = format!("/events/{}/edit", event.id);
    view! {
        <header class="mb-6" data-testid="event-header">
            <p class="text-sm">
                <a class=LINK href="/events">"← Your events"</a>
            </p>
            <div class="mt-2 flex flex-wrap items-start justify-between gap-4">
                <div>
                    <h1 class="text-2xl font-semibold tracking-tight" data-testid="event-name">
                        {event.name}
                    </h1>
                    <p class="mt-1 text-ink" data-testid="event-when">
                        {overview.starts_at_local}
                        <span class="text-muted">" (" {event.time_zone} ")"</span>
                    </p>
                    <p class="text-ink" data-testid="event-venue">{event.venue}</p>
                </div>
                <div class="flex flex-wrap gap-2">
                    <a
                        class=crate::components::BUTTON_PRIMARY
                        href=format!("/events/{}/monitor", event.id)
                        data-testid="open-monitor"
                    >
                        "Live monitor"
                    </a>
                    <a class=BUTTON_SECONDARY href=edit data-testid="edit-event">
                        "Edit event"
                    </a>
                </div>
            </div>
            <dl class="mt-3 flex flex-wrap gap-x-6 gap-y-1 text-sm text-muted">
                <div class="flex gap-1">
                    <dt>"Capacity:"</dt>
                    <dd data-testid="event-capacity">
                        {event
                            .capacity
                            .map_or_else(|| "no limit".to_owned(), |c| c.to_string())}
                    </dd>
                </div>
                <div class="flex gap-1">
                    <dt>"RSVP by:"</dt>
                    <dd data-testid="event-deadline">
                        {overview
                            .rsvp_deadline_local
                            .unwrap_or_else(|| "until the event starts".to_owned())}
                    </dd>
                </div>
                <div class="flex gap-1">
                    <dt>"Plus-ones by default:"</dt>
                    <dd data-testid="event-default-plus-ones">{event.default_max_plus_ones}</dd>
                </div>
            </dl>
        </header>
    }
    .into_any()
}

/// How many guests answered what, and how many plus-ones come along.
#[component]
fn Counts(counts: GuestCounts) -> impl IntoView {
    let item = |label: &'static str, testid: &'static str, value: i64| {
        view! {
            <div class="rounded-md border border-line bg-surface px-3 py-2">
                <dt class="text-xs uppercase tracking-wide text-muted">{label}</dt>
                <dd class="text-xl font-semibold" data-testid=testid>{value}</dd>
            </div>
        }
    };
    view! {
        <dl class="grid grid-cols-3 gap-3 sm:grid-cols-6" data-testid="guest-counts">
            {item("Attending", "count-attending", counts.attending)}
            {item("Declined", "count-declined", counts.declined)}
            {item("Maybe", "count-maybe", counts.maybe)}
            {item("Pending", "count-pending", counts.pending)}
            {(counts.held > 0).then(|| item("Held", "count-held", counts.held))}
            {item("Plus-ones", "count-plus-ones", counts.plus_ones)}
            {item("Guests", "count-total", counts.total)}
        </dl>
    }
    .into_any()
}

/// Status filter links and the search box; both keep the other part of the filter.
#[component]
fn Filters(event_id: Uuid, filter: Memo<Filter>) -> impl IntoView {
    let choices: [(Option<GuestStatus>, &'static str, &'static str); 5] = [
        (None, "All", "filter-all"),
        (
            Some(GuestStatus::Attending),
            "Attending",
            "filter-attending",
        ),
        (Some(GuestStatus::Declined), "Declined", "filter-declined"),
        (Some(GuestStatus::Maybe), "Maybe", "filter-maybe"),
        (Some(GuestStatus::Pending), "Pending", "filter-pending"),
    ];
    let links = choices
        .into_iter()
        .map(|(status, label, testid)| {
            let current = move || filter.with(|f| f.status == status);
            view! {
                <a
                    href=move || filter.with(|f| f.href(event_id, status))
                    data-testid=testid
                    aria-current=move || current().then_some("true")
                    class=move || {
                        if current() {
                            "rounded-full bg-brand px-3 py-1 text-sm font-medium text-on-brand"
                        } else {
                            "rounded-full border border-line-strong bg-surface px-3 py-1 text-sm text-ink hover:bg-surface-2"
                        }
                    }
                >
                    {label}
                </a>
            }
        })
        .collect_view();
    view! {
        <div class="mt-4 flex flex-wrap items-center justify-between gap-3">
            <nav class="flex flex-wrap gap-2" aria-label="Filter by answer" data-testid="status-filters">
                {links}
            </nav>
            <Form method="GET" action=format!("/events/{event_id}")>
                <div class="flex gap-2" role="search">
                    {move || {
                        filter
                            .with(|f| f.status)
                            .map(|status| {
                                view! { <input type="hidden" name="status" value=status.as_str()/> }
                            })
                    }}
                    <label class="sr-only" for="guest-search">"Search guests"</label>
                    <input
                        id="guest-search"
                        type="search"
                        name="search"
                        placeholder="Search name or email"
                        value=move || filter.with(|f| f.search.clone())
                        data-testid="guest-search"
                        class="w-56 rounded-md border border-line-strong px-3 py-1.5 text-sm focus:border-brand focus:outline-none focus:ring-1 focus:ring-brand"
                    />
                    <button type="submit" class=BUTTON_SECONDARY data-testid="guest-search-submit">
                        "Search"
                    </button>
                </div>
            </Form>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_is_read_from_the_query_string() {
        let mut query = ParamsMap::new();
        query.insert("status", "maybe".to_owned());
        query.insert("search", "  Ada L ".to_owned());
        let filter = Filter::from_query(&query);
        assert_eq!(filter.status, Some(GuestStatus::Maybe));
        assert_eq!(filter.search, "Ada L");
        let mut unknown = ParamsMap::new();
        unknown.insert("status", "everyone".to_owned());
        assert_eq!(Filter::from_query(&unknown), Filter::default());
    }

    #[test]
    fn filter_links_keep_the_search_and_encode_it() {
        let id = Uuid::nil();
        let filter = Filter {
            status: None,
            search: "ada & co/é".into(),
        };
        assert_eq!(
            filter.href(id, Some(GuestStatus::Attending)),
            format!("/events/{id}?status=attending&search=ada%20%26%20co%2F%C3%A9")
        );
        assert_eq!(Filter::default().href(id, None), format!("/events/{id}"));
    }
}
