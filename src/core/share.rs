//! One connection for all tabs of an origin: the roles a tab can take and
//! the messages tabs exchange over the `BroadcastChannel`.
//!
//! The leader holds the Web Lock and the socket; followers hand it their
//! messages (`Relay`) and receive what the socket brings (`Event`). Every
//! leader has an epoch, larger than any before it, so a leader that was
//! frozen and woke up again is recognised as stale and ignored.

use std::collections::VecDeque;

use super::event::Event;
use super::id_hash::IdMap;
use super::mode::Mode;
use super::positions::Position;
use super::state::ConnectionState;
use super::transport::Transport;

/// A tab's part in sharing the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sharing is off or not possible here: this tab has its own socket.
    Solo,
    /// This tab holds the lock and the socket for all tabs.
    Leader,
    /// Another tab (or, while none is known yet, the next one) holds the socket.
    Follower,
}

impl Role {
    /// The name used on the JavaScript side.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Solo => "solo",
            Role::Leader => "leader",
            Role::Follower => "follower",
        }
    }
}

/// Timing of the watch a visible follower keeps on the leader.
#[derive(Clone, Debug, PartialEq)]
pub struct ShareConfig {
    /// A visible follower asks the leader whether it is alive this often.
    pub probe_interval_ms: f64,
    /// A leader silent this long after a question is taken for frozen: the
    /// follower steals the lock.
    pub steal_after_ms: f64,
}

impl Default for ShareConfig {
    fn default() -> Self {
        ShareConfig { probe_interval_ms: 1_000.0, steal_after_ms: 2_000.0 }
    }
}

/// What one tab tells the others. Times are machine-clock milliseconds; the
/// browser layer converts them to and from the Unix epoch on the way.
#[derive(Clone, Debug, PartialEq)]
pub enum Peer<P> {
    /// The leader of `epoch` is alive, the connection is in `state`, and
    /// `tabs` tabs share it (the leader included); `open`, what the open
    /// connection speaks and what carries it, so that a tab that joins
    /// knows without having seen its `open`. Sent when a tab takes the
    /// lead, in answer to every `Hello`, and when a tab left.
    Announce { epoch: u64, tab: String, state: ConnectionState, tabs: u32, open: Option<(Mode, Transport)> },
    /// A tab joined, asks whether the leader is alive, or changed its
    /// channels: `channels` is all of them; `positions`, where it is in
    /// each channel it knows, for a new leader to resume from.
    Hello { tab: String, channels: Vec<String>, positions: Vec<(String, Position)> },
    /// A tab left (closed its client, or went into the back/forward cache).
    Bye { tab: String },
    /// A follower's message for the leader to send; it is already stored
    /// under `id` in the shared outbox.
    Relay { id: String, payload: P, created_ms: f64 },
    /// Something the leader's connection reported, for every tab.
    Event { epoch: u64, event: Event<P> },
    /// The leader is done with a relayed message.
    Done { epoch: u64, id: String, outcome: Outcome },
}

/// How a message left the outbox of the tab that sent it.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The server acknowledged it.
    Acknowledged,
    /// The socket took it (raw mode: no acknowledgements).
    Taken,
    /// The server refused it for good (its token may not publish there).
    Rejected { code: String, message: String },
}

/// The last relayed messages a leader finished and how, so that a relay
/// arriving late (sent again to a new leader) is not sent twice.
#[derive(Debug, Default)]
pub struct RecentIds {
    order: VecDeque<String>,
    known: IdMap<Outcome>,
}

impl RecentIds {
    /// Enough for every message of a full outbox of each of several tabs.
    const CAPACITY: usize = 4096;

    pub fn insert(&mut self, id: String, outcome: Outcome) {
        if self.known.insert(id.clone(), outcome).is_some() {
            return;
        }
        self.order.push_back(id);
        if self.order.len() > Self::CAPACITY {
            if let Some(oldest) = self.order.pop_front() {
                self.known.remove(&oldest);
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&Outcome> {
        self.known.get(id)
    }
}
