//! Graceful shutdown (SIGTERM, Ctrl-C, or the future given to
//! [`crate::serve_until`]), within one bound (`--shutdown-secs`):
//!
//! 1. Every connection (WebSocket or HTTP session) is told to close with
//!    1012 `server restart`, and so is any that opens later; new WebSocket
//!    upgrades and new HTTP sessions are refused with 503 from then on. A
//!    connection takes the order between two frames: the frame being
//!    handled (a publication in Redis, say) is handled and acknowledged
//!    first, so nothing is left half done, and whatever the client sent
//!    after it is not handled at all: it has no ack, and the client sends
//!    it again on its next connection, deduplicated by its id.
//! 2. The server waits for every connection to end (a WebSocket once its
//!    client answered the close) and for every polling session's close to
//!    be taken by a poll. It goes on accepting TCP connections meanwhile,
//!    so that a poll, which may come on a new one, still gets its close.
//! 3. It stops accepting, lets the HTTP requests in progress be answered
//!    and closes the idle kept-alive connections.
//! 4. Whatever is left once the bound has passed is cut, as is everything
//!    the server still runs in the background (its Redis links, its
//!    sweeps, the demo feed): its clients see their connections end
//!    without a close.

use std::future::Future;

use tokio::time::{timeout_at, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::http::Sessions;
use crate::hub::Hub;

/// Close code for connections whose server restarts or went away from
/// what they depend on (its link to Redis): the client reconnects with
/// backoff and resumes its channels from its offsets (RFC 6455's "service
/// restart").
pub const SERVICE_RESTART: u16 = 1012;

/// The reason of the close of a graceful shutdown.
pub const SERVER_RESTART: &str = "server restart";

/// A group of tasks that a shutdown can wait for and, past its bound, cut.
#[derive(Debug, Clone, Default)]
pub struct Tasks {
    tracker: TaskTracker,
    cut: CancellationToken,
}

impl Tasks {
    /// Runs `task` in the group, until it ends or the group is cut.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tracker
            .spawn(self.cut.clone().run_until_cancelled_owned(task));
    }

    /// Resolves once every task of the group has ended, those spawned
    /// later included.
    pub async fn ended(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// How many tasks of the group are running.
    pub fn running(&self) -> usize {
        self.tracker.len()
    }

    /// Stops every task of the group at its next wait: what it held
    /// (sockets included) is dropped.
    pub fn cut(&self) {
        self.cut.cancel();
    }
}

/// Step 1 and 2 (see the module): every connection told to close, then
/// waited for until `deadline`. Returns whether they all ended in time.
pub async fn close_connections(hub: &Hub, sessions: &Sessions, deadline: Instant) -> bool {
    hub.drain();
    let bound = deadline.saturating_duration_since(Instant::now());
    hub.log(format_args!(
        "shutting down: closing {} connection(s) with {SERVICE_RESTART} ({SERVER_RESTART}), \
         waiting at most {:.1} s",
        hub.connection_tasks(),
        bound.as_secs_f64()
    ));
    let ended = async {
        hub.connections_ended().await;
        sessions.emptied().await;
    };
    let in_time = timeout_at(deadline, ended).await.is_ok();
    if !in_time {
        hub.log(format_args!(
            "shutdown: the bound has passed with {} connection(s) and {} HTTP session(s) \
             left; cutting them",
            hub.connection_tasks(),
            sessions.count()
        ));
    }
    in_time
}
