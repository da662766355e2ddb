//! The guest's half of the browser side: takes over the server-rendered invitation page
//! (`/i/<token>`, rendered by [`app::guest_shell`]) and nothing else.
//!
//! It starts [`app::GuestApp`] only, so the linker leaves the hosts' dashboard out of
//! this bundle: what a guest downloads on their first visit is the invitation page, the
//! RSVP form and the framework. The hosts' pages are hydrated by the `frontend` crate.

/// Called by the generated JavaScript once the wasm module is loaded.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::GuestApp);
}
