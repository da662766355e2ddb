//! The guest's unsubscribe page (`/unsubscribe/:id`, linked from every reminder): a
//! button that posts to the same address (`unsubscribe.rs`), so link scanners that only
//! open pages never unsubscribe anybody.

use super::server_fns::unsubscribe_details;
use crate::components::CARD;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// Stop reminders for one event.
#[component]
pub fn UnsubscribePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let details = Resource::new_blocking(id, unsubscribe_details);
    view! {
        <Title text="Reminders · GuestGuard"/>
        <div class="mx-auto max-w-md" data-testid="unsubscribe-page">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match details.await {
                        Ok(details) if details.done => view! {
                            <div class=CARD>
                                <h1 class="text-xl font-semibold" data-testid="unsubscribed">
                                    "You will get no more reminders"
                                </h1>
                                <p class="mt-2">
                                    {format!("We will not remind you about {} again. Your invitation link still works.", details.event_name)}
                                </p>
                            </div>
                        }
                        .into_any(),
                        Ok(details) => view! {
                            <div class=CARD>
                                <h1 class="text-xl font-semibold">"Stop reminders?"</h1>
                                <p class="mt-2">
                                    {format!("You will get no more reminders about {}. Your invitation link keeps working.", details.event_name)}
                                </p>
                                <form method="post" action=format!("/unsubscribe/{}", id()) class="mt-4">
                                    <button
                                        type="submit"
                                        class="rounded-md bg-slate-900 px-4 py-2 font-semibold text-white focus:outline-none focus-visible:ring-2 focus-visible:ring-offset-2"
                                        data-testid="unsubscribe-button"
                                    >
                                        "Stop reminders"
                                    </button>
                                </form>
                            </div>
                        }
                        .into_any(),
                        Err(_) => view! {
                            <div class=CARD>
                                <h1 class="text-xl font-semibold">"This link is not valid"</h1>
                                <p class="mt-2">"Check the link in your email, or contact your host."</p>
                            </div>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}
