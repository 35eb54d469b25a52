//! The `TabWire` class.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Function;
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;

use super::events::EventKind;
use super::listeners::{ListenerSink, Listeners};
use super::names::{ProtocolName, RoleName, StateName, TransportName};
use super::options::{TabWireOptions, WhenFull};
use super::send::{to_frame, to_publication, SendError, SendReceipt};
use crate::core::number::Number;
use crate::core::positions::is_epoch;
use crate::core::{Entry, Position, SendRefusal};
use crate::web::js_object::JsObject;
use crate::web::{clock, Driver, Frame, OutboxStore};

/// A WebSocket connection that reconnects by itself, notices dead sockets
/// with a heartbeat and queues what is sent while it is down.
#[wasm_bindgen]
pub struct TabWire {
    driver: Driver,
    listeners: Rc<RefCell<Listeners>>,
    when_full: WhenFull,
}

/// An undelivered message, as `outbox()` lists it.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    id: String,
    #[tsify(type = "string | ArrayBuffer")]
    data: JsValue,
    /// When `send()` took it (Unix epoch ms).
    created_at: f64,
    /// How many times a socket took it.
    attempts: u32,
    /// Sent on the current connection and waiting for its `ack`.
    in_flight: bool,
    /// Kept in localStorage (false in memory mode or after a storage failure).
    stored: bool,
}

impl From<Entry<Frame>> for OutboxEntry {
    fn from(entry: Entry<Frame>) -> Self {
        OutboxEntry {
            id: entry.id,
            data: entry.payload.into_data(),
            created_at: clock::to_epoch_ms(entry.created_ms),
            attempts: entry.attempts,
            in_flight: entry.in_flight,
            stored: entry.stored,
        }
    }
}

impl OutboxEntry {
    fn into_js(self) -> Ts<OutboxEntry> {
        let object = JsObject::new()
            .set("id", self.id)
            .set("data", self.data)
            .set("createdAt", self.created_at)
            .set("attempts", self.attempts)
            .set("inFlight", self.in_flight)
            .set("stored", self.stored);
        Ts::new_unchecked(object.into())
    }
}

/// Counters of `stats()`.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    state: StateName,
    /// This tab's part in the shared connection.
    role: RoleName,
    /// Tabs sharing the connection, this one included (1 when solo).
    tabs: u32,
    /// What the open connection speaks: `"tabwire.v1"` or `"raw"`; absent while none is open.
    #[tsify(optional)]
    protocol: Option<ProtocolName>,
    /// What carries the open connection: `"websocket"`, `"sse"` or `"polling"`; absent while none is open.
    #[tsify(optional)]
    transport: Option<TransportName>,
    /// Connection attempts started, the first included.
    attempts: u32,
    /// Successful opens after the first.
    reconnects: u32,
    /// User messages received (heartbeat pongs excluded).
    messages_in: f64,
    /// User messages handed to the socket (heartbeat pings excluded).
    messages_out: f64,
    /// Bytes of binary frames plus the `length` of text frames (UTF-16 code units).
    bytes_in: f64,
    bytes_out: f64,
    /// Round trip of the last answered heartbeat ping, in ms.
    #[tsify(optional)]
    last_rtt_ms: Option<f64>,
    /// Undelivered messages (the outbox).
    queued: u32,
    /// While `reconnecting`: when the next attempt starts (Unix epoch ms).
    #[tsify(optional)]
    retry_at: Option<f64>,
}

impl Stats {
    fn into_js(self) -> Ts<Stats> {
        let object = JsObject::new()
            .set("state", self.state.name())
            .set("role", self.role.name())
            .set("tabs", self.tabs)
            .set_some("protocol", self.protocol.map(|protocol| protocol.name()))
            .set_some(
                "transport",
                self.transport.map(|transport| transport.name()),
            )
            .set("attempts", self.attempts)
            .set("reconnects", self.reconnects)
            .set("messagesIn", self.messages_in)
            .set("messagesOut", self.messages_out)
            .set("bytesIn", self.bytes_in)
            .set("bytesOut", self.bytes_out)
            .set_some("lastRttMs", self.last_rtt_ms)
            .set("queued", self.queued)
            .set_some("retryAt", self.retry_at);
        Ts::new_unchecked(object.into())
    }
}

/// Longest channel name, as the reference server accepts it.
const MAX_CHANNEL_BYTES: usize = 200;

/// A channel name of 1 to [`MAX_CHANNEL_BYTES`] bytes.
fn check_channel(channel: String) -> Result<String, JsError> {
    if channel.is_empty() || channel.len() > MAX_CHANNEL_BYTES {
        return Err(js_error(format!("tabwire: a channel name is 1 to {MAX_CHANNEL_BYTES} bytes of UTF-8")));
    }
    Ok(channel)
}

/// The position of `subscribe`'s options: `since`, absent or a whole
/// number from 0 to 2^53, and its `epoch`, absent or as a server names one.
fn since_option(options: &JsValue) -> Result<Option<Position>, JsError> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    let field = |name: &str| js_sys::Reflect::get(options, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    let (since, epoch) = (field("since"), field("epoch"));
    let epoch = match epoch.as_string() {
        _ if epoch.is_undefined() => None,
        Some(epoch) if is_epoch(&epoch) => Some(epoch),
        _ => return Err(js_error("tabwire: subscribe() option epoch must be an epoch a server named (1 to 64 characters of A-Z, a-z, 0-9, _ and -)")),
    };
    if since.is_undefined() {
        return match epoch {
            None => Ok(None),
            Some(_) => Err(js_error("tabwire: subscribe() option epoch goes with since, the offset it numbers")),
        };
    }
    match since.as_f64() {
        Some(n) if n.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&n) => {
            Ok(Some(Position { offset: n as u64, epoch }))
        }
        _ => Err(js_error("tabwire: subscribe() option since must be a whole number from 0 to 2^53")),
    }
}

fn js_error(error: impl ToString) -> JsError {
    JsError::new(&error.to_string())
}

#[wasm_bindgen]
impl TabWire {
    /// Creates the client and, unless `autoConnect` is false, starts connecting.
    /// Throws an `Error` naming the option for any invalid option.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Ts<TabWireOptions>) -> Result<TabWire, JsError> {
        let mut resolved =
            TabWireOptions::from_js(&options.js_value()).and_then(TabWireOptions::resolve).map_err(js_error)?;
        // Without localStorage (disabled, or a worker) the outbox lives in memory.
        let store = resolved.config.queue.durable.then(|| OutboxStore::open(&resolved.namespace)).flatten();
        resolved.config.queue.durable = store.is_some();
        let listeners = Rc::new(RefCell::new(Listeners::default()));
        let type_field = JsValue::from_str(&resolved.type_field);
        let sink = Box::new(ListenerSink { listeners: listeners.clone(), type_field });
        let driver = Driver::start(resolved.config, resolved.wire, store, &resolved.namespace, sink);
        Ok(TabWire { driver, listeners, when_full: resolved.when_full })
    }

    /// Typed in the `TabWire` interface of the event map.
    #[wasm_bindgen(skip_typescript)]
    pub fn on(&self, kind: JsValue, listener: JsValue) -> Result<Function, JsError> {
        let name = kind.as_string().unwrap_or_default();
        let kind = EventKind::parse(&name).ok_or_else(|| {
            js_error(format!("tabwire: unknown event \"{name}\"; the events are {}", EventKind::NAMES))
        })?;
        let listener = listener
            .dyn_into::<Function>()
            .map_err(|_| js_error("tabwire: on() needs a function as its listener"))?;
        let id = self.listeners.borrow_mut().add(kind, listener);
        Ok(self.remover(id))
    }

    /// Publishes `data` (any JSON value) to `channel` through the server
    /// (tabwire protocol): like `send()`, it goes through the durable
    /// outbox and leaves it when the server acknowledges it. On a raw
    /// connection it is refused (`reason: "protocol_required"`); queued
    /// before the connection's mode is known, it waits for a tabwire one.
    pub fn publish(
        &self,
        channel: String,
        #[wasm_bindgen(unchecked_param_type = "unknown")] data: JsValue,
    ) -> Result<Ts<SendReceipt>, JsError> {
        let channel = check_channel(channel)?;
        let frame = to_publication(&channel, &data).map_err(js_error)?;
        self.deliver(frame)
    }

    /// Typed in the `TabWire` interface of the event map.
    #[wasm_bindgen(skip_typescript, js_name = onType)]
    pub fn on_type(&self, kind: JsValue, listener: JsValue) -> Result<Function, JsError> {
        let kind = kind.as_string().ok_or_else(|| js_error("tabwire: onType() needs a type name (a string)"))?;
        let listener = listener
            .dyn_into::<Function>()
            .map_err(|_| js_error("tabwire: onType() needs a function as its listener"))?;
        let id = self.listeners.borrow_mut().add_type(kind, listener);
        Ok(self.remover(id))
    }

    /// Typed in the `TabWire` interface of the event map.
    #[wasm_bindgen(skip_typescript)]
    pub fn subscribe(&self, channel: JsValue, listener: JsValue, options: JsValue) -> Result<Function, JsError> {
        let channel = check_channel(channel.as_string().unwrap_or_default())?;
        let listener = listener
            .dyn_into::<Function>()
            .map_err(|_| js_error("tabwire: subscribe() needs a function as its listener"))?;
        let since = since_option(&options)?;
        let (id, first) = self.listeners.borrow_mut().add_channel(channel.clone(), listener);
        if first {
            self.driver.subscribe(channel, since);
        }
        let (listeners, driver) = (Rc::downgrade(&self.listeners), self.driver.downgrade());
        let unsubscribe = Closure::<dyn FnMut()>::new(move || {
            let Some(listeners) = listeners.upgrade() else { return };
            let last = listeners.borrow_mut().remove_channel(id);
            if let (Some(channel), Some(driver)) = (last, driver.upgrade()) {
                driver.unsubscribe(channel);
            }
        });
        Ok(unsubscribe.into_js_value().unchecked_into())
    }

    /// Sends now if the connection is open, otherwise keeps the message in
    /// the outbox, in order. Objects are sent as JSON. A full outbox refuses
    /// (or throws, with `queue.whenFull: "throw"`); nothing queued is dropped.
    pub fn send(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | ArrayBuffer | ArrayBufferView | object | number | boolean | null")]
        data: JsValue,
    ) -> Result<Ts<SendReceipt>, JsError> {
        let frame = to_frame(data).map_err(js_error)?;
        self.deliver(frame)
    }

    /// The undelivered messages, oldest first: waiting for a connection, or
    /// sent and waiting for their acknowledgement.
    pub fn outbox(&self) -> Vec<Ts<OutboxEntry>> {
        self.driver.outbox().into_iter().map(|entry| OutboxEntry::from(entry).into_js()).collect()
    }

    /// Drops every undelivered message, from memory and from storage.
    /// Returns how many there were.
    #[wasm_bindgen(js_name = clearOutbox)]
    pub fn clear_outbox(&self) -> u32 {
        u32::try_from(self.driver.clear_outbox()).unwrap_or(u32::MAX)
    }

    /// Closes for good (no reconnection). `code` is 1000 or 3000-4999,
    /// `reason` at most 123 bytes of UTF-8, as for `WebSocket.close`.
    pub fn close(&self, code: Option<f64>, reason: Option<String>) -> Result<(), JsError> {
        let code = match code {
            None => 1000,
            Some(code) if code == 1000.0 || (code.fract() == 0.0 && (3000.0..=4999.0).contains(&code)) => code as u16,
            Some(code) => {
                return Err(js_error(format!("tabwire: close code {} must be 1000 or from 3000 to 4999", Number(code))))
            }
        };
        let reason = reason.unwrap_or_default();
        if reason.len() > 123 {
            return Err(js_error(format!(
                "tabwire: close reason is {} bytes of UTF-8; at most 123 are allowed",
                reason.len()
            )));
        }
        self.driver.close(code, reason);
        Ok(())
    }

    /// Replaces the current socket with a new one now, or connects a closed
    /// or idle client. The retry counter starts again.
    pub fn reconnect(&self) {
        self.driver.reconnect();
    }

    #[wasm_bindgen(getter)]
    pub fn state(&self) -> Ts<StateName> {
        Ts::new_unchecked(StateName::from(self.driver.state()).name().into())
    }

    pub fn stats(&self) -> Ts<Stats> {
        let (stats, queued, retry_at_ms) = self.driver.stats();
        let stats = Stats {
            state: self.driver.state().into(),
            role: self.driver.role().into(),
            protocol: self.driver.mode().map(ProtocolName::from),
            transport: self.driver.transport().map(TransportName::from),
            tabs: self.driver.tabs(),
            attempts: stats.attempts,
            reconnects: stats.reconnects,
            messages_in: stats.messages_in as f64,
            messages_out: stats.messages_out as f64,
            bytes_in: stats.bytes_in as f64,
            bytes_out: stats.bytes_out as f64,
            last_rtt_ms: stats.last_rtt_ms,
            queued: u32::try_from(queued).unwrap_or(u32::MAX),
            retry_at: retry_at_ms.map(clock::to_epoch_ms),
        };
        stats.into_js()
    }
}

impl TabWire {
    /// Hands a frame to the outbox and says what became of it.
    fn deliver(&self, frame: Frame) -> Result<Ts<SendReceipt>, JsError> {
        let receipt = match self.driver.send(frame) {
            Ok(sent) => SendReceipt::from(sent),
            Err(SendRefusal::QueueFull(refusal)) if self.when_full == WhenFull::Throw => {
                return Err(js_error(SendError::QueueFull(refusal)))
            }
            Err(refusal) => SendReceipt::from(refusal),
        };
        Ok(receipt.into_js())
    }

    /// The function `on` and `onType` return: it removes the listener `id`.
    fn remover(&self, id: u32) -> Function {
        let listeners = Rc::downgrade(&self.listeners);
        let remove = Closure::<dyn FnMut()>::new(move || {
            if let Some(listeners) = listeners.upgrade() {
                listeners.borrow_mut().remove(id);
            }
        });
        remove.into_js_value().unchecked_into()
    }
}
