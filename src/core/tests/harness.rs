//! A virtual browser around the machine: it keeps the armed timers, the
//! current socket and everything emitted or sent, and moves a virtual clock.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::core::mode::PROTOCOL;
use crate::core::{
    Config, ConnectionState, Effect, Event, Failure, Input, Machine, Peer, Restored, SendOutcome,
    SendRefusal, Timer, Transport, UrlSource,
};

pub const URL: &str = "ws://127.0.0.1:9/ws";
/// The id prefix of the harness's page load.
pub const IDS: &str = "0000000000001-harness0-";
/// The tab name of the harness.
pub const TAB: &str = "harness0";

/// A configuration with every default but the transports: the WebSocket
/// only (the transport tests allow HTTP themselves).
pub fn config() -> Config {
    let mut config = Config::new(UrlSource::Fixed(URL.to_owned()));
    config.transports = vec![Transport::WebSocket];
    config
}

/// Randomness from a fixed sequence, repeated; tests stay exact.
pub fn sequence(values: Vec<f64>) -> Box<dyn FnMut() -> f64> {
    let mut index = 0;
    Box::new(move || {
        let value = values[index % values.len()];
        index += 1;
        value
    })
}

/// Stored messages: id to (payload, created, attempts), in id order.
pub type Stored = BTreeMap<String, (String, f64, u32)>;

pub struct Harness {
    pub machine: Machine<String>,
    pub now: f64,
    timers: [Option<f64>; Timer::ALL.len()],
    /// The generation of the live socket, as the browser layer would hold it.
    pub socket: Option<u64>,
    /// Every socket ever opened: (generation, url).
    pub opened: Vec<(u64, String)>,
    /// The transport of each socket opened, in order.
    pub carried_by: Vec<Transport>,
    /// The WebSocket probes asked for (their URLs).
    pub probes: Vec<String>,
    /// What the machine asked to remember of the transport, in order.
    pub remembered: Vec<Option<Transport>>,
    /// Frames handed to sockets, heartbeat pings as "<ping>".
    pub sent: Vec<String>,
    /// The ids of messages sent in protocol mode, in order.
    pub sent_ids: Vec<String>,
    /// The storage: id to (payload, created, attempts), in id order.
    pub stored: Stored,
    /// The origin's storage when several harnesses play tabs of one origin;
    /// it replaces `stored` then.
    pub shared: Option<Rc<RefCell<Stored>>>,
    /// Whether the server of the next socket speaks the tabwire protocol:
    /// it greets with the tabwire hello as soon as the socket opens.
    pub server_greets: bool,
    /// When the machine answered a greeting with this client's hello and
    /// credentials: how many frames had been sent by then.
    pub greetings: Vec<usize>,
    /// Sockets the machine closed: (code, reason).
    pub closed: Vec<(u16, String)>,
    pub url_requests: Vec<(u64, u32, bool)>,
    pub events: Vec<Event<String>>,
    /// Leader lock requests, `true` for a steal.
    pub lock_requests: Vec<bool>,
    pub lock_releases: u32,
    /// Epochs this tab led with.
    pub led: Vec<u64>,
    pub rescans: u32,
    /// Messages posted to the other tabs.
    pub broadcasts: Vec<Peer<String>>,
    /// Tabs whose end the machine waits for.
    pub watched: Vec<String>,
}

impl Harness {
    pub fn new(config: Config) -> Self {
        Self::with_random(config, vec![0.5])
    }

    pub fn with_random(config: Config, random: Vec<f64>) -> Self {
        Self::with_machine(Machine::new(config, TAB.to_owned(), IDS.to_owned(), sequence(random)))
    }

    pub fn with_machine(machine: Machine<String>) -> Self {
        Harness {
            machine,
            now: 0.0,
            timers: [None; Timer::ALL.len()],
            socket: None,
            opened: Vec::new(),
            carried_by: Vec::new(),
            probes: Vec::new(),
            remembered: Vec::new(),
            sent: Vec::new(),
            sent_ids: Vec::new(),
            stored: BTreeMap::new(),
            shared: None,
            server_greets: false,
            greetings: Vec::new(),
            closed: Vec::new(),
            url_requests: Vec::new(),
            events: Vec::new(),
            lock_requests: Vec::new(),
            lock_releases: 0,
            led: Vec::new(),
            rescans: 0,
            broadcasts: Vec::new(),
            watched: Vec::new(),
        }
    }

    /// A harness that has started and whose first socket is open.
    pub fn connected(config: Config) -> Self {
        let mut harness = Harness::new(config);
        harness.input(Input::Start { online: true });
        harness.open();
        harness
    }

    /// A harness that has started and whose first socket is open, its
    /// server greeting with the tabwire hello.
    pub fn greeted(config: Config) -> Self {
        let mut harness = Harness::new(config);
        harness.server_greets = true;
        harness.input(Input::Start { online: true });
        harness.open();
        harness
    }

    pub fn input(&mut self, input: Input<String>) {
        self.machine.handle(self.now, input);
        self.drain();
    }

    pub fn send(&mut self, text: &str) -> Result<SendOutcome, SendRefusal> {
        let sent = self.machine.send(self.now, text.to_owned());
        self.drain();
        sent.map(|sent| sent.outcome)
    }

    /// Carries out what the machine asked for outside of `input`.
    pub fn drain_effects(&mut self) {
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(effect) = self.machine.poll() {
            match effect {
                Effect::ResolveUrl { generation, attempt, auth_failed } => {
                    self.url_requests.push((generation, attempt, auth_failed));
                }
                Effect::OpenSocket {
                    generation,
                    url,
                    transport,
                } => {
                    self.socket = Some(generation);
                    self.opened.push((generation, url));
                    self.carried_by.push(transport);
                }
                Effect::ProbeWebSocket { url, .. } => self.probes.push(url),
                Effect::RememberTransport { transport } => self.remembered.push(transport),
                Effect::Greet => self.greetings.push(self.sent.len()),
                Effect::SendMessage { id, payload } => {
                    self.sent.push(payload);
                    self.sent_ids.extend(id);
                }
                Effect::Persist { id, payload, created_ms, attempts } => {
                    self.storage(|stored| stored.insert(id, (payload, created_ms, attempts)));
                }
                Effect::Unpersist { id } => {
                    self.storage(|stored| stored.remove(&id));
                }
                Effect::SendPing => self.sent.push("<ping>".to_owned()),
                Effect::CloseSocket { code, reason } => {
                    self.socket = None;
                    self.closed.push((code, reason));
                }
                Effect::SendSubscription { channel, subscribe, since } => {
                    let kind = if subscribe { "subscribe" } else { "unsubscribe" };
                    let since = since
                        .map(|since| {
                            let epoch = since.epoch.map(|epoch| format!("@{epoch}")).unwrap_or_default();
                            format!(" since {}{epoch}", since.offset)
                        })
                        .unwrap_or_default();
                    self.sent.push(format!("<{kind} {channel}{since}>"));
                }
                Effect::SetTimer { timer, at_ms } => self.timers[timer.index()] = Some(at_ms),
                Effect::CancelTimer(timer) => self.timers[timer.index()] = None,
                Effect::Emit(event) => self.events.push(event),
                Effect::RequestLock { steal } => self.lock_requests.push(steal),
                Effect::ReleaseLock => self.lock_releases += 1,
                Effect::Lead { epoch } => self.led.push(epoch),
                Effect::Rescan => {
                    self.rescans += 1;
                    let entries = self.restorable();
                    self.machine.handle(self.now, Input::Restore { entries, skipped: Vec::new() });
                }
                Effect::Broadcast(peer) => self.broadcasts.push(peer),
                Effect::WatchTab { tab } => self.watched.push(tab),
            }
        }
    }

    fn storage<T>(&mut self, action: impl FnOnce(&mut Stored) -> T) -> T {
        match &self.shared {
            Some(shared) => action(&mut shared.borrow_mut()),
            None => action(&mut self.stored),
        }
    }

    /// The stored outbox as a rescan reads it back, in id order.
    pub fn restorable(&self) -> Vec<Restored<String>> {
        let stored = match &self.shared {
            Some(shared) => shared.borrow().clone(),
            None => self.stored.clone(),
        };
        stored
            .iter()
            .map(|(id, (payload, created_ms, attempts))| Restored {
                id: id.clone(),
                payload: payload.clone(),
                created_ms: *created_ms,
                attempts: *attempts,
            })
            .collect()
    }

    pub fn timer(&self, timer: Timer) -> Option<f64> {
        self.timers[timer.index()]
    }

    /// Moves the clock forward by `ms`, firing due timers in time order.
    pub fn advance(&mut self, ms: f64) {
        let end = self.now + ms;
        loop {
            let due = Timer::ALL
                .iter()
                .filter_map(|timer| self.timers[timer.index()].map(|at| (at, *timer)))
                .filter(|(at, _)| *at <= end)
                .min_by(|a, b| a.0.total_cmp(&b.0));
            let Some((at, timer)) = due else { break };
            self.now = self.now.max(at);
            self.timers[timer.index()] = None;
            self.input(Input::TimerFired(timer));
        }
        self.now = end;
    }

    /// Fires the retry timer, wherever it is set.
    pub fn fire_retry(&mut self) {
        let at = self.timer(Timer::Retry).expect("a retry is scheduled");
        self.advance(at - self.now);
    }

    pub fn generation(&self) -> u64 {
        self.socket.expect("a socket is live")
    }

    /// The socket opens. A tabwire server greets at once; a raw one says
    /// nothing, so the hello's wait runs out (unless the machine was told
    /// the server is raw, and did not wait).
    pub fn open(&mut self) {
        let generation = self.generation();
        self.input(Input::Opened { generation, subprotocol: String::new() });
        if self.server_greets {
            self.greet();
        } else if let Some(at) = self.timer(Timer::Hello) {
            self.advance(at - self.now);
        }
    }

    /// The server's tabwire hello arrives.
    pub fn greet(&mut self) {
        let generation = self.generation();
        let payload = format!(r#"{{"type":"hello","protocol":"{PROTOCOL}"}}"#);
        self.input(Input::Hello { generation, protocol: PROTOCOL.to_owned(), payload });
    }

    pub fn server_close(&mut self, code: u16) {
        let generation = self.generation();
        self.input(Input::Closed { generation, code, reason: format!("code {code}"), clean: true });
    }

    /// The connection dropped without a closing handshake.
    pub fn drop_connection(&mut self) {
        let generation = self.generation();
        self.input(Input::Closed { generation, code: 1006, reason: String::new(), clean: false });
    }

    pub fn receive(&mut self, text: &str) {
        let generation = self.generation();
        self.input(Input::Frame { generation, payload: text.to_owned() });
    }

    pub fn receive_pong(&mut self) {
        let generation = self.generation();
        self.input(Input::Pong { generation });
    }

    pub fn state(&self) -> ConnectionState {
        self.machine.state()
    }

    /// The states reported so far, in order.
    pub fn states(&self) -> Vec<ConnectionState> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::State(change) => Some(change.state),
                _ => None,
            })
            .collect()
    }

    /// The delays of the `reconnecting` events so far.
    pub fn retry_delays(&self) -> Vec<f64> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::Reconnecting { delay_ms, .. } => Some(*delay_ms),
                _ => None,
            })
            .collect()
    }

    pub fn messages(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::Message(text) => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn failures(&self) -> Vec<&'static str> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::Error(failure) => Some(kind(failure)),
                _ => None,
            })
            .collect()
    }
}

/// A short name per failure, for compact assertions.
fn kind(failure: &Failure) -> &'static str {
    match failure {
        Failure::ConnectTimeout { .. } => "connect_timeout",
        Failure::HeartbeatTimeout { .. } => "heartbeat_timeout",
        Failure::Socket => "socket",
        Failure::SocketRefused { .. } => "socket_refused",
        Failure::UrlProvider { .. } => "url_provider",
        Failure::InvalidUrl { .. } => "invalid_url",
        Failure::RetriesExhausted { .. } => "retries_exhausted",
        Failure::QueueFull(_) => "queue_full",
        Failure::StorageFailed { .. } => "storage_failed",
        Failure::Server { .. } => "server",
        Failure::ProtocolRequired { .. } => "protocol_required",
        Failure::NotTabwire { .. } => "not_tabwire",
    }
}

impl Harness {
    /// The server acknowledges `id`.
    pub fn ack(&mut self, id: &str) {
        let generation = self.generation();
        self.input(Input::Ack { generation, id: id.to_owned() });
    }
}
