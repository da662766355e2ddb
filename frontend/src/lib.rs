//! The browser half of GuestGuard: takes over the server-rendered HTML (hydration).
//!
//! Everything the page does lives in the `app` crate; this crate only starts it.

/// Called by the generated JavaScript once the wasm module is loaded.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
