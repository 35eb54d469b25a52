//! The registry of live WebSocket connections and the traffic they recorded.
//!
//! The test control API acts on connections through the hub: each connection
//! registers with its tag and a command channel, and the hub keeps per-tag
//! counters and the recorded frames so tests can assert what the server saw.
//! It also keeps, per tag, the ids of the protocol-mode messages already
//! handled, so a message resent over a later connection is not handled twice.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::dedupe::Dedupe;

/// Most recorded frames kept per tag; older ones are forgotten first, so a
/// long soak test cannot grow the server without bound.
pub const MAX_RECORDED_PER_TAG: usize = 100_000;

/// What the control API asks a connection to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Order {
    /// Drop the TCP stream without a close frame (the browser sees 1006).
    Drop,
    /// Send a close frame with this code and reason, then end.
    Close { code: u16, reason: String },
    /// Stop reading and answering the socket, keeping TCP open.
    Stall,
    /// Undo [`Order::Stall`].
    Resume,
}

/// An [`Order`] plus the channel on which the connection says it carried it
/// out, so a control response means the action has happened.
#[derive(Debug)]
pub struct Command {
    pub order: Order,
    pub done: oneshot::Sender<()>,
}

/// Which connections or records a control action applies to.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    All,
    Tag(&'a str),
}

impl Scope<'_> {
    fn matches(&self, tag: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Tag(wanted) => *wanted == tag,
        }
    }
}

/// Counters reported by `/control/stats`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub connections: usize,
    pub frames_received: u64,
    pub connections_total: u64,
    /// Protocol-mode messages recognised as already handled.
    pub duplicates: u64,
    /// Live connections in protocol mode.
    pub protocol_connections: usize,
}

/// What became of one protocol-mode message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// The id was new: the message was recorded and must be echoed. Otherwise
    /// it is a duplicate and must not be handled again.
    pub handled: bool,
    /// Acknowledge it (acks are not withheld for its tag).
    pub ack: bool,
}

/// Shared state of the server; one per [`crate::serve`] call.
#[derive(Debug)]
pub struct Hub {
    record_traffic: bool,
    verbose: bool,
    next_id: AtomicU64,
    next_seq: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    connections: HashMap<u64, Live>,
    tags: HashMap<String, TagRecord>,
    refuse_until: Option<Instant>,
}

#[derive(Debug)]
struct Live {
    tag: String,
    protocol: bool,
    commands: mpsc::UnboundedSender<Command>,
}

/// Everything kept per tag; `/control/reset` forgets it all.
#[derive(Debug, Default)]
struct TagRecord {
    connections_total: u64,
    frames_received: u64,
    /// (arrival sequence number across all tags, frame description).
    frames: VecDeque<(u64, String)>,
    /// Ids of the protocol-mode messages handled.
    handled: Dedupe,
    duplicates: u64,
    /// Set by `/control/acks?enabled=false`.
    acks_withheld: bool,
}

impl Hub {
    /// `record_traffic` is off when the control API is not mounted: nobody
    /// could read the records, so keeping them would only cost memory.
    pub fn new(record_traffic: bool, verbose: bool) -> Self {
        Hub {
            record_traffic,
            verbose,
            next_id: AtomicU64::new(1),
            next_seq: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }
    }

    /// Writes a diagnostic line to stderr when started with `--verbose`.
    pub fn log(&self, message: std::fmt::Arguments<'_>) {
        if self.verbose {
            eprintln!("tabwire-server: {message}");
        }
    }

    /// A panic elsewhere while holding the lock leaves the counters usable,
    /// so a poisoned lock is simply taken over.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a live connection, in protocol mode if `protocol` is set; it
    /// stays listed until the returned [`Registration`] is dropped or a
    /// drop/close order removes it.
    pub fn register(
        self: &Arc<Self>,
        tag: String,
        protocol: bool,
    ) -> (Registration, mpsc::UnboundedReceiver<Command>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut state = self.state();
        state.tags.entry(tag.clone()).or_default().connections_total += 1;
        state.connections.insert(
            id,
            Live {
                tag: tag.clone(),
                protocol,
                commands: sender,
            },
        );
        drop(state);
        let registration = Registration {
            hub: Arc::clone(self),
            id,
            tag,
        };
        (registration, receiver)
    }

    fn unregister(&self, id: u64) {
        self.state().connections.remove(&id);
    }

    /// Counts one application frame from a connection tagged `tag` and keeps
    /// its description.
    pub fn record(&self, tag: &str, frame: String) {
        if !self.record_traffic {
            return;
        }
        let mut state = self.state();
        let record = state.tags.entry(tag.to_owned()).or_default();
        self.keep(record, frame);
    }

    fn keep(&self, record: &mut TagRecord, frame: String) {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        record.frames_received += 1;
        if record.frames.len() >= MAX_RECORDED_PER_TAG {
            record.frames.pop_front();
        }
        record.frames.push_back((seq, frame));
    }

    /// Takes the protocol-mode message `id` from a connection tagged `tag`:
    /// if no message of that tag had this id, remembers the id and records
    /// the message as `frame`; otherwise counts a duplicate. Both happen under
    /// one lock, so of two connections racing with the same id exactly one
    /// handles it.
    pub fn deliver(&self, tag: &str, id: &str, frame: String) -> Delivered {
        let mut state = self.state();
        let record = state.tags.entry(tag.to_owned()).or_default();
        let handled = record.handled.insert(id);
        if !handled {
            record.duplicates += 1;
        } else if self.record_traffic {
            self.keep(record, frame);
        }
        Delivered {
            handled,
            ack: !record.acks_withheld,
        }
    }

    /// Sends (`enabled`) or withholds the acks of the messages tagged `tag`
    /// from now on; withheld acks are never sent later.
    pub fn set_acks(&self, tag: &str, enabled: bool) {
        self.state()
            .tags
            .entry(tag.to_owned())
            .or_default()
            .acks_withheld = !enabled;
    }

    /// Sends `order` to every live connection in `scope` and returns one
    /// receiver per connection reached, which fires once it was carried out.
    /// Drop and close orders also unlist the connections at once, so stats
    /// taken right after the control response no longer count them.
    pub fn command(&self, scope: Scope<'_>, order: &Order) -> Vec<oneshot::Receiver<()>> {
        let ends_connection = matches!(order, Order::Drop | Order::Close { .. });
        let mut state = self.state();
        let mut receipts = Vec::new();
        state.connections.retain(|_, live| {
            if !scope.matches(&live.tag) {
                return true;
            }
            let (done, receipt) = oneshot::channel();
            let command = Command {
                order: order.clone(),
                done,
            };
            if live.commands.send(command).is_ok() {
                receipts.push(receipt);
            }
            !ends_connection
        });
        receipts
    }

    /// Counters for the connections and records in `scope`.
    pub fn stats(&self, scope: Scope<'_>) -> Stats {
        let state = self.state();
        let mut stats = Stats::default();
        for live in state.connections.values() {
            if scope.matches(&live.tag) {
                stats.connections += 1;
                stats.protocol_connections += usize::from(live.protocol);
            }
        }
        for (tag, record) in &state.tags {
            if scope.matches(tag) {
                stats.frames_received += record.frames_received;
                stats.connections_total += record.connections_total;
                stats.duplicates += record.duplicates;
            }
        }
        stats
    }

    /// The recorded frame descriptions in `scope`, in arrival order (across
    /// tags too, when the scope covers several).
    pub fn received(&self, scope: Scope<'_>) -> Vec<String> {
        let state = self.state();
        let mut frames: Vec<(u64, String)> = state
            .tags
            .iter()
            .filter(|(tag, _)| scope.matches(tag))
            .flat_map(|(_, record)| record.frames.iter().cloned())
            .collect();
        frames.sort_unstable_by_key(|(seq, _)| *seq);
        frames.into_iter().map(|(_, frame)| frame).collect()
    }

    /// Forgets the counters, recorded frames and handled ids in `scope`, and
    /// sends acks again; live connections are untouched.
    pub fn reset(&self, scope: Scope<'_>) {
        self.state().tags.retain(|tag, _| !scope.matches(tag));
    }

    /// Refuses WebSocket upgrades for `period` from now; zero stops refusing.
    pub fn refuse_for(&self, period: Duration) {
        self.state().refuse_until = Instant::now().checked_add(period);
    }

    /// Whether an upgrade request arriving now must be refused.
    pub fn refusing(&self) -> bool {
        self.state()
            .refuse_until
            .is_some_and(|until| Instant::now() < until)
    }
}

/// Keeps a connection listed in the hub for as long as it lives, however its
/// task ends.
#[derive(Debug)]
pub struct Registration {
    hub: Arc<Hub>,
    id: u64,
    tag: String,
}

impl Registration {
    pub fn tag(&self) -> &str {
        &self.tag
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Arc<Hub> {
        Arc::new(Hub::new(true, false))
    }

    #[test]
    fn stats_and_received_follow_tags() {
        let hub = hub();
        let (a, _a_rx) = hub.register("a".into(), false);
        let (_b, _b_rx) = hub.register("b".into(), false);
        hub.record("a", "one".into());
        hub.record("b", "two".into());
        hub.record("a", "three".into());
        assert_eq!(
            hub.stats(Scope::Tag("a")),
            Stats {
                connections: 1,
                frames_received: 2,
                connections_total: 1,
                duplicates: 0,
                protocol_connections: 0,
            }
        );
        assert_eq!(hub.received(Scope::Tag("a")), ["one", "three"]);
        assert_eq!(hub.received(Scope::All), ["one", "two", "three"]);
        drop(a);
        assert_eq!(hub.stats(Scope::Tag("a")).connections, 0);
        assert_eq!(hub.stats(Scope::Tag("a")).connections_total, 1);
        assert_eq!(hub.stats(Scope::All).connections, 1);
    }

    #[test]
    fn reset_forgets_only_the_scope() {
        let hub = hub();
        let (_a, _a_rx) = hub.register("a".into(), false);
        hub.record("a", "one".into());
        hub.record("b", "two".into());
        hub.reset(Scope::Tag("a"));
        assert_eq!(
            hub.stats(Scope::Tag("a")),
            Stats {
                connections: 1,
                frames_received: 0,
                connections_total: 0,
                duplicates: 0,
                protocol_connections: 0,
            }
        );
        assert_eq!(hub.received(Scope::All), ["two"]);
        hub.reset(Scope::All);
        assert!(hub.received(Scope::All).is_empty());
    }

    #[test]
    fn records_are_capped_per_tag() {
        let hub = hub();
        for i in 0..MAX_RECORDED_PER_TAG + 2 {
            hub.record("a", i.to_string());
        }
        let frames = hub.received(Scope::Tag("a"));
        assert_eq!(frames.len(), MAX_RECORDED_PER_TAG);
        assert_eq!(frames[0], "2");
        let total = u64::try_from(MAX_RECORDED_PER_TAG + 2).unwrap_or(u64::MAX);
        assert_eq!(hub.stats(Scope::Tag("a")).frames_received, total);
    }

    #[test]
    fn nothing_is_recorded_without_the_control_api() {
        let hub = Arc::new(Hub::new(false, false));
        hub.record("a", "one".into());
        assert!(hub.received(Scope::All).is_empty());
        assert_eq!(hub.stats(Scope::All).frames_received, 0);
    }

    #[test]
    fn commands_reach_only_the_scope_and_drop_unlists() {
        let hub = hub();
        let (_a, mut a_rx) = hub.register("a".into(), false);
        let (_b, mut b_rx) = hub.register("b".into(), false);
        assert_eq!(hub.command(Scope::Tag("a"), &Order::Stall).len(), 1);
        assert!(matches!(
            a_rx.try_recv(),
            Ok(Command {
                order: Order::Stall,
                ..
            })
        ));
        assert!(b_rx.try_recv().is_err());
        assert_eq!(hub.command(Scope::Tag("a"), &Order::Drop).len(), 1);
        assert_eq!(hub.stats(Scope::Tag("a")).connections, 0);
        assert_eq!(hub.command(Scope::Tag("a"), &Order::Drop).len(), 0);
        assert_eq!(hub.command(Scope::All, &Order::Resume).len(), 1);
    }

    #[test]
    fn refusal_expires() {
        let hub = hub();
        assert!(!hub.refusing());
        hub.refuse_for(Duration::from_secs(60));
        assert!(hub.refusing());
        hub.refuse_for(Duration::ZERO);
        assert!(!hub.refusing());
        hub.refuse_for(Duration::from_millis(20));
        assert!(hub.refusing());
        std::thread::sleep(Duration::from_millis(40));
        assert!(!hub.refusing());
    }

    #[test]
    fn deliver_handles_each_id_once_per_tag() {
        let hub = hub();
        let (_p, _p_rx) = hub.register("a".into(), true);
        let (_r, _r_rx) = hub.register("a".into(), false);
        let new = Delivered {
            handled: true,
            ack: true,
        };
        let duplicate = Delivered {
            handled: false,
            ack: true,
        };
        assert_eq!(hub.deliver("a", "1", "one".into()), new);
        assert_eq!(hub.deliver("a", "1", "one again".into()), duplicate);
        assert_eq!(hub.deliver("a", "2", "two".into()), new);
        // Another tag has its own ids.
        assert_eq!(hub.deliver("b", "1", "other".into()), new);
        assert_eq!(hub.received(Scope::Tag("a")), ["one", "two"]);
        let stats = hub.stats(Scope::Tag("a"));
        assert_eq!((stats.frames_received, stats.duplicates), (2, 1));
        assert_eq!((stats.connections, stats.protocol_connections), (2, 1));
        assert_eq!(hub.stats(Scope::All).duplicates, 1);
    }

    #[test]
    fn withheld_acks_and_reset() {
        let hub = hub();
        hub.set_acks("a", false);
        let withheld = hub.deliver("a", "1", "one".into());
        assert_eq!(
            withheld,
            Delivered {
                handled: true,
                ack: false
            }
        );
        assert!(!hub.deliver("a", "1", "one".into()).ack);
        assert!(hub.deliver("b", "1", "other".into()).ack, "only tag a");
        hub.set_acks("a", true);
        assert!(hub.deliver("a", "1", "one".into()).ack);
        hub.set_acks("a", false);
        // Reset forgets the ids and duplicates and sends acks again.
        hub.reset(Scope::Tag("a"));
        assert_eq!(hub.stats(Scope::Tag("a")).duplicates, 0);
        assert_eq!(
            hub.deliver("a", "1", "one".into()),
            Delivered {
                handled: true,
                ack: true
            }
        );
        assert!(
            !hub.deliver("b", "1", "other".into()).handled,
            "tag b kept its ids"
        );
    }

    #[test]
    fn ids_are_remembered_without_the_control_api() {
        let hub = Arc::new(Hub::new(false, false));
        assert!(hub.deliver("a", "1", "one".into()).handled);
        assert!(!hub.deliver("a", "1", "one".into()).handled);
        assert!(hub.received(Scope::All).is_empty());
    }
}
