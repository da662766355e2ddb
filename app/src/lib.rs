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

/// The HTML document every page is rendered into on the server. It also gives the
/// page its Content-Security-Policy, which allows the scripts carrying this render's
/// nonce (the hydration script, serialized resources) and nothing inline besides.
pub fn shell(options: LeptosOptions) -> impl IntoView {
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
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="min-h-screen bg-canvas font-sans text-ink antialiased">
                <App/>
            </body>
        </html>
    }
}

/// The root component: routes and document-wide metadata.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="GuestGuard"/>
        <Router>
            <Layout>
                <Routes fallback=NotFound>
                    // `Async`: the server sends each page whole once its data is loaded, so it
                    // reads right without JavaScript and carries the right status code.
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

/// Every page's frame: the site header (brand and navigation, which knows whether a
/// host is signed in) above the page itself.
#[component]
fn Layout(children: Children) -> impl IntoView {
    components::session::provide_session();
    // The landing page draws its own full-width bands; every other page sits in a column.
    let location = leptos_router::hooks::use_location();
    let frame = move || {
        if location.pathname.get() == "/" {
            "w-full"
        } else {
            "mx-auto w-full max-w-6xl px-4 py-8 sm:px-6"
        }
    };
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser: `data-hydrated` turns "true" once the page is live
    // (browser tests wait for it before clicking).
    Effect::new(move |_| hydrated.set(true));
    view! {
        <a
            href="#main"
            class="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:z-50 focus:rounded-md focus:bg-brand focus:px-3 focus:py-2 focus:text-on-brand"
        >
            "Skip to content"
        </a>
        <components::session::SiteHeader/>
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

/// Friendly page for an unknown address.
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
