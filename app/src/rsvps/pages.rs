//! The guest's invitation page `/i/<token>`: the event, the guest's answer and the RSVP form.

use leptos::prelude::*;

/// Your invitation (being built).
#[component]
pub fn InvitationPage() -> impl IntoView {
    view! { <h1 class="text-2xl font-semibold">"Your invitation"</h1> }
}
