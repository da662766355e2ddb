//! The host's account pages: sign up, log in, API keys, security (password, sessions).
//! Every form is an `ActionForm`,
//! so it works as a plain form post before (or without) the browser bundle, and with
//! client-side navigation once hydrated.

use super::{
    server_fns::{
        api_keys, ChangePassword, IssueApiKey, LogIn, RevokeApiKey, SignOutEverywhere, SignUp,
    },
    ApiKeySummary, NewApiKey, PASSWORD_CHARS,
};
use crate::components::{
    action_error, field_error, page_resource, signed_in, use_session, Badge, ErrorBox, FormError,
    Loading, PageHeader, SubmitButton, TextField, Tone, BUTTON_DANGER, BUTTON_SECONDARY, CARD,
    LINK,
};
use leptos::prelude::*;
use leptos_meta::Title;

/// Create your account: name, email, password.
#[component]
pub fn SignupPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = action_error(action);
    view! {
        <Title text="Create your account · GuestGuard"/>
        <div class="mx-auto max-w-md">
            <PageHeader
                title="Create your account"
                subtitle="Send personal invitation links and see who really RSVPs."
            />
            <div class=CARD>
                <ActionForm action attr:class="space-y-4" attr:data-testid="signup-form">
                    <TextField
                        label="Your name"
                        name="name"
                        autocomplete="name"
                        required=true
                        testid="signup-name"
                        error=field_error(error, "name")
                    />
                    <TextField
                        label="Email"
                        name="email"
                        kind="email"
                        autocomplete="email"
                        required=true
                        testid="signup-email"
                        error=field_error(error, "email")
                    />
                    <TextField
                        label="Password"
                        name="password"
                        kind="password"
                        autocomplete="new-password"
                        required=true
                        testid="signup-password"
                        hint=format!("At least {} characters.", PASSWORD_CHARS.start())
                        error=field_error(error, "password")
                    />
                    <FormError error fields=&["name", "email", "password"]/>
                    <SubmitButton
                        label="Create account"
                        pending_label="Creating your account…"
                        pending=action.pending()
                        testid="signup-submit"
                    />
                </ActionForm>
            </div>
            <p class="mt-4 text-sm text-muted">
                "Already have an account? " <a class=LINK href="/login">"Log in"</a>
            </p>
        </div>
    }
}

/// Log in with email and password.
#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let error = action_error(action);
    view! {
        <Title text="Log in · GuestGuard"/>
        <div class="mx-auto max-w-md">
            <PageHeader title="Log in" subtitle="Welcome back."/>
            <div class=CARD>
                <ActionForm action attr:class="space-y-4" attr:data-testid="login-form">
                    <TextField
                        label="Email"
                        name="email"
                        kind="email"
                        autocomplete="email"
                        required=true
                        testid="login-email"
                        error=field_error(error, "email")
                    />
                    <TextField
                        label="Password"
                        name="password"
                        kind="password"
                        autocomplete="current-password"
                        required=true
                        testid="login-password"
                        error=field_error(error, "password")
                    />
                    <FormError error fields=&["email", "password"]/>
                    <SubmitButton
                        label="Log in"
                        pending_label="Logging in…"
                        pending=action.pending()
                        testid="login-submit"
                    />
                </ActionForm>
            </div>
            <p class="mt-4 text-sm text-muted">
                "New to GuestGuard? " <a class=LINK href="/signup">"Create an account"</a>
            </p>
        </div>
    }
}

/// API keys for the REST API: create (the key is shown once), list, revoke.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let issue = ServerAction::<IssueApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = page_resource(
        move || (issue.version().get(), revoke.version().get()),
        |_| api_keys(),
    );
    let issue_error = action_error(issue);
    let revoke_error = action_error(revoke);
    let created = Signal::derive(move || issue.value().get().and_then(Result::ok));

    let session = use_session();

    view! {
        <Title text="API keys · GuestGuard"/>
        <PageHeader
            title="API keys"
            subtitle="Keys let your own software use the GuestGuard REST API on your behalf."
        />
        <Transition fallback=|| view! { <Loading label="Loading your keys…"/> }>
            {move || Suspend::new(async move {
                let keys = match signed_in(session).await {
                    Ok(_) => keys.await,
                    Err(error) => Err(error),
                };
                match keys {
                    Ok(list) => view! {
                        <section class=CARD>
                            <h2 class="text-lg font-semibold">"Create a key"</h2>
                            <noscript>
                                <p class="mt-2 text-sm text-warn-fg">
                                    "Creating a key needs JavaScript: the key is shown once, on this page, right after it is made."
                                </p>
                            </noscript>
                            <ActionForm
                                action=issue
                                attr:class="mt-3 flex flex-wrap items-end gap-3"
                                attr:data-testid="api-key-form"
                            >
                                <div class="min-w-64 flex-1">
                                    <TextField
                                        label="Name"
                                        name="name"
                                        required=true
                                        placeholder="e.g. Wedding website"
                                        testid="api-key-name"
                                        error=field_error(issue_error, "name")
                                    />
                                </div>
                                <div>
                                    <label class="block text-sm font-medium" for="api-key-expiry">"Expires"</label>
                                    <select
                                        id="api-key-expiry"
                                        name="expires_in_days"
                                        class="mt-1 rounded-md border border-line-strong px-3 py-2"
                                        data-testid="api-key-expiry"
                                    >
                                        <option value="30">"In 30 days"</option>
                                        <option value="90" selected>"In 90 days"</option>
                                        <option value="365">"In a year"</option>
                                        <option value="">"Never"</option>
                                    </select>
                                </div>
                                <SubmitButton
                                    label="Create key"
                                    pending_label="Creating…"
                                    pending=issue.pending()
                                    testid="api-key-submit"
                                />
                            </ActionForm>
                            <div class="mt-3">
                                <FormError error=issue_error fields=&["name"]/>
                            </div>
                            {move || created.get().map(|key| view! { <NewKeyBox key/> })}
                        </section>
                        <section class="mt-8">
                            <h2 class="text-lg font-semibold">"Your keys"</h2>
                            <div class="mt-3">
                                <FormError error=revoke_error/>
                            </div>
                            {if list.is_empty() {
                                view! {
                                    <p class="mt-3 text-sm text-muted" data-testid="api-keys-empty">
                                        "You have no API keys yet."
                                    </p>
                                }
                                .into_any()
                            } else {
                                view! { <KeyTable list revoke/> }.into_any()
                            }}
                        </section>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorBox error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The freshly created key, shown once, with a copy button.
#[component]
fn NewKeyBox(key: NewApiKey) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let secret = StoredValue::new(key.key.clone());
    view! {
        <div
            class="mt-4 rounded-md border border-warn-line bg-warn-bg p-4"
            role="status"
            data-testid="api-key-created"
        >
            <p class="font-medium text-warn-fg">
                "Copy the key “" {key.name} "” now: it will not be shown again."
            </p>
            <p class="mt-1 text-sm text-warn-fg">
                "GuestGuard keeps only a fingerprint of it. If you lose it, revoke it and create a new one."
            </p>
            <div class="mt-3 flex flex-wrap items-center gap-2">
                <code
                    class="select-all break-all rounded bg-surface px-3 py-2 font-mono text-sm ring-1 ring-warn-line"
                    data-testid="api-key-secret"
                >
                    {key.key}
                </code>
                <button
                    type="button"
                    class=BUTTON_SECONDARY
                    data-testid="api-key-copy"
                    on:click=move |_| copy_to_clipboard(secret.get_value(), copied)
                >
                    {move || match copied.get() {
                        Some(true) => "Copied",
                        Some(false) => "Copy failed: select the key and copy it",
                        None => "Copy",
                    }}
                </button>
            </div>
        </div>
    }
}

/// Copies `text`; `copied` becomes `Some(true)` or `Some(false)` when the browser answers.
fn copy_to_clipboard(text: String, copied: RwSignal<Option<bool>>) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::{closure::Closure, JsValue};
        let Some(window) = web_sys::window() else {
            copied.set(Some(false));
            return;
        };
        let done = Closure::<dyn FnMut(JsValue)>::new(move |_| copied.set(Some(true)));
        let failed = Closure::<dyn FnMut(JsValue)>::new(move |_| copied.set(Some(false)));
        let _ = window
            .navigator()
            .clipboard()
            .write_text(&text)
            .then2(&done, &failed);
        // The promise settles once; the two small closures live on with the page.
        done.forget();
        failed.forget();
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        copied.set(Some(false));
    }
}

/// The host's keys, with a revoke button on each live one.
#[component]
fn KeyTable(list: Vec<ApiKeySummary>, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    view! {
        <div
            class="relative mt-3 overflow-x-auto rounded-lg border border-line bg-surface"
            tabindex="0"
            role="region"
            aria-label="API keys"
        >
            <table class="min-w-full divide-y divide-line text-sm" data-testid="api-keys-table">
                <thead class="bg-surface-2 text-left text-xs font-semibold uppercase tracking-wide text-muted">
                    <tr>
                        <th class="px-4 py-2">"Name"</th>
                        <th class="px-4 py-2">"Key"</th>
                        <th class="px-4 py-2">"Created"</th>
                        <th class="px-4 py-2">"Last used"</th>
                        <th class="px-4 py-2">"Expires"</th>
                        <th class="px-4 py-2">"Status"</th>
                        <th class="px-4 py-2"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-line">
                    {list
                        .into_iter()
                        .map(|key| {
                            let (row_id, hidden_id) = (key.id.to_string(), key.id.to_string());
                            view! {
                                <tr data-testid="api-key-row" data-key-id=row_id>
                                    <td class="px-4 py-2 font-medium">{key.name.clone()}</td>
                                    <td class="px-4 py-2 font-mono text-muted">{format!("{}…", key.prefix)}</td>
                                    <td class="px-4 py-2 text-muted">{utc_minute(key.created_at)}</td>
                                    <td class="px-4 py-2 text-muted">
                                        {key.last_used_at.map(utc_minute).unwrap_or_else(|| "Never".into())}
                                    </td>
                                    <td class="px-4 py-2 text-muted" data-testid="api-key-expires">
                                        {key.expires_at.map(utc_minute).unwrap_or_else(|| "Never".into())}
                                    </td>
                                    <td class="px-4 py-2">
                                        {if key.revoked {
                                            view! { <Badge tone=Tone::Bad>"Revoked"</Badge> }.into_any()
                                        } else {
                                            view! { <Badge tone=Tone::Good>"Active"</Badge> }.into_any()
                                        }}
                                    </td>
                                    <td class="px-4 py-2 text-right">
                                        {(!key.revoked).then(|| view! {
                                            <details class="inline-block text-left">
                                                <summary class="cursor-pointer text-sm font-medium text-danger-fg hover:underline" data-testid="api-key-revoke">
                                                    "Revoke"
                                                </summary>
                                                <div class="mt-2 rounded-md border border-danger-line bg-danger-bg p-3">
                                                    <p class="text-sm text-danger-fg">"Software using this key stops working at once."</p>
                                                    <ActionForm action=revoke attr:class="mt-2">
                                                        <input type="hidden" name="id" value=hidden_id/>
                                                        <SubmitButton
                                                            label="Revoke key"
                                                            pending_label="Revoking…"
                                                            pending=revoke.pending()
                                                            class=BUTTON_DANGER
                                                            testid="api-key-revoke-confirm"
                                                        />
                                                    </ActionForm>
                                                </div>
                                            </details>
                                        })}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Account security: change the password (every other session ends) and sign out on
/// every device.
#[component]
pub fn SecurityPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let change_error = action_error(change);
    let everywhere_error = action_error(everywhere);
    let changed = move || matches!(change.value().get(), Some(Ok(())));
    let session = use_session();
    view! {
        <Title text="Security · GuestGuard"/>
        <PageHeader
            title="Security"
            subtitle="Your password and the devices where you are signed in."
        />
        <Transition fallback=|| view! { <Loading label="Loading…"/> }>
            {move || Suspend::new(async move {
                match signed_in(session).await {
                    Ok(_) => view! {
                        <section class=CARD>
                            <h2 class="text-lg font-semibold">"Change your password"</h2>
                            <p class="mt-1 text-sm text-muted">
                                "You stay signed in here; every other device is signed out."
                            </p>
                            <ActionForm action=change attr:class="mt-3 max-w-md space-y-4" attr:data-testid="password-form">
                                <TextField
                                    label="Current password"
                                    name="current_password"
                                    kind="password"
                                    autocomplete="current-password"
                                    required=true
                                    testid="current-password"
                                    error=field_error(change_error, "current_password")
                                />
                                <TextField
                                    label="New password"
                                    name="new_password"
                                    kind="password"
                                    autocomplete="new-password"
                                    required=true
                                    testid="new-password"
                                    hint=format!("At least {} characters.", PASSWORD_CHARS.start())
                                    error=field_error(change_error, "new_password")
                                />
                                <FormError error=change_error fields=&["current_password", "new_password"]/>
                                <SubmitButton
                                    label="Change password"
                                    pending_label="Changing…"
                                    pending=change.pending()
                                    testid="password-submit"
                                />
                                {move || changed().then(|| view! {
                                    <p class="rounded bg-ok-bg p-3 text-ok-fg" role="status" data-testid="password-changed">
                                        "Your password is changed. Other devices are signed out."
                                    </p>
                                })}
                            </ActionForm>
                        </section>
                        <section class=format!("{CARD} mt-8")>
                            <h2 class="text-lg font-semibold">"Sign out everywhere"</h2>
                            <p class="mt-1 text-sm text-muted">
                                "Ends every session, on every device, this one included. API keys keep working: revoke them on the API keys page."
                            </p>
                            <ActionForm action=everywhere attr:class="mt-3">
                                <SubmitButton
                                    label="Sign out everywhere"
                                    pending_label="Signing out…"
                                    pending=everywhere.pending()
                                    class=BUTTON_DANGER
                                    testid="sign-out-everywhere"
                                />
                            </ActionForm>
                            <div class="mt-3">
                                <FormError error=everywhere_error/>
                            </div>
                        </section>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorBox error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A UTC time to the minute, e.g. `2027-06-12 16:00 UTC`.
fn utc_minute(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}
