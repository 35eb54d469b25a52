//! The socket's life: attempts and backoff, the greeting that decides the
//! connection's mode, the heartbeat, close codes, the browser's signals
//! and the user's close and reconnect.

use super::Machine;
use crate::core::backoff;
use crate::core::close_codes::{retry_after_ms, CloseAction};
use crate::core::config::{url_problem, ProtocolChoice, UrlSource};
use crate::core::effect::{Effect, Timer};
use crate::core::event::{CloseInfo, Event, Failure};
use crate::core::mode::{Mode, PROTOCOL};
use crate::core::share::Role;
use crate::core::state::ConnectionState;
use crate::core::Payload;

/// Close code the client uses when it gives up on a socket itself
/// (heartbeat or connect timeout, a server that did not greet as asked).
pub const CLIENT_TIMEOUT_CLOSE_CODE: u16 = 4000;
/// Close code for a socket replaced by `reconnect()`.
const RECONNECT_CLOSE_CODE: u16 = 1000;

impl<P: Payload + Clone> Machine<P> {
    pub(super) fn on_start(&mut self, now: f64, online: bool) {
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

    pub(super) fn on_online(&mut self, now: f64) {
        self.online = true;
        if self.owns_connection() && self.state == ConnectionState::Offline {
            self.begin_attempt(now);
        }
    }

    /// Starts a connection attempt, unless a rate-limited close asked the
    /// client to stay away until later: then the attempt waits for then,
    /// whatever hurried it (the page shown, the network back, `reconnect()`).
    pub(super) fn begin_attempt(&mut self, now: f64) {
        if let Some(at) = self.retry_not_before_ms.filter(|at| *at > now) {
            self.arm(Timer::Retry, at);
            return self.set_state(ConnectionState::Reconnecting, Some(at));
        }
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
        self.last_url = Some(url.clone());
        let transport = self.next_transport();
        self.effects.push_back(Effect::OpenSocket {
            generation: self.generation,
            url,
            transport,
        });
    }

    pub(super) fn on_url_resolved(&mut self, now: f64, generation: u64, url: String) {
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

    pub(super) fn on_url_failed(&mut self, now: f64, generation: u64, message: String) {
        if self.is_resolving(generation) {
            self.emit(Event::Error(Failure::UrlProvider { message }));
            self.attempt_failed(now);
        }
    }

    pub(super) fn on_socket_refused(&mut self, now: f64, generation: u64, message: String) {
        if self.is_connecting_socket(generation) {
            self.has_socket = false;
            self.emit(Event::Error(Failure::SocketRefused { message }));
            self.transport_attempt_ended(None, false);
            self.attempt_failed(now);
        }
    }

    /// The socket is up; unless the application said its server is raw,
    /// the connection waits for the server's hello before it is open.
    pub(super) fn on_opened(&mut self, now: f64, generation: u64, subprotocol: &str) {
        if !self.is_connecting_socket(generation) || self.awaiting_hello {
            return;
        }
        self.cancel(Timer::ConnectTimeout);
        self.tabwire_selected = subprotocol == PROTOCOL;
        if self.config.protocol == ProtocolChoice::Raw {
            return self.connection_ready(now, Mode::Raw);
        }
        self.awaiting_hello = true;
        self.arm(Timer::Hello, now + self.hello_wait_ms);
    }

    /// The server greeted. A tabwire hello makes the connection a tabwire
    /// one; a hello of another protocol is a raw server's first frame. A
    /// hello after the connection was taken for raw comes from a tabwire
    /// server that greeted late: the connection starts again, and the next
    /// one waits longer.
    pub(super) fn on_hello(&mut self, now: f64, generation: u64, protocol: &str, payload: P) {
        if !self.is_current_socket(generation) {
            return;
        }
        if self.awaiting_hello && protocol == PROTOCOL {
            return self.connection_ready(now, Mode::Tabwire);
        }
        if self.hello_may_be_late && protocol == PROTOCOL {
            self.hello_wait_ms = (self.hello_wait_ms * 2.0).min(self.config.connect_timeout_ms);
            let reason = "the server greeted late".to_owned();
            self.emit(Event::Warning {
                key: "hello".to_owned(),
                reason: format!(
                    "the server's tabwire hello came after the connection was taken for raw; reconnecting, and waiting up to {} ms next time",
                    crate::core::number::Number(self.hello_wait_ms)
                ),
            });
            return self.socket_ended(now, CLIENT_TIMEOUT_CLOSE_CODE, reason, true, CloseAction::Reconnect);
        }
        if self.awaiting_hello {
            self.emit(Event::Warning {
                key: "hello".to_owned(),
                reason: format!("the server greets with protocol \"{protocol}\"; this client speaks {PROTOCOL}"),
            });
        }
        self.on_frame(now, generation, payload);
    }

    /// An application frame: it is life, and, while the server has not
    /// greeted, proof that it will not.
    pub(super) fn on_frame(&mut self, now: f64, generation: u64, payload: P) {
        if self.awaiting_hello && self.is_current_socket(generation) {
            self.no_hello(now, true);
        }
        if self.saw_life(generation) {
            self.hello_may_be_late = false;
            self.count_in(&payload);
            self.emit(Event::Message(payload));
        }
    }

    /// The server did not greet: something else came first, or nothing
    /// did in time. Over HTTP the protocol is tabwire's or nothing; a
    /// stream whose first event does not come is buffered by a proxy.
    fn no_hello(&mut self, now: f64, first_frame: bool) {
        let transport = self.next_transport();
        if transport.is_http() && !first_frame && self.stream_buffered(now) {
            return;
        }
        if self.config.protocol == ProtocolChoice::Tabwire || transport.is_http() {
            self.emit(Event::Error(Failure::NotTabwire { first_frame }));
            let reason = "no tabwire hello".to_owned();
            return self.socket_ended(now, CLIENT_TIMEOUT_CLOSE_CODE, reason, false, CloseAction::Reconnect);
        }
        if self.tabwire_selected {
            self.emit(Event::Warning {
                key: "hello".to_owned(),
                reason: format!(
                    "the server selected the {PROTOCOL} subprotocol but did not greet with the tabwire hello: the connection is raw"
                ),
            });
        }
        self.hello_may_be_late = !first_frame;
        self.connection_ready(now, Mode::Raw);
    }

    /// The connection is up and its mode known: open. A tabwire server
    /// hears this client's hello and credentials first, then what waits.
    fn connection_ready(&mut self, now: f64, mode: Mode) {
        self.cancel(Timer::Hello);
        self.awaiting_hello = false;
        self.mode = Some(mode);
        self.opened_at_ms = Some(now);
        if self.ever_opened {
            self.stats.reconnects += 1;
        }
        self.ever_opened = true;
        self.auth_failed = false;
        let transport = self.next_transport();
        self.open_transport = Some(transport);
        self.set_state(ConnectionState::Open, None);
        self.emit(Event::Open {
            attempt: self.failures,
            mode,
            transport,
        });
        self.transport_opened(now);
        if mode == Mode::Tabwire {
            self.effects.push_back(Effect::Greet);
        } else {
            self.report_waiting_protocol_work();
        }
        self.flush_outbox();
        self.subscribe_all();
        if self.heartbeat_runs() {
            if let Some(heartbeat) = &self.config.heartbeat {
                let at = now + heartbeat.interval_ms;
                self.arm(Timer::HeartbeatPing, at);
            }
        }
    }

    /// Whether the open connection is pinged: always on a tabwire one, on a
    /// raw one only with a ping of the application's.
    fn heartbeat_runs(&self) -> bool {
        match (&self.config.heartbeat, self.mode) {
            (Some(_), Some(Mode::Tabwire)) => true,
            (Some(heartbeat), Some(Mode::Raw)) => heartbeat.in_raw,
            _ => false,
        }
    }

    /// A frame of the current open socket arrived: whatever it is, the
    /// connection is alive. Returns whether the frame is to be handled.
    pub(super) fn saw_life(&mut self, generation: u64) -> bool {
        if !(self.is_current_socket(generation) && self.state == ConnectionState::Open) {
            return false;
        }
        self.cancel(Timer::HeartbeatDeadline);
        true
    }

    pub(super) fn on_pong(&mut self, now: f64, generation: u64) {
        if self.saw_life(generation) {
            self.hello_may_be_late = false;
            if let Some(sent_at) = self.ping_sent_at_ms.take() {
                self.stats.last_rtt_ms = Some(now - sent_at);
            }
        }
    }

    pub(super) fn on_timer(&mut self, now: f64, timer: Timer) {
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
            Timer::Hello => self.no_hello(now, false),
            Timer::Upgrade => self.on_upgrade_timer(),
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

    pub(super) fn on_offline(&mut self, now: f64) {
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

    pub(super) fn on_visible(&mut self, now: f64) {
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
                if let (true, Some(heartbeat)) = (self.heartbeat_runs(), &self.config.heartbeat) {
                    let at = now + heartbeat.interval_ms;
                    self.send_ping(now);
                    self.arm(Timer::HeartbeatPing, at);
                }
            }
            _ => {}
        }
    }

    pub(super) fn on_user_close(&mut self, code: u16, reason: String) {
        if self.state == ConnectionState::Closed && !self.sharing {
            return;
        }
        // The other tabs keep the connection: only this one leaves.
        self.leave();
        let info = CloseInfo { code, reason, clean: true, will_reconnect: false };
        self.discard_socket(&info);
        self.stop(Some(info));
    }

    pub(super) fn on_user_reconnect(&mut self, now: f64) {
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
    pub(super) fn discard_socket(&mut self, info: &CloseInfo) {
        self.outbox.requeue_in_flight();
        self.opened_at_ms = None;
        self.ping_sent_at_ms = None;
        self.mode = None;
        self.open_transport = None;
        self.awaiting_hello = false;
        self.hello_may_be_late = false;
        self.cancel(Timer::Hello);
        if self.has_socket {
            self.has_socket = false;
            self.effects.push_back(Effect::CloseSocket { code: info.code, reason: info.reason.clone() });
            self.emit(Event::Close(info.clone()));
        }
    }

    /// The current socket is gone (closed by the server or the network, or
    /// given up by a timeout): report it and decide what comes next.
    pub(super) fn socket_ended(&mut self, now: f64, code: u16, reason: String, clean: bool, action: CloseAction) {
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
        self.transport_attempt_ended(uptime, clean);
        if uptime.is_some_and(|uptime| uptime >= self.config.reconnect.min_uptime_ms) {
            self.failures = 0;
        }
        self.failures += 1;
        self.retry_not_before_ms = retry_after_ms(code, &reason).map(|wait| now + wait);
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
        let backoff_ms = backoff::delay_ms(&self.config.reconnect, self.failures - 1, random);
        let retry_at_ms = (now + backoff_ms).max(self.retry_not_before_ms.unwrap_or(now));
        let delay_ms = retry_at_ms - now;
        self.arm(Timer::Retry, retry_at_ms);
        self.set_state(ConnectionState::Reconnecting, Some(retry_at_ms));
        self.emit(Event::Reconnecting { attempt: self.failures, delay_ms, retry_at_ms });
    }

    pub(super) fn stop(&mut self, close: Option<CloseInfo>) {
        self.cancel_all_timers();
        self.stopped_by = close;
        self.set_state(ConnectionState::Closed, None);
    }

    fn send_ping(&mut self, now: f64) {
        let Some(heartbeat) = &self.config.heartbeat else {
            return;
        };
        if !self.heartbeat_runs() {
            return;
        }
        let deadline = now + heartbeat.timeout_ms;
        self.effects.push_back(Effect::SendPing);
        self.ping_sent_at_ms = Some(now);
        // An earlier unanswered ping keeps its (earlier) deadline.
        if self.timers[Timer::HeartbeatDeadline.index()].is_none() {
            self.arm(Timer::HeartbeatDeadline, deadline);
        }
    }
}
