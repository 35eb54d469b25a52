//! The registry of live connections (WebSockets and HTTP sessions), and
//! what the server shares between them.
//!
//! Each connection registers with its tag, a command channel through which
//! the control API's [`Order`]s reach it, and a bounded [`Outbound`] queue
//! through which the channel broker's publications do. The rest of the hub
//! is split by job:
//!
//! - [`records`](self::records): per-tag counters and recorded frames, so
//!   tests can assert what the server saw (`/control/stats`, `received`);
//! - [`delivery`](self::delivery): each protocol-mode message handled once
//!   per dedupe scope (see [`crate::dedupe`]);
//! - [`channels`](self::channels): subscribing, publishing, and the
//!   fan-out of channel messages, which the [`Broker`] numbers and keeps,
//!   through the per-channel subscriber lists of [`fanout`](self::fanout)
//!   into each connection's bounded [`Outbound`] queue.

mod channels;
mod delivery;
mod fanout;
mod orders;
mod outbound;
mod records;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

pub use self::channels::forget_idle_channels;
use self::fanout::{Fanout, Subscriber};
pub use self::orders::{Command, Firehose, Order};
pub use self::outbound::{Next, Outbound, Publication};
use self::records::TagRecord;
use crate::bounds::Bounds;
use crate::broker::{Broker, Subscribed, Unavailable};
use crate::dedupe::{DedupeLimits, Windows};
use crate::history::Since;
use crate::jwt::JwtConfig;
use crate::limits::{Limits, Peers, Rates, SWEEP_EVERY};
use crate::metrics::{Metrics, Open};
use crate::origins::Origins;
use crate::shutdown::{Tasks, SERVER_RESTART, SERVICE_RESTART};
use crate::timeouts::Timeouts;

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

/// Shared state of the server; one per [`crate::serve`] call.
#[derive(Debug)]
pub struct Hub {
    record_traffic: bool,
    /// What clients may send and hold.
    pub limits: Limits,
    /// What each user and each address sent lately, against the limits.
    pub rates: Rates,
    /// The connections each address holds, against the limits.
    pub peers: Arc<Peers>,
    /// How long a connection waits for its client's credentials and
    /// frames.
    pub timeouts: Timeouts,
    /// What the server holds for each connection at most.
    pub bounds: Bounds,
    /// Whether connections may negotiate permessage-deflate.
    pub compression: bool,
    /// The pages that may connect.
    origins: Origins,
    /// How client tokens are checked; `None`: no authentication.
    jwt: Option<JwtConfig>,
    /// Numbers, keeps and spreads channel messages.
    broker: Broker,
    /// What `GET /metrics` shows, recorded by the connections.
    pub metrics: Arc<Metrics>,
    /// Who listens to which channel.
    fanout: Fanout,
    next_id: AtomicU64,
    next_seq: AtomicU64,
    state: Mutex<State>,
    /// The connections' tasks, which a graceful shutdown waits for.
    tasks: Tasks,
}

#[derive(Debug)]
struct State {
    connections: HashMap<u64, Live>,
    tags: HashMap<String, TagRecord>,
    /// The ids of the protocol-mode messages handled, per dedupe scope.
    handled: Windows,
    refuse_until: Option<Instant>,
    /// Whether the refusal covers new HTTP sessions too.
    refuse_http: bool,
    /// A graceful shutdown has begun: every connection, new ones
    /// included, is closed (see [`crate::shutdown`]).
    draining: bool,
}

/// What carries a connection's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// A WebSocket, with permessage-deflate if `compressed`.
    WebSocket { compressed: bool },
    /// An HTTP session whose frames come down a stream of server-sent
    /// events ([`crate::http`]).
    Stream,
    /// An HTTP session whose frames come down long polls.
    Poll,
}

#[derive(Debug)]
struct Live {
    tag: String,
    protocol: bool,
    carrier: Carrier,
    commands: mpsc::UnboundedSender<Command>,
}

impl Hub {
    /// `record_traffic` is off when the control API is not mounted: nobody
    /// could read the records, so keeping them would only cost memory.
    pub fn new(record_traffic: bool) -> Self {
        Hub {
            record_traffic,
            limits: Limits::default(),
            rates: Rates::new(&Limits::default()),
            peers: Arc::new(Peers::new(&Limits::default())),
            timeouts: Timeouts::default(),
            bounds: Bounds::default(),
            compression: true,
            origins: Origins::default(),
            jwt: None,
            broker: Broker::default(),
            metrics: Arc::default(),
            fanout: Fanout::default(),
            next_id: AtomicU64::new(1),
            next_seq: AtomicU64::new(0),
            state: Mutex::new(State {
                connections: HashMap::new(),
                tags: HashMap::new(),
                handled: Windows::new(DedupeLimits::default()),
                refuse_until: None,
                refuse_http: false,
                draining: false,
            }),
            tasks: Tasks::default(),
        }
    }

    /// Applies other limits and origins than the defaults.
    pub fn guarded(mut self, limits: Limits, origins: Origins) -> Self {
        self.rates = Rates::new(&limits);
        self.peers = Arc::new(Peers::new(&limits));
        self.limits = limits;
        self.origins = origins;
        self
    }

    /// Bounds the waits for clients otherwise than the defaults.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Holds at most `bounds` for each connection rather than the defaults.
    pub fn with_bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    /// Lets connections negotiate permessage-deflate, or not.
    pub fn with_compression(mut self, compression: bool) -> Self {
        self.compression = compression;
        self
    }

    /// Requires protocol-mode clients to authenticate with tokens that
    /// `jwt` takes.
    pub fn with_jwt(mut self, jwt: Option<JwtConfig>) -> Self {
        self.jwt = jwt;
        self
    }

    /// Remembers handled message ids within `limits` rather than the
    /// defaults.
    pub fn with_dedupe(self, limits: DedupeLimits) -> Self {
        self.state().handled = Windows::new(limits);
        self
    }

    /// Keeps channels in `broker` rather than in memory.
    pub fn with_broker(mut self, broker: Broker) -> Self {
        self.broker = broker;
        self
    }

    /// Records into `metrics` rather than into metrics nobody reads.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn jwt(&self) -> Option<&JwtConfig> {
        self.jwt.as_ref()
    }

    /// The pages that may connect, and use the control API.
    pub fn origins(&self) -> &Origins {
        &self.origins
    }

    /// Logs a diagnostic event (level debug: `--log-level debug`, or
    /// `--verbose`): connections coming and going, refusals, control
    /// actions. In a connection's task it carries the connection's fields
    /// (its span: session, tag, mode).
    pub fn log(&self, message: std::fmt::Arguments<'_>) {
        tracing::debug!("{message}");
    }

    /// A panic elsewhere while holding the lock leaves the counters usable,
    /// so a poisoned lock is simply taken over.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a live connection, in protocol mode if `protocol` is set,
    /// carried by `carrier`; it stays listed until the returned
    /// [`Registration`] is dropped or a drop/close order removes it.
    /// During a graceful shutdown it is told to close at once: whatever
    /// raced past the refusal of new connections is closed like the rest.
    pub fn register(
        self: &Arc<Self>,
        tag: String,
        protocol: bool,
        carrier: Carrier,
    ) -> (Registration, mpsc::UnboundedReceiver<Command>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut state = self.state();
        state.tags.entry(tag.clone()).or_default().connections_total += 1;
        if state.draining {
            let _ = sender.send(Command::new(restart()));
        }
        state.connections.insert(
            id,
            Live {
                tag: tag.clone(),
                protocol,
                carrier,
                commands: sender,
            },
        );
        drop(state);
        let registration = Registration {
            hub: Arc::clone(self),
            id,
            subscriber: Subscriber {
                tag: Arc::from(tag),
                outbound: Arc::new(Outbound::new(&self.bounds)),
            },
            _open: self.metrics.connection_opened(protocol, carrier),
        };
        (registration, receiver)
    }

    fn unregister(&self, id: u64) {
        self.state().connections.remove(&id);
        self.fanout.remove_connection(id);
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
            let (command, receipt) = Command::with_receipt(order.clone());
            if live.commands.send(command).is_ok() {
                receipts.push(receipt);
            }
            !ends_connection
        });
        receipts
    }

    /// Refuses WebSocket upgrades, and with `http` the opening of HTTP
    /// sessions as well, for `period` from now; zero stops refusing.
    pub fn refuse_for(&self, period: Duration, http: bool) {
        let mut state = self.state();
        state.refuse_until = Instant::now().checked_add(period);
        state.refuse_http = http;
    }

    /// Whether an upgrade request arriving now must be refused: for a
    /// while (`/control/refuse`), or for good once a shutdown has begun.
    pub fn refusing(&self) -> bool {
        let state = self.state();
        state.draining
            || state
                .refuse_until
                .is_some_and(|until| Instant::now() < until)
    }

    /// Whether a request opening an HTTP session now must be refused.
    pub fn refusing_http(&self) -> bool {
        let state = self.state();
        let refused_for_now = state.refuse_http
            && state
                .refuse_until
                .is_some_and(|until| Instant::now() < until);
        state.draining || refused_for_now
    }

    /// Runs the task serving a connection, among those a graceful
    /// shutdown waits for.
    pub fn spawn<F>(&self, connection: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(connection);
    }

    /// Begins a graceful shutdown: every connection, and every one that
    /// registers from now on, closes with 1012 once done with the frame it
    /// is handling; new ones are refused.
    pub fn drain(&self) {
        self.state().draining = true;
        self.command(Scope::All, &restart());
    }

    /// Resolves once every connection's task has ended.
    pub async fn connections_ended(&self) {
        self.tasks.ended().await;
    }

    /// How many connections' tasks are running (a connection's task ends
    /// after its close handshake).
    pub fn connection_tasks(&self) -> usize {
        self.tasks.running()
    }

    /// Ends the connections left at once, without a close.
    pub fn cut_connections(&self) {
        self.tasks.cut();
    }
}

/// The order of a graceful shutdown.
fn restart() -> Order {
    Order::Close {
        code: SERVICE_RESTART,
        reason: SERVER_RESTART.to_owned(),
    }
}

/// Forgets, every [`SWEEP_EVERY`], the users and addresses whose rate
/// limits have refilled, for as long as the hub lives.
pub async fn sweep_rates(hub: Weak<Hub>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        every.tick().await;
        let Some(hub) = hub.upgrade() else {
            return;
        };
        hub.rates.sweep();
    }
}

/// Keeps a connection listed in the hub for as long as it lives, however its
/// task ends.
#[derive(Debug)]
pub struct Registration {
    hub: Arc<Hub>,
    id: u64,
    /// Its tag, and the queue of the channel messages it is to send.
    subscriber: Subscriber,
    /// Counts the connection open in the metrics, until it goes.
    _open: Open,
}

impl Registration {
    pub fn tag(&self) -> &str {
        &self.subscriber.tag
    }

    /// The channel messages the connection is to send, and the requests
    /// to close it that come with them.
    pub fn outbound(&self) -> &Outbound {
        &self.subscriber.outbound
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The connection gets the messages of `channel` from now on, after
    /// those it missed since `since`, if given.
    pub async fn subscribe(
        &self,
        channel: &str,
        since: Option<&Since>,
    ) -> Result<Subscribed, Unavailable> {
        self.hub
            .subscribe(self.id, &self.subscriber, channel, since)
            .await
    }

    /// The connection no longer gets the messages of `channel`.
    pub fn unsubscribe(&self, channel: &str) {
        self.hub.unsubscribe(self.id, self.tag(), channel);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
    }
}

#[cfg(test)]
mod tests;
