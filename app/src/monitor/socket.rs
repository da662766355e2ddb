//! One host's live monitor socket (`GET /api/v1/events/{id}/activity/live`, upgraded):
//! who may open it is decided in `rest.rs` (the event's host, by session from our own
//! origin or by API key); this is the socket's life afterwards.
//!
//! | what happens | what the socket does |
//! | --- | --- |
//! | opened | sends `{"type":"ready"}`, then every change of the event as it comes |
//! | the host's session ends (signed out, expired, revoked key) | closes with 4001 `session_ended` (checked every [`SESSION_CHECK`]) |
//! | the client falls [`super::hub::CHANNEL_CAPACITY`] messages behind, or a send takes over [`SEND_TIMEOUT`] | closes with 4008 `too_slow` |
//! | the server stops | closes with 1012 (service restart) |
//! | the client closes, or sends garbage | closes |

use super::{close, hub::Frame, LiveMessage};
use crate::state::AppState;
use axum::{
    extract::ws::{CloseFrame, Message, WebSocket},
    http::HeaderMap,
};
use futures::{SinkExt as _, StreamExt as _};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

/// How often the socket checks that the host is still signed in.
pub const SESSION_CHECK: Duration = Duration::from_secs(10);
/// Longest a single send may take before the client counts as too slow.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest message a client may send (it has nothing to say but pings).
pub const MAX_CLIENT_MESSAGE: usize = 1024;

/// Serves one socket of `host_id` on `event_id` until it ends (see the module doc).
/// `credentials` are the upgrade request's headers (cookie or bearer key), checked
/// again every [`SESSION_CHECK`].
pub async fn serve(
    socket: WebSocket,
    state: AppState,
    host_id: Uuid,
    event_id: Uuid,
    credentials: HeaderMap,
) {
    let mut pushed = state.activity.subscribe(event_id);
    let (mut sink, mut incoming) = socket.split();
    let ready = serde_json::to_string(&LiveMessage::Ready).unwrap_or_default();
    if sink.send(Message::Text(ready.into())).await.is_err() {
        return;
    }
    tracing::info!(%event_id, "monitor socket opened");
    let mut check = tokio::time::interval(SESSION_CHECK);
    check.tick().await;
    let ending = loop {
        tokio::select! {
            _ = state.activity.closing() => break Some((close::RESTARTING, "server restarting")),
            frame = pushed.recv() => {
                let sent = match frame {
                    Ok(frame) => send(&mut sink, &mut pushed, frame).await,
                    Err(RecvError::Lagged(missed)) => Sent::Lagged(missed),
                    Err(RecvError::Closed) => Sent::ChannelClosed,
                };
                match sent {
                    Sent::All => {}
                    Sent::TooSlow => break Some((close::TOO_SLOW, "too_slow")),
                    Sent::Lagged(missed) => {
                        tracing::info!(%event_id, missed, "monitor socket fell behind; dropped");
                        break Some((close::TOO_SLOW, "too_slow"));
                    }
                    Sent::ChannelClosed => break Some((close::RESTARTING, "server restarting")),
                }
            }
            message = incoming.next() => match message {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break None,
                // Pings are answered by the socket itself; anything else is ignored.
                Some(Ok(_)) => {}
            },
            _ = check.tick() => {
                let still = crate::hosts::auth::authenticate(&credentials, &state).await;
                match still {
                    Ok(host) if host.id == host_id => {}
                    Ok(_) | Err(crate::error::AppError::Unauthenticated) => {
                        break Some((close::SESSION_ENDED, "session_ended"));
                    }
                    // The database is away: keep the socket, check again later.
                    Err(_) => {}
                }
            }
        }
    };
    if let Some((code, reason)) = ending {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
    }
    tracing::info!(%event_id, "monitor socket closed");
}

/// What became of a frame for the client (sent, or why the socket ends).
enum Sent {
    All,
    /// The client is gone or took over [`SEND_TIMEOUT`].
    TooSlow,
    /// The client fell so far behind that this many frames were dropped for it.
    Lagged(u64),
    /// The hub is gone (the server is stopping).
    ChannelClosed,
}

/// Frames written to the client before one flush, at most.
const MAX_FRAMES_PER_FLUSH: usize = 32;

/// Sends `frame` and every frame already waiting behind it (up to
/// [`MAX_FRAMES_PER_FLUSH`]) with one flush: a busy socket costs one write per burst,
/// not one per frame.
async fn send(
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    pushed: &mut tokio::sync::broadcast::Receiver<Frame>,
    frame: Frame,
) -> Sent {
    use tokio::sync::broadcast::error::TryRecvError;
    let mut outcome = Sent::All;
    let written = async {
        sink.feed(Message::Text(frame)).await?;
        for _ in 1..MAX_FRAMES_PER_FLUSH {
            match pushed.try_recv() {
                Ok(frame) => sink.feed(Message::Text(frame)).await?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(missed)) => {
                    outcome = Sent::Lagged(missed);
                    break;
                }
                Err(TryRecvError::Closed) => {
                    outcome = Sent::ChannelClosed;
                    break;
                }
            }
        }
        sink.flush().await
    };
    match tokio::time::timeout(SEND_TIMEOUT, written).await {
        Ok(Ok(())) => outcome,
        Ok(Err(_)) | Err(_) => Sent::TooSlow,
    }
}
