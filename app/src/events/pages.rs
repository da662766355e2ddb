//! The host's events: the list, and the create and edit forms.

use leptos::prelude::*;

/// Your events (being built).
#[component]
pub fn EventsPage() -> impl IntoView {
    view! { <h1 class="text-2xl font-semibold">"Your events"</h1> }
}

/// New event (being built).
#[component]
pub fn NewEventPage() -> impl IntoView {
    view! { <h1 class="text-2xl font-semibold">"New event"</h1> }
}

/// Edit event (being built).
#[component]
pub fn EditEventPage() -> impl IntoView {
    view! { <h1 class="text-2xl font-semibold">"Edit event"</h1> }
}
