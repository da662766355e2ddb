//! The HTTP server loop, with the limits a public server needs (`HttpLimits`):
//!
//! - at most `max_connections` connections are served at once; further ones wait in the
//!   kernel's listen queue (the loop stops accepting until a slot frees);
//! - a client has `header_timeout` to send a request's headers — counted from when the
//!   connection waits for them, so a slowloris client trickling bytes is cut off and a
//!   kept-alive HTTP/1 connection waits no longer than that for its next request;
//! - a connection with no request in flight for `idle_timeout` is closed (HTTP/1 and
//!   HTTP/2);
//! - on stop, the listener closes at once (a proxy's new connections are refused, so it
//!   sends them to another replica), every answer from then on carries
//!   `Connection: close`, and connections kept alive are left open for `drain_linger`
//!   (above the proxy's own keepalive timeout) before they are shut down gracefully
//!   (HTTP/2 gets GOAWAY): closing an idle kept-alive connection at once would race a
//!   request the proxy is sending on it, which it would not retry if it is a POST. The
//!   loop waits up to `drain_linger + shutdown_grace` for the connections.
//!
//! Each request carries its TCP peer as `ConnectInfo<SocketAddr>` (who the client really
//! is is decided by `app::edge::client`). The per-request deadline is a router layer
//! (`startup::request_deadline`).

use app::settings::HttpLimits;
use axum::{body::Body, extract::ConnectInfo, Router};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt as _;

/// Serves `router` on `listener` until `stop`, then drains (see the module doc).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = TaskTracker::new();
    let drain = CancellationToken::new();
    loop {
        let slot = tokio::select! {
            _ = stop.cancelled() => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or a connection reset before accept: wait a
                    // little rather than spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let drain = drain.clone();
        connections.spawn(async move {
            serve_connection(stream, peer, router, limits, drain).await;
            drop(slot);
        });
    }
    drop(listener);
    let open = connections.len();
    if open > 0 {
        tracing::info!(open, "draining connections");
    }
    drain.cancel();
    connections.close();
    if tokio::time::timeout(
        limits.drain_linger + limits.shutdown_grace,
        connections.wait(),
    )
    .await
    .is_err()
    {
        tracing::warn!(
            still_open = connections.len(),
            grace_secs = limits.shutdown_grace.as_secs(),
            "connections still busy after the shutdown grace; closing them"
        );
    }
    Ok(())
}

/// Serves one connection until the client closes it, it idles out, or the server drains.
async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: HttpLimits,
    drain: CancellationToken,
) {
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = activity.clone();
        let drain = drain.clone();
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let http1 = request.version() <= hyper::Version::HTTP_11;
            let busy = activity.begin();
            let answer = router.clone().oneshot(request.map(Body::new));
            let drain = drain.clone();
            async move {
                let mut response = answer.await;
                if http1 && drain.is_cancelled() {
                    if let Ok(response) = response.as_mut() {
                        response.headers_mut().insert(
                            hyper::header::CONNECTION,
                            hyper::header::HeaderValue::from_static("close"),
                        );
                    }
                }
                drop(busy);
                response
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.idle_timeout / 2))
        .keep_alive_timeout(limits.header_timeout);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut closing = false;
    let linger = async {
        drain.cancelled().await;
        tokio::time::sleep(limits.drain_linger).await;
    };
    tokio::pin!(linger);
    loop {
        tokio::select! {
            finished = connection.as_mut() => {
                if let Err(error) = finished {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            _ = &mut linger, if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = activity.idle_for(limits.idle_timeout), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Requests in flight on one connection and when the last one finished.
struct Activity {
    start: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds since `start` when the last request finished (or the connection
    /// opened).
    last_done_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_done_ms: AtomicU64::new(0),
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// Resolves once the connection has had no request in flight for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let wait = if self.in_flight.load(Ordering::SeqCst) > 0 {
                idle
            } else {
                let done = Duration::from_millis(self.last_done_ms.load(Ordering::SeqCst));
                let quiet = self.start.elapsed().saturating_sub(done);
                match idle.checked_sub(quiet) {
                    Some(left) if !left.is_zero() => left,
                    _ => return,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// A request in flight; finishing it (dropping this) stamps the connection's activity.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let now = self.0.start.elapsed().as_millis() as u64;
        self.0.last_done_ms.store(now, Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
