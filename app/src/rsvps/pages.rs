//! The guest's invitation page `/i/<token>`: the event, the guest's answer and the RSVP
//! form.
//!
//! Opening the page is an access attempt: the server-side render resolves the token and
//! records the attempt once ([`open_invitation`] in a blocking resource, whose result the
//! browser reuses when it hydrates instead of asking again). A link that does not work
//! gets a friendly page with the right status (400, 404 or 410). Once hydrated, the page
//! reports the browser's signals for that attempt. The form is an [`ActionForm`] over
//! [`SubmitRsvp`], so it also works as a plain HTML form without wasm.
//!
//! The raw token is only ever in the address and in the form's hidden `token` field
//! (which the form needs to post without wasm); the page never shows it as text.

use super::{describe_answer, server_fns::SubmitRsvp, RsvpResponse, RsvpView, NOTE_MAX_CHARS};
use crate::fraud::policy::AnswerStatus;
use crate::{
    access::{server_fns::open_invitation, OpenedInvitation},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The guest's invitation: the event, their current answer and the RSVP form.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    // Blocking: the status code of a broken link is known before the page is sent.
    let invitation = Resource::new_blocking(token, open_invitation);
    let hydrated = RwSignal::new(false);
    // Effects only run in the browser, so this flips once hydration is complete.
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Title text="Your invitation · GuestGuard"/>
        <div data-testid="invitation-page" data-hydrated=move || hydrated.get().to_string()>
            <Suspense fallback=|| view! { <p class="text-muted">"Opening your invitation…"</p> }>
                {move || Suspend::new(async move {
                    match invitation.await {
                        Ok(opened) => view! { <Invitation opened token=token()/> }.into_any(),
                        Err(error) => view! { <LinkProblem error/> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// The invitation itself, once the link opened.
#[component]
fn Invitation(opened: OpenedInvitation, token: String) -> impl IntoView {
    let OpenedInvitation {
        access,
        starts_at_local,
        rsvp_deadline_local,
        accepts_answers,
    } = opened;
    let submit = ServerAction::<SubmitRsvp>::new();
    // `?saved=1`: the form was posted without wasm and the server sent the guest back.
    let saved_on_load = use_query_map()
        .read_untracked()
        .get("saved")
        .is_some_and(|saved| saved == "1")
        && access.rsvp.is_some();
    let initial = access.rsvp.clone();
    // The answer shown: the one just saved from this page, else the one the opening found.
    let current = Signal::derive(move || match submit.value().get() {
        Some(Ok(rsvp)) => Some(rsvp),
        _ => initial.clone(),
    });
    let confirmed = move || match submit.value().get() {
        Some(result) => result.is_ok(),
        None => saved_on_load,
    };

    #[cfg(feature = "hydrate")]
    {
        let token = token.clone();
        let access_log_id = access.access_log_id;
        Effect::new(move |_| {
            leptos::task::spawn_local(crate::access::signals::report(token.clone(), access_log_id));
        });
    }

    let event = access.event;
    let guest = access.guest;
    let deadline_text = rsvp_deadline_local.clone();
    let calendar = format!("/i/{token}/calendar.ics");
    view! {
        <article class="mx-auto max-w-2xl space-y-6">
            <header class="motion-safe:animate-rise">
                <p class="text-sm font-medium uppercase tracking-wide text-brand-fg">
                    "You are invited"
                </p>
                <h1 class="mt-1 text-3xl font-bold" data-testid="invitation-event-name">
                    {event.name}
                </h1>
                <p class="mt-2 text-lg">
                    "Dear " <span data-testid="invitation-guest-name">{guest.name}</span> ","
                </p>
            </header>
            <dl
                class="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 rounded-xl border border-line border-t-4 border-t-brand bg-surface p-5 shadow-lg"
                data-testid="invitation-card"
            >
                <dt class="font-medium text-muted">"When"</dt>
                <dd data-testid="invitation-date">{starts_at_local}</dd>
                <dt class="font-medium text-muted">"Where"</dt>
                <dd data-testid="invitation-venue">{event.venue}</dd>
                <dt class="font-medium text-muted">"Reply by"</dt>
                <dd data-testid="rsvp-deadline">
                    {deadline_text.unwrap_or_else(|| "No deadline: reply whenever you know".into())}
                </dd>
            </dl>
            {(!event.description.is_empty())
                .then(|| {
                    view! {
                        <p class="whitespace-pre-line" data-testid="invitation-description">
                            {event.description}
                        </p>
                    }
                })}
            <section class="rounded-xl border border-line bg-surface p-5" aria-labelledby="answer-heading">
                <h2 id="answer-heading" class="text-lg font-semibold">"Your answer"</h2>
                <p class="mt-1" data-testid="current-response">
                    {move || match current.get() {
                        Some(rsvp) if rsvp.status == AnswerStatus::Held => format!(
                            "Your answer: {} (your host will confirm it).",
                            describe_answer(rsvp.response, rsvp.plus_ones)
                        ),
                        Some(rsvp) if rsvp.status == AnswerStatus::Rejected => {
                            "Your host could not accept your last answer; you can answer again.".to_owned()
                        }
                        Some(rsvp) => {
                            format!("Your answer: {}.", describe_answer(rsvp.response, rsvp.plus_ones))
                        }
                        None => "You have not answered yet.".to_owned(),
                    }}
                </p>
                {move || {
                    confirmed()
                        .then(|| current.get())
                        .flatten()
                        .map(|rsvp| {
                            let coming = rsvp.response != RsvpResponse::Declined
                                && rsvp.status != AnswerStatus::Rejected;
                            let calendar = calendar.clone();
                            view! {
                                <div
                                    class="mt-3 rounded-lg border border-ok-line bg-ok-bg p-4 text-ok-fg motion-safe:animate-rise"
                                    role="status"
                                    data-testid="rsvp-confirmation"
                                >
                                <p class="flex items-start gap-2">
                                    <span aria-hidden="true" class="font-bold">"✓"</span>
                                    <span>
                                    {if rsvp.status == AnswerStatus::Held {
                                        format!(
                                            "Thanks — we received your answer: {}. Your host will confirm it.",
                                            describe_answer(rsvp.response, rsvp.plus_ones),
                                        )
                                    } else {
                                        format!(
                                            "Thanks — your answer is saved: {}",
                                            describe_answer(rsvp.response, rsvp.plus_ones),
                                        )
                                    }}
                                    </span>
                                </p>
                                {coming
                                    .then(|| {
                                        view! {
                                            <a
                                                class="mt-3 inline-flex items-center gap-2 rounded-md border border-ok-line bg-surface px-3 py-2 text-sm font-medium text-ink hover:bg-surface-2"
                                                href=calendar
                                                rel="external"
                                                download="invitation.ics"
                                                data-testid="add-to-calendar"
                                            >
                                                <span aria-hidden="true">"📅"</span>
                                                "Add to my calendar"
                                            </a>
                                        }
                                    })}
                                </div>
                            }
                        })
                }}
                {if accepts_answers {
                    view! {
                        <RsvpForm
                            submit
                            token
                            access_log_id=access.access_log_id
                            max_plus_ones=guest.max_plus_ones
                            initial=access.rsvp
                        />
                    }
                        .into_any()
                } else {
                    view! {
                        <p class="mt-3 rounded bg-warn-bg p-3 text-warn-fg" data-testid="rsvp-closed">
                            {format!(
                                "Responses closed on {}. To change your answer, contact your host.",
                                rsvp_deadline_local.unwrap_or_default(),
                            )}
                        </p>
                    }
                        .into_any()
                }}
            </section>
        </article>
    }
}

/// The RSVP form: the answer, plus-ones (a stepper bounded by the guest's limit) and a
/// note. Errors of a field show beside it; others above the button.
#[component]
fn RsvpForm(
    submit: ServerAction<SubmitRsvp>,
    token: String,
    /// This opening of the link, whose browser signals the answer's fraud check uses.
    access_log_id: uuid::Uuid,
    max_plus_ones: i32,
    initial: Option<RsvpView>,
) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let initial_choice = initial.as_ref().map(|rsvp| rsvp.response);
    let initial_plus_ones = initial
        .as_ref()
        .filter(|rsvp| rsvp.response != RsvpResponse::Declined)
        .map_or(0, |rsvp| i64::from(rsvp.plus_ones));
    let initial_note = initial.map(|rsvp| rsvp.note).unwrap_or_default();
    let choice = RwSignal::new(initial_choice);
    let plus_ones = RwSignal::new(initial_plus_ones);
    let max = i64::from(max_plus_ones.max(0));
    // Without wasm nothing can react to the choice, so the field stays usable.
    let plus_ones_off = move || hydrated.get() && choice.get() != Some(RsvpResponse::Attending);
    let answered = initial_choice.is_some();

    let choices = [
        (
            RsvpResponse::Attending,
            "rsvp-attending",
            "Yes, I will be there",
        ),
        (RsvpResponse::Declined, "rsvp-declined", "No, I cannot come"),
        (RsvpResponse::Maybe, "rsvp-maybe", "Maybe"),
    ]
    .into_iter()
    .map(|(value, test_id, label)| {
        view! {
            <label class="flex cursor-pointer items-center gap-3 rounded-lg border border-line px-3 py-2 hover:bg-surface-2 has-[:checked]:border-brand has-[:checked]:bg-brand-soft">
                <input
                    class="h-4 w-4 accent-brand"
                    type="radio"
                    name="response"
                    required
                    value=value.as_str()
                    data-testid=test_id
                    checked=initial_choice == Some(value)
                    on:change=move |_| choice.set(Some(value))
                />
                {label}
            </label>
        }
    })
    .collect_view();

    let plus_ones_field = (max > 0).then(|| {
        view! {
            <div class="space-y-1">
                <label class="block font-medium" for="plus-ones">
                    {format!("Guests you bring along (up to {max})")}
                </label>
                // Dimmed while not attending (its controls are disabled then).
                <div class="flex items-center gap-2" class:opacity-50=plus_ones_off>
                    <button
                        type="button"
                        class="h-11 w-11 rounded-full border border-line-strong bg-surface text-lg text-ink hover:bg-surface-2"
                        class:hidden=move || !hydrated.get()
                        aria-label="One guest fewer"
                        data-testid="plus-ones-decrement"
                        disabled=move || { plus_ones_off() || plus_ones.get() <= 0 }
                        on:click=move |_| plus_ones.update(|n| *n = (*n - 1).clamp(0, max))
                    >
                        "−"
                    </button>
                    <input
                        id="plus-ones"
                        class="h-11 w-20 rounded-md border border-line-strong bg-surface px-2 text-center text-ink"
                        type="number"
                        name="plus_ones"
                        inputmode="numeric"
                        min="0"
                        max=max.to_string()
                        step="1"
                        data-testid="plus-ones-input"
                        value=initial_plus_ones.to_string()
                        prop:value=move || plus_ones.get().to_string()
                        disabled=plus_ones_off
                        on:input=move |ev| {
                            if let Ok(n) = event_target_value(&ev).trim().parse::<i64>() {
                                plus_ones.set(n);
                            }
                        }
                    />
                    <button
                        type="button"
                        class="h-11 w-11 rounded-full border border-line-strong bg-surface text-lg text-ink hover:bg-surface-2"
                        class:hidden=move || !hydrated.get()
                        aria-label="One guest more"
                        data-testid="plus-ones-increment"
                        disabled=move || { plus_ones_off() || plus_ones.get() >= max }
                        on:click=move |_| plus_ones.update(|n| *n = (*n + 1).clamp(0, max))
                    >
                        "+"
                    </button>
                </div>
                <p class="text-sm text-muted">"Only counted when you are attending."</p>
                <FieldError submit field="plus_ones"/>
            </div>
        }
    });

    view! {
        <ActionForm action=submit attr:class="mt-4 space-y-4" attr:data-testid="rsvp-form">
            <input type="hidden" name="token" value=token/>
            <input type="hidden" name="access_log_id" value=access_log_id.to_string()/>
            <fieldset class="space-y-2">
                <legend class="font-medium">"Will you come?"</legend>
                {choices}
                <FieldError submit field="response"/>
            </fieldset>
            {plus_ones_field}
            <div class="space-y-1">
                <label class="block font-medium" for="rsvp-note">
                    "A note for your host (optional)"
                </label>
                <textarea
                    id="rsvp-note"
                    class="w-full rounded-md border border-line-strong bg-surface px-3 py-2 text-ink"
                    name="note"
                    rows="3"
                    maxlength=NOTE_MAX_CHARS.to_string()
                    data-testid="rsvp-note"
                >
                    {initial_note}
                </textarea>
                <FieldError submit field="note"/>
            </div>
            {move || {
                form_error(submit)
                    .map(|message| {
                        view! {
                            <p class="rounded bg-danger-bg p-3 text-danger-fg" role="alert" data-testid="rsvp-error">
                                {message}
                            </p>
                        }
                    })
            }}
            <button
                type="submit"
                class="w-full rounded-md bg-brand px-4 py-3 font-semibold text-on-brand hover:bg-brand-strong disabled:opacity-50 sm:w-auto"
                data-testid="rsvp-submit"
                disabled=move || submit.pending().get()
            >
                {move || match (submit.pending().get(), answered || matches!(submit.value().get(), Some(Ok(_)))) {
                    (true, _) => "Saving…",
                    (false, true) => "Save my answer",
                    (false, false) => "Send my answer",
                }}
            </button>
        </ActionForm>
    }
}

/// The last submission's error on `field`, shown beside it.
#[component]
fn FieldError(submit: ServerAction<SubmitRsvp>, field: &'static str) -> impl IntoView {
    move || match submit.value().get() {
        Some(Err(AppError::Invalid {
            field: Some(name),
            message,
            ..
        })) if name == field => Some(view! {
            <p class="text-sm text-danger-fg" role="alert" data-testid=format!("{}-error", field.replace('_', "-"))>
                {sentence(&message)}
            </p>
        }),
        _ => None,
    }
}

/// The last submission's error when it is not about one field.
fn form_error(submit: ServerAction<SubmitRsvp>) -> Option<String> {
    match submit.value().get()? {
        Ok(_) | Err(AppError::Invalid { field: Some(_), .. }) => None,
        Err(error) if error.code() == "event_full" => Some(format!(
            "Sorry — {}.",
            error.to_string().trim_end_matches('.')
        )),
        Err(error) => Some(match link_problem(&error) {
            Some(problem) => format!("{problem}."),
            None => sentence(&error.to_string()),
        }),
    }
}

/// The page shown when the link does not open.
#[component]
fn LinkProblem(error: AppError) -> impl IntoView {
    let headline = link_problem(&error)
        .unwrap_or("Something went wrong on our side — please try again in a moment");
    // Our outage, not the link's: nothing for the guest to ask the host.
    let advice = if matches!(error.code(), "unavailable" | "busy" | "timed_out") {
        "Your link is fine and nothing was lost. Reload this page in a few seconds."
    } else {
        "Your host sent you a personal link. If it still does not work, ask them to send it again."
    };
    view! {
        <Title text="Invitation link problem · GuestGuard"/>
        <section
            class="mx-auto max-w-xl rounded-xl border border-line border-t-4 border-t-warn bg-surface p-6 text-center shadow-lg"
            data-testid="link-problem"
        >
            <p class="text-4xl" aria-hidden="true">"✉"</p>
            <h1 class="mt-2 text-2xl font-semibold">{headline}</h1>
            <p class="mt-2 text-muted">{advice}</p>
        </section>
    }
}

/// What a guest reads when their link does not work, by the error's code; `None` when the
/// error is not about the link.
fn link_problem(error: &AppError) -> Option<&'static str> {
    Some(match error.code() {
        "malformed_token" => "This link is not complete — check you copied the whole link",
        "not_found" => {
            "This invitation link is not valid — check the link or ask your host for a new one"
        }
        "link_revoked" => "This link was replaced or withdrawn — ask your host for a new one",
        "link_expired" => "This link has expired — ask your host for a new one",
        "rate_limited" => "Too many attempts — wait a minute and try again",
        "unavailable" | "busy" | "timed_out" => {
            "GuestGuard is briefly unavailable — please try again in a few seconds"
        }
        _ => return None,
    })
}

/// A message as a sentence: capital first letter, final full stop.
fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut text: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{link_problem, sentence};
    use crate::error::AppError;

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(
            sentence("the event is full: 0 place(s) left"),
            "The event is full: 0 place(s) left."
        );
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn forged_and_unknown_links_read_the_same_and_revoked_ones_say_so() {
        let unknown = AppError::NotFound("this invitation link is not valid".into());
        assert!(link_problem(&unknown).is_some_and(|text| text.contains("not valid")));
        let revoked = AppError::Gone {
            code: "link_revoked".into(),
            message: "withdrawn".into(),
        };
        assert_eq!(
            link_problem(&revoked),
            Some("This link was replaced or withdrawn — ask your host for a new one")
        );
        assert_eq!(link_problem(&AppError::Internal), None);
    }
}
