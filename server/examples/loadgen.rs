//! A load generator for the guest side of a running GuestGuard: how fast link openings
//! and RSVPs are answered (and how many were refused as blocked; guests are never told
//! a score, so which answers were scored is read from the database by `bench.sh`).
//!
//! It signs a fresh host up, creates an API key, `--events` events (one by default) with
//! `--guests` guests spread over them and one link each, then runs two phases, either
//! closed loop (`--concurrency` guests at a time, as fast as the server answers) or open
//! loop (`--rate`: one guest every 1/rate seconds whatever the server does, each
//! request's latency counted from the moment it was due, so a stalled server cannot hide
//! its queue — no coordinated omission):
//!
//! - **open**: every guest opens their link (`GET /api/v1/access/{token}`) and reports
//!   its browser signals (`POST /api/v1/access/{token}/signals`), as a desktop browser
//!   would;
//! - **rsvp**: every guest answers (`POST /api/v1/rsvp/{token}`) as that opening.
//!
//! With `--monitors N`, N live monitors (the host's WebSocket on the event) are open
//! through both phases; each notes every answer pushed to it, and the report says how
//! late the answers arrived (against the row's `changed_at`) and how many any monitor
//! missed.
//!
//! Guest routes are rate limited per client address, so every virtual guest sends from
//! its own loopback address (127.0.a.b; all of 127.0.0.0/8 is local on Linux).
//!
//! ```sh
//! cargo run --release -p server --example loadgen -- --url http://127.0.0.1:3000 \
//!     [--guests 200] [--events 1] [--concurrency 16 | --rate 300] [--label TEXT]
//! ```
//!
//! It prints a report per phase and, last, one `RESULT {...}` JSON line for scripts.
//! It exits with status 1 when the server cannot be reached or the setup fails.

use anyhow::{anyhow, bail, Context as _};
use futures::StreamExt as _;
use reqwest::{header, Client, Method, StatusCode};
use serde_json::{json, Value};
use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use uuid::Uuid;

/// A desktop Chrome, as the guests' browsers announce themselves.
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const ACCEPT_LANGUAGE: &str = "en-GB,en;q=0.9,fr;q=0.8";
const PASSWORD: &str = "correct horse battery staple";
/// Longest wait for one answer before it counts as a transport error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Source addresses per `127.0.a.0/24` (hosts .1 to .250).
const HOSTS_PER_NET: usize = 250;
/// Guests with an address of their own, 127.0.1.1 to 127.0.254.250.
const MAX_GUESTS: usize = HOSTS_PER_NET * 254;

#[tokio::main]
async fn main() {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(error) => {
            eprintln!("loadgen: {error:#}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(error) = run(options).await {
        eprintln!("loadgen: error: {error:#}");
        std::process::exit(1);
    }
}

const USAGE: &str =
    "usage: loadgen --url URL [--guests N] [--events E] [--concurrency C | --rate R] [--label TEXT]
                [--links-file FILE] [--monitors N]

  --url          the GuestGuard to load, e.g. http://127.0.0.1:3000
  --guests       guests (each with a link) to create and drive (default 200)
  --events       events the guests are spread over, all answering at once (default 1)
  --concurrency  closed loop: guests in flight at once (default 16)
  --rate         open loop: guests started per second, latency counted from when each
                 was due (corrects coordinated omission); replaces --concurrency
  --open-rate    open loop for the openings only (default: --rate)
  --links-file   also write every guest's page path (/i/<token>) to this file
  --monitors     open this many live monitors (the host's WebSocket) on the event and
                 report how late each answer reached each of them, and any missed
  --label        a name for this run, repeated in the report and the RESULT line";

/// What to run.
#[derive(Clone, Debug)]
struct Options {
    url: String,
    guests: usize,
    events: usize,
    /// Guests in flight at once during setup, and in closed-loop phases.
    concurrency: usize,
    /// Open loop: guests started per second (answers; openings too unless `open_rate`).
    rate: Option<f64>,
    /// Open loop for the openings only.
    open_rate: Option<f64>,
    label: String,
    /// Where to write every guest's page path (`/i/<token>`), one per line.
    links_file: Option<String>,
    /// Live monitors (the host's WebSocket) open on the event during the phases.
    monitors: usize,
}

impl Options {
    /// The options from the command line; `None` when help was asked for.
    fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Option<Self>> {
        let (mut url, mut guests, mut events, mut concurrency, mut label) =
            (None, 200, 1, 16, String::new());
        let (mut rate, mut open_rate, mut links_file, mut monitors) = (None, None, None, 0);
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (arg, None),
            };
            if name == "-h" || name == "--help" {
                return Ok(None);
            }
            let value = match inline.or_else(|| args.next()) {
                Some(value) => value,
                None => bail!("{name} needs a value"),
            };
            let per_second = |value: &str| -> anyhow::Result<f64> {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .ok_or_else(|| anyhow!("{name} must be a positive number, not {value:?}"))
            };
            let count = |value: &str| -> anyhow::Result<usize> {
                value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| anyhow!("{name} must be a positive number, not {value:?}"))
            };
            match name.as_str() {
                "--url" => url = Some(value.trim_end_matches('/').to_owned()),
                "--guests" => guests = count(&value)?,
                "--events" => events = count(&value)?,
                "--concurrency" => concurrency = count(&value)?,
                "--rate" => rate = Some(per_second(&value)?),
                "--open-rate" => open_rate = Some(per_second(&value)?),
                "--label" => label = value,
                "--links-file" => links_file = Some(value),
                "--monitors" => monitors = count(&value)?,
                _ => bail!("unknown option {name}"),
            }
        }
        let url = url.ok_or_else(|| anyhow!("--url is required"))?;
        if !url.starts_with("http://") && !url.starts_with("https://") {
            bail!("--url must start with http:// or https://, not {url:?}");
        }
        if guests > MAX_GUESTS {
            bail!("--guests must be at most {MAX_GUESTS} (one loopback address each)");
        }
        if events > guests {
            bail!("--events must be at most --guests");
        }
        if monitors > 0 && events != 1 {
            bail!("--monitors watches one event: use it with --events 1");
        }
        Ok(Some(Self {
            url,
            guests,
            events,
            concurrency: concurrency.min(guests),
            open_rate: open_rate.or(rate),
            rate,
            label,
            links_file,
            monitors,
        }))
    }
}

/// The host's side of a run: the events and the guests invited to them.
struct Setup {
    event_ids: Vec<String>,
    guests: Vec<VirtualGuest>,
    /// The host's session (the live monitor's socket needs it).
    session: String,
}

/// One invited guest and the browser they use.
#[derive(Clone)]
struct VirtualGuest {
    token: String,
    /// A client sending from this guest's own loopback address.
    browser: Client,
    /// A stable hash of "their browser's" properties, as the guest page reports it.
    fingerprint: String,
}

async fn run(options: Options) -> anyhow::Result<()> {
    let host = Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(BROWSER)
        .build()
        .context("building the HTTP client")?;
    let health = check_reachable(&host, &options.url).await?;
    let pace = match options.rate {
        Some(rate) => format!("open loop at {rate} guests/s"),
        None => format!("concurrency {}", options.concurrency),
    };
    println!(
        "loadgen{}: {} guests over {} event(s), {pace}, against {} (health: {health})",
        label_suffix(&options.label),
        options.guests,
        options.events,
        options.url
    );

    let started = Instant::now();
    let setup = set_up(&host, &options).await.context("setup failed")?;
    println!(
        "setup: host, API key, {} event(s) ({}) and {} links in {:.1} s",
        setup.event_ids.len(),
        setup.event_ids.join(", "),
        setup.guests.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &options.links_file {
        let lines: String = setup
            .guests
            .iter()
            .map(|guest| format!("/i/{}\n", guest.token))
            .collect();
        std::fs::write(path, lines).with_context(|| format!("writing {path}"))?;
    }

    let monitors = if options.monitors > 0 {
        let started = Instant::now();
        let monitors = Monitors::open(&options, &setup).await?;
        println!(
            "monitors: {} sockets open and ready in {:.1} s",
            options.monitors,
            started.elapsed().as_secs_f64()
        );
        Some(monitors)
    } else {
        None
    };

    let openings = open_phase(&options, &setup).await;
    let open_report = Report::of("open", &openings.samples, openings.wall);
    print!("{}", open_report.render(&options.label));

    let answers = rsvp_phase(&options, &setup, &openings.access_log_ids).await;
    let rsvp_report = Report::of("rsvp", &answers.samples, answers.wall);
    print!("{}", rsvp_report.render(&options.label));
    print!("{}", answers.verdicts.render());
    let monitor_report = match monitors {
        Some(monitors) => {
            let answered = answers
                .samples
                .iter()
                .filter(|sample| matches!(sample.status, Some(200 | 201)))
                .count();
            let report = monitors.finish(answered).await;
            println!("{}", report.render());
            Some(report.to_json())
        }
        None => None,
    };

    let result = json!({
        "label": options.label,
        "url": options.url,
        "event_id": setup.event_ids[0],
        "event_ids": setup.event_ids,
        "guests": options.guests,
        "events": options.events,
        "concurrency": options.rate.is_none().then_some(options.concurrency),
        "rate": options.rate,
        "open_rate": options.open_rate,
        "open": open_report.to_json(),
        "rsvp": {
            "report": rsvp_report.to_json(),
            "verdicts": answers.verdicts.to_json(),
        },
        "monitor": monitor_report,
    });
    println!("RESULT {result}");
    Ok(())
}

/// `GET /healthz`: fails when nothing answers; otherwise the health status, which may
/// well be degraded (a run against a stopped fraud engine is a scenario of its own).
async fn check_reachable(client: &Client, url: &str) -> anyhow::Result<String> {
    let response = client
        .get(format!("{url}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|error| {
            anyhow::Error::new(error).context(format!("the server at {url} cannot be reached"))
        })?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Ok(match body.get("checks") {
        Some(checks) => format!("{} {checks}", status.as_u16()),
        None => status.as_u16().to_string(),
    })
}

/// Signs a fresh host up, creates an API key, the event, the guests and their links.
async fn set_up(host: &Client, options: &Options) -> anyhow::Result<Setup> {
    let url = &options.url;
    let run_id = Uuid::new_v4().simple().to_string();
    let signup = host
        .post(format!("{url}/api/v1/auth/signup"))
        .header(header::ORIGIN, url)
        .json(&json!({
            "email": format!("loadgen-{run_id}@example.org"),
            "name": "Load Generator",
            "password": PASSWORD,
        }))
        .send()
        .await
        .context("POST /api/v1/auth/signup")?;
    let session = signup
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|cookie| cookie.split(';').next())
        .find_map(|pair| pair.strip_prefix("gg_session="))
        .filter(|value| !value.is_empty())
        .map(str::to_owned);
    expect(signup, StatusCode::CREATED, "signing up").await?;
    let session = session.ok_or_else(|| anyhow!("signing up set no gg_session cookie"))?;

    let key = host
        .post(format!("{url}/api/v1/api-keys"))
        .header(header::ORIGIN, url)
        .header(header::COOKIE, format!("gg_session={session}"))
        .json(&json!({ "name": "loadgen" }))
        .send()
        .await
        .context("POST /api/v1/api-keys")?;
    let api_key = string_field(
        &expect(key, StatusCode::CREATED, "creating an API key").await?,
        "key",
    )?;

    let api = HostApi {
        client: host.clone(),
        url: url.clone(),
        api_key,
    };
    let mut event_ids = Vec::with_capacity(options.events);
    for number in 0..options.events {
        let event = api
            .call(
                Method::POST,
                "/api/v1/events",
                json!({
                    "name": format!("Load test {} {}", options.label, number + 1).trim().to_owned(),
                    "slug": format!("loadgen-{}-{}", &run_id[..12], number + 1),
                    "event_date": "2031-06-12T18:00:00+02:00",
                    "time_zone": "Europe/Paris",
                    "venue": "The Old Mill",
                }),
                "creating an event",
            )
            .await?;
        event_ids.push(string_field(&event, "id")?);
    }
    let events = Arc::new(event_ids.clone());

    // Guests and links are made C at a time; guest i is invited to event i mod E.
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..options.concurrency {
        let (api, next, events, total) =
            (api.clone(), next.clone(), events.clone(), options.guests);
        workers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    return Ok::<_, anyhow::Error>(made);
                }
                let event_id = &events[index % events.len()];
                made.push((index, invite(&api, event_id, index).await?));
            }
        }));
    }
    let mut invited = Vec::with_capacity(options.guests);
    for worker in workers {
        invited.extend(worker.await.context("a setup worker stopped")??);
    }
    invited.sort_by_key(|(index, _)| *index);
    let guests = invited
        .into_iter()
        .map(|(index, token)| {
            Ok(VirtualGuest {
                token,
                browser: browser_of(index)?,
                fingerprint: format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Setup {
        event_ids,
        guests,
        session,
    })
}

/// Adds guest number `index` and issues their link; answers the token.
async fn invite(api: &HostApi, event_id: &str, index: usize) -> anyhow::Result<String> {
    let guests = format!("/api/v1/events/{event_id}/guests");
    let guest = api
        .call(
            Method::POST,
            &guests,
            json!({
                "name": format!("Guest {}", index + 1),
                "email": format!("guest{}@loadgen.example.org", index + 1),
            }),
            "adding a guest",
        )
        .await?;
    let guest_id = string_field(&guest, "id")?;
    let link = api
        .call(
            Method::POST,
            &format!("{guests}/{guest_id}/tokens"),
            Value::Null,
            "issuing a link",
        )
        .await?;
    string_field(&link, "token")
}

/// The HTTP client of guest number `index`, sending from its own loopback address.
fn browser_of(index: usize) -> anyhow::Result<Client> {
    // 127.0.1.1, 127.0.1.2, ... 127.0.1.250, 127.0.2.1, ...: never 127.0.0.x (the host's).
    let net = u8::try_from(1 + index / HOSTS_PER_NET).context("too many guests")?;
    let host = u8::try_from(1 + index % HOSTS_PER_NET).context("too many guests")?;
    let mut headers = header::HeaderMap::new();
    headers.insert(
        header::ACCEPT_LANGUAGE,
        header::HeaderValue::from_static(ACCEPT_LANGUAGE),
    );
    Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, net, host)))
        .user_agent(BROWSER)
        .default_headers(headers)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building a guest's HTTP client")
}

/// The host's API, through their API key.
#[derive(Clone)]
struct HostApi {
    client: Client,
    url: String,
    api_key: String,
}

impl HostApi {
    /// Sends `body` (`Null`: none) and answers the JSON of a 201.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Value,
        what: &str,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.url))
            .bearer_auth(&self.api_key);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{what}: {method} {path}"))?;
        expect(response, StatusCode::CREATED, what).await
    }
}

/// The JSON body of a response with this status, or an error saying what came instead.
async fn expect(
    response: reqwest::Response,
    status: StatusCode,
    what: &str,
) -> anyhow::Result<Value> {
    let got = response.status();
    let text = response.text().await.unwrap_or_default();
    if got != status {
        bail!("{what}: expected {status}, got {got}: {}", clip(&text));
    }
    serde_json::from_str(&text).with_context(|| format!("{what}: the answer is not JSON"))
}

fn string_field(body: &Value, field: &str) -> anyhow::Result<String> {
    body[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the answer has no {field:?}: {}", clip(&body.to_string())))
}

/// The start of a body, on one line, for error messages.
fn clip(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(300).collect()
}

// ----- phases ---------------------------------------------------------------------------

/// One request of a phase.
#[derive(Clone, Debug)]
struct Sample {
    endpoint: &'static str,
    /// `None` when no answer came (connection refused, timeout...).
    status: Option<u16>,
    latency: Duration,
}

struct Openings {
    samples: Vec<Sample>,
    wall: Duration,
    /// The access attempt of each guest's opening, when it was recorded.
    access_log_ids: Vec<Option<String>>,
}

const OPEN: &str = "GET /api/v1/access/{token}";
const SIGNALS: &str = "POST /api/v1/access/{token}/signals";
const RSVP: &str = "POST /api/v1/rsvp/{token}";

/// Every guest opens their link and reports their browser's signals.
async fn open_phase(options: &Options, setup: &Setup) -> Openings {
    let url = options.url.clone();
    let (results, wall) = for_each_guest(options, options.open_rate, setup, move |guest| {
        let url = url.clone();
        async move {
            let mut samples = Vec::with_capacity(2);
            let open = format!("{url}/api/v1/access/{}", guest.token);
            let (sample, body) = timed(OPEN, guest.browser.get(&open), guest.due).await;
            samples.push(sample);
            let access_log_id = body
                .as_ref()
                .and_then(|body| body["access_log_id"].as_str())
                .map(str::to_owned);
            if let Some(id) = &access_log_id {
                let signals = json!({
                    "access_log_id": id,
                    "fingerprint_hash": guest.fingerprint,
                    "time_zone": "Europe/Paris",
                    "screen": "1920x1080",
                });
                let request = guest.browser.post(format!("{open}/signals")).json(&signals);
                samples.push(timed(SIGNALS, request, Instant::now()).await.0);
            }
            (samples, access_log_id)
        }
    })
    .await;
    let mut samples = Vec::new();
    let mut access_log_ids = Vec::new();
    for (guest_samples, id) in results {
        samples.extend(guest_samples);
        access_log_ids.push(id);
    }
    Openings {
        samples,
        wall,
        access_log_ids,
    }
}

struct Answers {
    samples: Vec<Sample>,
    wall: Duration,
    verdicts: Verdicts,
}

/// What the guests were told. A guest never learns a score or band, only whether the
/// answer was taken (201 / 200) or refused as blocked (403): which answers were scored
/// is for the host (or the database) to see.
#[derive(Debug, Default)]
struct Verdicts {
    accepted: usize,
    blocked: usize,
}

impl Verdicts {
    fn render(&self) -> String {
        format!(
            "  verdicts     accepted {}, blocked (403) {}\n",
            self.accepted, self.blocked
        )
    }

    fn to_json(&self) -> Value {
        json!({ "accepted": self.accepted, "blocked": self.blocked })
    }
}

/// Every guest answers "attending" as the opening of the first phase.
async fn rsvp_phase(
    options: &Options,
    setup: &Setup,
    access_log_ids: &[Option<String>],
) -> Answers {
    let url = options.url.clone();
    let ids = Arc::new(access_log_ids.to_vec());
    let (results, wall) = for_each_guest(options, options.rate, setup, move |guest| {
        let (url, ids) = (url.clone(), ids.clone());
        async move {
            let body = json!({
                "response": "attending",
                "plus_ones": 0,
                "access_log_id": ids.get(guest.index).cloned().flatten(),
            });
            let request = guest
                .browser
                .post(format!("{url}/api/v1/rsvp/{}", guest.token))
                .json(&body);
            timed(RSVP, request, guest.due).await
        }
    })
    .await;
    let mut verdicts = Verdicts::default();
    let mut samples = Vec::new();
    for (sample, _) in results {
        match sample.status {
            Some(200 | 201) => verdicts.accepted += 1,
            Some(403) => verdicts.blocked += 1,
            _ => {}
        }
        samples.push(sample);
    }
    Answers {
        samples,
        wall,
        verdicts,
    }
}

/// Live monitors: the host's WebSocket on the event, opened `--monitors` times, each
/// noting every answer pushed to it and how late (its arrival against the row's
/// `changed_at`: client and server share the machine's clock).
struct Monitors {
    sockets: Vec<tokio::task::JoinHandle<anyhow::Result<Vec<Pushed>>>>,
    stop: tokio::sync::watch::Sender<bool>,
}

/// The parts of a monitor's message the load generator reads.
#[derive(serde::Deserialize)]
struct LiveFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    item: Option<LiveItem<'a>>,
}

#[derive(serde::Deserialize)]
struct LiveItem<'a> {
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    guest_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    changed_at: std::borrow::Cow<'a, str>,
}

/// An answer as one monitor received it.
struct Pushed {
    guest_id: String,
    late: Duration,
}

/// What the monitors received.
struct MonitorReport {
    sockets: usize,
    answers: usize,
    pushes: usize,
    /// Answers some monitor never received.
    gaps: usize,
    latency: Latency,
}

impl Monitors {
    /// How long pushes may still arrive after the last answer.
    const SETTLE: Duration = Duration::from_secs(3);

    async fn open(options: &Options, setup: &Setup) -> anyhow::Result<Self> {
        use tokio_tungstenite::tungstenite::{client::IntoClientRequest as _, http::HeaderValue};
        let ws_url = options.url.replacen("http", "ws", 1);
        let address = format!(
            "{ws_url}/api/v1/events/{}/activity/live",
            setup.event_ids[0]
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<anyhow::Result<()>>(64);
        let mut sockets = Vec::with_capacity(options.monitors);
        for _ in 0..options.monitors {
            let mut request = address.as_str().into_client_request()?;
            request.headers_mut().insert(
                "cookie",
                HeaderValue::from_str(&format!("gg_session={}", setup.session))?,
            );
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_str(&options.url)?);
            let (ready, mut stopped) = (ready_tx.clone(), stopped.clone());
            sockets.push(tokio::spawn(async move {
                let (mut socket, _) = match tokio_tungstenite::connect_async(request).await {
                    Ok(socket) => socket,
                    Err(error) => {
                        let error = anyhow!("opening a monitor: {error}");
                        let _ = ready.send(Err(anyhow!("{error}"))).await;
                        return Err(error);
                    }
                };
                let mut pushed = Vec::new();
                let mut said_ready = false;
                loop {
                    let message = tokio::select! {
                        _ = stopped.changed() => break,
                        message = socket.next() => message,
                    };
                    let Some(Ok(message)) = message else {
                        bail!("a monitor's socket ended early");
                    };
                    let Ok(text) = message.to_text() else {
                        continue;
                    };
                    // Only the fields counted are read: the monitors share the
                    // machine with the server they measure.
                    let Ok(body) = serde_json::from_str::<LiveFrame>(text) else {
                        continue;
                    };
                    match (body.kind.as_ref(), body.item) {
                        ("ready", _) if !said_ready => {
                            said_ready = true;
                            let _ = ready.send(Ok(())).await;
                        }
                        ("activity", Some(item)) if item.kind == "answered" => {
                            let late = chrono::DateTime::parse_from_rfc3339(&item.changed_at)
                                .ok()
                                .and_then(|at| {
                                    (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
                                        .to_std()
                                        .ok()
                                })
                                .unwrap_or_default();
                            pushed.push(Pushed {
                                guest_id: item.guest_id.into_owned(),
                                late,
                            });
                        }
                        _ => {}
                    }
                }
                Ok(pushed)
            }));
        }
        drop(ready_tx);
        for _ in 0..options.monitors {
            match tokio::time::timeout(REQUEST_TIMEOUT, ready_rx.recv()).await {
                Ok(Some(Ok(()))) => {}
                Ok(Some(Err(error))) => return Err(error),
                Ok(None) | Err(_) => bail!("a monitor never said it was ready"),
            }
        }
        Ok(Self { sockets, stop })
    }

    /// Lets the last pushes arrive, closes the monitors and reports, `answered` being
    /// how many answers the server accepted.
    async fn finish(self, answered: usize) -> MonitorReport {
        tokio::time::sleep(Self::SETTLE).await;
        let _ = self.stop.send(true);
        let sockets = self.sockets.len();
        let (mut gaps, mut pushes, mut lateness) = (0, 0, Vec::new());
        for socket in self.sockets {
            let received = match socket.await {
                Ok(Ok(received)) => received,
                Ok(Err(_)) | Err(_) => {
                    gaps += answered;
                    continue;
                }
            };
            let distinct: std::collections::BTreeSet<&str> = received
                .iter()
                .map(|pushed| pushed.guest_id.as_str())
                .collect();
            gaps += answered.saturating_sub(distinct.len());
            pushes += received.len();
            lateness.extend(received.iter().map(|pushed| pushed.late));
        }
        MonitorReport {
            sockets,
            answers: answered,
            pushes,
            gaps,
            latency: Latency::of_durations(&lateness),
        }
    }
}

impl MonitorReport {
    fn render(&self) -> String {
        format!(
            "monitor: {} sockets x {} answers: {} pushes received, {} missed; answer -> monitor {}",
            self.sockets,
            self.answers,
            self.pushes,
            self.gaps,
            self.latency.render()
        )
    }

    fn to_json(&self) -> Value {
        json!({
            "sockets": self.sockets,
            "answers": self.answers,
            "pushes": self.pushes,
            "gaps": self.gaps,
            "latency_ms": self.latency.to_json(),
        })
    }
}

/// A guest as a phase's task sees them.
struct GuestTurn {
    index: usize,
    token: String,
    browser: Client,
    fingerprint: String,
    /// When the guest's first request was due: latency counts from here, so time spent
    /// waiting for a free slot (open loop) is not hidden.
    due: Instant,
}

/// Runs `visit` for every guest, closed loop (`concurrency` at a time) or, with a
/// `rate`, open loop: one guest every 1/rate seconds whether or not earlier ones were
/// answered — and answers the results in guest order and the wall time of the phase.
async fn for_each_guest<F, Fut, T>(
    options: &Options,
    rate: Option<f64>,
    setup: &Setup,
    visit: F,
) -> (Vec<T>, Duration)
where
    F: Fn(GuestTurn) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let guests = Arc::new(setup.guests.clone());
    let turn = move |guests: &[VirtualGuest], index: usize, due: Instant| {
        guests.get(index).map(|guest| GuestTurn {
            index,
            token: guest.token.clone(),
            browser: guest.browser.clone(),
            fingerprint: guest.fingerprint.clone(),
            due,
        })
    };
    let started = Instant::now();
    let mut results = Vec::with_capacity(guests.len());
    if let Some(rate) = rate {
        let mut tasks = Vec::with_capacity(guests.len());
        for index in 0..guests.len() {
            let due = started + Duration::from_secs_f64(index as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
            if let Some(turn) = turn(&guests, index, due) {
                tasks.push((index, tokio::spawn(visit.clone()(turn))));
            }
        }
        for (index, task) in tasks {
            // A task only fails by panicking, which this program does not do.
            if let Ok(result) = task.await {
                results.push((index, result));
            }
        }
    } else {
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for _ in 0..options.concurrency {
            let (guests, next, visit) = (guests.clone(), next.clone(), visit.clone());
            workers.push(tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(turn) = turn(&guests, index, Instant::now()) else {
                        return done;
                    };
                    done.push((index, visit(turn).await));
                }
            }));
        }
        for worker in workers {
            if let Ok(done) = worker.await {
                results.extend(done);
            }
        }
    }
    let wall = started.elapsed();
    results.sort_by_key(|(index, _)| *index);
    (
        results.into_iter().map(|(_, result)| result).collect(),
        wall,
    )
}

/// Sends a request and reads its whole body; answers the sample and the body as JSON.
/// The latency counts from `since` (when the request was due).
async fn timed(
    endpoint: &'static str,
    request: reqwest::RequestBuilder,
    since: Instant,
) -> (Sample, Option<Value>) {
    let started = since;
    let (status, body) = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(bytes) => (Some(status), serde_json::from_slice(&bytes).ok()),
                Err(_) => (None, None),
            }
        }
        Err(_) => (None, None),
    };
    let sample = Sample {
        endpoint,
        status,
        latency: started.elapsed(),
    };
    (sample, body)
}

// ----- reports --------------------------------------------------------------------------

/// The numbers of one phase.
struct Report {
    phase: &'static str,
    requests: usize,
    /// Non-2xx answers by status (`transport` when none came).
    errors: BTreeMap<String, usize>,
    wall: Duration,
    overall: Latency,
    /// Per endpoint, when the phase has more than one.
    endpoints: Vec<(&'static str, Latency)>,
}

/// Latency distribution of some requests.
#[derive(Clone, Copy, Debug, Default)]
struct Latency {
    count: usize,
    min: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

impl Latency {
    fn of(samples: &[&Sample]) -> Self {
        Self::of_millis(samples.iter().map(|s| millis(s.latency)).collect())
    }

    fn of_durations(durations: &[Duration]) -> Self {
        Self::of_millis(durations.iter().map(|d| millis(*d)).collect())
    }

    fn of_millis(mut ms: Vec<f64>) -> Self {
        if ms.is_empty() {
            return Self::default();
        }
        ms.sort_by(f64::total_cmp);
        // Nearest rank.
        let rank = |p: f64| {
            let index = ((p / 100.0) * ms.len() as f64).ceil() as usize;
            ms[index.clamp(1, ms.len()) - 1]
        };
        Self {
            count: ms.len(),
            min: ms[0],
            p50: rank(50.0),
            p95: rank(95.0),
            p99: rank(99.0),
            max: ms[ms.len() - 1],
        }
    }

    fn render(&self) -> String {
        format!(
            "min {:.1}  p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}",
            self.min, self.p50, self.p95, self.p99, self.max
        )
    }

    fn to_json(self) -> Value {
        json!({
            "count": self.count,
            "min": round(self.min),
            "p50": round(self.p50),
            "p95": round(self.p95),
            "p99": round(self.p99),
            "max": round(self.max),
        })
    }
}

impl Report {
    fn of(phase: &'static str, samples: &[Sample], wall: Duration) -> Self {
        let mut errors = BTreeMap::new();
        for sample in samples {
            match sample.status {
                Some(status) if (200..300).contains(&status) => {}
                Some(status) => *errors.entry(status.to_string()).or_default() += 1,
                None => *errors.entry("transport".to_owned()).or_default() += 1,
            }
        }
        let mut endpoints: Vec<&'static str> = samples.iter().map(|s| s.endpoint).collect();
        endpoints.sort_unstable();
        endpoints.dedup();
        let endpoints = if endpoints.len() > 1 {
            endpoints
                .into_iter()
                .map(|endpoint| {
                    let of: Vec<&Sample> =
                        samples.iter().filter(|s| s.endpoint == endpoint).collect();
                    (endpoint, Latency::of(&of))
                })
                .collect()
        } else {
            Vec::new()
        };
        Self {
            phase,
            requests: samples.len(),
            errors,
            wall,
            overall: Latency::of(&samples.iter().collect::<Vec<_>>()),
            endpoints,
        }
    }

    fn error_count(&self) -> usize {
        self.errors.values().sum()
    }

    fn throughput(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }

    fn render(&self, label: &str) -> String {
        let errors = if self.errors.is_empty() {
            "0".to_owned()
        } else {
            let by_status = self
                .errors
                .iter()
                .map(|(status, n)| format!("{status}: {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("{} ({by_status})", self.error_count())
        };
        let mut text = format!(
            "== phase {}{} ==\n  requests     {}\n  errors       {errors}\n  wall time    {:.2} s\n  throughput   {:.1} req/s\n  latency ms   {}\n",
            self.phase,
            label_suffix(label),
            self.requests,
            self.wall.as_secs_f64(),
            self.throughput(),
            self.overall.render(),
        );
        for (endpoint, latency) in &self.endpoints {
            text.push_str(&format!(
                "    {endpoint:<38} n {:<5} {}\n",
                latency.count,
                latency.render()
            ));
        }
        text
    }

    fn to_json(&self) -> Value {
        json!({
            "requests": self.requests,
            "errors": self.error_count(),
            "errors_by_status": self.errors,
            "wall_s": round(self.wall.as_secs_f64()),
            "throughput_rps": round(self.throughput()),
            "latency_ms": self.overall.to_json(),
            "endpoints": self
                .endpoints
                .iter()
                .map(|(endpoint, latency)| (endpoint.to_string(), latency.to_json()))
                .collect::<serde_json::Map<_, _>>(),
        })
    }
}

fn label_suffix(label: &str) -> String {
    if label.is_empty() {
        String::new()
    } else {
        format!(" [{label}]")
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Two decimals are plenty for milliseconds and requests per second.
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
