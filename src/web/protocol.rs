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
    static OFFSET: JsValue = JsValue::from_str("offset");
    static SINCE: JsValue = JsValue::from_str("since");
    static FROM: JsValue = JsValue::from_str("from");
}

/// What an incoming frame of a protocol connection is.
pub enum Inbound {
    Pong,
    Ack(String),
    /// The server refused the message `id` for good.
    Rejected { id: String, code: String, message: String },
    Error { code: String, message: String },
    /// A message of the channel `channel`, numbered `offset`.
    Publication { channel: String, offset: Option<u64> },
    Subscribed { channel: String, offset: u64 },
    Unsubscribed { channel: String },
    /// An error about a channel (`forbidden`): the subscription was refused.
    SubscribeError { channel: String, code: String, message: String },
    Gap { channel: String, since: u64, from: u64 },
    /// Anything else belongs to the application; the JSON object, if the
    /// frame was one.
    Message(Option<JsValue>),
}

/// Only objects whose `type` is a protocol type are taken; a frame that is
/// not JSON, or not one of those, goes to the application untouched.
pub fn classify(data: &JsValue) -> Inbound {
    let Some(text) = data.dyn_ref::<JsString>() else { return Inbound::Message(None) };
    if text.char_code_at(0) != f64::from(b'{') {
        return Inbound::Message(None);
    }
    let Ok(object) = parse(data) else { return Inbound::Message(None) };
    let value = |key: &'static std::thread::LocalKey<JsValue>| key.with(|key| Reflect::get(&object, key)).ok();
    let field = |key| value(key).and_then(|v| v.as_string());
    // An offset: a whole number a JS number holds exactly.
    let offset = |key| value(key).and_then(|v| v.as_f64()).filter(|n| n.fract() == 0.0 && (0.0..=9e15).contains(n)).map(|n| n as u64);
    match field(&TYPE).as_deref() {
        Some("pong") => Inbound::Pong,
        Some("ack") => match field(&ID) {
            Some(id) => Inbound::Ack(id),
            None => Inbound::Message(Some(object.clone())),
        },
        Some("error") => {
            // An error naming a message concerns that message; one naming
            // a channel, that channel's subscription.
            let (code, message) = (field(&CODE).unwrap_or_default(), field(&MESSAGE).unwrap_or_default());
            match (field(&ID), field(&CHANNEL)) {
                (Some(id), _) => Inbound::Rejected { id, code, message },
                (None, Some(channel)) => Inbound::SubscribeError { channel, code, message },
                (None, None) => Inbound::Error { code, message },
            }
        }
        Some("pub") => match field(&CHANNEL) {
            Some(channel) => Inbound::Publication { channel, offset: offset(&OFFSET) },
            None => Inbound::Message(Some(object.clone())),
        },
        Some("subscribed") => match (field(&CHANNEL), offset(&OFFSET)) {
            (Some(channel), Some(offset)) => Inbound::Subscribed { channel, offset },
            _ => Inbound::Message(Some(object.clone())),
        },
        Some("unsubscribed") => match field(&CHANNEL) {
            Some(channel) => Inbound::Unsubscribed { channel },
            None => Inbound::Message(Some(object.clone())),
        },
        Some("gap") => match (field(&CHANNEL), offset(&SINCE), offset(&FROM)) {
            (Some(channel), Some(since), Some(from)) => Inbound::Gap { channel, since, from },
            _ => Inbound::Message(Some(object.clone())),
        },
        _ => Inbound::Message(Some(object)),
    }
}

/// `{"type":"auth","token":…}`: the credentials, first on a new socket.
pub fn auth(token: &str) -> JsValue {
    let token = js_sys::JSON::stringify(&JsValue::from_str(token)).map(String::from).unwrap_or_default();
    JsValue::from_str(&format!(r#"{{"type":"auth","token":{token}}}"#))
}

/// `{"type":"subscribe"|"unsubscribe","channel":…}`, with `"since":N` to
/// resume after the offset N.
pub fn subscription(channel: &str, subscribe: bool, since: Option<u64>) -> JsValue {
    let kind = if subscribe { "subscribe" } else { "unsubscribe" };
    let channel = js_sys::JSON::stringify(&JsValue::from_str(channel)).map(String::from).unwrap_or_default();
    let since = since.map(|since| format!(r#","since":{since}"#)).unwrap_or_default();
    JsValue::from_str(&format!(r#"{{"type":"{kind}","channel":{channel}{since}}}"#))
}

/// `{"type":"msg","id":…,"text"|"data"|"binary"|"publish":…}` around a message. The
/// payload is joined as a JS string; only binary data passes through wasm.
pub fn envelope(id: &str, frame: &Frame) -> JsValue {
    let head = |field: &str| JsString::from(format!(r#"{{"type":"msg","id":"{id}","{field}":"#));
    let body = match frame.kind() {
        PayloadKind::Json => head("data").concat(frame.data()),
        PayloadKind::Publish => head("publish").concat(frame.data()),
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
