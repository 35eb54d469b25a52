//! The idle timeout of one connection: it runs out once no frame came from
//! the client for the limit. Hearing a frame only notes the time; the timer
//! wakes up at most once per limit, whatever the frame rate, and then
//! either reports the silence or sleeps until the limit after the last
//! frame heard.

use std::pin::Pin;
use std::time::Duration;

use tokio::time::{sleep_until, Instant, Sleep};

pub(super) struct Idle {
    heard: Instant,
    /// The limit, and the timer that checks it; `None`: the connection may
    /// stay silent for ever.
    timer: Option<(Duration, Pin<Box<Sleep>>)>,
}

impl Idle {
    /// A timeout of `limit`, counted from now.
    pub(super) fn new(limit: Option<Duration>) -> Self {
        let heard = Instant::now();
        Idle {
            heard,
            timer: limit.map(|limit| (limit, Box::pin(sleep_until(after(heard, limit))))),
        }
    }

    /// Notes that the client was heard from just now.
    pub(super) fn heard(&mut self) {
        self.heard = Instant::now();
    }

    /// Resolves once the client was silent for the limit; never without
    /// one. Dropped before then, it loses nothing: the next call goes on
    /// waiting for the same moment.
    pub(super) async fn expired(&mut self) {
        let Some((limit, timer)) = &mut self.timer else {
            return std::future::pending().await;
        };
        loop {
            timer.as_mut().await;
            let due = after(self.heard, *limit);
            if due <= Instant::now() {
                return;
            }
            timer.as_mut().reset(due);
        }
    }
}

/// `limit` after `at`. Capped, so that no limit overflows the clock: tokio
/// caps its sleeps at about two years anyway.
fn after(at: Instant, limit: Duration) -> Instant {
    at + limit.min(FAR_ENOUGH)
}

/// A wait no connection outlives, and that every platform's clock can add.
const FAR_ENOUGH: Duration = Duration::from_secs(365 * 24 * 3600);
