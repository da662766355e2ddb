//! The host's events: the list, and the create and edit forms. Forms are `ActionForm`s
//! (plain form posts before hydration); once hydrated, the slug follows the name until
//! the host edits it, and a new event starts in the browser's time zone.

use super::server_fns::{
    event_form, list_events, slugify, AddEvent, EventFormValues, EventListItem, RemoveEvent,
    SaveEvent, COMMON_TIME_ZONES,
};
use crate::{
    components::{
        action_error, field_error, page_resource, signed_in, use_session, ErrorBox, FormError,
        Loading, PageHeader, RequireHost, SubmitButton, TextAreaField, TextField, BUTTON_DANGER,
        BUTTON_PRIMARY, BUTTON_SECONDARY, CARD, LINK,
    },
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};
use uuid::Uuid;

/// Fields of the event form that show their own errors.
const EVENT_FIELDS: &[&str] = &[
    "name",
    "slug",
    "event_date",
    "time_zone",
    "venue",
    "description",
    "capacity",
    "rsvp_deadline",
    "default_max_plus_ones",
    "fraud_on_unavailable",
    "fraud_sensitivity",
];

/// The host's events, soonest first, with a delete button (after a confirmation) on each.
#[component]
pub fn EventsPage() -> impl IntoView {
    let remove = ServerAction::<RemoveEvent>::new();
    let events = page_resource(move || remove.version().get(), |_| list_events());
    let remove_error = action_error(remove);
    let session = use_session();
    view! {
        <Title text="Your events · GuestGuard"/>
        <PageHeader title="Your events" subtitle="Each event has its own guests and invitation links.">
            <A href="/events/new" attr:class=BUTTON_PRIMARY attr:data-testid="new-event">
                "New event"
            </A>
        </PageHeader>
        <FormError error=remove_error/>
        <Transition fallback=|| view! { <Loading label="Loading your events…"/> }>
            {move || Suspend::new(async move {
                let events = match signed_in(session).await {
                    Ok(_) => events.await,
                    Err(error) => Err(error),
                };
                match events {
                        Ok(list) if list.is_empty() => view! { <NoEvents/> }.into_any(),
                        Ok(list) => view! {
                            <ul class="space-y-3" data-testid="event-list">
                                {list
                                    .into_iter()
                                    .map(|event| view! { <EventRow event remove/> })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any(),
                    Err(error) => view! { <ErrorBox error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The empty state: a call to create the first event.
#[component]
fn NoEvents() -> impl IntoView {
    view! {
        <div
            class="rounded-lg border-2 border-dashed border-line-strong bg-surface p-10 text-center"
            data-testid="events-empty"
        >
            <h2 class="text-lg font-semibold">"No events yet"</h2>
            <p class="mt-1 text-sm text-muted">
                "Create an event, add your guests and send each one a personal invitation link."
            </p>
            <A href="/events/new" attr:class=format!("mt-4 {BUTTON_PRIMARY}") attr:data-testid="create-first-event">
                "Create your first event"
            </A>
        </div>
    }
}

/// One event in the list.
#[component]
fn EventRow(event: EventListItem, remove: ServerAction<RemoveEvent>) -> impl IntoView {
    let id = event.id.to_string();
    let (row_id, hidden_id) = (id.clone(), id.clone());
    let link = format!("/events/{id}");
    let edit = format!("/events/{id}/edit");
    let name = event.name.clone();
    let guests = match event.guests {
        1 => "1 guest".to_owned(),
        n => format!("{n} guests"),
    };
    let capacity = event
        .capacity
        .map(|capacity| format!(" · capacity {capacity}"))
        .unwrap_or_default();
    view! {
        <li class=CARD data-testid="event-row" data-event-id=row_id>
            <div class="flex flex-wrap items-start justify-between gap-4">
                <div class="min-w-0">
                    <A
                        href=link
                        attr:class="text-lg font-semibold text-brand-fg hover:underline"
                        attr:data-testid="event-link"
                    >
                        {name}
                    </A>
                    <p class="mt-1 text-sm text-ink" data-testid="event-when">
                        {event.starts} " "
                        <span class="text-muted">"(" {event.time_zone} ")"</span>
                    </p>
                    <p class="text-sm text-muted" data-testid="event-venue">{event.venue}</p>
                    <p class="mt-1 text-xs text-muted" data-testid="event-counts">
                        {guests} " · " {event.attending} " attending" {capacity}
                    </p>
                </div>
                <div class="flex items-start gap-2">
                    <A
                        href=edit
                        attr:class=BUTTON_SECONDARY
                        attr:data-testid="event-edit"
                    >
                        "Edit"
                    </A>
                    <details class="relative">
                        <summary
                            class=format!("{BUTTON_SECONDARY} cursor-pointer list-none text-danger-fg")
                            data-testid="event-delete"
                        >
                            "Delete"
                        </summary>
                        <div class="absolute right-0 z-10 mt-2 w-72 rounded-md border border-danger-line bg-danger-bg p-3 shadow-lg">
                            <p class="text-sm text-danger-fg">
                                "Delete “" {event.name} "” with all its guests, links and answers? This cannot be undone."
                            </p>
                            <ActionForm action=remove attr:class="mt-2">
                                <input type="hidden" name="id" value=hidden_id/>
                                <SubmitButton
                                    label="Delete event"
                                    pending_label="Deleting…"
                                    pending=remove.pending()
                                    class=BUTTON_DANGER
                                    testid="event-delete-confirm"
                                />
                            </ActionForm>
                        </div>
                    </details>
                </div>
            </div>
        </li>
    }
}

/// A new event; afterwards the host lands on its page.
#[component]
pub fn NewEventPage() -> impl IntoView {
    let action = ServerAction::<AddEvent>::new();
    let error = action_error(action);
    // What a new event starts with (the time zone becomes the browser's once hydrated).
    let initial = || EventFormValues {
        time_zone: "UTC".into(),
        default_max_plus_ones: "0".into(),
        ..EventFormValues::default()
    };
    let preview = Preview::default();
    view! {
        <Title text="New event · GuestGuard"/>
        <PageHeader title="New event"/>
        <RequireHost>
            <div class="grid gap-6 lg:grid-cols-[minmax(0,1fr)_22rem]">
                // Typing in any field bubbles up here, to the preview.
                <div class=CARD on:input=move |ev| preview.typed(&ev)>
                    <ActionForm action attr:class="space-y-5" attr:data-testid="event-form">
                        <EventFields initial=initial() error new=true/>
                        <FormError error fields=EVENT_FIELDS/>
                        <div class="flex items-center gap-3">
                            <SubmitButton
                                label="Create event"
                                pending_label="Creating…"
                                pending=action.pending()
                                testid="event-submit"
                            />
                            <a class=LINK href="/events">"Cancel"</a>
                        </div>
                    </ActionForm>
                </div>
                <InvitationPreview preview/>
            </div>
        </RequireHost>
    }
}

/// What the new-event form's preview shows, as it is typed.
#[derive(Clone, Copy, Default)]
struct Preview {
    name: RwSignal<String>,
    starts: RwSignal<String>,
    venue: RwSignal<String>,
    description: RwSignal<String>,
}

impl Preview {
    /// Takes the value of the form field that was just typed into.
    fn typed(self, ev: &leptos::ev::Event) {
        // Typing happens only in the browser.
        #[cfg(feature = "hydrate")]
        {
            // `name` and `value` are read the same way from inputs and text areas.
            let field = event_target::<web_sys::HtmlInputElement>(ev);
            let value = event_target_value(ev);
            match field.name().as_str() {
                "name" => self.name.set(value),
                "event_date" => self.starts.set(value),
                "venue" => self.venue.set(value),
                "description" => self.description.set(value),
                _ => {}
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (self, ev);
    }
}

/// `2027-06-12T18:00` (a `datetime-local` value) as `Sat 12 Jun 2027 · 18:00`.
fn preview_date(value: &str) -> Option<String> {
    chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .ok()
        .map(|at| at.format("%a %-d %b %Y · %H:%M").to_string())
}

/// The invitation card as guests will see it, following the form as it is typed: the
/// front card of a small animated stack.
#[component]
fn InvitationPreview(preview: Preview) -> impl IntoView {
    let or = |value: String, fallback: &'static str| {
        if value.trim().is_empty() {
            fallback.to_owned()
        } else {
            value
        }
    };
    view! {
        <aside class="lg:sticky lg:top-6 lg:self-start" aria-labelledby="preview-heading">
            <h2 id="preview-heading" class="text-sm font-semibold uppercase tracking-wider text-muted">
                "What your guests will see"
            </h2>
            <div class="relative mt-4 h-80" data-testid="event-preview">
                <div
                    class="absolute inset-x-6 top-0 h-64 rotate-3 rounded-2xl border border-line bg-surface-2 opacity-60 motion-safe:animate-float-slow"
                    aria-hidden="true"
                ></div>
                <div
                    class="absolute inset-x-3 top-3 h-64 -rotate-2 rounded-2xl border border-line bg-surface opacity-80 motion-safe:animate-float"
                    aria-hidden="true"
                ></div>
                <div class="absolute inset-x-0 top-6 overflow-hidden rounded-2xl border border-line-strong bg-surface p-5 shadow-2xl">
                    <div class="absolute inset-x-0 top-0 h-1 bg-brand" aria-hidden="true"></div>
                    <p class="text-xs font-semibold uppercase tracking-wider text-brand-fg">"You are invited"</p>
                    <p class="mt-2 break-words text-xl font-semibold text-ink" data-testid="preview-name">
                        {move || or(preview.name.get(), "Your event's name")}
                    </p>
                    <p class="mt-1 text-sm text-muted" data-testid="preview-when">
                        {move || preview_date(&preview.starts.get()).unwrap_or_else(|| "Date and time".to_owned())}
                    </p>
                    <p class="text-sm text-muted" data-testid="preview-venue">
                        {move || or(preview.venue.get(), "Venue")}
                    </p>
                    <p class="mt-3 line-clamp-3 text-sm text-ink">
                        {move || preview.description.get()}
                    </p>
                    <div class="mt-4 flex gap-2" aria-hidden="true">
                        <span class="flex-1 rounded-md bg-brand px-3 py-2 text-center text-sm font-medium text-on-brand">"Attending"</span>
                        <span class="flex-1 rounded-md border border-line px-3 py-2 text-center text-sm text-muted">"Can't come"</span>
                    </div>
                </div>
            </div>
        </aside>
    }
}

/// Edit one of the host's events; another host's event is "not found".
#[component]
pub fn EditEventPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| Uuid::parse_str(&id).ok())
    };
    let values = page_resource(id, |id| {
        let not_found = not_found_status();
        async move {
            let values = match id {
                Some(id) => event_form(id).await.map(|values| (id, values)),
                None => Err(AppError::NotFound("there is no such event".into())),
            };
            if let Err(AppError::NotFound(_)) = &values {
                not_found();
            }
            values
        }
    });
    let action = ServerAction::<SaveEvent>::new();
    let error = action_error(action);
    let session = use_session();
    view! {
        <Title text="Edit event · GuestGuard"/>
        <PageHeader title="Edit event"/>
        <Transition fallback=|| view! { <Loading label="Loading the event…"/> }>
            {move || Suspend::new(async move {
                let values = match signed_in(session).await {
                    Ok(_) => values.await,
                    Err(error) => Err(error),
                };
                match values {
                        Ok((id, initial)) => view! {
                            <div class=CARD>
                                <ActionForm action attr:class="space-y-5" attr:data-testid="event-form">
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <EventFields initial error new=false/>
                                    <FormError error fields=EVENT_FIELDS/>
                                    <div class="flex items-center gap-3">
                                        <SubmitButton
                                            label="Save changes"
                                            pending_label="Saving…"
                                            pending=action.pending()
                                            testid="event-submit"
                                        />
                                        <a class=LINK href=format!("/events/{id}")>"Cancel"</a>
                                    </div>
                                </ActionForm>
                            </div>
                        }
                        .into_any(),
                    Err(error) => view! { <ErrorBox error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Makes the page being rendered on the server answer 404 when called (its resource
/// blocks, so the status is still unsent); nothing in the browser.
fn not_found_status() -> impl Fn() + Send + 'static {
    #[cfg(feature = "ssr")]
    let response = use_context::<leptos_axum::ResponseOptions>();
    move || {
        #[cfg(feature = "ssr")]
        if let Some(response) = &response {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
}

/// The inputs of the event form. `new` forms suggest the slug from the name and start
/// in the browser's time zone.
#[component]
fn EventFields(
    initial: EventFormValues,
    error: Signal<Option<AppError>>,
    new: bool,
) -> impl IntoView {
    let policy = initial.clone();
    let emails = initial.clone();
    let slug = RwSignal::new(initial.slug.clone());
    let slug_edited = RwSignal::new(!new);
    let time_zone = RwSignal::new(initial.time_zone.clone());
    let time_zone_edited = RwSignal::new(!new);
    if new {
        // Effects run only in the browser, after hydration.
        Effect::new(move |_| {
            if let Some(zone) = browser_time_zone() {
                if !time_zone_edited.get_untracked() {
                    time_zone.set(zone);
                }
            }
        });
    }
    let on_name = Callback::new(move |name: String| {
        if !slug_edited.get_untracked() {
            slug.set(slugify(&name));
        }
    });
    let on_slug = Callback::new(move |value: String| {
        slug_edited.set(!value.is_empty());
        slug.set(value);
    });
    let on_time_zone = Callback::new(move |value: String| {
        time_zone_edited.set(true);
        time_zone.set(value);
    });
    view! {
        <TextField
            label="Name"
            name="name"
            value=initial.name
            required=true
            placeholder="e.g. Ada & Grace's wedding"
            testid="event-name"
            on_input=on_name
            error=field_error(error, "name")
        />
        <TextField
            label="Slug"
            name="slug"
            value=slug
            placeholder="ada-grace-wedding"
            hint="Lowercase letters, digits and dashes; unique among your events. Left empty, it is made from the name."
            testid="event-slug"
            on_input=on_slug
            error=field_error(error, "slug")
        />
        <div class="grid gap-4 sm:grid-cols-2">
            <TextField
                label="Date and time"
                name="event_date"
                kind="datetime-local"
                value=initial.event_date
                required=true
                hint="Local time at the event."
                testid="event-date"
                error=field_error(error, "event_date")
            />
            <TextField
                label="Time zone"
                name="time_zone"
                value=time_zone
                list="time-zones"
                required=true
                autocomplete="off"
                hint="An IANA name such as Europe/Paris."
                testid="event-time-zone"
                on_input=on_time_zone
                error=field_error(error, "time_zone")
            />
        </div>
        <datalist id="time-zones">
            {COMMON_TIME_ZONES.iter().map(|zone| view! { <option value=*zone></option> }).collect_view()}
        </datalist>
        <TextField
            label="Venue"
            name="venue"
            value=initial.venue
            required=true
            placeholder="e.g. The Old Mill, Millbrook"
            testid="event-venue"
            error=field_error(error, "venue")
        />
        <TextAreaField
            label="Description"
            name="description"
            value=initial.description
            hint="Shown to guests on their invitation (optional)."
            testid="event-description"
            error=field_error(error, "description")
        />
        <div class="grid gap-4 sm:grid-cols-3">
            <TextField
                label="Capacity"
                name="capacity"
                kind="number"
                min="1"
                value=initial.capacity
                hint="Empty for no limit."
                testid="event-capacity"
                error=field_error(error, "capacity")
            />
            <TextField
                label="RSVP deadline"
                name="rsvp_deadline"
                kind="datetime-local"
                value=initial.rsvp_deadline
                hint="Optional; local time at the event."
                testid="event-rsvp-deadline"
                error=field_error(error, "rsvp_deadline")
            />
            <TextField
                label="Plus-ones per guest"
                name="default_max_plus_ones"
                kind="number"
                min="0"
                max="20"
                value=initial.default_max_plus_ones
                hint="Default; 0 to 20."
                testid="event-plus-ones"
                error=field_error(error, "default_max_plus_ones")
            />
        </div>
        <FraudPolicyFields initial=policy error/>
        <crate::notifications::pages::EventEmailFields initial=emails error/>
    }
}

/// The event's fraud policy: what happens to answers the fraud check cannot look at,
/// how readily it calls an answer risky, and shadow mode.
#[component]
fn FraudPolicyFields(initial: EventFormValues, error: Signal<Option<AppError>>) -> impl IntoView {
    let select = "mt-1 block w-full rounded-md border border-line-strong px-3 py-2";
    let on = initial.fraud_on_unavailable;
    let sensitivity = initial.fraud_sensitivity;
    let option = |value: &'static str, label: &'static str, current: &str| {
        let selected =
            current == value || (current.is_empty() && (value == "accept" || value == "standard"));
        view! { <option value=value selected=selected>{label}</option> }
    };
    view! {
        <fieldset class="mt-6 rounded-md border border-line p-4" data-testid="fraud-policy">
            <legend class="px-1 text-sm font-semibold">"Fraud checks"</legend>
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <label class="block text-sm font-medium" for="fraud-sensitivity">"Sensitivity"</label>
                    <select id="fraud-sensitivity" name="fraud_sensitivity" class=select data-testid="event-fraud-sensitivity">
                        {option("relaxed", "Relaxed: flag only clear cases", &sensitivity)}
                        {option("standard", "Standard", &sensitivity)}
                        {option("strict", "Strict: flag and refuse earlier", &sensitivity)}
                    </select>
                    {move || field_error(error, "fraud_sensitivity").get().map(|message| view! {
                        <p class="mt-1 text-sm text-danger-fg">{message}</p>
                    })}
                </div>
                <div>
                    <label class="block text-sm font-medium" for="fraud-unavailable">
                        "When the check is unavailable"
                    </label>
                    <select id="fraud-unavailable" name="fraud_on_unavailable" class=select data-testid="event-fraud-unavailable">
                        {option("accept", "Accept the answer, check it later", &on)}
                        {option("hold", "Hold the answer for my review", &on)}
                        {option("refuse", "Ask the guest to try again later", &on)}
                    </select>
                    {move || field_error(error, "fraud_on_unavailable").get().map(|message| view! {
                        <p class="mt-1 text-sm text-danger-fg">{message}</p>
                    })}
                </div>
            </div>
            <label class="mt-4 flex items-start gap-2 text-sm">
                <input
                    type="checkbox"
                    name="fraud_shadow"
                    value="on"
                    checked=initial.fraud_shadow
                    data-testid="event-fraud-shadow"
                    class="mt-1"
                />
                <span>
                    <span class="font-medium">"Shadow mode"</span>
                    ": score and show every answer, but never refuse or hold one."
                </span>
            </label>
        </fieldset>
    }
}

/// The browser's IANA time zone, once hydrated.
fn browser_time_zone() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let format =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
        js_sys::Reflect::get(&format.resolved_options(), &"timeZone".into())
            .ok()?
            .as_string()
            .filter(|zone| !zone.is_empty())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}
