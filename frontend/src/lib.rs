//! The browser half of GuestGuard: takes over the server-rendered HTML (hydration).
//!
//! Everything the page does lives in the `app` crate; this crate only starts it. A page
//! rendered by [`app::guest_shell`] (`<body data-app="guest">`) is hydrated as
//! [`app::GuestApp`], every other page as [`app::App`]. The release build gives guests
//! a smaller bundle of their own (`frontend/guest`); this one hydrates their page too,
//! for development builds that have only this bundle.

/// Called by the generated JavaScript once the wasm module is loaded.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let guest_page = leptos::prelude::document()
        .body()
        .and_then(|body| body.get_attribute("data-app"))
        .is_some_and(|app| app == app::GUEST_APP);
    if guest_page {
        leptos::mount::hydrate_body(app::GuestApp);
    } else {
        leptos::mount::hydrate_body(app::App);
    }
}
