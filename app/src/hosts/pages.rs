//! The host's account pages: sign up, log in, API keys.

use leptos::prelude::*;

/// Create your account (being built).
#[component]
pub fn SignupPage() -> impl IntoView {
    view! { <h1 class="text-2xl font-semibold">"Create your account"</h1> }
}

/// Log in (being built).
#[component]
pub fn LoginPage() -> impl IntoView {
    view! { <h1 class="text-2xl font-semibold">"Log in"</h1> }
}

/// API keys (being built).
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    view! { <h1 class="text-2xl font-semibold">"API keys"</h1> }
}
