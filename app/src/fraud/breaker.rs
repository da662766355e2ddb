//! The circuit breaker of the RSVP's `Score` call: while the engine keeps failing, an
//! answer does not wait out the deadline for a call that will fail too — it is recorded
//! at once as the event's "engine unavailable" policy says, and scored later by the
//! asynchronous path like any other unscored answer.
//!
//! | state     | a `Score` call                          | moves to                                   |
//! |-----------|-----------------------------------------|--------------------------------------------|
//! | closed    | is made                                 | open after `failures` failures in a row    |
//! | open      | is skipped (unscored at once)           | half-open once `pause` has passed          |
//! | half-open | one probe is made, the others skipped   | closed if it scores, open again if it fails |
//!
//! A failure is anything but an answer: a timeout, a refused or broken connection, an
//! engine error. The state is this process's own view of the engine's health, on
//! purpose: each replica finds out for itself, nothing is shared or stored, and a
//! restart starts closed.

use serde::Serialize;
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};

/// When the breaker opens and how long it stays open
/// (`GUESTGUARD_FRAUD_BREAKER_FAILURES`, `GUESTGUARD_FRAUD_BREAKER_PAUSE_MS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Failed calls in a row that open the breaker (at least 1).
    pub failures: u32,
    /// How long it stays open before one call probes the engine again.
    pub pause: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failures: 5,
            pause: Duration::from_millis(2_000),
        }
    }
}

/// Where the breaker stands, as `/healthz/detail` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls are made.
    Closed,
    /// Calls are skipped until the pause is over.
    Open,
    /// One probe is on its way; other calls are skipped until it returns.
    HalfOpen,
}

/// What the breaker lets a caller do.
#[must_use = "a call that was let through must report how it went"]
#[derive(Debug)]
pub enum Admission<'a> {
    /// Make the call and report it with [`Call::succeeded`] or [`Call::failed`].
    Call(Call<'a>),
    /// Do not call: the engine is failing.
    Skip,
}

/// A call the breaker let through. Dropped without a report (its request was
/// cancelled), it counts as neither: a probe frees the half-open slot for the next call.
#[derive(Debug)]
pub struct Call<'a> {
    breaker: &'a Breaker,
    probe: bool,
    reported: bool,
}

impl Call<'_> {
    /// The engine answered.
    pub fn succeeded(mut self) {
        self.reported = true;
        self.breaker.on_success(self.probe);
    }

    /// The engine did not answer (in time).
    pub fn failed(self) {
        self.failed_at(Instant::now());
    }

    fn failed_at(mut self, now: Instant) {
        self.reported = true;
        self.breaker.on_failure_at(self.probe, now);
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        if !self.reported && self.probe {
            if let Inner::HalfOpen { probing } = &mut *self.breaker.lock() {
                *probing = false;
            }
        }
    }
}

/// The breaker's counters and state, for operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BreakerReport {
    pub state: BreakerState,
    /// Failed calls in a row so far (while closed).
    pub consecutive_failures: u32,
    /// Calls skipped because the breaker was open, since the process started.
    pub skipped: u64,
    /// How many times the breaker opened, since the process started.
    pub opened: u64,
}

#[derive(Debug)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// One process's circuit breaker in front of the engine (in `AppState`).
#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    state: Mutex<Inner>,
    skipped: AtomicU64,
    opened: AtomicU64,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            settings: BreakerSettings {
                failures: settings.failures.max(1),
                ..settings
            },
            state: Mutex::new(Inner::Closed { failures: 0 }),
            skipped: AtomicU64::new(0),
            opened: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state is a few plain values, always left consistent: a panic elsewhere
        // while it was held changes nothing about it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a call may be made now.
    pub fn admit(&self) -> Admission<'_> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Admission<'_> {
        let mut state = self.lock();
        let probe = match &mut *state {
            Inner::Closed { .. } => false,
            Inner::Open { until } if now < *until => return self.skip(),
            Inner::Open { .. } => {
                *state = Inner::HalfOpen { probing: true };
                tracing::info!("fraud engine breaker half-open: probing the engine");
                true
            }
            Inner::HalfOpen { probing: true } => return self.skip(),
            Inner::HalfOpen { probing } => {
                *probing = true;
                true
            }
        };
        Admission::Call(Call {
            breaker: self,
            probe,
            reported: false,
        })
    }

    fn skip(&self) -> Admission<'_> {
        self.skipped.fetch_add(1, Ordering::Relaxed);
        Admission::Skip
    }

    fn on_success(&self, probe: bool) {
        let mut state = self.lock();
        match &*state {
            Inner::Closed { .. } => {}
            // A call made before the breaker opened, answering late, proves nothing
            // about now; only the probe closes an open breaker.
            Inner::Open { .. } | Inner::HalfOpen { .. } if !probe => return,
            Inner::Open { .. } | Inner::HalfOpen { .. } => {
                tracing::info!("fraud engine breaker closed: the engine answers again");
            }
        }
        *state = Inner::Closed { failures: 0 };
    }

    fn on_failure_at(&self, probe: bool, now: Instant) {
        let mut state = self.lock();
        let open = match &mut *state {
            Inner::Closed { failures } => {
                *failures += 1;
                *failures >= self.settings.failures
            }
            Inner::HalfOpen { .. } => probe,
            // A call made before the breaker opened, failing late: already open.
            Inner::Open { .. } => false,
        };
        if open {
            *state = Inner::Open {
                until: now + self.settings.pause,
            };
            self.opened.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                failures = self.settings.failures,
                pause_ms = self.settings.pause.as_millis() as u64,
                "fraud engine breaker open: answers are recorded unscored without calling the engine"
            );
        }
    }

    /// The state and counters.
    pub fn report(&self) -> BreakerReport {
        let (state, consecutive_failures) = match *self.lock() {
            Inner::Closed { failures } => (BreakerState::Closed, failures),
            Inner::Open { .. } => (BreakerState::Open, 0),
            Inner::HalfOpen { .. } => (BreakerState::HalfOpen, 0),
        };
        BreakerReport {
            state,
            consecutive_failures,
            skipped: self.skipped.load(Ordering::Relaxed),
            opened: self.opened.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(failures: u32) -> Breaker {
        Breaker::new(BreakerSettings {
            failures,
            pause: Duration::from_secs(2),
        })
    }

    fn call(admission: Admission<'_>) -> Call<'_> {
        match admission {
            Admission::Call(call) => call,
            Admission::Skip => panic!("the call was skipped"),
        }
    }

    #[test]
    fn it_opens_after_the_configured_failures_in_a_row_and_skips_calls() {
        let breaker = breaker(3);
        for _ in 0..2 {
            call(breaker.admit()).failed();
        }
        assert_eq!(breaker.report().state, BreakerState::Closed);
        assert_eq!(breaker.report().consecutive_failures, 2);
        call(breaker.admit()).failed();
        assert_eq!(breaker.report().state, BreakerState::Open);
        assert!(matches!(breaker.admit(), Admission::Skip));
        assert_eq!(breaker.report().skipped, 1);
        assert_eq!(breaker.report().opened, 1);
    }

    #[test]
    fn a_success_forgets_earlier_failures() {
        let breaker = breaker(2);
        call(breaker.admit()).failed();
        call(breaker.admit()).succeeded();
        call(breaker.admit()).failed();
        assert_eq!(breaker.report().state, BreakerState::Closed);
    }

    #[test]
    fn after_the_pause_one_probe_goes_and_its_success_closes_the_breaker() {
        let breaker = breaker(1);
        let start = Instant::now();
        call(breaker.admit_at(start)).failed_at(start);
        assert!(matches!(breaker.admit_at(start), Admission::Skip));
        let later = start + Duration::from_secs(3);
        let probe = call(breaker.admit_at(later));
        assert_eq!(breaker.report().state, BreakerState::HalfOpen);
        assert!(
            matches!(breaker.admit_at(later), Admission::Skip),
            "one probe at a time"
        );
        probe.succeeded();
        assert_eq!(breaker.report().state, BreakerState::Closed);
        call(breaker.admit_at(later)).succeeded();
    }

    #[test]
    fn a_failed_probe_opens_the_breaker_for_another_pause() {
        let breaker = breaker(1);
        let start = Instant::now();
        call(breaker.admit_at(start)).failed_at(start);
        let later = start + Duration::from_secs(3);
        call(breaker.admit_at(later)).failed_at(later);
        assert_eq!(breaker.report().state, BreakerState::Open);
        assert_eq!(breaker.report().opened, 2);
        assert!(matches!(
            breaker.admit_at(later + Duration::from_secs(1)),
            Admission::Skip
        ));
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_call_probe() {
        let breaker = breaker(1);
        let start = Instant::now();
        call(breaker.admit_at(start)).failed_at(start);
        let later = start + Duration::from_secs(3);
        drop(call(breaker.admit_at(later)));
        assert_eq!(breaker.report().state, BreakerState::HalfOpen);
        call(breaker.admit_at(later)).succeeded();
        assert_eq!(breaker.report().state, BreakerState::Closed);
    }

    #[test]
    fn zero_failures_is_taken_as_one() {
        let breaker = breaker(0);
        call(breaker.admit()).failed();
        assert_eq!(breaker.report().state, BreakerState::Open);
    }
}
