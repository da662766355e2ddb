//! One event's page: the guest table, guest forms, CSV import and export, links.

use leptos::prelude::*;

/// Event (being built).
#[component]
pub fn EventPage() -> impl IntoView {
    view! { <h1 class="text-2xl font-semibold">"Event"</h1> }
}
