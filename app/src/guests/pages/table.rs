//! The guest table: one row per guest with their answer, plus-ones and invitation link,
//! and the row's actions (edit, remove after a confirmation, issue / copy / revoke /
//! rotate the link).

use super::{browser, forms::EditGuestForm, EventContext, Filter};
use crate::{
    components::{capitalise, Badge, Tone, BUTTON_DANGER, BUTTON_SECONDARY},
    error::AppError,
    fraud::RiskBand,
    guests::{
        server_fns::{remove_guest, GuestEntry, GuestTable},
        GuestStatus,
    },
    invitations::{
        server_fns::{issue_guest_link, revoke_guest_link},
        GuestLink, LinkStatus,
    },
};
use leptos::prelude::*;
use uuid::Uuid;

/// Small buttons of a row.
const SMALL: &str = "rounded border border-line-strong bg-surface px-2 py-1 text-xs font-medium text-ink hover:bg-surface-2 disabled:cursor-not-allowed disabled:opacity-60";

/// The guests matching the filter (or a line saying there are none).
#[component]
pub(super) fn GuestTableView(table: GuestTable, filter: Memo<Filter>) -> impl IntoView {
    if table.guests.is_empty() {
        let filtered = filter.with_untracked(|f| f.status.is_some() || !f.search.is_empty());
        let message = if table.counts.total == 0 {
            "No guests yet. Add them below, one by one or from a CSV file."
        } else if filtered {
            "No guest matches this filter."
        } else {
            "No guests."
        };
        return view! {
            <p class="mt-4 text-sm text-muted" data-testid="no-guests">{message}</p>
        }
        .into_any();
    }
    view! {
        <div class="relative mt-4 overflow-x-auto" tabindex="0" role="region" aria-label="Guest list">
            <table class="min-w-full divide-y divide-line text-sm" data-testid="guest-table">
                <thead>
                    <tr class="text-left text-xs uppercase tracking-wide text-muted">
                        <th scope="col" class="py-2 pr-3">"Name"</th>
                        <th scope="col" class="px-3 py-2">"Email"</th>
                        <th scope="col" class="px-3 py-2">"Phone"</th>
                        <th scope="col" class="px-3 py-2">"Answer"</th>
                        <th scope="col" class="px-3 py-2">"Plus-ones"</th>
                        <th scope="col" class="px-3 py-2">"Max"</th>
                        <th scope="col" class="px-3 py-2">"Answered"</th>
                        <th scope="col" class="px-3 py-2">"Invitation link"</th>
                        <th scope="col" class="py-2 pl-3">
                            <span class="sr-only">"Actions"</span>
                        </th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-line">
                    {table
                        .guests
                        .into_iter()
                        .map(|entry| view! { <GuestRow entry/> })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The colour of an answer.
fn status_tone(status: GuestStatus) -> Tone {
    match status {
        GuestStatus::Attending => Tone::Good,
        GuestStatus::Declined => Tone::Bad,
        GuestStatus::Maybe => Tone::Warning,
        GuestStatus::Pending => Tone::Neutral,
        GuestStatus::Held => Tone::Warning,
    }
}

/// How far the answer can be trusted, in the words hosts see: Verified, Review,
/// Suspicious (or Unscored while the fraud engine has not scored it yet).
fn risk_badge(risk: Option<RiskBand>) -> impl IntoView {
    let (label, tone, hint) = match risk {
        Some(band) => (band.label(), band.tone(), "Fraud check of the answer"),
        None => (
            "Unscored",
            Tone::Neutral,
            "The fraud check was unavailable when the guest answered; it runs shortly",
        ),
    };
    view! {
        <span class="ml-1" title=hint data-testid="risk-badge">
            <Badge tone>{label}</Badge>
        </span>
    }
}

/// The words and colour of a link's state.
fn link_label(status: LinkStatus) -> (&'static str, Tone) {
    match status {
        LinkStatus::Active => ("Active", Tone::Info),
        LinkStatus::Used => ("Used", Tone::Good),
        LinkStatus::Revoked => ("Revoked", Tone::Bad),
        LinkStatus::Expired => ("Expired", Tone::Neutral),
    }
}

/// One guest: their data, answer, link and actions; the edit form opens below it.
#[component]
fn GuestRow(entry: GuestEntry) -> impl IntoView {
    let context = expect_context::<EventContext>();
    let guest = entry.guest;
    let guest_id = guest.id;
    let editing = RwSignal::new(false);
    let reviewing = move || context.reviewing.get() == Some(guest_id);
    let confirming = RwSignal::new(false);
    let remove = Action::new(move |_: &()| async move {
        let result = remove_guest(context.event_id, guest_id).await;
        if result.is_ok() {
            context.changed();
        }
        result
    });
    let remove_error = move || {
        remove
            .value()
            .with(|value| value.as_ref().and_then(|r| r.as_ref().err().cloned()))
    };
    let own_limit = guest.max_plus_ones.is_some();
    let name = guest.name.clone();
    let confirm_text = format!("Remove {}? Their link stops working.", guest.name);
    let edit_guest = guest.clone();
    let cell = "px-3 py-2 align-top";
    view! {
        <tr
            data-testid="guest-row"
            data-guest-id=guest_id.to_string()
            data-status=guest.status.as_str()
        >
            <td class="py-2 pr-3 align-top font-medium" data-testid="row-name">{name}</td>
            <td class=cell data-testid="row-email">
                {guest.email.unwrap_or_else(|| "—".to_owned())}
            </td>
            <td class=cell data-testid="row-phone">
                {guest.phone.unwrap_or_else(|| "—".to_owned())}
            </td>
            <td class=cell>
                <Badge tone=status_tone(guest.status) attr:data-testid="status-badge">
                    {capitalise(guest.status.as_str())}
                </Badge>
                {(guest.status != GuestStatus::Pending).then(|| risk_badge(guest.risk))}
                {guest.device_conflict.then(|| view! {
                    <span class="ml-1" title="Several devices opened this link and none is confirmed" data-testid="device-conflict">
                        <Badge tone=Tone::Warning>{format!("Opened on {} devices", guest.devices)}</Badge>
                    </span>
                })}
            </td>
            <td class=cell data-testid="row-plus-ones">{guest.plus_ones}</td>
            <td class=cell data-testid="row-max-plus-ones">
                {guest.allowed_plus_ones}
                {(!own_limit).then(|| view! { <span class="text-xs text-muted">" (default)"</span> })}
            </td>
            <td class=cell data-testid="row-responded-at">
                {entry.responded_at_local.unwrap_or_else(|| "—".to_owned())}
            </td>
            <td class=cell>
                <LinkCell guest_id link=entry.link expires=entry.link_expires_local/>
            </td>
            <td class="py-2 pl-3 align-top">
                <div class="flex flex-wrap gap-1">
                    <button
                        type="button"
                        class=SMALL
                        data-testid="edit-guest"
                        aria-expanded=move || editing.get().to_string()
                        on:click=move |_| editing.update(|open| *open = !*open)
                    >
                        "Edit"
                    </button>
                    <button
                        type="button"
                        class=SMALL
                        data-testid="review-guest"
                        aria-expanded=move || reviewing().to_string()
                        on:click=move |_| {
                            context.reviewing.update(|open| {
                                *open = if *open == Some(guest_id) { None } else { Some(guest_id) }
                            })
                        }
                    >
                        "Devices"
                    </button>
                    <button
                        type="button"
                        class=SMALL
                        data-testid="remove-guest"
                        on:click=move |_| confirming.set(true)
                    >
                        "Remove"
                    </button>
                </div>
                <Show when=move || confirming.get()>
                    <div class="mt-2 rounded border border-danger-line bg-danger-bg p-2 text-xs" role="alertdialog">
                        <p>{confirm_text.clone()}</p>
                        <div class="mt-2 flex gap-1">
                            <button
                                type="button"
                                class=format!("{BUTTON_DANGER} !px-2 !py-1 !text-xs")
                                data-testid="confirm-remove"
                                disabled=move || remove.pending().get()
                                on:click=move |_| {
                                    remove.dispatch(());
                                }
                            >
                                {move || if remove.pending().get() { "Removing…" } else { "Yes, remove" }}
                            </button>
                            <button
                                type="button"
                                class=format!("{BUTTON_SECONDARY} !px-2 !py-1 !text-xs")
                                data-testid="cancel-remove"
                                on:click=move |_| confirming.set(false)
                            >
                                "Cancel"
                            </button>
                        </div>
                    </div>
                </Show>
                <RowError error=Signal::derive(remove_error)/>
            </td>
        </tr>
        <Show when=reviewing>
            <tr data-testid="guest-review-row">
                <td colspan="9" class="bg-surface-2 px-3 py-3">
                    <crate::review::pages::GuestReviewPanel
                        event_id=context.event_id
                        guest_id
                        changed=Callback::new(move |()| context.changed())
                    />
                </td>
            </tr>
        </Show>
        <Show when=move || editing.get()>
            <tr data-testid="guest-edit-row">
                <td colspan="9" class="bg-surface-2 px-3 py-3">
                    <EditGuestForm guest=edit_guest.clone() editing/>
                </td>
            </tr>
        </Show>
    }
    .into_any()
}

/// A failed row action, in words.
#[component]
fn RowError(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|error| {
            view! {
                <p class="mt-1 text-xs text-danger-fg" role="alert" data-testid="row-error">
                    {capitalise(&error.to_string())}
                </p>
            }
        })
    }
}

/// The button that issues the guest a (new) link, labelled `label` until pressed.
fn issue_button(
    issue: Action<(), Result<(), AppError>>,
    busy: impl Fn() -> bool + Send + Sync + 'static,
    label: &'static str,
) -> impl IntoView {
    view! {
        <button
            type="button"
            class=SMALL
            data-testid="issue-link"
            disabled=busy
            on:click=move |_| {
                issue.dispatch(());
            }
        >
            {move || if issue.pending().get() { "Issuing…" } else { label }}
        </button>
    }
}

/// The guest's link: its state, the URL to copy while it works, and issue / rotate /
/// revoke buttons.
#[component]
fn LinkCell(guest_id: Uuid, link: Option<GuestLink>, expires: Option<String>) -> impl IntoView {
    let context = expect_context::<EventContext>();
    let issue = Action::new(move |_: &()| async move {
        let result = issue_guest_link(context.event_id, guest_id).await;
        if result.is_ok() {
            context.changed();
        }
        result.map(drop)
    });
    let revoke = Action::new(move |link_id: &Uuid| {
        let link_id = *link_id;
        async move {
            let result = revoke_guest_link(context.event_id, guest_id, link_id).await;
            if result.is_ok() {
                context.changed();
            }
            result
        }
    });
    let busy = move || issue.pending().get() || revoke.pending().get();
    let error = Signal::derive(move || {
        let failed = |value: &Option<Result<(), AppError>>| {
            value.as_ref().and_then(|r| r.as_ref().err().cloned())
        };
        revoke
            .value()
            .with(failed)
            .or_else(|| issue.value().with(failed))
    });

    let body = match link {
        None => view! {
            <div class="space-y-1">
                <span class="text-xs text-muted" data-testid="link-state" data-link-status="none">
                    "No link yet"
                </span>
                <div>{issue_button(issue, busy, "Issue link")}</div>
            </div>
        }
        .into_any(),
        Some(link) => {
            let (label, tone) = link_label(link.status);
            let live = link.status.is_live();
            let link_id = link.id;
            let expiry = expires.map(|at| {
                let verb = if link.status == LinkStatus::Expired {
                    "Expired"
                } else {
                    "Expires"
                };
                format!("{verb} {at}")
            });
            view! {
                <div class="min-w-56 space-y-1">
                    <div class="flex flex-wrap items-center gap-2">
                        <Badge tone attr:data-testid="link-state" attr:data-link-status=link.status.as_str()>
                            {label}
                        </Badge>
                        {(live).then(|| expiry.map(|text| view! { <span class="text-xs text-muted">{text}</span> }))}
                    </div>
                    {match (live, link.url) {
                        (true, Some(url)) => view! { <CopyLink url/> }.into_any(),
                        (true, None) => view! {
                            <p class="text-xs text-muted" data-testid="link-unavailable">
                                "This link can no longer be shown; rotate it to get a new one."
                            </p>
                        }
                        .into_any(),
                        (false, _) => ().into_any(),
                    }}
                    <div class="flex flex-wrap gap-1">
                        {if live {
                            view! {
                                <button
                                    type="button"
                                    class=SMALL
                                    data-testid="rotate-link"
                                    title="Issue a new link; this one stops working"
                                    disabled=busy
                                    on:click=move |_| {
                                        issue.dispatch(());
                                    }
                                >
                                    {move || if issue.pending().get() { "Rotating…" } else { "Rotate" }}
                                </button>
                                <button
                                    type="button"
                                    class=SMALL
                                    data-testid="revoke-link"
                                    disabled=busy
                                    on:click=move |_| {
                                        revoke.dispatch(link_id);
                                    }
                                >
                                    {move || if revoke.pending().get() { "Revoking…" } else { "Revoke" }}
                                </button>
                            }
                            .into_any()
                        } else {
                            issue_button(issue, busy, "Issue new link").into_any()
                        }}
                    </div>
                </div>
            }
            .into_any()
        }
    };
    view! {
        {body}
        <RowError error/>
    }
    .into_any()
}

/// The link in a read-only field (selectable without JavaScript) and a copy button.
#[component]
fn CopyLink(url: String) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    let copied = RwSignal::new(None::<bool>);
    let copy_url = url.clone();
    view! {
        <div class="flex items-center gap-1">
            <input
                type="text"
                readonly
                value=url
                node_ref=input
                aria-label="Invitation link"
                data-testid="link-input"
                class="w-56 rounded border border-line-strong bg-surface-2 px-2 py-1 font-mono text-xs"
                on:focus=move |_| browser::select_all(input)
            />
            <button
                type="button"
                class=SMALL
                data-testid="copy-link"
                on:click=move |_| browser::copy_to_clipboard(copy_url.clone(), input, copied)
            >
                {move || match copied.get() {
                    Some(true) => "Copied",
                    _ => "Copy link",
                }}
            </button>
        </div>
        {move || {
            (copied.get() == Some(false))
                .then(|| {
                    view! {
                        <p class="text-xs text-muted" data-testid="copy-fallback">
                            "Press Ctrl+C (⌘C) to copy the selected link."
                        </p>
                    }
                })
        }}
    }
    .into_any()
}
