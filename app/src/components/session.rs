//! Who is signed in, as the pages see it: one resource for the whole app (re-read on
//! every navigation, so signing in or out shows at once), the site header with its
//! navigation, and a gate that shows a friendly "please log in" instead of a page that
//! needs a host.

use super::{ErrorBox, Loading, BUTTON_SECONDARY};
use crate::{
    error::AppError,
    hosts::{
        server_fns::{current_host, LogOut},
        HostProfile,
    },
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};

/// The signed-in host (`Ok(None)` for a visitor) and the log-out action.
#[derive(Clone, Copy)]
pub struct Session {
    /// Re-read after every navigation and every log-out.
    pub host: Resource<Result<Option<HostProfile>, AppError>>,
    /// Logging out (a form in the header).
    pub log_out: ServerAction<LogOut>,
}

/// Creates the [`Session`] and puts it in context; call once, inside the `<Router>`.
pub fn provide_session() -> Session {
    let location = use_location();
    let log_out = ServerAction::<LogOut>::new();
    // A page resource: the page is sent once this is known, header included.
    let host = super::page_resource(
        move || (location.pathname.get(), log_out.version().get()),
        |(path, _)| async move {
            if is_guest_page(&path) {
                // A guest's invitation page is no place for the host's session.
                Ok(None)
            } else {
                current_host().await
            }
        },
    );
    let session = Session { host, log_out };
    provide_context(session);
    session
}

/// Whether `path` is a guest's invitation page (`/i/<token>`), which shows no host
/// navigation.
pub fn is_guest_page(path: &str) -> bool {
    path.starts_with("/i/")
}

/// The [`Session`] given by [`provide_session`].
pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// The site header: the brand, then `children` (the hosts' [`MainNav`]; a guest's
/// page has none).
#[component]
pub fn SiteHeader(#[prop(optional)] children: Option<Children>) -> impl IntoView {
    view! {
        <header class="border-b border-line bg-surface">
            <div class="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-3 px-4 py-3 sm:px-6">
                <a href="/" class="flex items-center gap-2 text-lg font-bold text-brand-fg" data-testid="brand">
                    <span aria-hidden="true">"◆"</span>
                    "GuestGuard"
                </a>
                {children.map(|children| children())}
            </div>
        </header>
    }
}

/// The hosts' navigation: Events, API keys, Notifications, Security and Log out for a
/// signed-in host, Log in / Sign up otherwise; hidden on a guest's page.
#[component]
pub fn MainNav() -> impl IntoView {
    let session = use_session();
    let location = use_location();
    let nav_link = "rounded-md px-3 py-2 text-sm font-medium text-ink hover:bg-surface-2 aria-[current=page]:bg-brand-soft aria-[current=page]:text-brand-fg";
    view! {
        <nav
            aria-label="Main"
            data-testid="main-nav"
            class:hidden=move || is_guest_page(&location.pathname.get())
        >
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.host.await {
                        Ok(Some(host)) => view! {
                            <div class="flex flex-wrap items-center gap-1" data-testid="nav-signed-in">
                                <A href="/events" attr:class=nav_link attr:data-testid="nav-events">"Events"</A>
                                <A href="/settings/api-keys" attr:class=nav_link attr:data-testid="nav-api-keys">"API keys"</A>
                                <A href="/settings/notifications" attr:class=nav_link attr:data-testid="nav-notifications">"Notifications"</A>
                                <A href="/settings/security" attr:class=nav_link attr:data-testid="nav-security">"Security"</A>
                                <span class="hidden px-2 text-sm text-muted sm:inline" data-testid="nav-host-name">
                                    {host.name}
                                </span>
                                <ActionForm action=session.log_out>
                                    <button
                                        type="submit"
                                        class=BUTTON_SECONDARY
                                        data-testid="logout"
                                        disabled=move || session.log_out.pending().get()
                                    >
                                        "Log out"
                                    </button>
                                </ActionForm>
                            </div>
                        }
                        .into_any(),
                        _ => view! {
                            <div class="flex items-center gap-1" data-testid="nav-signed-out">
                                <A href="/login" attr:class=nav_link attr:data-testid="nav-login">"Log in"</A>
                                <A href="/signup" attr:class=nav_link attr:data-testid="nav-signup">"Sign up"</A>
                            </div>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </nav>
    }
}

/// The signed-in host, waiting for the session if needed; a visitor is
/// [`AppError::Unauthenticated`]. For pages that await their own data in one
/// `Suspend` (nesting `Suspense` inside [`RequireHost`] would stream the inner part
/// out of order, which needs JavaScript).
pub async fn signed_in(session: Session) -> Result<HostProfile, AppError> {
    session.host.await?.ok_or(AppError::Unauthenticated)
}

/// Shows `children` only to a signed-in host; a visitor gets "please log in" with links.
/// Children that load data of their own should rather await [`signed_in`] and their data
/// in one `Suspend`: a `Suspense` nested in here streams out of order.
#[component]
pub fn RequireHost(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    view! {
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match session.host.await {
                    Ok(Some(_)) => children.read_value()().into_any(),
                    Ok(None) => view! { <ErrorBox error=AppError::Unauthenticated/> }.into_any(),
                    Err(error) => view! { <ErrorBox error/> }.into_any(),
                }
            })}
        </Transition>
    }
}
