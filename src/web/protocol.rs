//! The tabwire protocol on the wire (see docs/PROTOCOL.md): the subprotocol
//! that switches it on, the `msg` envelope around outgoing messages, the
//! channel subscription frames, and the recognition of `pong`, `ack`,
//! `error` and `pub` frames among incoming ones.

use js_sys::{JsString, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::frame::Frame;
use crate::core::base64;
use crate::core::record::PayloadKind;

/// Offered on every connection; a server that selects it acknowledges.
pub const SUBPROTOCOL: &str = "tabwire.v1";

#[wasm_bindgen]
extern "C" {
    /// `JSON.parse` of a JS string, without copying it through wasm.
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    pub fn parse(text: &JsValue) -> Result<JsValue, JsValue>;
}

thread_local! {
    // The field names, made JS strings once rather than on every frame.
    static TYPE: JsValue = JsValue::from_str("type");
    static ID: JsValue = JsValue::from_str("id");
    static CODE: JsValue = JsValue::from_str("code");
    static MESSAGE: JsValue = JsValue::from_str("message");
    static CHANNEL: JsValue = JsValue::from_str("channel");
}

/// What an incoming frame of a protocol connection is.
pub enum Inbound {
    Pong,
    Ack(String),
    Error { code: String, message: String },
    /// A message of the channel `channel`.
    Publication { channel: String },
    /// Anything else belongs to the application.
    Message,
}

/// Only objects whose `type` is a protocol type are taken; a frame that is
/// not JSON, or not one of those, goes to the application untouched.
pub fn classify(data: &JsValue) -> Inbound {
    let Some(text) = data.dyn_ref::<JsString>() else { return Inbound::Message };
    if text.char_code_at(0) != f64::from(b'{') {
        return Inbound::Message;
    }
    let Ok(object) = parse(data) else { return Inbound::Message };
    let field = |key: &'static std::thread::LocalKey<JsValue>| {
        key.with(|key| Reflect::get(&object, key)).ok().and_then(|v| v.as_string())
    };
    match field(&TYPE).as_deref() {
        Some("pong") => Inbound::Pong,
        Some("ack") => match field(&ID) {
            Some(id) => Inbound::Ack(id),
            None => Inbound::Message,
        },
        Some("error") => Inbound::Error {
            code: field(&CODE).unwrap_or_default(),
            message: field(&MESSAGE).unwrap_or_default(),
        },
        Some("pub") => match field(&CHANNEL) {
            Some(channel) => Inbound::Publication { channel },
            None => Inbound::Message,
        },
        _ => Inbound::Message,
    }
}

/// `{"type":"subscribe"|"unsubscribe","channel":…}`.
pub fn subscription(channel: &str, subscribe: bool) -> JsValue {
    let kind = if subscribe { "subscribe" } else { "unsubscribe" };
    let channel = js_sys::JSON::stringify(&JsValue::from_str(channel)).map(String::from).unwrap_or_default();
    JsValue::from_str(&format!(r#"{{"type":"{kind}","channel":{channel}}}"#))
}

/// `{"type":"msg","id":…,"text"|"data"|"binary":…}` around a message. The
/// payload is joined as a JS string; only binary data passes through wasm.
pub fn envelope(id: &str, frame: &Frame) -> JsValue {
    let head = |field: &str| JsString::from(format!(r#"{{"type":"msg","id":"{id}","{field}":"#));
    let body = match frame.kind() {
        PayloadKind::Json => head("data").concat(frame.data()),
        PayloadKind::Text => {
            let quoted = js_sys::JSON::stringify(frame.data()).unwrap_or_else(|_| JsString::from("\"\""));
            head("text").concat(&quoted)
        }
        PayloadKind::Binary => {
            let bytes = Uint8Array::new(frame.data()).to_vec();
            head("binary").concat(&JsValue::from_str(&format!("\"{}\"", base64::encode(&bytes))))
        }
    };
    body.concat(&JsValue::from_str("}")).into()
}
