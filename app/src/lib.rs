//! GuestGuard's application: every page, component and server function, shared by the
//! server (feature `ssr`) and the browser bundle (feature `hydrate`).
//!
//! One module per concern; server-only parts (database, NATS, gRPC) sit behind `ssr`
//! so they never reach the browser.

// The page views (the guest table above all) nest deeper than the default limit of
// 128 when the release build computes their layout.
#![recursion_limit = "256"]

pub mod access;
pub mod api_docs;
pub mod components;
pub mod error;
pub mod events;
pub mod fraud;
pub mod guests;
pub mod hosts;
pub mod invitations;
pub mod landing;
pub mod monitor;
pub mod notifications;
pub mod review;
pub mod rsvps;
pub mod stack_check;

#[cfg(feature = "ssr")]
pub mod edge;
#[cfg(feature = "ssr")]
pub mod outbox;
#[cfg(feature = "ssr")]
pub mod rest;
#[cfg(feature = "ssr")]
pub mod retention;
#[cfg(feature = "ssr")]
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The `data-app` mark on the `<body>` of a page rendered by [`guest_shell`]: the
/// browser hydrates it as [`GuestApp`].
pub const GUEST_APP: &str = "guest";

/// The HTML document every hosts' page is rendered into on the server, hydrated as
/// [`App`] by the `frontend` bundle.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let scripts = options.clone();
    page_document(options, scripts, None, view! { <App/> })
}

/// The HTML document of a guest's invitation page (`/i/<token>`), hydrated as
/// [`GuestApp`] by the guest's own bundle (`frontend/guest`) when the build made one
/// (its hashes in `guest-hash.txt` beside the server binary, see
/// `scripts/guest-bundle.sh`), otherwise by the `frontend` bundle.
pub fn guest_shell(options: LeptosOptions) -> impl IntoView {
    let scripts = guest_bundle(&options).unwrap_or_else(|| options.clone());
    page_document(options, scripts, Some(GUEST_APP), view! { <GuestApp/> })
}

/// The document of the page being rendered: a guest's invitation page in
/// [`guest_shell`], every other page in [`shell`].
#[cfg(feature = "ssr")]
pub fn page_shell(options: LeptosOptions) -> AnyView {
    let guest_page = use_context::<axum::http::request::Parts>()
        .is_some_and(|parts| components::session::is_guest_page(parts.uri.path()));
    if guest_page {
        guest_shell(options).into_any()
    } else {
        shell(options).into_any()
    }
}

/// The options that make [`HydrationScripts`] load the guest's bundle, when the build
/// made one.
fn guest_bundle(options: &LeptosOptions) -> Option<LeptosOptions> {
    const HASH_FILE: &str = "guest-hash.txt";
    if !options.hash_files {
        return None;
    }
    let beside_server = std::env::current_exe().ok()?.parent()?.join(HASH_FILE);
    beside_server.is_file().then(|| {
        let mut guest = options.clone();
        guest.output_name = std::sync::Arc::from("guest");
        guest.hash_file = std::sync::Arc::from(HASH_FILE);
        guest
    })
}

/// The page around a body: its Content-Security-Policy (which allows the scripts
/// carrying this render's nonce — the hydration script, serialized resources — and
/// nothing inline besides), the stylesheet, the hydration scripts of the bundle that
/// `scripts` names, and `body` marked with `app`.
fn page_document(
    options: LeptosOptions,
    scripts: LeptosOptions,
    app: Option<&'static str>,
    body: impl IntoView + 'static,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        let live_reload = (options.env == leptos::config::Env::DEV).then_some(options.reload_port);
        let policy = edge::headers::page_policy(&nonce.to_string(), live_reload);
        if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options/>
                <HydrationScripts options=scripts/>
                <MetaTags/>
            </head>
            <body class="min-h-screen bg-canvas font-sans text-ink antialiased" data-app=app>
                {body}
            </body>
        </html>
    }
}

/// The hosts' application: every page, in the hosts' layout. (A guest's invitation
/// page is here too, for hosts who follow a link inside the dashboard; its server
/// render and a guest's visit go through [`GuestApp`].)
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="GuestGuard"/>
        <Router>
            <Layout>
                <Routes fallback=NotFound>
                    <Route path=path!("/") ssr=SsrMode::Async view=landing::LandingPage/>
                    <Route path=path!("/stack") ssr=SsrMode::Async view=stack_check::StackCheckPage/>
                    <Route path=path!("/signup") ssr=SsrMode::Async view=hosts::pages::SignupPage/>
                    <Route path=path!("/login") ssr=SsrMode::Async view=hosts::pages::LoginPage/>
                    <Route path=path!("/settings/api-keys") ssr=SsrMode::Async view=hosts::pages::ApiKeysPage/>
                    <Route path=path!("/settings/notifications") ssr=SsrMode::Async view=notifications::pages::NotificationSettingsPage/>
                    <Route path=path!("/settings/security") ssr=SsrMode::Async view=hosts::pages::SecurityPage/>
                    <Route path=path!("/events") ssr=SsrMode::Async view=events::pages::EventsPage/>
                    <Route path=path!("/events/new") ssr=SsrMode::Async view=events::pages::NewEventPage/>
                    <Route path=path!("/events/:id/edit") ssr=SsrMode::Async view=events::pages::EditEventPage/>
                    <Route path=path!("/events/:id") ssr=SsrMode::Async view=guests::pages::EventPage/>
                    <Route path=path!("/events/:id/monitor") ssr=SsrMode::Async view=monitor::pages::MonitorPage/>
                    <Route path=path!("/i/:token") ssr=SsrMode::Async view=rsvps::pages::InvitationPage/>
                    <Route path=path!("/unsubscribe/:id") ssr=SsrMode::Async view=notifications::pages::UnsubscribePage/>
                    <Route path=path!("/docs/api") ssr=SsrMode::Async view=api_docs::ApiDocsPage/>
                </Routes>
            </Layout>
        </Router>
    }
}

/// The guest's application: the invitation page alone, under the brand and without
/// the hosts' navigation or session.
#[component]
pub fn GuestApp() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="GuestGuard"/>
        <Router>
            <Frame header=view! { <components::session::SiteHeader/> }.into_any() wide=false>
                <Routes fallback=NotFound>
                    <Route path=path!("/i/:token") ssr=SsrMode::Async view=rsvps::pages::InvitationPage/>
                </Routes>
            </Frame>
        </Router>
    }
}

/// The hosts' layout: the header with the session's navigation; the landing page
/// spans the whole width.
#[component]
fn Layout(children: Children) -> impl IntoView {
    components::session::provide_session();
    let location = leptos_router::hooks::use_location();
    let header = view! {
        <components::session::SiteHeader>
            <components::session::MainNav/>
        </components::session::SiteHeader>
    };
    view! {
        <Frame header=header.into_any() wide=Signal::derive(move || location.pathname.get() == "/")>
            {children()}
        </Frame>
    }
}

/// What every page has: a skip link, the header and the main landmark (marked
/// `data-hydrated="true"` once the browser took over).
#[component]
fn Frame(header: AnyView, #[prop(into)] wide: Signal<bool>, children: Children) -> impl IntoView {
    let frame = move || {
        if wide.get() {
            "w-full"
        } else {
            "mx-auto w-full max-w-6xl px-4 py-8 sm:px-6"
        }
    };
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <a
            href="#main"
            class="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:z-50 focus:rounded-md focus:bg-brand focus:px-3 focus:py-2 focus:text-on-brand"
        >
            "Skip to content"
        </a>
        {header}
        <main
            id="main"
            class=frame
            data-testid="page"
            data-hydrated=move || hydrated.get().to_string()
        >
            {children()}
        </main>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Page not found · GuestGuard"/>
        <h1 class="text-2xl font-semibold">"Page not found"</h1>
        <p class="mt-2">"There is nothing at this address. Check the link you followed."</p>
        <a class="mt-4 inline-block text-brand-fg underline" href="/">"Go to the start page"</a>
    }
}
