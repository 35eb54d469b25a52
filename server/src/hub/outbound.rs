//! A connection's queue of channel messages: filled by the fan-out,
//! emptied by the connection's task as fast as its client reads. It is
//! bounded in messages and in bytes ([`Bounds`]): a message that no longer
//! fits closes the connection as a slow consumer (3008) rather than grow
//! the server, and the client resumes its channels from its offsets on
//! its next connection, so it loses nothing.
//!
//! The queue also carries a request to close the connection (a slow
//! consumer, a lost broker link), which goes ahead of the messages queued:
//! they would only be sent again after the reconnection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;

use crate::bounds::{Bounds, SLOW_CONSUMER, SLOW_CONSUMER_REASON};

/// One channel message for one connection: the frame is built once per
/// message and shared by every subscriber's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub channel: Arc<str>,
    pub offset: u64,
    /// The whole `pub` frame.
    pub frame: Arc<str>,
    /// When the hub took it, for the latency of its write.
    pub taken: Instant,
}

/// What the connection's task is to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send this message, unless it sent it already or no longer
    /// subscribes.
    Send(Publication),
    /// Close with this code and reason.
    Close { code: u16, reason: String },
}

/// See the module.
#[derive(Debug)]
pub struct Outbound {
    max_messages: usize,
    max_bytes: usize,
    queue: Mutex<Queue>,
    /// Woken at every change, for the connection's task.
    changed: Notify,
}

#[derive(Debug, Default)]
struct Queue {
    publications: VecDeque<Publication>,
    bytes: usize,
    close: Option<(u16, String)>,
}

impl Outbound {
    pub fn new(bounds: &Bounds) -> Self {
        Outbound {
            max_messages: bounds.send_queue_messages,
            max_bytes: bounds.send_queue_bytes,
            queue: Mutex::new(Queue::default()),
            changed: Notify::new(),
        }
    }

    /// A panic elsewhere while holding the lock leaves the queue usable.
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `publication`; one that does not fit closes the connection as
    /// a slow consumer instead. Returns whether it was queued (not once the
    /// connection is closing).
    pub fn push(&self, publication: &Publication) -> bool {
        let mut queue = self.queue();
        if queue.close.is_some() {
            return false;
        }
        let size = publication.frame.len();
        let fits = queue.publications.len() < self.max_messages
            && queue.bytes.saturating_add(size) <= self.max_bytes;
        if fits || queue.publications.is_empty() {
            queue.bytes += size;
            queue.publications.push_back(publication.clone());
        } else {
            queue.close = Some((SLOW_CONSUMER, SLOW_CONSUMER_REASON.to_owned()));
            queue.publications.clear();
            queue.bytes = 0;
        }
        let queued = queue.close.is_none();
        drop(queue);
        self.changed.notify_one();
        queued
    }

    /// Asks the connection to close with `code` and `reason`, ahead of the
    /// messages queued, which are dropped; the first request stands.
    pub fn close(&self, code: u16, reason: &str) {
        let mut queue = self.queue();
        if queue.close.is_none() {
            queue.close = Some((code, reason.to_owned()));
            queue.publications.clear();
            queue.bytes = 0;
        }
        drop(queue);
        self.changed.notify_one();
    }

    /// The close once asked for, else the oldest message, once there is
    /// one. Cancel-safe: nothing is taken unless returned.
    pub async fn next(&self) -> Next {
        self.wait(Queue::take).await
    }

    /// The same, if there is one now.
    pub fn try_next(&self) -> Option<Next> {
        self.queue().take()
    }

    /// How many messages are queued now.
    pub fn queued(&self) -> usize {
        self.queue().publications.len()
    }

    /// The close, once asked for; the messages stay queued meanwhile (for
    /// a stalled connection).
    pub async fn closing(&self) -> (u16, String) {
        self.wait(|queue| queue.close.clone()).await
    }

    /// Resolves with what `take` finds in the queue, checking at every
    /// change. One task waits at a time: the connection's.
    async fn wait<T>(&self, mut take: impl FnMut(&mut Queue) -> Option<T>) -> T {
        loop {
            let changed = self.changed.notified();
            if let Some(found) = take(&mut self.queue()) {
                return found;
            }
            changed.await;
        }
    }
}

impl Queue {
    /// The close once asked for, else the oldest message.
    fn take(&mut self) -> Option<Next> {
        if let Some((code, reason)) = &self.close {
            return Some(Next::Close {
                code: *code,
                reason: reason.clone(),
            });
        }
        let publication = self.publications.pop_front()?;
        self.bytes -= publication.frame.len();
        Some(Next::Send(publication))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::OnceLock;

    use super::*;

    /// The one instant the publications a test compares are said to be
    /// taken at, whatever the hub stamped them with.
    pub(in crate::hub) fn taken() -> Instant {
        static TAKEN: OnceLock<Instant> = OnceLock::new();
        *TAKEN.get_or_init(Instant::now)
    }

    fn publication(offset: u64, bytes: usize) -> Publication {
        Publication {
            channel: Arc::from("x"),
            offset,
            frame: Arc::from("f".repeat(bytes)),
            taken: taken(),
        }
    }

    fn bounded(messages: usize, bytes: usize) -> Outbound {
        Outbound::new(&Bounds {
            send_queue_messages: messages,
            send_queue_bytes: bytes,
            ..Bounds::default()
        })
    }

    fn slow_consumer() -> Next {
        Next::Close {
            code: SLOW_CONSUMER,
            reason: SLOW_CONSUMER_REASON.to_owned(),
        }
    }

    #[tokio::test]
    async fn messages_come_out_in_order_and_make_room() {
        let outbound = bounded(2, 100);
        assert!(outbound.push(&publication(1, 10)));
        assert!(outbound.push(&publication(2, 10)));
        assert_eq!(outbound.next().await, Next::Send(publication(1, 10)));
        assert!(outbound.push(&publication(3, 10)), "room made");
        assert_eq!(outbound.queued(), 2);
        assert_eq!(outbound.next().await, Next::Send(publication(2, 10)));
        assert_eq!(outbound.try_next(), Some(Next::Send(publication(3, 10))));
        assert_eq!(outbound.try_next(), None);
    }

    #[tokio::test]
    async fn one_message_too_many_closes_as_a_slow_consumer() {
        let outbound = bounded(2, 100);
        assert!(outbound.push(&publication(1, 10)));
        assert!(outbound.push(&publication(2, 10)));
        assert!(!outbound.push(&publication(3, 10)));
        assert_eq!(outbound.next().await, slow_consumer(), "ahead of the rest");
        assert!(!outbound.push(&publication(4, 10)), "closing: nothing more");
        assert_eq!(outbound.next().await, slow_consumer());
    }

    #[tokio::test]
    async fn one_byte_too_many_closes_but_a_large_message_alone_fits() {
        let outbound = bounded(10, 100);
        assert!(outbound.push(&publication(1, 500)), "alone");
        assert_eq!(outbound.next().await, Next::Send(publication(1, 500)));
        assert!(outbound.push(&publication(2, 60)));
        assert!(!outbound.push(&publication(3, 41)));
        assert_eq!(outbound.next().await, slow_consumer());
    }

    #[tokio::test]
    async fn the_first_close_stands_and_a_stalled_task_sees_it() {
        let outbound = Arc::new(bounded(10, 100));
        assert!(outbound.push(&publication(1, 10)));
        let waiting = tokio::spawn({
            let outbound = Arc::clone(&outbound);
            async move { outbound.closing().await }
        });
        tokio::task::yield_now().await;
        outbound.close(1012, "link lost");
        outbound.close(SLOW_CONSUMER, SLOW_CONSUMER_REASON);
        assert_eq!(
            waiting.await.expect("the waiting task"),
            (1012, "link lost".to_owned())
        );
        assert_eq!(
            outbound.next().await,
            Next::Close {
                code: 1012,
                reason: "link lost".to_owned()
            }
        );
    }
}
