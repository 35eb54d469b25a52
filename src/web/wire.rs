//! What goes on the wire besides user messages: subprotocols, the heartbeat
//! ping frame and how a pong is recognised, and where URLs come from.

use js_sys::{Array, Function};
use wasm_bindgen::JsValue;

use super::js_error;

/// Decides whether an inbound frame answers a heartbeat ping.
pub enum PongMatcher {
    /// A text frame equal to this string.
    Text(JsValue),
    /// A user function `(data) => boolean`.
    Function(Function),
}

impl PongMatcher {
    /// Called outside every borrow: the function variant runs user code.
    pub fn matches(&self, data: &JsValue) -> bool {
        match self {
            PongMatcher::Text(text) => data == text,
            PongMatcher::Function(function) => match function.call1(&JsValue::UNDEFINED, data) {
                Ok(verdict) => verdict.is_truthy(),
                Err(error) => {
                    js_error::report("tabwire: heartbeat.pong threw", &error);
                    false
                }
            },
        }
    }
}

/// Where the token goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TokenPlace {
    /// An `auth` frame, the first frame after the socket opens (the
    /// tabwire protocol only): it stays out of URLs and server logs.
    Frame,
    /// The `token` query parameter of the URL.
    Query,
}

/// The client's credentials, kept in memory only.
pub enum TokenSource {
    Fixed(String),
    /// A user function, asked before every connection attempt.
    Provider(Function),
}

/// The browser-side half of the configuration; the core gets the rest.
pub struct WireConfig {
    /// The application's subprotocols, ready for the `WebSocket`
    /// constructor: nothing of tabwire's is added (a server that selects
    /// none would fail the handshake).
    pub protocols: Array,
    /// The heartbeat ping of raw connections, `None` unless the
    /// application gave one (a tabwire connection pings with the
    /// protocol's own).
    pub raw_ping: Option<JsValue>,
    /// How a raw connection's pong is recognised, with `raw_ping`.
    pub raw_pong: Option<PongMatcher>,
    /// The user's URL provider, when `url` is a function.
    pub url_provider: Option<Function>,
    /// The URL when it is a string and the attempt still needs resolving
    /// (a token provider).
    pub fixed_url: Option<String>,
    pub token: Option<TokenSource>,
    pub token_in: TokenPlace,
}

/// `url` with `token` as its `token` query parameter.
pub fn with_token(url: &str, token: &str) -> String {
    let encoded = String::from(js_sys::encode_uri_component(token));
    // Bytes, not `contains('?')`: see `core::config::url_problem`.
    let separator = if url.bytes().any(|b| b == b'?') { '&' } else { '?' };
    format!("{url}{separator}token={encoded}")
}
