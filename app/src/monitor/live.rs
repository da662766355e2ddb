//! The monitor page's socket in the browser: connects to
//! `/api/v1/events/{id}/activity/live` on the page's own origin, hands every message to
//! the page, and reconnects after a drop with a growing, jittered delay (0.3 s doubling
//! to 10 s). A close with 4001 (the session ended) stops it: signing in again is the
//! host's move. The page catches up on each `ready` (see `pages.rs`), so a reconnection
//! leaves no gap.

use super::{close, LiveMessage};
use leptos::wasm_bindgen::{closure::Closure, JsCast as _};
use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};
use uuid::Uuid;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// Where the socket stands, for the page's status line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Live,
    Reconnecting,
    SessionEnded,
}

impl LinkState {
    /// `data-state` of the status line (browser tests read it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Reconnecting => "reconnecting",
            Self::SessionEnded => "ended",
        }
    }
}

/// Longest wait between two connection attempts, in milliseconds.
const MAX_DELAY_MS: u32 = 10_000;
/// First wait after a drop, in milliseconds.
const FIRST_DELAY_MS: u32 = 300;

/// A socket's event handler, kept alive as long as the socket may call it.
type Handler<E> = RefCell<Option<Closure<dyn FnMut(E)>>>;

/// One live connection that keeps itself up; [`Live::stop`] ends it.
pub struct Live {
    url: String,
    attempts: Cell<u32>,
    stopped: Cell<bool>,
    socket: RefCell<Option<WebSocket>>,
    on_message: Handler<MessageEvent>,
    on_close: Handler<CloseEvent>,
    deliver: Box<dyn Fn(LiveMessage)>,
    report: Box<dyn Fn(LinkState)>,
}

impl Live {
    /// Connects to the feed of `event_id`; `deliver` gets every message, `report` every
    /// change of the link's state.
    pub fn start(
        event_id: Uuid,
        deliver: impl Fn(LiveMessage) + 'static,
        report: impl Fn(LinkState) + 'static,
    ) -> Rc<Self> {
        let location = web_sys::window().map(|w| w.location());
        let secure = location
            .as_ref()
            .and_then(|l| l.protocol().ok())
            .is_some_and(|p| p == "https:");
        let host = location.and_then(|l| l.host().ok()).unwrap_or_default();
        let scheme = if secure { "wss" } else { "ws" };
        let live = Rc::new(Self {
            url: format!("{scheme}://{host}/api/v1/events/{event_id}/activity/live"),
            attempts: Cell::new(0),
            stopped: Cell::new(false),
            socket: RefCell::new(None),
            on_message: RefCell::new(None),
            on_close: RefCell::new(None),
            deliver: Box::new(deliver),
            report: Box::new(report),
        });
        Self::open(&live);
        live
    }

    /// Closes the socket for good (the page is left).
    pub fn stop(&self) {
        self.stopped.set(true);
        if let Some(socket) = self.socket.borrow_mut().take() {
            socket.set_onclose(None);
            socket.set_onmessage(None);
            let _ = socket.close();
        }
    }

    fn open(live: &Rc<Self>) {
        if live.stopped.get() {
            return;
        }
        (live.report)(if live.attempts.get() == 0 {
            LinkState::Connecting
        } else {
            LinkState::Reconnecting
        });
        let Ok(socket) = WebSocket::new(&live.url) else {
            Self::retry(live);
            return;
        };
        let on_message = {
            let live = Rc::downgrade(live);
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let Some(live) = live.upgrade() else { return };
                let Some(text) = event.data().as_string() else {
                    return;
                };
                if let Ok(message) = serde_json::from_str::<LiveMessage>(&text) {
                    if message == LiveMessage::Ready {
                        live.attempts.set(0);
                        (live.report)(LinkState::Live);
                    }
                    (live.deliver)(message);
                }
            })
        };
        let on_close = {
            let live = Rc::downgrade(live);
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                let Some(live) = live.upgrade() else { return };
                if event.code() == close::SESSION_ENDED {
                    live.stopped.set(true);
                    (live.report)(LinkState::SessionEnded);
                } else {
                    Self::retry(&live);
                }
            })
        };
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        *live.on_message.borrow_mut() = Some(on_message);
        *live.on_close.borrow_mut() = Some(on_close);
        *live.socket.borrow_mut() = Some(socket);
    }

    /// Connects again after a delay that grows with each failed attempt.
    fn retry(live: &Rc<Self>) {
        if live.stopped.get() {
            return;
        }
        let attempt = live.attempts.get();
        live.attempts.set(attempt.saturating_add(1));
        (live.report)(LinkState::Reconnecting);
        let delay = FIRST_DELAY_MS
            .saturating_mul(1 << attempt.min(6))
            .min(MAX_DELAY_MS);
        let jitter = (js_sys::Math::random() * f64::from(delay) * 0.3) as u32;
        let live = Rc::clone(live);
        gloo_timers::callback::Timeout::new(delay + jitter, move || Self::open(&live)).forget();
    }
}
