//! The landing page at `/`: what GuestGuard is for, shown rather than told — a hero
//! with an animated stack of invitation cards, how it works, features, use cases,
//! testimonials, questions and answers, and a last call to sign up. Static: no data,
//! no server function, so it renders the same on the server and in the browser.
//!
//! Motion is decoration only (`motion-safe:` classes; `prefers-reduced-motion` stops
//! it), every section is a landmark with a heading, and the colours are the design
//! system's tokens (`style/tailwind.css`).

use crate::components::{BUTTON_PRIMARY, BUTTON_SECONDARY};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

/// Width and padding of a band's content.
const COLUMN: &str = "mx-auto w-full max-w-6xl px-4 sm:px-6";
/// A band's heading.
const HEADING: &str = "text-2xl font-semibold tracking-tight text-ink sm:text-3xl";
/// The small line above a band's heading.
const EYEBROW: &str = "text-sm font-semibold uppercase tracking-wider text-brand-fg";

/// The page `/`.
#[component]
pub fn LandingPage() -> impl IntoView {
    view! {
        <Title text="GuestGuard · Personal invitation links that stop gatecrashers"/>
        <Meta
            name="description"
            content="Send every guest a personal, signed invitation link. GuestGuard checks each opening and each RSVP for fraud and shows you who is coming, live."
        />
        <Hero/>
        <HowItWorks/>
        <Features/>
        <UseCases/>
        <Testimonials/>
        <Faq/>
        <FinalCall/>
        <footer class="border-t border-line py-8 text-sm text-muted">
            <div class=format!("{COLUMN} flex flex-wrap items-center justify-between gap-4")>
                <p>"GuestGuard — invitations only your guests can use."</p>
                <nav aria-label="Footer" class="flex gap-4">
                    <a class="hover:text-ink" href="/docs/api">"API reference"</a>
                    <a class="hover:text-ink" href="/login">"Log in"</a>
                    <a class="hover:text-ink" href="/signup">"Sign up"</a>
                </nav>
            </div>
        </footer>
    }
}

#[component]
fn Hero() -> impl IntoView {
    view! {
        <section
            class="relative overflow-hidden border-b border-line"
            aria-labelledby="hero-heading"
            data-testid="landing-hero"
        >
            <div
                class="pointer-events-none absolute inset-0 bg-[radial-gradient(ellipse_at_top_right,var(--gg-brand-soft),transparent_60%)]"
                aria-hidden="true"
            ></div>
            <div class=format!(
                "{COLUMN} relative grid items-center gap-12 py-16 sm:py-24 lg:grid-cols-2",
            )>
                <div class="motion-safe:animate-rise">
                    <p class=EYEBROW>"Invitations, RSVPs and fraud checks"</p>
                    <h1
                        id="hero-heading"
                        class="mt-3 text-4xl font-bold tracking-tight text-ink sm:text-5xl"
                    >
                        "Every guest gets their own link. Nobody else gets in."
                    </h1>
                    <p class="mt-5 max-w-xl text-lg text-muted">
                        "GuestGuard sends each guest a personal, signed invitation, checks every opening and every answer for signs of a forwarded or copied link, and shows you who is coming as it happens."
                    </p>
                    <div class="mt-8 flex flex-wrap gap-3">
                        <a class=format!("{BUTTON_PRIMARY} px-6 py-3 text-base") href="/signup" data-testid="hero-signup">
                            "Create your first event"
                        </a>
                        <a class=format!("{BUTTON_SECONDARY} px-6 py-3 text-base") href="#how-it-works">
                            "See how it works"
                        </a>
                    </div>
                    <p class="mt-4 text-sm text-faint">"Free while in beta. No card needed."</p>
                </div>
                <CardStack/>
            </div>
        </section>
    }
}

/// The hero's animated mockup: three layered invitation cards, the front one with a
/// live verdict. Purely decorative, so it is hidden from assistive technology.
#[component]
fn CardStack() -> impl IntoView {
    view! {
        <div class="relative mx-auto h-80 w-full max-w-md sm:h-96" aria-hidden="true" data-testid="card-stack">
            <div class="absolute left-10 top-0 w-72 rotate-6 rounded-2xl border border-line bg-surface-2 p-5 opacity-60 shadow-xl motion-safe:animate-float-slow sm:w-80">
                <div class="h-3 w-24 rounded bg-line"></div>
                <div class="mt-3 h-3 w-40 rounded bg-line"></div>
                <div class="mt-8 h-8 w-full rounded-lg bg-line"></div>
            </div>
            <div class="absolute left-4 top-8 w-72 -rotate-3 rounded-2xl border border-line bg-surface-2 p-5 shadow-xl motion-safe:animate-float sm:w-80">
                <div class="flex items-center justify-between">
                    <div class="h-3 w-28 rounded bg-line"></div>
                    <span class="rounded-full bg-warn-bg px-2 py-0.5 text-xs font-medium text-warn-fg ring-1 ring-warn-line">
                        "Review"
                    </span>
                </div>
                <div class="mt-3 h-3 w-44 rounded bg-line"></div>
                <div class="mt-8 h-8 w-full rounded-lg bg-surface-2"></div>
            </div>
            <div class="absolute left-0 top-20 w-72 overflow-hidden rounded-2xl border border-line-strong bg-surface p-6 shadow-2xl motion-safe:animate-float sm:left-8 sm:w-80">
                <div class="absolute inset-x-0 top-0 h-1 bg-brand"></div>
                <div
                    class="absolute inset-y-0 left-0 w-1/3 bg-linear-to-r from-transparent via-brand-soft to-transparent motion-safe:animate-scan"
                ></div>
                <div class="relative">
                    <p class="text-xs font-semibold uppercase tracking-wider text-brand-fg">"You're invited"</p>
                    <p class="mt-2 text-xl font-semibold text-ink">"Garden party at the Orchard"</p>
                    <p class="mt-1 text-sm text-muted">"Sat 12 June · 18:00"</p>
                    <div class="mt-5 flex items-center justify-between rounded-lg border border-line bg-surface-2 px-3 py-2">
                        <span class="text-sm text-ink">"Grace Hopper · +1"</span>
                        <span class="rounded-full bg-ok-bg px-2 py-0.5 text-xs font-medium text-ok-fg ring-1 ring-ok-line">
                            "Verified"
                        </span>
                    </div>
                    <div class="mt-3 flex gap-2">
                        <span class="flex-1 rounded-md bg-brand px-3 py-2 text-center text-sm font-medium text-on-brand">
                            "Attending"
                        </span>
                        <span class="flex-1 rounded-md border border-line px-3 py-2 text-center text-sm text-muted">
                            "Can't come"
                        </span>
                    </div>
                </div>
            </div>
        </div>
    }
}

#[component]
fn HowItWorks() -> impl IntoView {
    let steps = [
        (
            "1",
            "Create the event",
            "Name, date, place, capacity and how strict the checks should be.",
        ),
        (
            "2",
            "Add your guests",
            "One by one or from a CSV. Each gets a personal link, signed so it cannot be guessed or altered.",
        ),
        (
            "3",
            "Send the invitations",
            "By email or text, in the event's language. Reminders go out once to those who have not answered.",
        ),
        (
            "4",
            "Watch it live",
            "Openings and answers appear on your monitor within a second, each marked Verified, Review, Suspicious or Blocked.",
        ),
    ];
    view! {
        <section id="how-it-works" class="border-b border-line py-16 sm:py-20" aria-labelledby="how-heading">
            <div class=COLUMN>
                <p class=EYEBROW>"How it works"</p>
                <h2 id="how-heading" class=format!("{HEADING} mt-2")>"From guest list to a door that checks itself"</h2>
                <ol class="mt-10 grid gap-6 sm:grid-cols-2 lg:grid-cols-4">
                    {steps
                        .into_iter()
                        .map(|(n, title, text)| {
                            view! {
                                <li class="rounded-xl border border-line bg-surface p-5">
                                    <span class="inline-flex h-8 w-8 items-center justify-center rounded-full bg-brand-soft font-semibold text-brand-fg">
                                        {n}
                                    </span>
                                    <h3 class="mt-4 font-semibold text-ink">{title}</h3>
                                    <p class="mt-2 text-sm text-muted">{text}</p>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            </div>
        </section>
    }
}

#[component]
fn Features() -> impl IntoView {
    let features = [
        (
            "Signed personal links",
            "Every link is bound to one guest and one event and signed with your key. A link that is forwarded, guessed or edited is caught.",
        ),
        (
            "Fraud checks on every opening",
            "Device, network and behaviour are weighed against what the guest did before. You see the reasons in plain words.",
        ),
        (
            "Guests never see a score",
            "A guest gets a friendly confirmation or a neutral \"please contact your host\". Only you see scores and reasons.",
        ),
        (
            "A live monitor",
            "Openings, answers and refused attempts stream in as they happen, with counters for attending, declined, maybe and pending.",
        ),
        (
            "One click to take a link back",
            "Revoke or rotate a guest's link right from the feed. The old link stops working at once.",
        ),
        (
            "An API and signed webhooks",
            "Everything the dashboard does is in the REST API, documented with OpenAPI. Webhooks are signed so you can trust them.",
        ),
    ];
    view! {
        <section class="border-b border-line py-16 sm:py-20" aria-labelledby="features-heading">
            <div class=COLUMN>
                <p class=EYEBROW>"Features"</p>
                <h2 id="features-heading" class=format!("{HEADING} mt-2")>"Built for hosts who want to know who is at the door"</h2>
                <ul class="mt-10 grid gap-6 sm:grid-cols-2 lg:grid-cols-3">
                    {features
                        .into_iter()
                        .map(|(title, text)| {
                            view! {
                                <li class="rounded-xl border border-line bg-surface p-6 transition hover:border-line-strong">
                                    <span class="block h-1 w-10 rounded bg-brand" aria-hidden="true"></span>
                                    <h3 class="mt-4 font-semibold text-ink">{title}</h3>
                                    <p class="mt-2 text-sm text-muted">{text}</p>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </div>
        </section>
    }
}

#[component]
fn UseCases() -> impl IntoView {
    let cases = [
        ("Weddings", "Seats are counted, plus-ones are capped, and the link in a screenshot on social media does not get anyone in."),
        ("Launches and press events", "Know which invitations were forwarded before the doors open, and take a link back in one click."),
        ("Members' evenings", "Import members from a CSV, send everyone their own link, and let the checks do the door list."),
        ("Conferences and dinners", "Capacity, RSVP deadlines, reminders and a live count of who is coming, in every guest's time zone."),
    ];
    view! {
        <section class="border-b border-line py-16 sm:py-20" aria-labelledby="cases-heading">
            <div class=COLUMN>
                <p class=EYEBROW>"Use cases"</p>
                <h2 id="cases-heading" class=format!("{HEADING} mt-2")>"For any event with a guest list"</h2>
                <dl class="mt-10 grid gap-6 md:grid-cols-2">
                    {cases
                        .into_iter()
                        .map(|(title, text)| {
                            view! {
                                <div class="rounded-xl border border-line bg-surface p-6">
                                    <dt class="font-semibold text-ink">{title}</dt>
                                    <dd class="mt-2 text-sm text-muted">{text}</dd>
                                </div>
                            }
                        })
                        .collect_view()}
                </dl>
            </div>
        </section>
    }
}

#[component]
fn Testimonials() -> impl IntoView {
    let quotes = [
        ("We used to find strangers at the buffet. This year the monitor flagged two forwarded links before anyone arrived.", "Event lead, a design studio's summer party"),
        ("Guests just click and answer. I see who opened, who answered and who tried twice, without asking anyone.", "Organiser of a 180-guest wedding"),
        ("The API and webhooks let us put RSVPs straight into our CRM. Setup took an afternoon.", "Operations, a members' club"),
    ];
    view! {
        <section class="border-b border-line py-16 sm:py-20" aria-labelledby="quotes-heading">
            <div class=COLUMN>
                <p class=EYEBROW>"What hosts say"</p>
                <h2 id="quotes-heading" class=format!("{HEADING} mt-2")>"Calmer doors, fuller rooms"</h2>
                <div class="mt-10 grid gap-6 lg:grid-cols-3">
                    {quotes
                        .into_iter()
                        .map(|(quote, who)| {
                            view! {
                                <figure class="flex flex-col justify-between rounded-xl border border-line bg-surface p-6">
                                    <blockquote class="text-ink">
                                        <p>"“" {quote} "”"</p>
                                    </blockquote>
                                    <figcaption class="mt-4 text-sm text-muted">{who}</figcaption>
                                </figure>
                            }
                        })
                        .collect_view()}
                </div>
            </div>
        </section>
    }
}

#[component]
fn Faq() -> impl IntoView {
    let questions = [
        ("Do guests need an account?", "No. A guest opens their personal link and answers; there is nothing to install or sign up for."),
        ("What happens when a link is forwarded?", "The opening is checked against the guest's earlier devices and networks. You see it marked Review or Suspicious with the reasons, and can revoke or rotate the link."),
        ("Will my guests see that they were flagged?", "Never. Guests see no score, band or reason. A refused answer only asks them to contact you."),
        ("What if the fraud check is down?", "You choose per event: accept answers and score them later, hold them for your review, or ask guests to try again."),
        ("Can I use it from my own systems?", "Yes: a REST API with keys, an OpenAPI document, and signed webhooks for answers and alerts."),
    ];
    view! {
        <section class="border-b border-line py-16 sm:py-20" aria-labelledby="faq-heading">
            <div class="mx-auto w-full max-w-3xl px-4 sm:px-6">
                <p class=EYEBROW>"Questions"</p>
                <h2 id="faq-heading" class=format!("{HEADING} mt-2")>"Good to know"</h2>
                <div class="mt-8 divide-y divide-line rounded-xl border border-line bg-surface">
                    {questions
                        .into_iter()
                        .map(|(question, answer)| {
                            view! {
                                <details class="group p-5">
                                    <summary class="flex cursor-pointer list-none items-center justify-between gap-4 font-medium text-ink">
                                        {question}
                                        <span class="text-brand-fg transition group-open:rotate-45" aria-hidden="true">"+"</span>
                                    </summary>
                                    <p class="mt-3 text-sm text-muted">{answer}</p>
                                </details>
                            }
                        })
                        .collect_view()}
                </div>
            </div>
        </section>
    }
}

#[component]
fn FinalCall() -> impl IntoView {
    view! {
        <section class="py-16 sm:py-24" aria-labelledby="cta-heading" data-testid="landing-cta">
            <div class=COLUMN>
                <div class="rounded-2xl border border-line-strong bg-surface px-6 py-12 text-center sm:px-12">
                    <h2 id="cta-heading" class=HEADING>"Your next guest list, guarded"</h2>
                    <p class="mx-auto mt-3 max-w-xl text-muted">
                        "Create an event, add your guests and send the links in a few minutes."
                    </p>
                    <a class=format!("{BUTTON_PRIMARY} mt-8 px-6 py-3 text-base") href="/signup" data-testid="cta-signup">
                        "Sign up free"
                    </a>
                </div>
            </div>
        </section>
    }
}
