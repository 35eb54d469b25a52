//! The `TabWire` class.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Function;
use serde::Serialize;
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;

use super::events::{EventKind, StateName};
use super::listeners::{ListenerSink, Listeners};
use super::options::TabWireOptions;
use super::send::{to_frame, SendError, SendResult};
use crate::web::{clock, Driver};

/// A WebSocket connection that reconnects by itself, notices dead sockets
/// with a heartbeat and queues what is sent while it is down.
#[wasm_bindgen]
pub struct TabWire {
    driver: Driver,
    listeners: Rc<RefCell<Listeners>>,
}

/// Counters of `stats()`.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    state: StateName,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    last_rtt_ms: Option<f64>,
    /// Messages waiting for the connection.
    queued: u32,
    /// While `reconnecting`: when the next attempt starts (Unix epoch ms).
    #[tsify(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_at: Option<f64>,
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
        let (config, wire) = TabWireOptions::from_js(options.js_value()).and_then(TabWireOptions::resolve).map_err(js_error)?;
        let listeners = Rc::new(RefCell::new(Listeners::default()));
        let sink = Box::new(ListenerSink { listeners: listeners.clone() });
        Ok(TabWire { driver: Driver::start(config, wire, sink), listeners })
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
        let listeners = Rc::downgrade(&self.listeners);
        let remove = Closure::<dyn FnMut()>::new(move || {
            if let Some(listeners) = listeners.upgrade() {
                listeners.borrow_mut().remove(id);
            }
        });
        Ok(remove.into_js_value().unchecked_into())
    }

    /// Sends now if the connection is open, otherwise queues in order.
    /// Objects are sent as JSON. Throws if the queue is full.
    pub fn send(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | ArrayBuffer | ArrayBufferView | object | number | boolean | null")]
        data: JsValue,
    ) -> Result<Ts<SendResult>, JsError> {
        let frame = to_frame(data).map_err(js_error)?;
        let outcome = self.driver.send(frame).map_err(|full| js_error(SendError::QueueFull(full)))?;
        Ts::from_rust(&SendResult::from(outcome)).map_err(js_error)
    }

    /// Closes for good (no reconnection). `code` is 1000 or 3000-4999,
    /// `reason` at most 123 bytes of UTF-8, as for `WebSocket.close`.
    pub fn close(&self, code: Option<f64>, reason: Option<String>) -> Result<(), JsError> {
        let code = match code {
            None => 1000,
            Some(code) if code == 1000.0 || (code.fract() == 0.0 && (3000.0..=4999.0).contains(&code)) => code as u16,
            Some(code) => return Err(js_error(format!("tabwire: close code {code} must be 1000 or from 3000 to 4999"))),
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
    pub fn state(&self) -> Result<Ts<StateName>, JsError> {
        Ts::from_rust(&StateName::from(self.driver.state())).map_err(js_error)
    }

    pub fn stats(&self) -> Result<Ts<Stats>, JsError> {
        let (stats, queued, retry_at_ms) = self.driver.stats();
        let stats = Stats {
            state: self.driver.state().into(),
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
        Ts::from_rust(&stats).map_err(js_error)
    }
}
