//! One browser `WebSocket` and the listeners attached to it.

use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use super::listener::EventListener;

#[wasm_bindgen]
extern "C" {
    /// The same `WebSocket`, with a `send` that takes the JS value as it is,
    /// where web-sys's `send_with_str` would first copy a JS string into wasm.
    #[wasm_bindgen(js_name = WebSocket)]
    type UntypedSend;

    #[wasm_bindgen(method, catch, js_name = send)]
    fn send(this: &UntypedSend, data: &JsValue) -> Result<(), JsValue>;
}

/// What a socket reports. The `error` event is a plain `Event` with no
/// detail, so it carries nothing.
pub enum SocketEvent {
    Open,
    Message(JsValue),
    Error,
    Close { code: u16, reason: String, clean: bool },
}

pub struct Socket {
    socket: WebSocket,
    listeners: Vec<EventListener>,
}

impl Socket {
    /// Creates the socket; `on_event` hears everything it reports until the
    /// socket is closed or dropped. Fails where `new WebSocket` throws.
    pub fn open(url: &str, protocols: &Array, on_event: Rc<dyn Fn(SocketEvent)>) -> Result<Socket, JsValue> {
        let socket = WebSocket::new_with_str_sequence(url, protocols)?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let target = socket.unchecked_ref();
        let on_open = on_event.clone();
        let on_message = on_event.clone();
        let on_error = on_event.clone();
        let listeners = vec![
            EventListener::new(target, "open", move |_| on_open(SocketEvent::Open)),
            EventListener::new(target, "message", move |event| {
                on_message(SocketEvent::Message(event.unchecked_into::<MessageEvent>().data()));
            }),
            EventListener::new(target, "error", move |_| on_error(SocketEvent::Error)),
            EventListener::new(target, "close", move |event| {
                let event = event.unchecked_into::<CloseEvent>();
                on_event(SocketEvent::Close { code: event.code(), reason: event.reason(), clean: event.was_clean() });
            }),
        ];
        Ok(Socket { socket, listeners })
    }

    /// The subprotocol the server selected ("" for none).
    pub fn protocol(&self) -> String {
        self.socket.protocol()
    }

    pub fn send(&self, data: &JsValue) -> Result<(), JsValue> {
        self.socket.unchecked_ref::<UntypedSend>().send(data)
    }

    /// Detaches the listeners, then closes: the caller already knows the
    /// socket is gone and must hear nothing more from it.
    pub fn close(mut self, code: u16, reason: &str) {
        self.shut(code, reason);
    }

    fn shut(&mut self, code: u16, reason: &str) {
        self.listeners.clear();
        if matches!(self.socket.ready_state(), WebSocket::CONNECTING | WebSocket::OPEN) {
            // Only throws for a code or reason the core never produces.
            let _ = self.socket.close_with_code_and_reason(code, reason);
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.shut(1000, "");
    }
}
