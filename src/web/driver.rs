//! Runs a core [`Machine`] in the browser: feeds it browser events with the
//! time, carries out its effects, and hands its events to the user.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use crate::core::record::id_prefix;
use crate::core::{Config, ConnectionState, Entry, Effect, Event, Input, Machine, Peer, Refusal, Role, Sent, Stats, Timer};

use super::broadcast::Heard;
use super::clock::{self, now};
use super::frame::Frame;
use super::peer_codec;
use super::protocol::{self, Inbound};
use super::sharing::{ShareSignal, Sharing};
use super::storage::OutboxStore;
use super::signals::{Signal, Signals};
use super::socket::{Socket, SocketEvent};
use super::timers::Timers;
use super::url_provider;
use super::wire::{with_token, TokenPlace, TokenSource, WireConfig};

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
    /// The open socket's server speaks the tabwire protocol.
    acknowledged: Cell<bool>,
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
    socket: Option<Socket>,
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
        let tab = tab_id();
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
                    timers: Timers::default(),
                    sharing,
                    _signals: signals,
                }),
                wire,
                store,
                acknowledged: Cell::new(false),
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
        shared.handle(Input::Start { online: Signals::online() });
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
    /// after the offset `since` if the application knows one.
    pub fn subscribe(&self, channel: String, since: Option<u64>) {
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

    pub fn send(&self, frame: Frame) -> Result<Sent, Refusal> {
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
                Effect::OpenSocket { generation, url } => {
                    match Socket::open(&url, &self.wire.protocols, self.socket_listener(generation)) {
                        Ok(socket) => runtime.socket = Some(socket),
                        Err(error) => {
                            let message = super::js_error::describe(&error);
                            runtime.machine.handle(now(), Input::SocketRefused { generation, message });
                        }
                    }
                }
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
                Effect::SendPing => {
                    if let Some(ping) = &self.wire.ping {
                        Self::transmit(runtime, ping);
                    }
                }
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
                    Self::transmit(runtime, &protocol::subscription(&channel, subscribe, since));
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
                Effect::WatchTab { tab } => {
                    if let Some(sharing) = &mut runtime.sharing {
                        sharing.watch(&tab);
                    }
                }
            }
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

    /// Asks the URL provider (or takes the fixed URL) and the token
    /// provider, if any, for this attempt.
    fn resolve_url(self: &Rc<Self>, generation: u64, attempt: u32, auth_failed: bool) {
        let url_provider = self.wire.url_provider.clone();
        let fixed_url = self.wire.fixed_url.clone();
        let token_provider = match &self.wire.token {
            Some(TokenSource::Provider(provider)) => Some(provider.clone()),
            _ => None,
        };
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let url = match url_provider {
                Some(provider) => url_provider::resolve(provider, attempt, auth_failed, "URL").await,
                None => fixed_url.ok_or_else(|| "no url".to_owned()),
            };
            let resolved = match (url, token_provider) {
                (Ok(url), Some(provider)) => match url_provider::resolve(provider, attempt, auth_failed, "token").await {
                    Ok(token) => Ok((url, Some(token))),
                    Err(message) => Err(format!("(token provider) {message}")),
                },
                (url, _) => url.map(|url| (url, None)),
            };
            if let Some(shared) = weak.upgrade() {
                shared.handle(match resolved {
                    Ok((url, token)) => Input::UrlResolved { generation, url: shared.place_token(url, token) },
                    Err(message) => Input::UrlFailed { generation, message },
                });
            }
        });
    }

    /// Puts a fresh token where it goes: in the URL, or aside for the
    /// `auth` frame. It is never stored.
    fn place_token(&self, url: String, token: Option<String>) -> String {
        let Some(token) = token else { return url };
        match self.wire.token_in {
            TokenPlace::Query => with_token(&url, &token),
            TokenPlace::Frame => {
                *self.token.borrow_mut() = Some(token);
                url
            }
        }
    }

    fn socket_listener(self: &Rc<Self>, generation: u64) -> Rc<dyn Fn(SocketEvent)> {
        let weak = Rc::downgrade(self);
        Rc::new(move |event| {
            if let Some(shared) = weak.upgrade() {
                shared.on_socket_event(generation, event);
            }
        })
    }

    fn on_socket_event(self: &Rc<Self>, generation: u64, event: SocketEvent) {
        let input = match event {
            SocketEvent::Open => {
                let protocol = self.runtime.borrow().socket.as_ref().map(Socket::protocol).unwrap_or_default();
                let acknowledged = protocol == protocol::SUBPROTOCOL;
                self.acknowledged.set(acknowledged);
                // Credentials first: the server handles frames in order.
                if acknowledged && self.wire.token_in == TokenPlace::Frame {
                    if let Some(token) = self.token.borrow().as_deref() {
                        Self::transmit(&self.runtime.borrow(), &protocol::auth(token));
                    }
                }
                Input::Opened { generation, acknowledged }
            }
            SocketEvent::Message(data) => self.classify(generation, data),
            SocketEvent::Error => Input::SocketError { generation },
            SocketEvent::Close { code, reason, clean } => Input::Closed { generation, code, reason, clean },
        };
        self.handle(input);
    }

    /// Sorts an incoming frame: with the protocol by its `type`, otherwise
    /// by the pong matcher, which may run a user function, so it runs here,
    /// before any borrow.
    fn classify(&self, generation: u64, data: wasm_bindgen::JsValue) -> Input<Frame> {
        if self.acknowledged.get() {
            return match protocol::classify(&data) {
                Inbound::Pong => Input::Pong { generation },
                Inbound::Ack(id) => Input::Ack { generation, id },
                Inbound::Rejected { id, code, message } => Input::Rejected { generation, id, code, message },
                Inbound::Error { code, message } => Input::ServerError { generation, code, message },
                Inbound::Publication { channel, offset } => {
                    Input::Publication { generation, channel, offset, payload: Frame::inbound(data) }
                }
                Inbound::Subscribed { channel, offset } => Input::Subscribed { generation, channel, offset },
                Inbound::Unsubscribed { channel } => Input::Unsubscribed { generation, channel },
                Inbound::SubscribeError { channel, code, message } => {
                    Input::SubscribeError { generation, channel, code, message }
                }
                Inbound::Gap { channel, since, from } => Input::Gap { generation, channel, since, from },
                Inbound::Message(parsed) => {
                    let frame = Frame::inbound(data);
                    let payload = match parsed {
                        Some(parsed) => frame.with_parsed(parsed),
                        None => frame,
                    };
                    Input::Frame { generation, payload }
                }
            };
        }
        if self.wire.pong.as_ref().is_some_and(|pong| pong.matches(&data)) {
            Input::Pong { generation }
        } else {
            Input::Frame { generation, payload: Frame::inbound(data) }
        }
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

    fn on_share_signal(self: &Rc<Self>, signal: ShareSignal) {
        let input = match signal {
            ShareSignal::LockGranted => {
                let stored_epoch = self.runtime.borrow().sharing.as_ref().map_or(0, Sharing::stored_epoch);
                Input::LockGranted { stored_epoch }
            }
            ShareSignal::LockLost => Input::LockLost,
            ShareSignal::Heard(Heard::Message(message)) => {
                peer_codec::decode_post(&message, |decoded| match decoded {
                    Ok(peer) => self.handle(Input::Peer(peer)),
                    Err(reason) => self.warn_broadcast(reason),
                });
                return;
            }
            ShareSignal::Heard(Heard::Unreadable) => {
                return self.warn_broadcast("a message that could not be deserialized".to_owned());
            }
            ShareSignal::TabGone(tab) => {
                self.with_sharing(|sharing| sharing.unwatch(&tab));
                Input::TabGone { tab }
            }
        };
        self.handle(input);
    }

    /// Something else talks on the tabs' channel: say so, and carry on.
    fn warn_broadcast(self: &Rc<Self>, reason: String) {
        let warning = Event::Warning { key: "BroadcastChannel".to_owned(), reason: format!("ignored {reason}") };
        self.callouts.borrow_mut().push_back(Callout::Deliver(warning));
        self.run_callouts();
    }

    fn with_sharing(&self, action: impl FnOnce(&mut Sharing)) {
        if let Some(sharing) = &mut self.runtime.borrow_mut().sharing {
            action(sharing);
        }
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

/// Eight random characters of `[0-9a-z]` naming this page load's tab.
fn tab_id() -> String {
    (0..8)
        .map(|_| {
            let digit = (js_sys::Math::random() * 36.0) as u32;
            char::from_digit(digit.min(35), 36).unwrap_or('0')
        })
        .collect()
}
