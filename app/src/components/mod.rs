//! Small UI pieces shared by the dashboard's pages: page headers, form fields that show
//! their own error, submit buttons with a pending state, badges, and the loading and
//! error boxes. They hold no data of their own; pages pass signals in.
//!
//! Errors come from server functions as [`AppError`]: [`action_error`] reads the error
//! of a server action, [`field_error`] picks the message meant for one field, and
//! [`FormError`] shows whatever is not about a field on the form.

pub mod session;

pub use session::{signed_in, use_session, RequireHost, Session};

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// Classes of a primary button (brand green, filled).
pub const BUTTON_PRIMARY: &str = "inline-flex items-center justify-center rounded-md bg-brand px-4 py-2 text-sm font-medium text-on-brand shadow-sm hover:bg-brand-strong focus:outline-none focus:ring-2 focus:ring-brand focus:ring-offset-2 focus:ring-offset-canvas disabled:cursor-not-allowed disabled:opacity-60";
/// Classes of a secondary button (surface, outlined).
pub const BUTTON_SECONDARY: &str = "inline-flex items-center justify-center rounded-md border border-line-strong bg-surface px-4 py-2 text-sm font-medium text-ink shadow-sm hover:bg-surface-2 focus:outline-none focus:ring-2 focus:ring-brand focus:ring-offset-2 focus:ring-offset-canvas disabled:cursor-not-allowed disabled:opacity-60";
/// Classes of a destructive button (danger tint, outlined).
pub const BUTTON_DANGER: &str = "inline-flex items-center justify-center rounded-md border border-danger-line bg-danger-bg px-4 py-2 text-sm font-medium text-danger-fg shadow-sm hover:opacity-90 focus:outline-none focus:ring-2 focus:ring-danger focus:ring-offset-2 focus:ring-offset-canvas disabled:cursor-not-allowed disabled:opacity-60";
/// Classes of an inline text link.
pub const LINK: &str = "font-medium text-brand-fg underline hover:text-brand-strong";
/// Classes of a card (the surface colour) around a section of a page.
pub const CARD: &str = "rounded-lg border border-line bg-surface p-4 shadow-sm sm:p-6";

/// The error a server action ended with, if its last run failed.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || {
        action.value().with(|value| {
            value
                .as_ref()
                .and_then(|result| result.as_ref().err().cloned())
        })
    })
}

/// Creates a blocking resource for a page's data or the session: with the routes in
/// `SsrMode::Async` the server sends the page whole once it has loaded, readable
/// without JavaScript.
pub fn page_resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    // Every page route renders in `SsrMode::Async` (see `App`), so the server sends a
    // page only once its data is loaded: complete without JavaScript, with the right
    // status code.
    Resource::new_blocking(source, fetcher)
}

/// The message of `error` when it is about `field`.
pub fn field_error(error: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || {
        error.with(|error| match error {
            Some(AppError::Invalid {
                field: Some(name),
                message,
                ..
            }) if name == field => Some(capitalise(message)),
            _ => None,
        })
    })
}

/// The first letter of a message in upper case (domain messages start in lower case
/// so they read well inside sentences and JSON).
pub fn capitalise(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Title of a page, with an optional line below it and optional actions on the right.
#[component]
pub fn PageHeader(
    /// The page's heading.
    #[prop(into)]
    title: String,
    /// A short line below the heading.
    #[prop(into, optional)]
    subtitle: Option<String>,
    /// Buttons or links shown beside the heading.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="mb-6 flex flex-wrap items-end justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight" data-testid="page-title">
                    {title}
                </h1>
                {subtitle.map(|line| view! { <p class="mt-1 text-sm text-muted">{line}</p> })}
            </div>
            {children.map(|children| view! { <div class="flex gap-2">{children()}</div> })}
        </div>
    }
}

/// A labelled `<input>` of a form, with its error (if any) right below it.
#[component]
pub fn TextField(
    /// Visible label.
    #[prop(into)]
    label: String,
    /// Form field name (the server function's argument).
    #[prop(into)]
    name: String,
    /// Input type: `text` (default), `email`, `password`, `datetime-local`, `number`...
    #[prop(into, default = "text".into())]
    kind: String,
    /// Value shown (and kept in sync when it changes).
    #[prop(into, optional)]
    value: MaybeProp<String>,
    /// Error message about this field.
    #[prop(into, optional)]
    error: Signal<Option<String>>,
    /// Help text below the input.
    #[prop(into, optional)]
    hint: Option<String>,
    /// Whether the browser should insist on a value.
    #[prop(optional)]
    required: bool,
    /// `autocomplete` attribute.
    #[prop(into, optional)]
    autocomplete: Option<String>,
    /// `placeholder` attribute.
    #[prop(into, optional)]
    placeholder: Option<String>,
    /// Id of a `<datalist>` of suggestions.
    #[prop(into, optional)]
    list: Option<String>,
    /// `min` attribute (numbers).
    #[prop(into, optional)]
    min: Option<String>,
    /// `max` attribute (numbers).
    #[prop(into, optional)]
    max: Option<String>,
    /// `data-testid` of the input.
    #[prop(into, optional)]
    testid: Option<String>,
    /// Called with the new text on every keystroke (in the browser).
    #[prop(into, optional)]
    on_input: Option<Callback<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let described_by = error_id.clone();
    view! {
        <div class="space-y-1">
            <label for=id.clone() class="block text-sm font-medium text-ink">
                {label}
            </label>
            <input
                id=id
                name=name
                type=kind
                value=move || value.get()
                prop:value=move || value.get().unwrap_or_default()
                required=required
                autocomplete=autocomplete
                placeholder=placeholder
                list=list
                min=min
                max=max
                data-testid=testid
                aria-invalid=move || error.with(Option::is_some).to_string()
                aria-describedby=move || error.with(Option::is_some).then(|| described_by.clone())
                class=move || {
                    let tone = if error.with(Option::is_some) {
                        "border-danger-line focus:border-danger focus:ring-danger"
                    } else {
                        "border-line-strong focus:border-brand focus:ring-brand"
                    };
                    format!(
                        "block w-full rounded-md border bg-surface px-3 py-2 text-sm shadow-sm focus:outline-none focus:ring-1 {tone}",
                    )
                }
                on:input=move |ev| {
                    if let Some(on_input) = on_input {
                        on_input.run(event_target_value(&ev));
                    }
                }
            />
            {hint.map(|hint| view! { <p class="text-xs text-muted">{hint}</p> })}
            <FieldMessage id=error_id error/>
        </div>
    }
}

/// A labelled `<textarea>` with its error below it.
#[component]
pub fn TextAreaField(
    /// Visible label.
    #[prop(into)]
    label: String,
    /// Form field name.
    #[prop(into)]
    name: String,
    /// Text shown.
    #[prop(into, optional)]
    value: MaybeProp<String>,
    /// Error message about this field.
    #[prop(into, optional)]
    error: Signal<Option<String>>,
    /// Help text below the input.
    #[prop(into, optional)]
    hint: Option<String>,
    /// Visible rows.
    #[prop(default = 4)]
    rows: u32,
    /// `data-testid` of the textarea.
    #[prop(into, optional)]
    testid: Option<String>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    view! {
        <div class="space-y-1">
            <label for=id.clone() class="block text-sm font-medium text-ink">
                {label}
            </label>
            <textarea
                id=id
                name=name
                rows=rows
                data-testid=testid
                aria-invalid=move || error.with(Option::is_some).to_string()
                prop:value=move || value.get().unwrap_or_default()
                class="block w-full rounded-md border border-line-strong bg-surface px-3 py-2 text-sm shadow-sm focus:border-brand focus:outline-none focus:ring-1 focus:ring-brand"
            >
                {move || value.get().unwrap_or_default()}
            </textarea>
            {hint.map(|hint| view! { <p class="text-xs text-muted">{hint}</p> })}
            <FieldMessage id=error_id error/>
        </div>
    }
}

/// The error line under a field (an empty, polite live region when there is none).
#[component]
fn FieldMessage(id: String, error: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p id=id class="text-sm text-danger-fg" aria-live="polite" data-testid="field-error">
            {move || error.get()}
        </p>
    }
}

/// A form's submit button: disabled and relabelled while the form is being sent.
#[component]
pub fn SubmitButton(
    /// Label at rest.
    #[prop(into)]
    label: String,
    /// Label while pending, e.g. "Saving…".
    #[prop(into)]
    pending_label: String,
    /// Whether the form is being sent.
    #[prop(into)]
    pending: Signal<bool>,
    /// Button classes; [`BUTTON_PRIMARY`] by default.
    #[prop(into, default = BUTTON_PRIMARY.into())]
    class: String,
    /// `data-testid` of the button.
    #[prop(into, optional)]
    testid: Option<String>,
) -> impl IntoView {
    view! {
        <button
            type="submit"
            class=class
            disabled=move || pending.get()
            aria-busy=move || pending.get().to_string()
            data-testid=testid
        >
            {move || if pending.get() { pending_label.clone() } else { label.clone() }}
        </button>
    }
}

/// Colour of a [`Badge`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tone {
    #[default]
    Neutral,
    Good,
    Warning,
    Bad,
    Info,
}

impl Tone {
    fn classes(self) -> &'static str {
        match self {
            Self::Neutral => "bg-surface-2 text-ink ring-line-strong",
            Self::Good => "bg-ok-bg text-ok-fg ring-ok-line",
            Self::Warning => "bg-warn-bg text-warn-fg ring-warn-line",
            Self::Bad => "bg-danger-bg text-danger-fg ring-danger-line",
            Self::Info => "bg-brand-soft text-brand-fg ring-brand",
        }
    }
}

/// A small rounded label, e.g. "Revoked".
#[component]
pub fn Badge(
    /// Colour.
    #[prop(optional)]
    tone: Tone,
    children: Children,
) -> impl IntoView {
    view! {
        <span class=format!(
            "inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset {}",
            tone.classes(),
        )>{children()}</span>
    }
}

/// A quiet "Loading…" line for `Suspense` / `Transition` fallbacks.
#[component]
pub fn Loading(
    /// What is being loaded, e.g. "Loading your events…".
    #[prop(into, default = "Loading…".into())]
    label: String,
) -> impl IntoView {
    view! {
        <p class="py-6 text-sm text-muted" role="status" data-testid="loading">
            {label}
        </p>
    }
}

/// A box explaining an error, with a way forward: a link to log in when the host is not
/// signed in, a link back to the events when something is not found.
#[component]
pub fn ErrorBox(
    /// What went wrong.
    error: AppError,
) -> impl IntoView {
    match error {
        AppError::Unauthenticated => view! {
            <div
                class="rounded-md border border-warn-line bg-warn-bg p-4 text-warn-fg"
                role="alert"
                data-testid="login-required"
            >
                <p class="font-medium">"Please log in to continue."</p>
                <p class="mt-1 text-sm">
                    <a class=LINK href="/login">"Log in"</a>
                    " or "
                    <a class=LINK href="/signup">"create an account"</a>
                    "."
                </p>
            </div>
        }
        .into_any(),
        AppError::NotFound(message) => view! {
            <div
                class="rounded-md border border-line-strong bg-surface p-4"
                role="alert"
                data-testid="not-found"
            >
                <p class="font-medium">"Not found"</p>
                <p class="mt-1 text-sm text-muted">{capitalise(&message)} "."</p>
                <p class="mt-2 text-sm">
                    <a class=LINK href="/events">"Back to your events"</a>
                </p>
            </div>
        }
        .into_any(),
        AppError::Unavailable { .. } | AppError::Busy { .. } | AppError::TimedOut => view! {
            <div
                class="rounded-md border border-warn-line bg-warn-bg p-4 text-warn-fg"
                role="alert"
                data-testid="unavailable"
            >
                <p class="font-medium">"GuestGuard is briefly unavailable."</p>
                <p class="mt-1 text-sm">
                    "Nothing you entered before was lost. Please "
                    <a class=LINK href="">"try again"</a>
                    " in a few seconds."
                </p>
            </div>
        }
        .into_any(),
        other => view! {
            <div
                class="rounded-md border border-danger-line bg-danger-bg p-4 text-danger-fg"
                role="alert"
                data-testid="error-box"
            >
                <p>{capitalise(&other.to_string())}</p>
            </div>
        }
        .into_any(),
    }
}

/// The error of a form that is not about one of its `fields` (those show beside their
/// input instead); nothing when there is none.
#[component]
pub fn FormError(
    /// The form's last error.
    #[prop(into)]
    error: Signal<Option<AppError>>,
    /// Fields that show their own errors.
    #[prop(optional)]
    fields: &'static [&'static str],
) -> impl IntoView {
    let shown = move || {
        error.get().filter(|error| match error {
            AppError::Invalid {
                field: Some(field), ..
            } => !fields.contains(&field.as_str()),
            _ => true,
        })
    };
    view! {
        <div aria-live="assertive" data-testid="form-error">
            {move || shown().map(|error| view! { <ErrorBox error/> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_start_with_a_capital() {
        assert_eq!(capitalise("name is required"), "Name is required");
        assert_eq!(capitalise(""), "");
        assert_eq!(capitalise("élan"), "Élan");
    }

    #[test]
    fn a_field_error_is_shown_only_beside_its_own_field() {
        let owner = Owner::new();
        owner.with(|| {
            let error = Signal::derive(|| {
                Some(AppError::invalid(
                    "email",
                    "invalid_email",
                    "this is not an email",
                ))
            });
            assert_eq!(
                field_error(error, "email").get_untracked().as_deref(),
                Some("This is not an email")
            );
            assert_eq!(field_error(error, "name").get_untracked(), None);
        });
    }
}
