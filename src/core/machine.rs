//! The connection state machine, by job: the socket's life and its mode
//! in [`connection`], the transport that carries it in [`transport`],
//! messages (the outbox, acknowledgements, storage, expiry) in
//! [`delivery`], channel positions in [`channels`], the tabs sharing one
//! connection in [`share`].

mod channels;
mod connection;
mod delivery;
mod share;
mod transport;

use std::collections::VecDeque;

use super::config::Config;
use super::effect::{Effect, Timer};
use super::event::{CloseInfo, Event, Failure, StateChange};
use super::input::Input;
use super::mode::Mode;
use super::outbox::{Entry, Limits, Outbox};
use super::positions::Positions;
use super::share::{Peer, RecentIds, Role};
use super::state::ConnectionState;
use super::stats::Stats;
use super::subscriptions::Subscriptions;
use super::transport::{Transport, Transports};
use super::Payload;

pub use connection::CLIENT_TIMEOUT_CLOSE_CODE;
pub use delivery::SendRefusal;

/// What became of a message handed to [`Machine::send`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Handed to the open socket.
    Sent,
    /// Waiting in the outbox for the next open connection.
    Queued,
}

/// A message accepted by [`Machine::send`], and the id that follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub id: String,
    pub outcome: SendOutcome,
}

/// A client connection, fed with inputs and the current time (ms, any
/// monotonic origin), answering with effects collected by [`Machine::poll`].
pub struct Machine<P> {
    config: Config,
    state: ConnectionState,
    /// The generation of the newest socket; events of older ones are stale.
    generation: u64,
    /// A socket of `generation` exists (connecting or open).
    has_socket: bool,
    /// Failed attempts since the last connection that stayed up for
    /// `minUptimeMs`: the number of the retry being scheduled or made.
    failures: u32,
    opened_at_ms: Option<f64>,
    ever_opened: bool,
    online: bool,
    /// The last server close asked for fresh credentials.
    auth_failed: bool,
    /// The last server close refused this client for going over its rate
    /// limit and asked it not to connect before then (machine clock).
    retry_not_before_ms: Option<f64>,
    /// What the open connection speaks; `None` while none is open (or its
    /// server has not greeted yet). A follower mirrors the leader's.
    mode: Option<Mode>,
    /// The socket is open and its server has not greeted yet.
    awaiting_hello: bool,
    /// The connection was taken for raw when the hello did not come in
    /// time, and no frame came since: a hello now is a late one.
    hello_may_be_late: bool,
    /// The server of the socket selected `tabwire.v1` (an echo of an offer
    /// the application made), which a raw server should not have.
    tabwire_selected: bool,
    /// How long the next socket waits for the hello: the option, doubled
    /// (up to the connect timeout) each time a hello came late.
    hello_wait_ms: f64,
    /// The transport of the next attempts, and the rules of changing it.
    transports: Transports,
    /// What carries the open connection (in a follower, the leader's).
    open_transport: Option<Transport>,
    /// The URL of the last attempt, for probes of the WebSocket.
    last_url: Option<String>,
    ping_sent_at_ms: Option<f64>,
    timers: [Option<f64>; Timer::ALL.len()],
    last_reported: Option<(ConnectionState, u32)>,
    stopped_by: Option<CloseInfo>,
    outbox: Outbox<P>,
    stats: Stats,
    effects: VecDeque<Effect<P>>,
    random: Box<dyn FnMut() -> f64>,
    /// This page load's name among the tabs.
    tab: String,
    role: Role,
    /// Taking part in sharing: holding or waiting for the leader lock and
    /// hearing the other tabs.
    sharing: bool,
    /// The newest leader epoch seen, or this tab's own while it leads.
    epoch: u64,
    /// A follower knows a live leader to relay its messages to.
    leader_known: bool,
    visible: bool,
    /// A follower's question to the leader is unanswered since then.
    unanswered_since: Option<f64>,
    /// The channels this tab's listeners want.
    channels: Vec<String>,
    /// While this tab owns the socket: the channels of every tab.
    subscriptions: Subscriptions,
    /// While leading: relayed messages finished lately.
    finished: RecentIds,
    /// While following: the number of tabs the leader last announced.
    tabs_announced: u32,
    /// While following: channels this tab began to listen to from an
    /// offset, whose replay (asked of the server by the leader) has not
    /// begun; see `on_publication`.
    joining: Vec<String>,
    /// Where this tab is in each channel.
    positions: Positions,
    /// Channels whose subscription named another epoch (the second) than
    /// this tab's position: the first message without a `gap` before it
    /// starts the new numbering (see `channels`).
    renumbered: Vec<(String, String)>,
}

impl<P: Payload + Clone> Machine<P> {
    /// `tab` names this page load among the tabs and `id_prefix` makes its
    /// message ids unique (see [`crate::core::record::id_prefix`]);
    /// `random` returns numbers in `[0, 1)` for the backoff jitter.
    pub fn new(config: Config, tab: String, id_prefix: String, random: Box<dyn FnMut() -> f64>) -> Self {
        let limits = Limits { max_messages: config.queue.max_messages, max_bytes: config.queue.max_bytes };
        let outbox = Outbox::new(limits, id_prefix);
        let hello_wait_ms = config.hello_timeout_ms;
        let transports = Transports::new(config.transports.clone());
        Machine {
            config,
            state: ConnectionState::Idle,
            generation: 0,
            has_socket: false,
            failures: 0,
            opened_at_ms: None,
            ever_opened: false,
            online: true,
            auth_failed: false,
            retry_not_before_ms: None,
            mode: None,
            awaiting_hello: false,
            hello_may_be_late: false,
            tabwire_selected: false,
            hello_wait_ms,
            transports,
            open_transport: None,
            last_url: None,
            ping_sent_at_ms: None,
            timers: [None; Timer::ALL.len()],
            last_reported: None,
            stopped_by: None,
            outbox,
            stats: Stats::default(),
            effects: VecDeque::new(),
            random,
            tab,
            role: Role::Solo,
            sharing: false,
            epoch: 0,
            leader_known: false,
            visible: true,
            unanswered_since: None,
            channels: Vec::new(),
            subscriptions: Subscriptions::default(),
            finished: RecentIds::default(),
            tabs_announced: 0,
            joining: Vec::new(),
            positions: Positions::default(),
            renumbered: Vec::new(),
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether this tab has (or makes) the socket itself.
    fn owns_connection(&self) -> bool {
        self.role != Role::Follower
    }

    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// What the open connection speaks (in a follower, the leader's).
    pub fn mode(&self) -> Option<Mode> {
        self.mode
    }

    /// What carries the open connection (in a follower, the leader's).
    pub fn transport(&self) -> Option<Transport> {
        self.open_transport
    }

    /// Whether a server hello is to be told apart from other frames now:
    /// while the open socket's server has not greeted, and, once it was
    /// taken for raw for greeting too late, until its first frame.
    pub fn expects_hello(&self) -> bool {
        self.awaiting_hello || self.hello_may_be_late
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Undelivered messages: waiting for a socket, or for their ack.
    /// A leader's outbox also holds the messages followers relayed to it;
    /// those are theirs to list.
    pub fn outbox(&self) -> impl Iterator<Item = &Entry<P>> {
        self.outbox.reported()
    }

    pub fn queued(&self) -> usize {
        self.outbox.reported().count()
    }

    /// When the next attempt starts (machine clock), while `Reconnecting`.
    pub fn retry_at_ms(&self) -> Option<f64> {
        self.timers[Timer::Retry.index()]
    }

    /// The next effect to carry out, oldest first.
    pub fn poll(&mut self) -> Option<Effect<P>> {
        self.effects.pop_front()
    }

    pub fn handle(&mut self, now: f64, input: Input<P>) {
        match input {
            Input::Restore { entries, skipped } => self.restore(now, entries, skipped),
            Input::Start { online } => self.on_start(now, online),
            Input::Remembered { transport } => self.transports.resume(transport),
            Input::ProbeResult { passed } => self.on_probe_result(now, passed),
            Input::PersistFailed { id, message } => self.persist_failed(id, message),
            Input::UrlResolved { generation, url } => self.on_url_resolved(now, generation, url),
            Input::UrlFailed { generation, message } => self.on_url_failed(now, generation, message),
            Input::SocketRefused { generation, message } => self.on_socket_refused(now, generation, message),
            Input::Opened { generation, subprotocol } => self.on_opened(now, generation, &subprotocol),
            Input::Hello { generation, protocol, payload } => self.on_hello(now, generation, &protocol, payload),
            Input::Frame { generation, payload } => self.on_frame(now, generation, payload),
            Input::Publication { generation, channel, offset, payload } => {
                if self.saw_life(generation) {
                    self.on_publication(channel, offset, None, payload);
                }
            }
            Input::Subscribed { generation, channel, offset, epoch } => {
                if self.saw_life(generation) {
                    self.on_subscribed(channel, offset, epoch);
                }
            }
            Input::Unsubscribed { generation, channel } => {
                if self.saw_life(generation) {
                    self.emit(Event::Unsubscribed { channel });
                }
            }
            Input::SubscribeError { generation, channel, code, message } => {
                if self.saw_life(generation) {
                    self.emit(Event::SubscribeError { channel, code, message });
                }
            }
            Input::Gap { generation, channel, since, from, reason, epoch } => {
                if self.saw_life(generation) {
                    self.on_gap(channel, since, from, reason, epoch);
                }
            }
            Input::Pong { generation } => self.on_pong(now, generation),
            Input::Ack { generation, id } => {
                if self.saw_life(generation) {
                    self.on_ack(id);
                }
            }
            Input::Rejected { generation, id, code, message } => {
                if self.saw_life(generation) {
                    self.on_rejected(id, code, message);
                }
            }
            Input::ServerError { generation, code, message } => {
                if self.saw_life(generation) {
                    self.emit(Event::Error(Failure::Server { code, message }));
                }
            }
            Input::SocketError { generation } => {
                if self.is_current_socket(generation) {
                    self.emit(Event::Error(Failure::Socket));
                }
            }
            Input::Closed { generation, code, reason, clean } => {
                if self.is_current_socket(generation) {
                    let action = self.config.close_codes.classify(code);
                    self.socket_ended(now, code, reason, clean, action);
                }
            }
            Input::TimerFired(timer) => self.on_timer(now, timer),
            Input::Online => self.on_online(now),
            Input::Offline => self.on_offline(now),
            Input::Visible => self.on_visible(now),
            Input::Hidden => self.on_hidden(),
            Input::Suspend => self.suspend(),
            Input::Resume => self.resume(now),
            Input::Close { code, reason } => self.on_user_close(code, reason),
            Input::Reconnect => self.on_user_reconnect(now),
            Input::Subscribe { channel, since } => self.on_subscribe(channel, since),
            Input::Unsubscribe { channel } => self.on_unsubscribe(channel),
            Input::LockGranted { stored_epoch } => self.on_lock_granted(now, stored_epoch),
            Input::LockLost => self.on_lock_lost(now),
            Input::Peer(peer) => self.on_peer(now, peer),
            Input::TabGone { tab } => self.forget_tab(&tab),
        }
    }

    fn count_in(&mut self, payload: &P) {
        self.stats.messages_in += 1;
        self.stats.bytes_in += payload.size() as u64;
    }

    fn is_current_socket(&self, generation: u64) -> bool {
        generation == self.generation && self.has_socket
    }

    fn is_connecting_socket(&self, generation: u64) -> bool {
        self.is_current_socket(generation) && self.state == ConnectionState::Connecting
    }

    fn is_resolving(&self, generation: u64) -> bool {
        generation == self.generation && !self.has_socket && self.state == ConnectionState::Connecting
    }

    fn set_state(&mut self, state: ConnectionState, retry_at_ms: Option<f64>) {
        self.state = state;
        if self.last_reported == Some((state, self.failures)) {
            return;
        }
        self.last_reported = Some((state, self.failures));
        let close = if state == ConnectionState::Closed { self.stopped_by.clone() } else { None };
        self.emit(Event::State(StateChange { state, attempt: self.failures, retry_at_ms, close }));
    }

    fn arm(&mut self, timer: Timer, at_ms: f64) {
        self.timers[timer.index()] = Some(at_ms);
        self.effects.push_back(Effect::SetTimer { timer, at_ms });
    }

    fn cancel(&mut self, timer: Timer) {
        if self.timers[timer.index()].take().is_some() {
            self.effects.push_back(Effect::CancelTimer(timer));
        }
    }

    /// Every connection timer; the outbox expiry goes on regardless.
    fn cancel_all_timers(&mut self) {
        for timer in [
            Timer::Retry,
            Timer::ConnectTimeout,
            Timer::Hello,
            Timer::HeartbeatPing,
            Timer::HeartbeatDeadline,
            Timer::Upgrade,
        ] {
            self.cancel(timer);
        }
    }

    /// Reports an event to this tab's listeners and, from a leader, the
    /// connection's events to every other tab.
    fn emit(&mut self, event: Event<P>) {
        if self.role == Role::Leader && self.sharing && event.concerns_every_tab() {
            let epoch = self.epoch;
            self.effects.push_back(Effect::Broadcast(Peer::Event { epoch, event: event.clone() }));
        }
        self.effects.push_back(Effect::Emit(event));
    }
}
