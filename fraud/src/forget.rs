//! The durable consumer [`ENGINE_FORGET_CONSUMER`] of `guest.forgotten`: the web server
//! deleted guests (one, or every guest of a deleted event), so the engine forgets them —
//! for each, what `ResetGuest` with `forget` does: its baseline goes, and it leaves the
//! index of every device and origin it used.
//!
//! An unreadable body is poison (`term`); a store that is unavailable is retried (`nak`
//! with delay); the message is acked once every guest is forgotten. Forgetting a guest
//! twice has the effect of once, so redelivery is harmless. The consumer loop is
//! [`crate::consumer::Consumer`].

use crate::{
    consumer::{json_body, Consumer, Durable, HandleError, Handler},
    engine::FraudEngine,
};
use futures::{StreamExt as _, TryStreamExt as _};
use proto::events::{GuestForgotten, ENGINE_FORGET_CONSUMER, GUEST_FORGOTTEN};

/// How many guests of one message are forgotten at once.
const GUESTS_AT_ONCE: usize = 8;

/// The consumer of `guest.forgotten`.
pub type ForgetConsumer = Consumer<ForgetGuests>;

/// Forgets the guests of each `guest.forgotten`.
#[derive(Clone, Debug)]
pub struct ForgetGuests {
    engine: FraudEngine,
}

impl ForgetGuests {
    pub fn new(engine: FraudEngine) -> Self {
        Self { engine }
    }
}

impl Handler for ForgetGuests {
    const DURABLE: Durable = Durable {
        name: ENGINE_FORGET_CONSUMER,
        subject: GUEST_FORGOTTEN,
        description: "GuestGuard fraud engines: forget deleted guests",
    };

    async fn handle(&self, body: &[u8]) -> Result<(), HandleError> {
        let forgotten: GuestForgotten = json_body(body)?;
        futures::stream::iter(forgotten.guest_ids.iter().copied())
            .map(|guest_id| self.engine.reset_guest(guest_id, true))
            .buffer_unordered(GUESTS_AT_ONCE)
            .try_collect::<()>()
            .await?;
        tracing::info!(guests = forgotten.guest_ids.len(), "guests forgotten");
        Ok(())
    }
}
