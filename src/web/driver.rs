//! Runs a core [`Machine`] in the browser: feeds it browser events with the
//! time, carries out its effects, and hands its events to the user.

mod connection;
mod tabs;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use crate::core::record::id_prefix;
use crate::core::{
    Config, ConnectionState, Effect, Entry, Event, Input, Machine, Mode, Peer, Position, Role, SendRefusal, Sent, Stats, Timer,
    Transport,
};

use super::clock::{self, now};
use super::frame::Frame;
use super::link::Link;
use super::peer_codec;
use super::probe::Probe;
use super::protocol;
use super::sharing::Sharing;
use super::names;
use super::storage::{self, OutboxStore};
use super::signals::{Signal, Signals};
use super::timers::Timers;
use super::wire::{TokenPlace, TokenSource, WireConfig};

/// Receives the machine's events; this is where user code runs.
pub trait EventSink {
    fn deliver(&self, event: Event<Frame>);
}

/// Work that calls user code, so it waits until no borrow is held.
enum Callout {
    Deliver(Event<Frame>),
    ResolveUrl { generation: u64, attempt: u32, auth_failed: bool },
}

/// The client's browser runtime. Dropping it closes the socket, clears the
/// timers and removes every listener it attached.
pub struct Driver {
    shared: Rc<Shared>,
}

struct Shared {
    runtime: RefCell<Runtime>,
    wire: WireConfig,
    /// Where the outbox is kept between page loads; `None` in memory mode.
    store: Option<OutboxStore>,
    /// This client's name in its hello (see `storage::client_id`).
    client_id: String,
    /// The token for the `auth` frame of the next open socket.
    token: RefCell<Option<String>>,
    sink: Box<dyn EventSink>,
    callouts: RefCell<VecDeque<Callout>>,
    /// A callout loop is running further up the stack (or the first events
    /// are held back until the constructor returned): only queue.
    calling_out: Cell<bool>,
}

struct Runtime {
    machine: Machine<Frame>,
    /// What carries the connection: a WebSocket or an HTTP session.
    socket: Option<Link>,
    /// The WebSocket probed aside while the connection is on HTTP.
    probe: Option<Probe>,
    timers: Timers,
    /// Locks and channel of the shared connection; `None` when solo.
    sharing: Option<Sharing>,
    _signals: Option<Signals>,
}

/// A handle that does not keep the client alive (for functions handed to
/// JavaScript, which may outlive it).
pub struct WeakDriver {
    shared: Weak<Shared>,
}

impl WeakDriver {
    pub fn upgrade(&self) -> Option<Driver> {
        self.shared.upgrade().map(|shared| Driver { shared })
    }
}

impl Driver {
    /// Restores the stored outbox (solo) or joins the other tabs of
    /// `namespace` (shared), then starts the machine. Its first events are
    /// delivered from a microtask, so listeners registered right after
    /// construction hear them.
    pub fn start(
        mut config: Config,
        wire: WireConfig,
        store: Option<OutboxStore>,
        namespace: &str,
        sink: Box<dyn EventSink>,
    ) -> Driver {
        let tab = names::tab_id();
        let client_id = store.as_ref().map_or_else(storage::page_client_id, OutboxStore::client_id);
        let ids = id_prefix(clock::epoch_now(), &tab);
        let first_token = match &wire.token {
            Some(TokenSource::Fixed(token)) if wire.token_in == TokenPlace::Frame => Some(token.clone()),
            _ => None,
        };
        let shared = Rc::new_cyclic(|weak: &Weak<Shared>| {
            let sharing = config.share.as_ref().and_then(|_| {
                let weak = weak.clone();
                Sharing::open(namespace, &tab, move |signal| {
                    if let Some(shared) = weak.upgrade() {
                        shared.on_share_signal(signal);
                    }
                })
            });
            // Without Web Locks or BroadcastChannel, this tab is solo.
            if sharing.is_none() {
                config.share = None;
            }
            let machine = Machine::new(config, tab.clone(), ids, Box::new(js_sys::Math::random));
            let signals = Signals::attach({
                let weak = weak.clone();
                move |signal| {
                    if let Some(shared) = weak.upgrade() {
                        shared.on_signal(signal);
                    }
                }
            });
            Shared {
                runtime: RefCell::new(Runtime {
                    machine,
                    socket: None,
                    probe: None,
                    timers: Timers::default(),
                    sharing,
                    _signals: signals,
                }),
                wire,
                store,
                client_id,
                token: RefCell::new(first_token),
                sink,
                callouts: RefCell::new(VecDeque::new()),
                calling_out: Cell::new(true),
            }
        });
        // A follower leaves the stored outbox to the leader.
        let solo = shared.runtime.borrow().sharing.is_none();
        if solo {
            if let Some(store) = &shared.store {
                let scan = store.scan(clock::from_epoch_ms);
                shared.handle(Input::Restore { entries: scan.entries, skipped: scan.skipped });
            }
        }
        if !Signals::visible() {
            shared.handle(Input::Hidden);
        }
        shared.recall_transport();
        shared.handle(Input::Start {
            online: Signals::online(),
        });
        let weak = Rc::downgrade(&shared);
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(shared) = weak.upgrade() {
                shared.calling_out.set(false);
                shared.run_callouts();
            }
        });
        Driver { shared }
    }

    pub fn downgrade(&self) -> WeakDriver {
        WeakDriver { shared: Rc::downgrade(&self.shared) }
    }

    /// This tab's listeners want `channel` (from the first listener on),
    /// after `since` if the application kept a position.
    pub fn subscribe(&self, channel: String, since: Option<Position>) {
        self.shared.handle(Input::Subscribe { channel, since });
    }

    /// The last listener of `channel` in this tab is gone.
    pub fn unsubscribe(&self, channel: String) {
        self.shared.handle(Input::Unsubscribe { channel });
    }

    pub fn role(&self) -> Role {
        self.shared.runtime.borrow().machine.role()
    }

    /// Tabs sharing the connection, this one included.
    pub fn tabs(&self) -> u32 {
        self.shared.runtime.borrow().machine.tabs()
    }

    pub fn send(&self, frame: Frame) -> Result<Sent, SendRefusal> {
        let outcome = {
            let mut runtime = self.shared.runtime.borrow_mut();
            let outcome = runtime.machine.send(now(), frame);
            self.shared.carry_out(&mut runtime);
            outcome
        };
        self.shared.run_callouts();
        outcome
    }

    /// Drops every undelivered message, stored or not; returns how many.
    pub fn clear_outbox(&self) -> usize {
        let cleared = {
            let mut runtime = self.shared.runtime.borrow_mut();
            let cleared = runtime.machine.clear_outbox();
            self.shared.carry_out(&mut runtime);
            cleared
        };
        self.shared.run_callouts();
        cleared
    }

    /// A copy of the undelivered messages, oldest first.
    pub fn outbox(&self) -> Vec<Entry<Frame>> {
        self.shared.runtime.borrow().machine.outbox().cloned().collect()
    }

    pub fn close(&self, code: u16, reason: String) {
        self.shared.handle(Input::Close { code, reason });
    }

    pub fn reconnect(&self) {
        self.shared.handle(Input::Reconnect);
    }

    pub fn state(&self) -> ConnectionState {
        self.shared.runtime.borrow().machine.state()
    }

    /// What the open connection speaks; `None` while none is open.
    pub fn mode(&self) -> Option<Mode> {
        self.shared.runtime.borrow().machine.mode()
    }

    /// What carries the open connection; `None` while none is open.
    pub fn transport(&self) -> Option<Transport> {
        self.shared.runtime.borrow().machine.transport()
    }

    /// The counters, the number of queued messages and when the next
    /// attempt starts (machine clock).
    pub fn stats(&self) -> (Stats, usize, Option<f64>) {
        let runtime = self.shared.runtime.borrow();
        let machine = &runtime.machine;
        (machine.stats().clone(), machine.queued(), machine.retry_at_ms())
    }
}

impl Shared {
    fn handle(self: &Rc<Self>, input: Input<Frame>) {
        {
            let mut runtime = self.runtime.borrow_mut();
            runtime.machine.handle(now(), input);
            self.carry_out(&mut runtime);
        }
        self.run_callouts();
    }

    /// Carries out the machine's effects. Nothing in here calls user code:
    /// that is queued as a callout for after the borrow is released.
    fn carry_out(self: &Rc<Self>, runtime: &mut Runtime) {
        while let Some(effect) = runtime.machine.poll() {
            match effect {
                Effect::ResolveUrl { generation, attempt, auth_failed } => {
                    self.callouts.borrow_mut().push_back(Callout::ResolveUrl { generation, attempt, auth_failed });
                }
                Effect::OpenSocket {
                    generation,
                    url,
                    transport,
                } => {
                    match Link::open(
                        &url,
                        transport,
                        &self.wire.protocols,
                        self.socket_listener(generation),
                    ) {
                        Ok(socket) => runtime.socket = Some(socket),
                        Err(error) => {
                            let message = super::js_error::describe(&error);
                            runtime.machine.handle(now(), Input::SocketRefused { generation, message });
                        }
                    }
                }
                Effect::Greet => self.greet(runtime),
                Effect::SendMessage { id: None, payload } => Self::transmit(runtime, payload.data()),
                Effect::SendMessage { id: Some(id), payload } => {
                    Self::transmit(runtime, &protocol::envelope(&id, &payload));
                }
                Effect::Persist { id, payload, created_ms, attempts } => {
                    let Some(store) = &self.store else { continue };
                    if let Err(error) = store.put(&id, &payload, clock::to_epoch_ms(created_ms), attempts) {
                        let message = super::js_error::describe(&error);
                        runtime.machine.handle(now(), Input::PersistFailed { id, message });
                    }
                }
                Effect::Unpersist { id } => {
                    if let Some(store) = &self.store {
                        store.remove(&id);
                    }
                }
                Effect::SendPing => match runtime.machine.mode() {
                    Some(Mode::Tabwire) => Self::transmit(runtime, &protocol::ping()),
                    _ => {
                        if let Some(ping) = &self.wire.raw_ping {
                            Self::transmit(runtime, ping);
                        }
                    }
                },
                Effect::CloseSocket { code, reason } => {
                    if let Some(socket) = runtime.socket.take() {
                        socket.close(code, &reason);
                    }
                }
                Effect::SetTimer { timer, at_ms } => {
                    let callback = self.timer_callback(timer);
                    runtime.timers.set(timer, at_ms - now(), callback);
                }
                Effect::CancelTimer(timer) => runtime.timers.cancel(timer),
                Effect::Emit(event) => self.callouts.borrow_mut().push_back(Callout::Deliver(event)),
                Effect::SendSubscription { channel, subscribe, since } => {
                    Self::transmit(runtime, &protocol::subscription(&channel, subscribe, since.as_ref()));
                }
                Effect::RequestLock { steal } => {
                    if let Some(sharing) = &mut runtime.sharing {
                        sharing.request_leader(steal);
                    }
                }
                Effect::ReleaseLock => {
                    if let Some(sharing) = &mut runtime.sharing {
                        sharing.release_leader();
                    }
                }
                Effect::Lead { epoch } => {
                    if let Some(sharing) = &runtime.sharing {
                        sharing.store_epoch(epoch);
                    }
                }
                Effect::Rescan => {
                    if let Some(store) = &self.store {
                        let scan = store.scan(clock::from_epoch_ms);
                        runtime.machine.handle(now(), Input::Restore { entries: scan.entries, skipped: scan.skipped });
                    }
                }
                // The connection's events come in bursts of frames: they go
                // out together at the end of the burst. The rest (a tab
                // joining, leaving, relaying) goes at once, after them.
                Effect::Broadcast(peer @ Peer::Event { .. }) => {
                    if let Some(sharing) = &runtime.sharing {
                        sharing.post_soon(&peer_codec::encode(peer));
                    }
                }
                Effect::Broadcast(peer) => {
                    if let Some(sharing) = &runtime.sharing {
                        if let Err(error) = sharing.post(&peer_codec::encode(peer)) {
                            super::js_error::report("tabwire: could not post to the other tabs", &error);
                        }
                    }
                }
                Effect::ProbeWebSocket { url, hold_ms } => {
                    runtime.probe = self.probe(&url, hold_ms);
                    if runtime.probe.is_none() {
                        // A probe that cannot start failed: the next one comes later.
                        runtime.machine.handle(now(), Input::ProbeResult { passed: false });
                    }
                }
                Effect::RememberTransport { transport } => {
                    if let Some(store) = &self.store {
                        store.remember_transport(transport, clock::epoch_now());
                    }
                }
                Effect::WatchTab { tab } => {
                    if let Some(sharing) = &mut runtime.sharing {
                        sharing.watch(&tab);
                    }
                }
            }
        }
    }

    /// Starts a probe of the WebSocket; its verdict goes to the machine.
    fn probe(self: &Rc<Self>, url: &str, hold_ms: f64) -> Option<Probe> {
        let weak = Rc::downgrade(self);
        let report = move |passed| {
            if let Some(shared) = weak.upgrade() {
                drop(shared.runtime.borrow_mut().probe.take());
                shared.handle(Input::ProbeResult { passed });
            }
        };
        match Probe::start(url, &self.wire.protocols, hold_ms, report) {
            Ok(probe) => Some(probe),
            Err(error) => {
                super::js_error::report("tabwire: the WebSocket probe could not start", &error);
                None
            }
        }
    }

    /// What an earlier page load of the namespace settled on, for the
    /// machine, before it opens anything.
    fn recall_transport(self: &Rc<Self>) {
        let remembered = self
            .store
            .as_ref()
            .and_then(|store| store.remembered_transport(clock::epoch_now()));
        if let Some(transport) = remembered {
            self.handle(Input::Remembered { transport });
        }
    }

    /// `WebSocket.send` only throws before the socket opened, which the
    /// machine never asks for; should it happen anyway, it is reported.
    fn transmit(runtime: &Runtime, data: &wasm_bindgen::JsValue) {
        let sent = runtime.socket.as_ref().map(|socket| socket.send(data));
        match sent {
            Some(Ok(())) => {}
            Some(Err(error)) => super::js_error::report("tabwire: WebSocket.send threw", &error),
            None => super::js_error::report("tabwire: no socket to send on", data),
        }
    }

    /// Runs queued callouts in order, unless a loop further up the stack
    /// does (a listener may send or close, which queues more).
    fn run_callouts(self: &Rc<Self>) {
        if self.calling_out.replace(true) {
            return;
        }
        loop {
            let next = self.callouts.borrow_mut().pop_front();
            match next {
                Some(Callout::Deliver(event)) => self.sink.deliver(event),
                Some(Callout::ResolveUrl { generation, attempt, auth_failed }) => {
                    self.resolve_url(generation, attempt, auth_failed);
                }
                None => break,
            }
        }
        self.calling_out.set(false);
    }

    fn on_signal(self: &Rc<Self>, signal: Signal) {
        let input = match signal {
            Signal::Online => Input::Online,
            Signal::Offline => Input::Offline,
            Signal::Visible => Input::Visible,
            Signal::Hidden => Input::Hidden,
            // The machine says goodbye before the channel closes, and
            // hello after it reopened.
            Signal::Suspend => {
                self.handle(Input::Suspend);
                return self.with_sharing(Sharing::suspend);
            }
            Signal::Resume => {
                self.with_sharing(Sharing::resume);
                Input::Resume
            }
        };
        self.handle(input);
    }

    fn timer_callback(self: &Rc<Self>, timer: Timer) -> impl FnOnce() + 'static {
        let weak = Rc::downgrade(self);
        move || {
            if let Some(shared) = weak.upgrade() {
                shared.handle(Input::TimerFired(timer));
            }
        }
    }
}
