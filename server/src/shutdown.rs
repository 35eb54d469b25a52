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
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::{timeout_at, Instant};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
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
        self.tracker.spawn(Cuttable {
            cut: self.cut.clone().cancelled_owned(),
            task,
        });
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

pin_project! {
    /// A task of a group, which ends when the group is cut. It holds the
    /// task's future once, beside the wait for the cut: a connection's task
    /// lives as long as its connection, so every byte of it counts once per
    /// connection. (`CancellationToken::run_until_cancelled_owned`, an
    /// `async fn` that hands its future to another, holds it three times
    /// over: for a WebSocket connection's 5.4 KiB future, 16.4 KiB.)
    struct Cuttable<F> {
        #[pin]
        cut: WaitForCancellationFutureOwned,
        #[pin]
        task: F,
    }
}

impl<F: Future<Output = ()>> Future for Cuttable<F> {
    type Output = ();

    /// Once cut, the task is not polled again: dropped with the rest of
    /// this, it drops what it held.
    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.cut.poll(context).is_ready() {
            return Poll::Ready(());
        }
        this.task.poll(context)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_of_a_group_is_held_once() {
        let large = async {
            let buffer = [0u8; 4096];
            tokio::task::yield_now().await;
            std::hint::black_box(buffer);
        };
        let size = std::mem::size_of_val(&large);
        assert!(size >= 4096);
        let cuttable = Cuttable {
            cut: CancellationToken::new().cancelled_owned(),
            task: large,
        };
        assert!(std::mem::size_of_val(&cuttable) < size + 256);
    }

    #[tokio::test]
    async fn a_cut_ends_the_tasks_of_the_group_and_drops_what_they_held() {
        let tasks = Tasks::default();
        let (held, mut gone) = tokio::sync::mpsc::channel::<()>(1);
        tasks.spawn(async move {
            let _held = held;
            std::future::pending::<()>().await;
        });
        tasks.spawn(async {});
        tasks.cut();
        let waited = std::time::Duration::from_secs(10);
        assert!(timeout_at(Instant::now() + waited, tasks.ended())
            .await
            .is_ok());
        assert_eq!(tasks.running(), 0);
        assert_eq!(gone.recv().await, None);
    }
}
