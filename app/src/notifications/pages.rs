//! The guest's unsubscribe page (`/unsubscribe/:id`, linked from every reminder): a
//! button that posts to the same address (`unsubscribe.rs`), so link scanners that only
//! open pages never unsubscribe anybody.

use super::server_fns::unsubscribe_details;
use crate::components::CARD;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// Stop reminders for one event.
#[component]
pub fn UnsubscribePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let details = Resource::new_blocking(id, unsubscribe_details);
    view! {
        <Title text="Reminders · GuestGuard"/>
        <div class="mx-auto max-w-md" data-testid="unsubscribe-page">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match details.await {
                        Ok(details) if details.done => view! {
                            <div class=CARD>
                                <h1 class="text-xl font-semibold" data-testid="unsubscribed">
                                    "You will get no more reminders"
                                </h1>
                                <p class="mt-2">
                                    {format!("We will not remind you about {} again. Your invitation link still works.", details.event_name)}
                                </p>
                            </div>
                        }
                        .into_any(),
                        Ok(details) => view! {
                            <div class=CARD>
                                <h1 class="text-xl font-semibold">"Stop reminders?"</h1>
                                <p class="mt-2">
                                    {format!("You will get no more reminders about {}. Your invitation link keeps working.", details.event_name)}
                                </p>
                                <form method="post" action=format!("/unsubscribe/{}", id()) class="mt-4">
                                    <button
                                        type="submit"
                                        class="rounded-md bg-brand px-4 py-2 font-semibold text-on-brand focus:outline-none focus-visible:ring-2 focus-visible:ring-offset-2"
                                        data-testid="unsubscribe-button"
                                    >
                                        "Stop reminders"
                                    </button>
                                </form>
                            </div>
                        }
                        .into_any(),
                        Err(_) => view! {
                            <div class=CARD>
                                <h1 class="text-xl font-semibold">"This link is not valid"</h1>
                                <p class="mt-2">"Check the link in your email, or contact your host."</p>
                            </div>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// How a notification's status looks in the dashboard.
pub fn status_tone(status: super::Status) -> crate::components::Tone {
    use crate::components::Tone;
    match status {
        super::Status::Sent => Tone::Good,
        super::Status::Queued | super::Status::Sending => Tone::Info,
        super::Status::Failed => Tone::Bad,
        super::Status::Cancelled => Tone::Neutral,
    }
}

/// When something happened, short, in the reader's terms (UTC on the server).
fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// One notification as a row of a delivery list.
#[component]
pub fn DeliveryRow(notification: super::Notification) -> impl IntoView {
    use crate::components::Badge;
    let what = notification
        .event_type
        .clone()
        .unwrap_or_else(|| notification.kind.label().to_owned());
    let detail = match (notification.status, &notification.last_error) {
        (super::Status::Sent, _) => notification
            .sent_at
            .map(|at| format!("delivered {}", when(at)))
            .unwrap_or_default(),
        (_, Some(error)) => error.clone(),
        _ => String::new(),
    };
    view! {
        <tr class="border-t border-line align-top" data-testid="delivery-row">
            <td class="py-2 pr-3 text-sm">{what}</td>
            <td class="py-2 pr-3 text-sm break-all text-muted">{notification.recipient.clone()}</td>
            <td class="py-2 pr-3">
                <Badge tone=status_tone(notification.status)>
                    <span data-testid="delivery-status">{notification.status.label()}</span>
                </Badge>
            </td>
            <td class="py-2 pr-3 text-sm text-muted">
                {format!("{}/{}", notification.attempts, notification.max_attempts)}
            </td>
            <td class="py-2 text-sm text-muted break-words">{detail}</td>
        </tr>
    }
}

/// A table of deliveries (newest first), or a line saying there are none yet.
#[component]
pub fn DeliveryTable(
    deliveries: Vec<super::Notification>,
    #[prop(into)] empty: String,
) -> impl IntoView {
    if deliveries.is_empty() {
        return view! { <p class="mt-2 text-sm text-muted">{empty}</p> }.into_any();
    }
    view! {
        <div class="relative mt-2 overflow-x-auto" tabindex="0" role="region" aria-label="Deliveries">
            <table class="w-full text-left">
                <thead>
                    <tr class="text-xs uppercase tracking-wide text-faint">
                        <th scope="col" class="py-1 pr-3 font-medium">"What"</th>
                        <th scope="col" class="py-1 pr-3 font-medium">"To"</th>
                        <th scope="col" class="py-1 pr-3 font-medium">"Status"</th>
                        <th scope="col" class="py-1 pr-3 font-medium">"Tries"</th>
                        <th scope="col" class="py-1 font-medium">"Details"</th>
                    </tr>
                </thead>
                <tbody>
                    {deliveries
                        .into_iter()
                        .map(|notification| view! { <DeliveryRow notification/> })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The host's notification settings: which emails they get, and their webhooks
/// (register, send a test, rotate the secret, pause, delete, delivery log).
#[component]
pub fn NotificationSettingsPage() -> impl IntoView {
    use super::server_fns::{notification_preferences, SaveNotificationPreferences};
    use super::webhooks::{
        server_fns::{
            webhooks_overview, DeleteWebhook, EnableWebhook, RegisterWebhook, RotateWebhookSecret,
            TestWebhook,
        },
        EventType,
    };
    use crate::components::{
        action_error, page_resource, signed_in, use_session, ErrorBox, FormError, Loading,
        PageHeader, SubmitButton, TextField, BUTTON_SECONDARY,
    };

    let save = ServerAction::<SaveNotificationPreferences>::new();
    let register = ServerAction::<RegisterWebhook>::new();
    let test = ServerAction::<TestWebhook>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let enable = ServerAction::<EnableWebhook>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let refresh = RwSignal::new(0u32);
    let preferences = page_resource(move || save.version().get(), |_| notification_preferences());
    let webhooks = page_resource(
        move || {
            (
                register.version().get(),
                test.version().get(),
                rotate.version().get(),
                enable.version().get(),
                delete.version().get(),
                refresh.get(),
            )
        },
        |_| webhooks_overview(),
    );
    let register_error = action_error(register);
    let row_error = Signal::derive(move || {
        action_error(test)
            .get()
            .or_else(|| action_error(rotate).get())
            .or_else(|| action_error(enable).get())
            .or_else(|| action_error(delete).get())
    });
    // The secret of a webhook just registered or rotated, shown once here.
    let secret = Signal::derive(move || {
        rotate
            .value()
            .get()
            .and_then(Result::ok)
            .or_else(|| register.value().get().and_then(Result::ok))
    });
    let session = use_session();

    view! {
        <Title text="Notifications · GuestGuard"/>
        <PageHeader
            title="Notifications"
            subtitle="What GuestGuard tells you by email, and where it sends your webhooks."
        />
        <Transition fallback=|| view! { <Loading label="Loading your settings…"/> }>
            {move || Suspend::new(async move {
                let loaded = match signed_in(session).await {
                    Ok(_) => match (preferences.await, webhooks.await) {
                        (Ok(preferences), Ok(webhooks)) => Ok((preferences, webhooks)),
                        (Err(error), _) | (_, Err(error)) => Err(error),
                    },
                    Err(error) => Err(error),
                };
                match loaded {
                    Ok((preferences, webhooks)) => view! {
                        <section class=CARD aria-labelledby="emails-title">
                            <h2 id="emails-title" class="text-lg font-semibold">"Emails to you"</h2>
                            <ActionForm action=save attr:class="mt-3 space-y-2" attr:data-testid="preferences-form">
                                <label class="flex items-start gap-2">
                                    <input type="checkbox" name="rsvps" class="mt-1" checked=preferences.rsvps data-testid="prefer-rsvps"/>
                                    <span>"Every answer a guest sends"</span>
                                </label>
                                <label class="flex items-start gap-2">
                                    <input type="checkbox" name="fraud" class="mt-1" checked=preferences.fraud data-testid="prefer-fraud"/>
                                    <span>"Fraud alerts (an opening or answer scored 60 or more) and answers held for your review"</span>
                                </label>
                                <SubmitButton label="Save" pending_label="Saving…" pending=save.pending() class=BUTTON_SECONDARY testid="preferences-save"/>
                            </ActionForm>
                        </section>

                        <section class=format!("{CARD} mt-6") aria-labelledby="webhooks-title">
                            <h2 id="webhooks-title" class="text-lg font-semibold">"Webhooks"</h2>
                            <p class="mt-1 text-sm text-muted">
                                "Your endpoint receives a signed JSON POST for each event you choose. Check the "
                                <code>"GuestGuard-Signature"</code>
                                " header with your secret (see the API documentation)."
                            </p>
                            <ActionForm action=register attr:class="mt-4 space-y-3" attr:data-testid="webhook-form">
                                <TextField label="Endpoint URL" name="url" kind="url" required=true placeholder="https://example.org/hooks/guestguard" testid="webhook-url" error=crate::components::field_error(register_error, "url")/>
                                <TextField label="Description (optional)" name="description" testid="webhook-description"/>
                                <fieldset>
                                    <legend class="text-sm font-medium">"Send me"</legend>
                                    <div class="mt-1 grid gap-1 sm:grid-cols-2">
                                        {[
                                            ("rsvp_created", EventType::RsvpCreated),
                                            ("rsvp_changed", EventType::RsvpChanged),
                                            ("access_flagged", EventType::AccessFlagged),
                                            ("rsvp_blocked", EventType::RsvpBlocked),
                                            ("rsvp_held", EventType::RsvpHeld),
                                        ]
                                            .into_iter()
                                            .map(|(name, kind)| view! {
                                                <label class="flex items-start gap-2 text-sm">
                                                    <input type="checkbox" name=name class="mt-1" data-testid=format!("webhook-type-{}", kind.as_str())/>
                                                    <span><code>{kind.as_str()}</code> " — " {kind.description()}</span>
                                                </label>
                                            })
                                            .collect_view()}
                                    </div>
                                </fieldset>
                                <SubmitButton label="Add webhook" pending_label="Adding…" pending=register.pending() testid="webhook-submit"/>
                                <FormError error=register_error fields=&["url"]/>
                            </ActionForm>
                            {move || secret.get().map(|created| view! {
                                <div class="mt-4 rounded-md border border-warn-line bg-warn-bg p-4 text-warn-fg" role="status" data-testid="webhook-secret">
                                    <p class="font-medium">"Signing secret of " {created.webhook.url.clone()}</p>
                                    <p class="mt-1 text-sm">"Keep it in your receiver's configuration; it verifies that deliveries come from GuestGuard."</p>
                                    <code class="mt-2 block break-all rounded bg-surface p-2 text-sm text-ink" data-testid="webhook-secret-value">{created.secret.clone()}</code>
                                </div>
                            })}
                            <div class="mt-4"><FormError error=row_error/></div>
                            <div class="mt-4 flex justify-end">
                                <button type="button" class=BUTTON_SECONDARY on:click=move |_| refresh.update(|n| *n += 1) data-testid="webhooks-refresh">"Refresh"</button>
                            </div>
                            {if webhooks.is_empty() {
                                view! { <p class="mt-2 text-sm text-muted" data-testid="webhooks-empty">"No webhooks yet."</p> }.into_any()
                            } else {
                                webhooks
                                    .into_iter()
                                    .map(|overview| {
                                        let webhook = overview.webhook;
                                        let id = webhook.id;
                                        let types = webhook
                                            .event_types
                                            .iter()
                                            .map(|kind| kind.as_str())
                                            .collect::<Vec<_>>()
                                            .join(", ");
                                        view! {
                                            <article class="mt-4 rounded-md border border-line p-4" data-testid="webhook">
                                                <div class="flex flex-wrap items-center justify-between gap-2">
                                                    <div class="min-w-0">
                                                        <p class="font-medium break-all" data-testid="webhook-url-shown">{webhook.url.clone()}</p>
                                                        <p class="text-sm text-muted">
                                                            {types} " · secret v" {webhook.secret_version}
                                                            {(!webhook.description.is_empty()).then(|| format!(" · {}", webhook.description))}
                                                        </p>
                                                    </div>
                                                    <crate::components::Badge tone=if webhook.enabled { crate::components::Tone::Good } else { crate::components::Tone::Neutral }>
                                                        {if webhook.enabled { "Active" } else { "Paused" }}
                                                    </crate::components::Badge>
                                                </div>
                                                <div class="mt-3 flex flex-wrap gap-2">
                                                    <ActionForm action=test>
                                                        <input type="hidden" name="id" value=id.to_string()/>
                                                        <button type="submit" class=BUTTON_SECONDARY data-testid="webhook-test">"Send test"</button>
                                                    </ActionForm>
                                                    <ActionForm action=rotate>
                                                        <input type="hidden" name="id" value=id.to_string()/>
                                                        <button type="submit" class=BUTTON_SECONDARY data-testid="webhook-rotate">"Rotate secret"</button>
                                                    </ActionForm>
                                                    <ActionForm action=enable>
                                                        <input type="hidden" name="id" value=id.to_string()/>
                                                        <input type="hidden" name="enabled" value=(!webhook.enabled).to_string()/>
                                                        <button type="submit" class=BUTTON_SECONDARY data-testid="webhook-toggle">
                                                            {if webhook.enabled { "Pause" } else { "Resume" }}
                                                        </button>
                                                    </ActionForm>
                                                    <ActionForm action=delete>
                                                        <input type="hidden" name="id" value=id.to_string()/>
                                                        <button type="submit" class=BUTTON_SECONDARY data-testid="webhook-delete">"Delete"</button>
                                                    </ActionForm>
                                                </div>
                                                <h3 class="mt-4 text-sm font-semibold">"Latest deliveries"</h3>
                                                <DeliveryTable deliveries=overview.deliveries empty="Nothing sent yet."/>
                                            </article>
                                        }
                                    })
                                    .collect_view()
                                    .into_any()
                            }}
                        </section>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorBox error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The event page's invitations: send the personal links by email (to every guest who
/// has not answered or been invited yet, or to the guests the host ticks), and see per
/// guest what was sent and whether it was delivered. While something is on its way the
/// panel looks again every few seconds.
#[component]
pub fn InvitationsPanel(event_id: uuid::Uuid, refresh: RwSignal<u32>) -> impl IntoView {
    use super::server_fns::{guest_deliveries, QueueInvitations};
    use crate::components::{ErrorBox, Loading, BUTTON_PRIMARY, BUTTON_SECONDARY};
    use crate::guests::server_fns::get_guest_table;

    let send = ServerAction::<QueueInvitations>::new();
    let poll = RwSignal::new(0u32);
    let selected = RwSignal::new(std::collections::BTreeSet::<uuid::Uuid>::new());
    // Loaded in the browser only: the server renders "Loading…" and so does the page
    // while it hydrates, whatever else on the event page streams in between. Looked at
    // again after every send, on the page's refresh, and every few seconds while a
    // delivery is queued or being sent (the worker is another process).
    let rows = RwSignal::new(None::<Result<Vec<InvitationRow>, crate::error::AppError>>);
    Effect::new(move |_| {
        let _ = (refresh.get(), send.version().get(), poll.get());
        leptos::task::spawn_local(async move {
            let loaded = async {
                let table = get_guest_table(event_id, None, None).await?;
                let deliveries = guest_deliveries(event_id).await?;
                Ok(invitation_rows(table.guests, deliveries))
            }
            .await;
            let busy = matches!(&loaded, Ok(rows) if rows.iter().any(|row| row.delivery.as_ref().is_some_and(|d| matches!(d.status, super::Status::Queued | super::Status::Sending))));
            rows.set(Some(loaded));
            if busy {
                set_timeout(
                    move || poll.update(|n| *n += 1),
                    std::time::Duration::from_secs(3),
                );
            }
        });
    });
    let send_all = move |_| {
        send.dispatch(QueueInvitations {
            event_id,
            guest_ids: None,
        });
    };
    let send_selected = move |_| {
        let guest_ids: Vec<uuid::Uuid> = selected.get_untracked().into_iter().collect();
        if !guest_ids.is_empty() {
            send.dispatch(QueueInvitations {
                event_id,
                guest_ids: Some(guest_ids),
            });
            selected.set(Default::default());
        }
    };
    let outcome = move || {
        send.value().get().map(|answer| match answer {
            Ok(queued) => {
                let sent = match queued.queued.len() {
                    0 => "No invitation to send".to_owned(),
                    1 => "1 invitation is on its way".to_owned(),
                    n => format!("{n} invitations are on their way"),
                };
                let skipped = match queued.skipped.len() {
                    0 => String::new(),
                    n => format!(
                        "; {n} guest{} left out (already answered, already invited, or no email address)",
                        if n == 1 { "" } else { "s" }
                    ),
                };
                view! {
                    <p class="mt-3 text-sm" role="status" data-testid="invitations-result">
                        {sent} {skipped} "."
                    </p>
                }
                .into_any()
            }
            Err(error) => view! { <ErrorBox error/> }.into_any(),
        })
    };
    view! {
        <section class=format!("{} mt-6", crate::components::CARD) aria-labelledby="invitations-heading" data-testid="invitations-panel">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <h2 id="invitations-heading" class="text-lg font-semibold">"Invitations"</h2>
                <div class="flex flex-wrap gap-2">
                    <button
                        type="button"
                        class=BUTTON_SECONDARY
                        on:click=send_selected
                        disabled=move || selected.with(|s| s.is_empty()) || send.pending().get()
                        data-testid="send-selected"
                    >
                        {move || match selected.with(|s| s.len()) {
                            0 => "Send to chosen guests".to_owned(),
                            n => format!("Send to {n} chosen"),
                        }}
                    </button>
                    <button
                        type="button"
                        class=BUTTON_PRIMARY
                        on:click=send_all
                        disabled=move || send.pending().get()
                        data-testid="send-invitations"
                    >
                        {move || if send.pending().get() { "Sending…" } else { "Send to everyone not yet invited" }}
                    </button>
                </div>
            </div>
            <p class="mt-1 text-sm text-muted">
                "Each guest gets an email with their personal link. Guests who answered or were already invited are left out unless you choose them."
            </p>
            {outcome}
            {move || match rows.get() {
                None => view! { <Loading label="Loading the invitations…"/> }.into_any(),
                Some(Ok(rows)) => view! { <InvitationTable rows selected/> }.into_any(),
                Some(Err(error)) => view! { <ErrorBox error/> }.into_any(),
            }}
        </section>
    }
}

/// A guest with the newest invitation or reminder sent to them.
#[derive(Clone, Debug, PartialEq)]
struct InvitationRow {
    guest_id: uuid::Uuid,
    name: String,
    contact: Option<String>,
    delivery: Option<super::GuestDelivery>,
}

fn invitation_rows(
    guests: Vec<crate::guests::server_fns::GuestEntry>,
    deliveries: Vec<super::GuestDelivery>,
) -> Vec<InvitationRow> {
    let mut by_guest: std::collections::HashMap<uuid::Uuid, super::GuestDelivery> = deliveries
        .into_iter()
        .map(|delivery| (delivery.guest_id, delivery))
        .collect();
    guests
        .into_iter()
        .map(|entry| InvitationRow {
            guest_id: entry.guest.id,
            contact: entry.guest.email.clone().or(entry.guest.phone.clone()),
            delivery: by_guest.remove(&entry.guest.id),
            name: entry.guest.name,
        })
        .collect()
}

#[component]
fn InvitationTable(
    rows: Vec<InvitationRow>,
    selected: RwSignal<std::collections::BTreeSet<uuid::Uuid>>,
) -> impl IntoView {
    use crate::components::Badge;
    if rows.is_empty() {
        return view! { <p class="mt-3 text-sm text-muted">"Add guests first; then send them their links from here."</p> }.into_any();
    }
    view! {
        <div class="mt-3 overflow-x-auto">
            <table class="w-full text-left" data-testid="invitation-table">
                <thead>
                    <tr class="text-xs uppercase tracking-wide text-faint">
                        <th scope="col" class="py-1 pr-3 font-medium">"Choose"</th>
                        <th scope="col" class="py-1 pr-3 font-medium">"Guest"</th>
                        <th scope="col" class="py-1 pr-3 font-medium">"Sent to"</th>
                        <th scope="col" class="py-1 font-medium">"Last email"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|row| {
                            let id = row.guest_id;
                            let checkbox_id = format!("invite-{id}");
                            let label = format!("Choose {}", row.name);
                            let can_send = row.contact.is_some();
                            let status = match row.delivery {
                                None => view! { <span class="text-sm text-muted" data-testid="delivery-status">"Not sent yet"</span> }.into_any(),
                                Some(delivery) => {
                                    let error = delivery.last_error.filter(|_| delivery.status != super::Status::Sent);
                                    view! {
                                        <span class="text-sm">{delivery.kind.label()} " "</span>
                                        <Badge tone=status_tone(delivery.status)>
                                            <span data-testid="delivery-status">{delivery.status.label()}</span>
                                        </Badge>
                                        <span class="ml-2 text-xs text-muted">{when(delivery.at)}</span>
                                        {error.map(|error| view! { <p class="mt-1 text-xs text-warn-fg break-words">{error}</p> })}
                                    }
                                    .into_any()
                                }
                            };
                            view! {
                                <tr class="border-t border-line align-top" data-testid="invitation-row" data-guest-id=id.to_string()>
                                    <td class="py-2 pr-3">
                                        <input
                                            type="checkbox"
                                            id=checkbox_id
                                            aria-label=label
                                            disabled=!can_send
                                            prop:checked=move || selected.with(|s| s.contains(&id))
                                            on:change=move |_| selected.update(|s| if !s.remove(&id) { s.insert(id); })
                                            data-testid="invite-choose"
                                        />
                                    </td>
                                    <td class="py-2 pr-3 text-sm font-medium">{row.name}</td>
                                    <td class="py-2 pr-3 text-sm break-all text-muted">
                                        {row.contact.unwrap_or_else(|| "no email address".to_owned())}
                                    </td>
                                    <td class="py-2 text-sm">{status}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The event form's email settings: the language guests' emails are written in, and
/// how long before the RSVP deadline (or the start) guests who have not answered get a
/// reminder.
#[component]
pub fn EventEmailFields(
    initial: crate::events::server_fns::EventFormValues,
    error: Signal<Option<crate::error::AppError>>,
) -> impl IntoView {
    use crate::components::{field_error, TextField};
    let select = "mt-1 block w-full rounded-md border border-line bg-surface px-3 py-2";
    let language = initial.language;
    view! {
        <fieldset class="mt-6 rounded-md border border-line p-4" data-testid="event-emails">
            <legend class="px-1 text-sm font-semibold">"Emails to guests"</legend>
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <label class="block text-sm font-medium" for="event-language">"Language"</label>
                    <select id="event-language" name="language" class=select data-testid="event-language">
                        {crate::events::LANGUAGES
                            .iter()
                            .map(|(code, name)| {
                                let selected = language == *code || (language.is_empty() && *code == "en");
                                view! { <option value=*code selected=selected>{*name}</option> }
                            })
                            .collect_view()}
                    </select>
                    {move || field_error(error, "language").get().map(|message| view! {
                        <p class="mt-1 text-sm text-warn-fg">{message}</p>
                    })}
                </div>
                <TextField
                    label="Reminder (hours before the deadline)"
                    name="reminder_hours"
                    kind="number"
                    min="1"
                    max="720"
                    value=initial.reminder_hours
                    hint="Guests who have not answered get one reminder; empty for none."
                    testid="event-reminder-hours"
                    error=field_error(error, "reminder_hours")
                />
            </div>
        </fieldset>
    }
}
