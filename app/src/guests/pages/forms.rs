//! The add-guest form and a guest's edit form. Both are `ActionForm`s (plain form posts
//! to the server function before hydration) whose bad field shows its message beside
//! the input.

use super::EventContext;
use crate::{
    components::{
        action_error, field_error, FormError, SubmitButton, TextField, BUTTON_SECONDARY, CARD,
    },
    guests::{
        server_fns::{AddGuest, EditGuest},
        Guest,
    },
};
use leptos::prelude::*;

/// Fields of the guest forms that show their own errors.
const GUEST_FIELDS: &[&str] = &["name", "email", "phone", "max_plus_ones"];

/// Adds one guest; the form empties itself after each guest added.
#[component]
pub(super) fn AddGuestForm(default_plus_ones: i32) -> impl IntoView {
    let context = expect_context::<EventContext>();
    let add = ServerAction::<AddGuest>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    let added = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(guest)) = add.value().get() {
            added.set(Some(guest.name));
            context.changed();
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
        }
    });
    let error = action_error(add);
    view! {
        <section class=CARD aria-labelledby="add-guest-heading">
            <h2 id="add-guest-heading" class="text-lg font-semibold">"Add a guest"</h2>
            <ActionForm action=add node_ref=form attr:data-testid="add-guest-form">
                <input type="hidden" name="event_id" value=context.event_id.to_string()/>
                <div class="mt-3 space-y-3">
                    <TextField
                        label="Name"
                        name="name"
                        required=true
                        error=field_error(error, "name")
                        testid="guest-name"
                    />
                    <TextField
                        label="Email (optional)"
                        name="email"
                        kind="email"
                        error=field_error(error, "email")
                        testid="guest-email"
                    />
                    <TextField
                        label="Phone (optional)"
                        name="phone"
                        kind="tel"
                        error=field_error(error, "phone")
                        testid="guest-phone"
                    />
                    <TextField
                        label="Max plus-ones"
                        name="max_plus_ones"
                        kind="number"
                        min="0"
                        max="20"
                        placeholder=default_plus_ones.to_string()
                        hint=format!("Leave empty for the event's default ({default_plus_ones}).")
                        error=field_error(error, "max_plus_ones")
                        testid="guest-max-plus-ones"
                    />
                    <FormError error fields=GUEST_FIELDS/>
                    <div class="flex items-center gap-3">
                        <SubmitButton
                            label="Add guest"
                            pending_label="Adding…"
                            pending=add.pending()
                            testid="guest-submit"
                        />
                        {move || {
                            added
                                .get()
                                .filter(|_| error.with(Option::is_none))
                                .map(|name| {
                                    view! {
                                        <p class="text-sm text-ok-fg" role="status" data-testid="guest-added">
                                            {format!("{name} was added.")}
                                        </p>
                                    }
                                })
                        }}
                    </div>
                </div>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// Edits one guest in place; closes (and the table is read again) once saved.
#[component]
pub(super) fn EditGuestForm(guest: Guest, editing: RwSignal<bool>) -> impl IntoView {
    let context = expect_context::<EventContext>();
    let edit = ServerAction::<EditGuest>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = edit.value().get() {
            editing.set(false);
            context.changed();
        }
    });
    let error = action_error(edit);
    let prefix = format!("edit-{}", guest.id);
    let field = move |label: &'static str,
                      name: &'static str,
                      kind: &'static str,
                      value: String| {
        let id = format!("{prefix}-{name}");
        let message = field_error(error, name);
        view! {
            <div class="space-y-1">
                <label for=id.clone() class="block text-xs font-medium text-ink">{label}</label>
                <input
                    id=id
                    name=name
                    type=kind
                    value=value
                    min=(kind == "number").then_some("0")
                    max=(kind == "number").then_some("20")
                    data-testid=format!("edit-guest-{}", name.replace('_', "-"))
                    aria-invalid=move || message.with(Option::is_some).to_string()
                    class="block w-full rounded-md border border-line-strong bg-surface px-2 py-1 text-sm focus:border-brand focus:outline-none focus:ring-1 focus:ring-brand"
                />
                <p class="text-xs text-danger-fg" aria-live="polite" data-testid="field-error">
                    {move || message.get()}
                </p>
            </div>
        }
    };
    view! {
        <ActionForm action=edit attr:data-testid="edit-guest-form">
            <input type="hidden" name="event_id" value=context.event_id.to_string()/>
            <input type="hidden" name="guest_id" value=guest.id.to_string()/>
            <div class="grid gap-3 sm:grid-cols-4">
                {field("Name", "name", "text", guest.name.clone())}
                {field("Email", "email", "email", guest.email.clone().unwrap_or_default())}
                {field("Phone", "phone", "tel", guest.phone.clone().unwrap_or_default())}
                {field(
                    "Max plus-ones (empty: event default)",
                    "max_plus_ones",
                    "number",
                    guest.max_plus_ones.map(|n| n.to_string()).unwrap_or_default(),
                )}
            </div>
            <FormError error fields=GUEST_FIELDS/>
            <div class="mt-3 flex gap-2">
                <SubmitButton
                    label="Save"
                    pending_label="Saving…"
                    pending=edit.pending()
                    testid="edit-guest-save"
                />
                <button
                    type="button"
                    class=BUTTON_SECONDARY
                    data-testid="edit-guest-cancel"
                    on:click=move |_| editing.set(false)
                >
                    "Cancel"
                </button>
            </div>
        </ActionForm>
    }
    .into_any()
}
