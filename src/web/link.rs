//! What carries a connection: a WebSocket, or an HTTP session. Both report
//! the same events, take frames the same way and close the same way, so
//! the driver holds one of either.

use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::JsValue;

use super::http::HttpSession;
use super::socket::{Socket, SocketEvent};
use crate::core::Transport;

pub enum Link {
    Socket(Socket),
    Http(HttpSession),
}

impl Link {
    /// Opens a connection of `transport` to `url` (a WebSocket URL; HTTP
    /// uses it with its scheme turned into http(s)). Fails where `new
    /// WebSocket` (or an `AbortController`) throws.
    pub fn open(
        url: &str,
        transport: Transport,
        protocols: &Array,
        on_event: Rc<dyn Fn(SocketEvent)>,
    ) -> Result<Link, JsValue> {
        match transport {
            Transport::WebSocket => Socket::open(url, protocols, on_event).map(Link::Socket),
            Transport::Sse | Transport::Polling => {
                HttpSession::open(url, transport, on_event).map(Link::Http)
            }
        }
    }

    /// The subprotocol the server selected ("" for none, and over HTTP).
    pub fn protocol(&self) -> String {
        match self {
            Link::Socket(socket) => socket.protocol(),
            Link::Http(_) => String::new(),
        }
    }

    pub fn send(&self, data: &JsValue) -> Result<(), JsValue> {
        match self {
            Link::Socket(socket) => socket.send(data),
            Link::Http(session) => session.send(data),
        }
    }

    /// Ends the connection; the caller hears nothing more of it.
    pub fn close(self, code: u16, reason: &str) {
        match self {
            Link::Socket(socket) => socket.close(code, reason),
            Link::Http(session) => session.close(),
        }
    }
}
