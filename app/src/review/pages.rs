//! The host's review on the event page: the answers held for review (shown first, with
//! accept / reject), and, per guest, their devices (approve the guest's own), a reset of
//! what the fraud checks learned, and the audit trail.

use super::{
    server_fns::{
        approve_guest_device, decide_held_answer, held_answers, reset_guest_checks, review_guest,
    },
    AuditEntry, HeldAnswer,
};
use crate::{
    components::{capitalise, Badge, Tone, BUTTON_SECONDARY, CARD},
    error::AppError,
    fraud::devices::GuestDevice,
    rsvps::describe_answer,
};
use leptos::prelude::*;
use uuid::Uuid;

/// Small buttons.
const SMALL: &str = "rounded border border-line-strong bg-surface px-2 py-1 text-xs font-medium text-ink hover:bg-surface-2 disabled:cursor-not-allowed disabled:opacity-60";

/// The event's held answers, with accept / reject; nothing when there are none.
/// `refresh` is bumped after a decision (and re-reads this list when bumped).
#[component]
pub fn HeldAnswersPanel(event_id: Uuid, refresh: RwSignal<u32>) -> impl IntoView {
    let held = Resource::new(move || refresh.get(), move |_| held_answers(event_id));
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match held.await {
                    Ok(list) if list.is_empty() => ().into_any(),
                    Ok(list) => view! { <HeldList event_id list refresh/> }.into_any(),
                    Err(_) => ().into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn HeldList(event_id: Uuid, list: Vec<HeldAnswer>, refresh: RwSignal<u32>) -> impl IntoView {
    let decide = Action::new(move |(guest_id, accept): &(Uuid, bool)| {
        let (guest_id, accept) = (*guest_id, *accept);
        async move {
            let result = decide_held_answer(event_id, guest_id, accept).await;
            if result.is_ok() {
                refresh.update(|n| *n = n.wrapping_add(1));
            }
            result
        }
    });
    let error = move || {
        decide
            .value()
            .with(|value| value.as_ref().and_then(|r| r.as_ref().err().cloned()))
    };
    view! {
        <section
            class=format!("{CARD} mt-6 border-warn-line bg-warn-bg")
            aria-labelledby="held-heading"
            data-testid="held-answers"
        >
            <h2 id="held-heading" class="text-lg font-semibold text-warn-fg">
                {format!("Answers held for your review ({})", list.len())}
            </h2>
            <p class="mt-1 text-sm text-warn-fg">
                "They do not count towards the totals or the capacity until you accept them."
            </p>
            <ul class="mt-3 space-y-2">
                {list
                    .into_iter()
                    .map(|answer| {
                        let guest_id = answer.guest_id;
                        let score = answer
                            .risk
                            .map(|band| format!("{} · {}", band.label(), answer.risk_score.unwrap_or_default()))
                            .unwrap_or_else(|| "Not scored yet".to_owned());
                        view! {
                            <li class="rounded-md bg-surface p-3 ring-1 ring-warn-line" data-testid="held-answer" data-guest-id=guest_id.to_string()>
                                <div class="flex flex-wrap items-center justify-between gap-2">
                                    <div>
                                        <p class="font-medium">
                                            {answer.guest_name.clone()} ": "
                                            {describe_answer(answer.response, answer.plus_ones)}
                                        </p>
                                        <p class="text-sm text-ink" data-testid="held-reason">{answer.explanation.clone()}</p>
                                        <p class="text-xs text-muted">"Fraud check: " {score}</p>
                                    </div>
                                    <div class="flex gap-2">
                                        <button
                                            type="button"
                                            class=SMALL
                                            data-testid="accept-held"
                                            disabled=move || decide.pending().get()
                                            on:click=move |_| { decide.dispatch((guest_id, true)); }
                                        >
                                            "Accept"
                                        </button>
                                        <button
                                            type="button"
                                            class=SMALL
                                            data-testid="reject-held"
                                            disabled=move || decide.pending().get()
                                            on:click=move |_| { decide.dispatch((guest_id, false)); }
                                        >
                                            "Reject"
                                        </button>
                                    </div>
                                </div>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            {move || error().map(|error| view! {
                <p class="mt-2 text-sm text-danger-fg" role="alert">{capitalise(&error.to_string())}</p>
            })}
        </section>
    }
}

/// One guest's devices, reset and audit trail; `changed` runs after a decision.
#[component]
pub fn GuestReviewPanel(event_id: Uuid, guest_id: Uuid, changed: Callback<()>) -> impl IntoView {
    let version = RwSignal::new(0u32);
    let review = Resource::new(
        move || version.get(),
        move |_| review_guest(event_id, guest_id),
    );
    let bump = move || {
        version.update(|n| *n = n.wrapping_add(1));
        changed.run(());
    };
    let approve = Action::new(move |device_key: &String| {
        let device_key = device_key.clone();
        async move {
            let result = approve_guest_device(event_id, guest_id, device_key).await;
            if result.is_ok() {
                bump();
            }
            result.map(drop)
        }
    });
    let reset = Action::new(move |_: &()| async move {
        let result = reset_guest_checks(event_id, guest_id).await;
        if result.is_ok() {
            bump();
        }
        result.map(drop)
    });
    let error = move || {
        let failed = |value: &Option<Result<(), AppError>>| {
            value.as_ref().and_then(|r| r.as_ref().err().cloned())
        };
        approve
            .value()
            .with(failed)
            .or_else(|| reset.value().with(failed))
    };
    let busy = move || approve.pending().get() || reset.pending().get();
    view! {
        <div class="space-y-4" data-testid="guest-review">
            <Transition fallback=|| view! { <p class="text-sm text-muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match review.await {
                        Ok(review) => {
                            let conflict = review.devices.conflict;
                            view! {
                                <div>
                                    <h3 class="text-sm font-semibold">"Devices that opened the link"</h3>
                                    {conflict.then(|| view! {
                                        <p class="mt-1 text-sm text-warn-fg" data-testid="conflict-explained">
                                            "Several devices opened this guest's link and none is confirmed: the link may be in somebody else's hands. Approve the guest's own device, or rotate the link."
                                        </p>
                                    })}
                                    <DeviceList devices=review.devices.devices approve busy=Signal::derive(busy)/>
                                    <button
                                        type="button"
                                        class=format!("{BUTTON_SECONDARY} mt-3 !px-3 !py-1 !text-xs")
                                        data-testid="reset-guest"
                                        title="The fraud checks forget this guest's devices and networks; the next answer is scored fresh"
                                        disabled=busy
                                        on:click=move |_| { reset.dispatch(()); }
                                    >
                                        "Reset fraud checks"
                                    </button>
                                </div>
                                <AuditTrail entries=review.audit/>
                            }
                            .into_any()
                        }
                        Err(error) => view! {
                            <p class="text-sm text-danger-fg" role="alert">{capitalise(&error.to_string())}</p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
            {move || error().map(|error| view! {
                <p class="text-sm text-danger-fg" role="alert" data-testid="review-error">
                    {capitalise(&error.to_string())}
                </p>
            })}
        </div>
    }
}

#[component]
fn DeviceList(
    devices: Vec<GuestDevice>,
    approve: Action<String, Result<(), AppError>>,
    busy: Signal<bool>,
) -> impl IntoView {
    if devices.is_empty() {
        return view! {
            <p class="mt-1 text-sm text-muted" data-testid="no-devices">
                "No device has reported itself yet (openings without JavaScript have none)."
            </p>
        }
        .into_any();
    }
    view! {
        <ul class="mt-2 space-y-2">
            {devices
                .into_iter()
                .map(|device| {
                    let key = device.device_key.clone();
                    let risk = device.last_risk.map(|band| view! { <Badge tone=band.tone()>{band.label()}</Badge> });
                    view! {
                        <li class="flex flex-wrap items-center justify-between gap-2 rounded-md bg-surface p-2 ring-1 ring-line" data-testid="device" data-device=device.label.clone()>
                            <div class="text-sm">
                                <p>
                                    <span class="font-mono">{device.label.clone()}</span>
                                    " · "
                                    {format!("{} opening(s)", device.openings)}
                                    " · "
                                    {device.last_ip.clone().unwrap_or_else(|| "no address".to_owned())}
                                    " "
                                    {risk}
                                </p>
                                <p class="max-w-md truncate text-xs text-muted" title=device.user_agent.clone()>{device.user_agent.clone()}</p>
                            </div>
                            {if device.trusted {
                                view! { <Badge tone=Tone::Good attr:data-testid="trusted-device">"The guest's device"</Badge> }.into_any()
                            } else {
                                view! {
                                    <button
                                        type="button"
                                        class=SMALL
                                        data-testid="approve-device"
                                        disabled=move || busy.get()
                                        on:click=move |_| { approve.dispatch(key.clone()); }
                                    >
                                        "This is the guest's device"
                                    </button>
                                }
                                .into_any()
                            }}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn AuditTrail(entries: Vec<AuditEntry>) -> impl IntoView {
    view! {
        <div>
            <h3 class="text-sm font-semibold">"Decisions"</h3>
            {if entries.is_empty() {
                view! { <p class="mt-1 text-sm text-muted" data-testid="audit-empty">"None yet."</p> }.into_any()
            } else {
                view! {
                    <ol class="mt-1 space-y-1 text-sm" data-testid="audit-trail">
                        {entries
                            .into_iter()
                            .map(|entry| view! {
                                <li data-testid="audit-entry" data-action=entry.action.as_str()>
                                    <span class="font-medium">{entry.action.label()}</span>
                                    " — "
                                    {entry.detail}
                                    <span class="text-xs text-muted">
                                        {format!(" ({})", entry.at.format("%Y-%m-%d %H:%M UTC"))}
                                    </span>
                                </li>
                            })
                            .collect_view()}
                    </ol>
                }
                .into_any()
            }}
        </div>
    }
}
