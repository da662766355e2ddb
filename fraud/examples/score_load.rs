//! An open-loop load generator for the engine's `Score` RPC alone: how long one score
//! takes at a fixed rate of calls, with nothing else (no web server, no database) in
//! the way.
//!
//! For each `--rates` entry it sends calls at that rate for `--seconds` (after one
//! second of warm-up at the same rate, not counted). Each call's latency is counted
//! from the moment it was due, not from when it was sent, so an engine that stalls
//! cannot hide its queue (no coordinated omission). First every one of `--guests`
//! guests opens its link once (scored, not counted: the opening that comes before an
//! RSVP), then the measured calls are RSVPs of those guests in turn, each from its
//! device and address, as the web server sends them; every call reads the guest's,
//! device's and origin's baselines and records the access in them, as in production.
//!
//! ```sh
//! cargo run --release -p fraud --example score_load -- --url http://127.0.0.1:50059 \
//!     [--rates 100,500,1000] [--seconds 10] [--guests 2000]
//! ```
//!
//! The service token is `FRAUD_GRPC_TOKEN`, else the development one. It prints one
//! line per rate and, last, one `RESULT [...]` JSON line for scripts; it exits with
//! status 1 when the engine cannot be reached or a call fails.

use proto::{
    fraud::v1::{fraud_service_client::FraudServiceClient, ClientSignals, ScoreRequest},
    grpc_auth::AttachToken,
};
use sha2::{Digest as _, Sha256};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tonic::{service::interceptor::InterceptedService, transport::Channel};
use uuid::Uuid;

/// A call slower than this counts as failed (the web server gives up after 250 ms).
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
const WARM_UP: Duration = Duration::from_secs(1);
/// Openings per second before the measured calls.
const OPENING_RATE: u32 = 500;
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

type Client = FraudServiceClient<InterceptedService<Channel, AttachToken>>;

struct Options {
    url: String,
    rates: Vec<u32>,
    seconds: u64,
    guests: u32,
}

const USAGE: &str =
    "usage: score_load --url URL [--rates 100,500,1000] [--seconds 10] [--guests 2000]";

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        url: String::new(),
        rates: vec![100, 500, 1000],
        seconds: 10,
        guests: 2000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => options.url = value()?,
            "--rates" => {
                options.rates = value()?
                    .split(',')
                    .map(|rate| positive(&flag, rate.trim()))
                    .collect::<Result<_, _>>()?;
            }
            "--seconds" => options.seconds = positive(&flag, &value()?)?.into(),
            "--guests" => options.guests = positive(&flag, &value()?)?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if options.url.is_empty() {
        return Err("--url is required".into());
    }
    Ok(options)
}

/// A positive whole number given to `flag`.
fn positive(flag: &str, value: &str) -> Result<u32, String> {
    value.parse::<u32>().ok().filter(|n| *n > 0).ok_or(format!(
        "{flag} must be a positive number (or numbers separated by commas), not {value:?}"
    ))
}

#[tokio::main]
async fn main() {
    let options = match parse_options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("score_load: {error}\n{USAGE}");
            std::process::exit(2);
        }
    };
    match run(options).await {
        Ok(results) => println!("RESULT {}", serde_json::Value::Array(results)),
        Err(error) => {
            eprintln!("score_load: error: {error}");
            std::process::exit(1);
        }
    }
}

async fn run(options: Options) -> Result<Vec<serde_json::Value>, String> {
    let token = std::env::var("FRAUD_GRPC_TOKEN")
        .unwrap_or_else(|_| proto::grpc_auth::DEVELOPMENT_TOKEN.to_owned());
    let token = AttachToken::new(&token.into()).ok_or("FRAUD_GRPC_TOKEN is not a header value")?;
    let channel = Channel::from_shared(options.url.clone())
        .map_err(|e| format!("bad --url: {e}"))?
        .connect()
        .await
        .map_err(|e| format!("cannot reach the engine at {}: {e}", options.url))?;
    let client = FraudServiceClient::new(InterceptedService::new(channel, token));
    // A run of its own: events and guests nobody has seen, so every run starts alike.
    let run_id = unique_run_id();
    let mut results = Vec::new();
    // The openings, at a moderate rate.
    let mut next_guest = 0u64;
    let openings = Duration::from_secs_f64(f64::from(options.guests) / f64::from(OPENING_RATE));
    calls(
        &client,
        OPENING_RATE,
        openings,
        &run_id,
        options.guests,
        &mut next_guest,
        false,
    )
    .await?;
    for &rate in &options.rates {
        calls(
            &client,
            rate,
            WARM_UP,
            &run_id,
            options.guests,
            &mut next_guest,
            true,
        )
        .await?;
        let measured = Duration::from_secs(options.seconds);
        let Latencies {
            mut from_due,
            mut from_sent,
        } = calls(
            &client,
            rate,
            measured,
            &run_id,
            options.guests,
            &mut next_guest,
            true,
        )
        .await?;
        from_due.sort_by(f64::total_cmp);
        from_sent.sort_by(f64::total_cmp);
        let result = serde_json::json!({
            "rate": rate,
            "calls": from_due.len(),
            "p50_ms": quantile(&from_due, 0.50),
            "p90_ms": quantile(&from_due, 0.90),
            "p99_ms": quantile(&from_due, 0.99),
            "p999_ms": quantile(&from_due, 0.999),
            "max_ms": quantile(&from_due, 1.0),
            "service_p50_ms": quantile(&from_sent, 0.50),
            "service_p99_ms": quantile(&from_sent, 0.99),
        });
        println!(
            "Score at {rate}/s: {} calls, p50 {} / p90 {} / p99 {} / p99.9 {} / max {} ms \
             (from sending: p50 {} / p99 {} ms)",
            from_due.len(),
            result["p50_ms"],
            result["p90_ms"],
            result["p99_ms"],
            result["p999_ms"],
            result["max_ms"],
            result["service_p50_ms"],
            result["service_p99_ms"],
        );
        results.push(result);
    }
    Ok(results)
}

/// Latencies of calls in milliseconds: counted from when each was due (what a caller
/// at that rate sees), and from when it was sent (the engine's service time alone, for
/// diagnosis: the difference is time the generator itself was late).
#[derive(Default)]
struct Latencies {
    from_due: Vec<f64>,
    from_sent: Vec<f64>,
}

/// The `q` quantile of sorted samples.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    round(sorted[index - 1])
}

/// Sends `rate` calls a second for `span`; the latency of each.
async fn calls(
    client: &Client,
    rate: u32,
    span: Duration,
    run_id: &Uuid,
    guests: u32,
    next_guest: &mut u64,
    is_rsvp: bool,
) -> Result<Latencies, String> {
    let count = (span.as_secs_f64() * f64::from(rate)).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let event_id = Arc::new(derive(run_id, "event", 0).to_string());
    let mut ticks = pace(Instant::now(), interval, count);
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(due) = ticks.recv().await {
        let guest = (*next_guest % u64::from(guests)) as u32;
        *next_guest += 1;
        let request = access(run_id, &event_id, guest, is_rsvp);
        let mut client = client.clone();
        tasks.spawn(async move {
            let sent = Instant::now();
            let answer = tokio::time::timeout(CALL_TIMEOUT, client.score(request)).await;
            let done = Instant::now();
            match answer {
                Ok(Ok(_)) => Ok((
                    millis(done.saturating_duration_since(due)),
                    millis(done.saturating_duration_since(sent)),
                )),
                Ok(Err(status)) => Err(format!("Score failed: {status}")),
                Err(_) => Err(format!("Score took longer than {CALL_TIMEOUT:?}")),
            }
        });
    }
    let mut latencies = Latencies::default();
    while let Some(done) = tasks.join_next().await {
        let (from_due, from_sent) = done.map_err(|e| format!("a call panicked: {e}"))??;
        latencies.from_due.push(from_due);
        latencies.from_sent.push(from_sent);
    }
    Ok(latencies)
}

/// Yields each of `count` calls' due times as it comes, `interval` apart from `start`.
/// An OS thread keeps the time: the runtime's timer counts whole milliseconds, which
/// would make every call up to a millisecond late before it is even sent.
fn pace(
    start: Instant,
    interval: Duration,
    count: u64,
) -> tokio::sync::mpsc::UnboundedReceiver<Instant> {
    let (due_times, ticks) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for n in 0..count {
            let due = start + interval.mul_f64(n as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if due_times.send(due).is_err() {
                return;
            }
        }
    });
    ticks
}

/// An opening or the RSVP of guest `guest` of the run, from its own device and address.
fn access(run_id: &Uuid, event_id: &str, guest: u32, is_rsvp: bool) -> ScoreRequest {
    let device: String = Sha256::digest(format!("{run_id} device {guest}").as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    ScoreRequest {
        event_id: event_id.to_owned(),
        guest_id: derive(run_id, "guest", guest).to_string(),
        token_id: derive(run_id, "token", guest).to_string(),
        access_log_id: String::new(),
        accessed_at: String::new(),
        ip: format!(
            "10.{}.{}.{}",
            (guest >> 16) & 0xff,
            (guest >> 8) & 0xff,
            guest & 0xff
        ),
        user_agent: BROWSER.to_owned(),
        accept_language: "en-GB,en;q=0.9".to_owned(),
        signals: Some(ClientSignals {
            device_key: device,
            js_enabled: true,
            ..Default::default()
        }),
        is_rsvp,
        sensitivity: 0,
        event_starts_at: event_starts_at(),
    }
}

/// When the run's event starts, as the web server always says (what the engine learns
/// expires a while after it): four weeks after the run began.
fn event_starts_at() -> String {
    static STARTS_AT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    STARTS_AT
        .get_or_init(|| (chrono::Utc::now() + chrono::Duration::days(28)).to_rfc3339())
        .clone()
}

/// A UUID derived from the run, a kind and a number (distinct for every triple).
fn derive(run_id: &Uuid, kind: &str, n: u32) -> Uuid {
    let digest = Sha256::digest(format!("{run_id} {kind} {n}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A UUID unique to this run, from the clock and the process id.
fn unique_run_id() -> Uuid {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    derive(&Uuid::from_u128(now.as_nanos()), "run", std::process::id())
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
