//! The registry of live WebSocket connections and the traffic they recorded.
//!
//! The test control API acts on connections through the hub: each connection
//! registers with its tag and a command channel, and the hub keeps per-tag
//! counters and the recorded frames so tests can assert what the server saw.
//! It also keeps, per tag, the ids of the protocol-mode messages already
//! handled, so a message resent over a later connection is not handled twice,
//! and per connection the channels it subscribed to. Channel messages
//! themselves are numbered and kept by the [`Broker`]; the hub hands them to
//! the subscribed connections.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::broker::{Broker, Published, Subscribed, Unavailable};
use crate::dedupe::Dedupe;
use crate::limits::Limits;
use crate::protocol::{publication, Delivery, Handling};

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
    /// Send this channel message (a `pub` frame, numbered `offset`),
    /// unless the connection already sent it or no longer subscribes.
    Publication {
        channel: Arc<str>,
        offset: u64,
        frame: Arc<str>,
    },
    /// Send these frames, back to back and as fast as the socket takes
    /// them (`/control/firehose`, for throughput benchmarks).
    Firehose(Firehose),
}

/// `count` frames of `bytes` bytes each, text or binary. Frame `seq`
/// (from 0) starts with `seq`: as 8 decimal digits in a text frame, as a
/// 4-byte big-endian number in a binary one, so that a receiver can check
/// the order; the rest is a fixed ASCII filler. A text frame never starts
/// with `{`, so a client that looks for JSON frames sees at its first byte
/// that this is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Firehose {
    pub count: u32,
    pub bytes: usize,
    pub binary: bool,
}

impl Firehose {
    /// The smallest frame: room for the 8 digits of a text frame.
    pub const MIN_BYTES: usize = 8;
    /// The largest frame, the default `--max-frame-bytes`.
    pub const MAX_BYTES: usize = 1 << 20;
    /// The most frames one order sends (8 digits number them all).
    pub const MAX_COUNT: u32 = 10_000_000;

    /// The payload of every frame before its sequence number is written in.
    pub fn template(&self) -> Vec<u8> {
        const FILLER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        FILLER.iter().copied().cycle().take(self.bytes).collect()
    }

    /// Writes `seq` over the start of `template` (see [`Firehose`]).
    pub fn number(&self, template: &mut [u8], seq: u32) {
        if self.binary {
            template[..4].copy_from_slice(&seq.to_be_bytes());
        } else {
            let mut rest = seq;
            for digit in template[..8].iter_mut().rev() {
                // A digit, 0 to 9: the cast cannot truncate.
                *digit = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
        }
    }
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
    /// Live connections that negotiated permessage-deflate.
    pub compressed_connections: usize,
    /// Valid `subscribe` and `unsubscribe` frames received.
    pub subscribe_frames: u64,
    pub unsubscribe_frames: u64,
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
    /// What each connection may send.
    pub limits: Limits,
    /// Whether connections may negotiate permessage-deflate.
    pub compression: bool,
    /// Origins allowed to connect; empty: any.
    allowed_origins: Vec<String>,
    /// The secret client tokens are signed with; `None`: no authentication.
    jwt_secret: Option<Vec<u8>>,
    /// Numbers, keeps and spreads channel messages.
    broker: Broker,
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
    compressed: bool,
    commands: mpsc::UnboundedSender<Command>,
    /// The channels whose messages this connection gets.
    channels: HashSet<String>,
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
    subscribe_frames: u64,
    unsubscribe_frames: u64,
}

impl Hub {
    /// `record_traffic` is off when the control API is not mounted: nobody
    /// could read the records, so keeping them would only cost memory.
    pub fn new(record_traffic: bool, verbose: bool) -> Self {
        Hub {
            record_traffic,
            verbose,
            limits: Limits::default(),
            compression: true,
            allowed_origins: Vec::new(),
            jwt_secret: None,
            broker: Broker::default(),
            next_id: AtomicU64::new(1),
            next_seq: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }
    }

    /// Applies other limits and an origin allow-list than the defaults.
    pub fn guarded(mut self, limits: Limits, allowed_origins: Vec<String>) -> Self {
        self.limits = limits;
        self.allowed_origins = allowed_origins;
        self
    }

    /// Lets connections negotiate permessage-deflate, or not.
    pub fn with_compression(mut self, compression: bool) -> Self {
        self.compression = compression;
        self
    }

    /// Requires protocol-mode clients to authenticate with tokens signed
    /// with `secret`.
    pub fn with_secret(mut self, secret: Option<String>) -> Self {
        self.jwt_secret = secret.map(String::into_bytes);
        self
    }

    /// Keeps channels in `broker` rather than in memory.
    pub fn with_broker(mut self, broker: Broker) -> Self {
        self.broker = broker;
        self
    }

    pub fn jwt_secret(&self) -> Option<&[u8]> {
        self.jwt_secret.as_deref()
    }

    /// Whether a WebSocket may be opened from `origin` (the request's
    /// `Origin` header; browsers always send it).
    pub fn allows_origin(&self, origin: Option<&str>) -> bool {
        self.allowed_origins.is_empty()
            || origin
                .is_some_and(|origin| self.allowed_origins.iter().any(|allowed| allowed == origin))
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

    /// Adds a live connection, in protocol mode if `protocol` is set, with
    /// permessage-deflate if `compressed` is; it stays listed until the
    /// returned [`Registration`] is dropped or a drop/close order removes it.
    pub fn register(
        self: &Arc<Self>,
        tag: String,
        protocol: bool,
        compressed: bool,
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
                compressed,
                commands: sender,
                channels: HashSet::new(),
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

    /// Handles the protocol-mode message `delivery` from a connection tagged
    /// `tag` once per id: records it and, for a publication, publishes it.
    /// The caller echoes a message whose `handled` is set. With Redis, a
    /// publication's id is checked in Redis as it is published, so that a
    /// client resending through another server instance publishes once.
    pub async fn deliver(&self, tag: &str, delivery: &Delivery) -> Result<Delivered, Unavailable> {
        match (&delivery.handling, &self.broker) {
            (Handling::Publish { channel, data }, Broker::Redis(redis)) => {
                let published = redis
                    .publish(channel, data, Some((tag, &delivery.id)))
                    .await?;
                Ok(self.settle(tag, published.is_some(), &delivery.record))
            }
            (Handling::Publish { channel, data }, Broker::Memory(memory)) => {
                let delivered = self.handle_once(tag, &delivery.id, &delivery.record);
                if delivered.handled {
                    memory.publish(channel, data, self);
                }
                Ok(delivered)
            }
            (Handling::Echo(_), _) => Ok(self.handle_once(tag, &delivery.id, &delivery.record)),
        }
    }

    /// Takes the protocol-mode message `id` from a connection tagged `tag`:
    /// if no message of that tag had this id, remembers the id and records
    /// the message as `frame`; otherwise counts a duplicate. Both happen under
    /// one lock, so of two connections racing with the same id exactly one
    /// handles it.
    pub fn handle_once(&self, tag: &str, id: &str, frame: &str) -> Delivered {
        let mut state = self.state();
        let record = state.tags.entry(tag.to_owned()).or_default();
        let handled = record.handled.insert(id);
        self.count(record, handled, frame)
    }

    /// Records a message whose id was judged elsewhere (new if `handled`).
    fn settle(&self, tag: &str, handled: bool, frame: &str) -> Delivered {
        let mut state = self.state();
        let record = state.tags.entry(tag.to_owned()).or_default();
        self.count(record, handled, frame)
    }

    fn count(&self, record: &mut TagRecord, handled: bool, frame: &str) -> Delivered {
        if !handled {
            record.duplicates += 1;
        } else if self.record_traffic {
            self.keep(record, frame.to_owned());
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

    /// Adds `channel` to the channels of the connection `id` and counts the
    /// frame, then reads the channel from the broker. Listed first, the
    /// connection gets whatever is published meanwhile live if not in the
    /// snapshot: nothing falls between the two (see [`crate::broker`]).
    async fn subscribe(
        &self,
        id: u64,
        channel: &str,
        since: Option<u64>,
    ) -> Result<Subscribed, Unavailable> {
        {
            let mut guard = self.state();
            let state = &mut *guard;
            if let Some(live) = state.connections.get_mut(&id) {
                live.channels.insert(channel.to_owned());
                state
                    .tags
                    .entry(live.tag.clone())
                    .or_default()
                    .subscribe_frames += 1;
            }
        }
        match &self.broker {
            Broker::Memory(memory) => Ok(memory.snapshot(channel, since)),
            Broker::Redis(redis) => redis.snapshot(channel, since).await,
        }
    }

    /// Removes `channel` from the channels of the connection `id` and
    /// counts the frame.
    fn unsubscribe(&self, id: u64, channel: &str) {
        let mut guard = self.state();
        let state = &mut *guard;
        if let Some(live) = state.connections.get_mut(&id) {
            live.channels.remove(channel);
            state
                .tags
                .entry(live.tag.clone())
                .or_default()
                .unsubscribe_frames += 1;
        }
    }

    /// Keeps `data` (JSON text) in the history of `channel` under its next
    /// offset and sends it to every connection subscribed to the channel,
    /// on this server and, with Redis, on every other.
    pub async fn publish(&self, channel: &str, data: &str) -> Result<Published, Unavailable> {
        match &self.broker {
            Broker::Memory(memory) => Ok(memory.publish(channel, data, self)),
            Broker::Redis(redis) => redis
                .publish(channel, data, None)
                .await?
                .ok_or_else(|| Unavailable("channel broker: publication lost".to_owned())),
        }
    }

    /// Sends the message `offset` of `channel` to this server's connections
    /// subscribed to it; returns how many. The broker calls it once per
    /// message, in offset order.
    pub fn fan_out(&self, channel: &str, offset: u64, data: &str) -> usize {
        let order = Order::Publication {
            channel: Arc::from(channel),
            offset,
            frame: Arc::from(publication(channel, offset, data)),
        };
        let state = self.state();
        let mut delivered = 0;
        for live in state.connections.values() {
            if live.channels.contains(channel) {
                let (done, _) = oneshot::channel();
                let command = Command {
                    order: order.clone(),
                    done,
                };
                delivered += usize::from(live.commands.send(command).is_ok());
            }
        }
        delivered
    }

    /// Closes every connection that subscribes to a channel, with `code`:
    /// the broker may have lost some of their live messages, which they get
    /// back by resuming from their offsets on their next connection.
    pub fn close_subscribers(&self, code: u16, reason: &str) {
        let mut state = self.state();
        state.connections.retain(|_, live| {
            if live.channels.is_empty() {
                return true;
            }
            let (done, _) = oneshot::channel();
            let order = Order::Close {
                code,
                reason: reason.to_owned(),
            };
            let _ = live.commands.send(Command { order, done });
            false
        });
    }

    /// How many connections in `scope` are subscribed to each channel.
    pub fn subscriptions(&self, scope: Scope<'_>) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for live in self.state().connections.values() {
            if scope.matches(&live.tag) {
                for channel in &live.channels {
                    *counts.entry(channel.clone()).or_default() += 1;
                }
            }
        }
        counts
    }

    /// Counters for the connections and records in `scope`.
    pub fn stats(&self, scope: Scope<'_>) -> Stats {
        let state = self.state();
        let mut stats = Stats::default();
        for live in state.connections.values() {
            if scope.matches(&live.tag) {
                stats.connections += 1;
                stats.protocol_connections += usize::from(live.protocol);
                stats.compressed_connections += usize::from(live.compressed);
            }
        }
        for (tag, record) in &state.tags {
            if scope.matches(tag) {
                stats.frames_received += record.frames_received;
                stats.connections_total += record.connections_total;
                stats.duplicates += record.duplicates;
                stats.subscribe_frames += record.subscribe_frames;
                stats.unsubscribe_frames += record.unsubscribe_frames;
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

    /// The connection gets the messages of `channel` from now on, after
    /// those it missed since the offset `since`, if given.
    pub async fn subscribe(
        &self,
        channel: &str,
        since: Option<u64>,
    ) -> Result<Subscribed, Unavailable> {
        self.hub.subscribe(self.id, channel, since).await
    }

    /// The connection no longer gets the messages of `channel`.
    pub fn unsubscribe(&self, channel: &str) {
        self.hub.unsubscribe(self.id, channel);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
    }
}

#[cfg(test)]
mod tests;
