//! The connection state machine. What happens to messages (the outbox,
//! acknowledgements, storage, expiry) is in [`delivery`].

mod delivery;
mod share;

use std::collections::VecDeque;

use super::backoff;
use super::close_codes::CloseAction;
use super::config::{url_problem, Config, UrlSource};
use super::effect::{Effect, Timer};
use super::event::{CloseInfo, Event, Failure, StateChange};
use super::input::Input;
use super::offsets::Offsets;
use super::outbox::{Entry, Limits, Outbox};
use super::share::{Peer, RecentIds, Role};
use super::state::ConnectionState;
use super::stats::Stats;
use super::subscriptions::Subscriptions;
use super::Payload;

/// Close code the client uses when it gives up on a socket itself
/// (heartbeat or connect timeout).
pub const CLIENT_TIMEOUT_CLOSE_CODE: u16 = 4000;
/// Close code for a socket replaced by `reconnect()`.
const RECONNECT_CLOSE_CODE: u16 = 1000;

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
    /// The open connection speaks the tabwire protocol (acknowledgements).
    acknowledged: bool,
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
    /// The last offset seen of each channel.
    offsets: Offsets,
}

impl<P: Payload + Clone> Machine<P> {
    /// `tab` names this page load among the tabs and `id_prefix` makes its
    /// message ids unique (see [`crate::core::record::id_prefix`]);
    /// `random` returns numbers in `[0, 1)` for the backoff jitter.
    pub fn new(config: Config, tab: String, id_prefix: String, random: Box<dyn FnMut() -> f64>) -> Self {
        let limits = Limits { max_messages: config.queue.max_messages, max_bytes: config.queue.max_bytes };
        let outbox = Outbox::new(limits, id_prefix);
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
            acknowledged: false,
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
            offsets: Offsets::default(),
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
            Input::PersistFailed { id, message } => self.persist_failed(id, message),
            Input::UrlResolved { generation, url } => self.on_url_resolved(now, generation, url),
            Input::UrlFailed { generation, message } => {
                if self.is_resolving(generation) {
                    self.emit(Event::Error(Failure::UrlProvider { message }));
                    self.attempt_failed(now);
                }
            }
            Input::SocketRefused { generation, message } => {
                if self.is_connecting_socket(generation) {
                    self.has_socket = false;
                    self.emit(Event::Error(Failure::SocketRefused { message }));
                    self.attempt_failed(now);
                }
            }
            Input::Opened { generation, acknowledged } => self.on_opened(now, generation, acknowledged),
            Input::Frame { generation, payload } => {
                if self.saw_life(generation) {
                    self.count_in(&payload);
                    self.emit(Event::Message(payload));
                }
            }
            Input::Publication { generation, channel, offset, payload } => {
                if self.saw_life(generation) {
                    self.on_publication(channel, offset, payload);
                }
            }
            Input::Subscribed { generation, channel, offset } => {
                if self.saw_life(generation) {
                    self.on_subscribed(channel, offset);
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
            Input::Gap { generation, channel, since, from } => {
                if self.saw_life(generation) {
                    self.on_gap(channel, since, from);
                }
            }
            Input::Pong { generation } => {
                if self.saw_life(generation) {
                    if let Some(sent_at) = self.ping_sent_at_ms.take() {
                        self.stats.last_rtt_ms = Some(now - sent_at);
                    }
                }
            }
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
            Input::Online => {
                self.online = true;
                if self.owns_connection() && self.state == ConnectionState::Offline {
                    self.begin_attempt(now);
                }
            }
            Input::Offline => self.on_offline(now),
            Input::Visible => self.on_visible(now),
            Input::Hidden => self.on_hidden(),
            Input::Suspend => self.suspend(),
            Input::Resume => self.resume(now),
            Input::Close { code, reason } => self.on_user_close(code, reason),
            Input::Reconnect => self.on_user_reconnect(now),
            Input::Subscribe { channel, since } => {
                if let Some(since) = since {
                    self.offsets.note_if_unknown(&channel, since);
                }
                if !self.channels.contains(&channel) {
                    if since.is_some() && self.role == Role::Follower {
                        self.joining.push(channel.clone());
                    }
                    self.channels.push(channel);
                    self.channels_changed();
                }
            }
            Input::Unsubscribe { channel } => {
                self.joining.retain(|joining| *joining != channel);
                if let Some(index) = self.channels.iter().position(|known| *known == channel) {
                    self.channels.remove(index);
                    self.channels_changed();
                }
            }
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

    fn on_start(&mut self, now: f64, online: bool) {
        if self.state != ConnectionState::Idle {
            return;
        }
        self.online = online;
        if !self.config.auto_connect {
            return;
        }
        if self.config.share.is_some() {
            self.join(now);
        } else if online {
            self.begin_attempt(now);
        } else {
            self.set_state(ConnectionState::Offline, None);
        }
    }

    fn begin_attempt(&mut self, now: f64) {
        self.generation += 1;
        self.stats.attempts += 1;
        self.stopped_by = None;
        self.set_state(ConnectionState::Connecting, None);
        self.arm(Timer::ConnectTimeout, now + self.config.connect_timeout_ms);
        match &self.config.url {
            UrlSource::Fixed(url) => {
                let url = url.clone();
                self.open_socket(url);
            }
            UrlSource::Provider => self.effects.push_back(Effect::ResolveUrl {
                generation: self.generation,
                attempt: self.failures,
                auth_failed: self.auth_failed,
            }),
        }
    }

    fn open_socket(&mut self, url: String) {
        self.has_socket = true;
        self.effects.push_back(Effect::OpenSocket { generation: self.generation, url });
    }

    fn on_url_resolved(&mut self, now: f64, generation: u64, url: String) {
        if !self.is_resolving(generation) {
            return;
        }
        match url_problem(&url) {
            None => self.open_socket(url),
            Some(reason) => {
                self.emit(Event::Error(Failure::InvalidUrl { url, reason }));
                self.attempt_failed(now);
            }
        }
    }

    fn on_opened(&mut self, now: f64, generation: u64, acknowledged: bool) {
        if !self.is_connecting_socket(generation) {
            return;
        }
        self.cancel(Timer::ConnectTimeout);
        self.opened_at_ms = Some(now);
        self.acknowledged = acknowledged;
        if self.ever_opened {
            self.stats.reconnects += 1;
        }
        self.ever_opened = true;
        self.auth_failed = false;
        self.set_state(ConnectionState::Open, None);
        self.emit(Event::Open { attempt: self.failures });
        self.flush_outbox();
        self.subscribe_all();
        if let Some(heartbeat) = &self.config.heartbeat {
            let at = now + heartbeat.interval_ms;
            self.arm(Timer::HeartbeatPing, at);
        }
    }

    /// A frame of the current open socket arrived: whatever it is, the
    /// connection is alive. Returns whether the frame is to be handled.
    fn saw_life(&mut self, generation: u64) -> bool {
        if !(self.is_current_socket(generation) && self.state == ConnectionState::Open) {
            return false;
        }
        self.cancel(Timer::HeartbeatDeadline);
        true
    }

    fn on_timer(&mut self, now: f64, timer: Timer) {
        // A timer that was cancelled or re-armed meanwhile is stale.
        if self.timers[timer.index()].take().is_none() {
            return;
        }
        match timer {
            Timer::Retry => self.begin_attempt(now),
            Timer::ConnectTimeout => {
                self.emit(Event::Error(Failure::ConnectTimeout { timeout_ms: self.config.connect_timeout_ms }));
                if self.has_socket {
                    let reason = "connect timeout".to_owned();
                    self.socket_ended(now, CLIENT_TIMEOUT_CLOSE_CODE, reason, false, CloseAction::Reconnect);
                } else {
                    self.attempt_failed(now);
                }
            }
            Timer::HeartbeatPing => {
                self.send_ping(now);
                if let Some(heartbeat) = &self.config.heartbeat {
                    let at = now + heartbeat.interval_ms;
                    self.arm(Timer::HeartbeatPing, at);
                }
            }
            Timer::HeartbeatDeadline => {
                let timeout_ms = self.config.heartbeat.as_ref().map_or(0.0, |h| h.timeout_ms);
                self.emit(Event::Error(Failure::HeartbeatTimeout { timeout_ms }));
                let reason = "heartbeat timeout".to_owned();
                self.socket_ended(now, CLIENT_TIMEOUT_CLOSE_CODE, reason, false, CloseAction::Reconnect);
            }
            Timer::Expiry => self.expire(now),
            Timer::Probe => self.probe(now),
        }
    }

    fn on_offline(&mut self, now: f64) {
        self.online = false;
        if !self.owns_connection() {
            return;
        }
        match self.state {
            ConnectionState::Reconnecting => {
                self.cancel(Timer::Retry);
                self.set_state(ConnectionState::Offline, None);
            }
            // An open socket may survive a network change (or be on the
            // loopback): probe it rather than dropping it.
            ConnectionState::Open => self.send_ping(now),
            // A connecting socket fails by itself if the network is gone,
            // and then the retry waits for `online`.
            _ => {}
        }
    }

    fn on_visible(&mut self, now: f64) {
        self.visible = true;
        if !self.owns_connection() {
            return self.probe(now);
        }
        match self.state {
            ConnectionState::Reconnecting => {
                self.cancel(Timer::Retry);
                self.begin_attempt(now);
            }
            // Timers of a hidden page are throttled: check the socket now.
            ConnectionState::Open => {
                if let Some(heartbeat) = &self.config.heartbeat {
                    let at = now + heartbeat.interval_ms;
                    self.send_ping(now);
                    self.arm(Timer::HeartbeatPing, at);
                }
            }
            _ => {}
        }
    }

    fn on_user_close(&mut self, code: u16, reason: String) {
        if self.state == ConnectionState::Closed && !self.sharing {
            return;
        }
        // The other tabs keep the connection: only this one leaves.
        self.leave();
        let info = CloseInfo { code, reason, clean: true, will_reconnect: false };
        self.discard_socket(&info);
        self.stop(Some(info));
    }

    fn on_user_reconnect(&mut self, now: f64) {
        if self.config.share.is_some() && self.role != Role::Leader {
            // A follower has no socket of its own to replace.
            if !self.sharing {
                self.join(now);
            }
            return;
        }
        self.cancel_all_timers();
        let info = CloseInfo {
            code: RECONNECT_CLOSE_CODE,
            reason: "reconnect".to_owned(),
            clean: true,
            will_reconnect: true,
        };
        self.discard_socket(&info);
        self.failures = 0;
        self.begin_attempt(now);
    }

    /// Closes and forgets the current socket, if any, reporting its close.
    fn discard_socket(&mut self, info: &CloseInfo) {
        self.outbox.requeue_in_flight();
        self.opened_at_ms = None;
        self.ping_sent_at_ms = None;
        if self.has_socket {
            self.has_socket = false;
            self.effects.push_back(Effect::CloseSocket { code: info.code, reason: info.reason.clone() });
            self.emit(Event::Close(info.clone()));
        }
    }

    /// The current socket is gone (closed by the server or the network, or
    /// given up by a timeout): report it and decide what comes next.
    fn socket_ended(&mut self, now: f64, code: u16, reason: String, clean: bool, action: CloseAction) {
        self.outbox.requeue_in_flight();
        self.cancel(Timer::ConnectTimeout);
        self.cancel(Timer::HeartbeatPing);
        self.cancel(Timer::HeartbeatDeadline);
        let uptime = self.opened_at_ms.map(|opened| now - opened);
        if action == CloseAction::Stop {
            let info = CloseInfo { code, reason, clean, will_reconnect: false };
            self.discard_socket(&info);
            self.stop(Some(info));
            return;
        }
        if action == CloseAction::ReconnectWithFreshCredentials {
            self.auth_failed = true;
        }
        if uptime.is_some_and(|uptime| uptime >= self.config.reconnect.min_uptime_ms) {
            self.failures = 0;
        }
        self.failures += 1;
        let info = CloseInfo { code, reason, clean, will_reconnect: !self.retries_exhausted() };
        self.discard_socket(&info);
        self.schedule_retry(now);
    }

    /// An attempt failed before any socket existed (URL provider, refused socket).
    fn attempt_failed(&mut self, now: f64) {
        self.cancel(Timer::ConnectTimeout);
        self.failures += 1;
        self.schedule_retry(now);
    }

    fn retries_exhausted(&self) -> bool {
        self.config.reconnect.max_retries.is_some_and(|max| self.failures > max)
    }

    fn schedule_retry(&mut self, now: f64) {
        if let Some(max) = self.config.reconnect.max_retries {
            if self.failures > max {
                self.emit(Event::Error(Failure::RetriesExhausted { retries: max }));
                self.stop(None);
                return;
            }
        }
        if !self.online {
            self.set_state(ConnectionState::Offline, None);
            return;
        }
        let random = (self.random)();
        let delay_ms = backoff::delay_ms(&self.config.reconnect, self.failures - 1, random);
        let retry_at_ms = now + delay_ms;
        self.arm(Timer::Retry, retry_at_ms);
        self.set_state(ConnectionState::Reconnecting, Some(retry_at_ms));
        self.emit(Event::Reconnecting { attempt: self.failures, delay_ms, retry_at_ms });
    }

    fn stop(&mut self, close: Option<CloseInfo>) {
        self.cancel_all_timers();
        self.stopped_by = close;
        self.set_state(ConnectionState::Closed, None);
    }

    fn send_ping(&mut self, now: f64) {
        let Some(heartbeat) = &self.config.heartbeat else {
            return;
        };
        let deadline = now + heartbeat.timeout_ms;
        self.effects.push_back(Effect::SendPing);
        self.ping_sent_at_ms = Some(now);
        // An earlier unanswered ping keeps its (earlier) deadline.
        if self.timers[Timer::HeartbeatDeadline.index()].is_none() {
            self.arm(Timer::HeartbeatDeadline, deadline);
        }
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
        for timer in [Timer::Retry, Timer::ConnectTimeout, Timer::HeartbeatPing, Timer::HeartbeatDeadline] {
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
