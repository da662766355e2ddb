//! What the event page asks of the browser once hydrated: copying a link to the
//! clipboard and reading a chosen file. On the server these do nothing (event handlers
//! never run there).

use leptos::prelude::*;

/// The largest CSV file read in the browser; the server refuses larger ones anyway.
#[cfg(feature = "hydrate")]
const MAX_FILE_BYTES: f64 = 1_000_000.0;

/// Selects the whole text of a read-only field, so it can be copied by hand.
pub(super) fn select_all(input: NodeRef<leptos::html::Input>) {
    #[cfg(feature = "hydrate")]
    if let Some(input) = input.get_untracked() {
        input.select();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = input;
}

/// Copies `text` with the asynchronous clipboard API. `copied` becomes `Some(true)`
/// once it is on the clipboard and `Some(false)` when the browser refused (then the
/// field is selected so the host can copy it by hand).
pub(super) fn copy_to_clipboard(
    text: String,
    input: NodeRef<leptos::html::Input>,
    copied: RwSignal<Option<bool>>,
) {
    #[cfg(feature = "hydrate")]
    {
        let Some(navigator) = web_sys::window().map(|window| window.navigator()) else {
            return;
        };
        // The clipboard API only exists on secure pages (https, localhost).
        let has_clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())
            .is_ok_and(|clipboard| !clipboard.is_undefined() && !clipboard.is_null());
        if !has_clipboard {
            select_all(input);
            copied.set(Some(false));
            return;
        }
        let promise = navigator.clipboard().write_text(&text);
        leptos::task::spawn_local(async move {
            let ok = promise.await.is_ok();
            if !ok {
                select_all(input);
            }
            copied.set(Some(ok));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (text, input, copied);
}

/// Reads the file chosen in a file input (the `change` event `ev`) as text into `into`;
/// a file that is too large or unreadable sets `problem` instead.
pub(super) fn read_chosen_file(
    ev: &leptos::ev::Event,
    into: RwSignal<String>,
    problem: RwSignal<Option<String>>,
) {
    #[cfg(feature = "hydrate")]
    {
        use web_sys::wasm_bindgen::JsCast as _;
        problem.set(None);
        let Some(input) = ev
            .target()
            .and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        if file.size() > MAX_FILE_BYTES {
            problem.set(Some(
                "This file is larger than 1 MB; split it into smaller files.".into(),
            ));
            return;
        }
        let promise = file.text();
        leptos::task::spawn_local(async move {
            match promise.await.ok().and_then(|text| text.as_string()) {
                Some(text) => into.set(text),
                None => problem.set(Some("This file could not be read as text.".into())),
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, into, problem);
}
