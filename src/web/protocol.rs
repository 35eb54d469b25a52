//! The tabwire protocol on the wire (see docs/PROTOCOL.md): the hellos
//! that switch it on, the `msg` envelope around outgoing messages, the
//! channel subscription frames, and the recognition of `pong`, `ack`,
//! `error`, `pub`, `subscribed` and `gap` frames among incoming ones.

use js_sys::{JsString, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::frame::Frame;
use crate::core::base64;
use crate::core::json_string::quoted;
use crate::core::mode::PROTOCOL;
use crate::core::positions::{GapReason, Position};
use crate::core::record::PayloadKind;

#[wasm_bindgen]
extern "C" {
    /// `JSON.parse` of a JS string, without copying it through wasm.
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    pub fn parse(text: &JsValue) -> Result<JsValue, JsValue>;
}

/// The field names of server frames, made JS strings once rather than on
/// every frame (one thread-local for all of them: each costs its own
/// initialisation code).
struct FieldNames {
    kind: JsValue,
    id: JsValue,
    code: JsValue,
    message: JsValue,
    channel: JsValue,
    offset: JsValue,
    since: JsValue,
    from: JsValue,
    epoch: JsValue,
    reason: JsValue,
    protocol: JsValue,
}

thread_local! {
    static NAMES: FieldNames = FieldNames {
        kind: JsValue::from_str("type"),
        id: JsValue::from_str("id"),
        code: JsValue::from_str("code"),
        message: JsValue::from_str("message"),
        channel: JsValue::from_str("channel"),
        offset: JsValue::from_str("offset"),
        since: JsValue::from_str("since"),
        from: JsValue::from_str("from"),
        epoch: JsValue::from_str("epoch"),
        reason: JsValue::from_str("reason"),
        protocol: JsValue::from_str("protocol"),
    };
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
    Subscribed { channel: String, offset: u64, epoch: Option<String> },
    Unsubscribed { channel: String },
    /// An error about a channel (`forbidden`): the subscription was refused.
    SubscribeError { channel: String, code: String, message: String },
    Gap { channel: String, since: u64, from: u64, reason: GapReason, epoch: Option<String> },
    /// A server's greeting, naming its protocol ("" for none); a greeting
    /// is one only as a connection's first frame (the machine knows).
    Hello { protocol: String },
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
    NAMES.with(|names| classify_object(object, names))
}

fn classify_object(object: JsValue, names: &FieldNames) -> Inbound {
    let value = |key: &JsValue| Reflect::get(&object, key).ok();
    let field = |key| value(key).and_then(|v| v.as_string());
    // An offset: a whole number a JS number holds exactly.
    let offset = |key| value(key).and_then(|v| v.as_f64()).filter(|n| n.fract() == 0.0 && (0.0..=9e15).contains(n)).map(|n| n as u64);
    let FieldNames { kind, id, code, message, channel, offset: offset_name, since, from, epoch, reason, protocol } = names;
    match field(kind).as_deref() {
        Some("pong") => Inbound::Pong,
        Some("ack") => match field(id) {
            Some(id) => Inbound::Ack(id),
            None => Inbound::Message(Some(object.clone())),
        },
        Some("error") => {
            // An error naming a message concerns that message; one naming
            // a channel, that channel's subscription.
            let (code, message) = (field(code).unwrap_or_default(), field(message).unwrap_or_default());
            match (field(id), field(channel)) {
                (Some(id), _) => Inbound::Rejected { id, code, message },
                (None, Some(channel)) => Inbound::SubscribeError { channel, code, message },
                (None, None) => Inbound::Error { code, message },
            }
        }
        Some("pub") => match field(channel) {
            Some(channel) => Inbound::Publication { channel, offset: offset(offset_name) },
            None => Inbound::Message(Some(object.clone())),
        },
        Some("subscribed") => match (field(channel), offset(offset_name)) {
            (Some(channel), Some(offset)) => Inbound::Subscribed { channel, offset, epoch: field(epoch) },
            _ => Inbound::Message(Some(object.clone())),
        },
        Some("unsubscribed") => match field(channel) {
            Some(channel) => Inbound::Unsubscribed { channel },
            None => Inbound::Message(Some(object.clone())),
        },
        Some("gap") => match (field(channel), offset(since), offset(from)) {
            (Some(channel), Some(since), Some(from)) => {
                // A server of before epochs names no reason: its history
                // no longer reaching back is all it reports.
                let reason = field(reason).and_then(|reason| GapReason::parse(&reason)).unwrap_or(GapReason::Trimmed);
                Inbound::Gap { channel, since, from, reason, epoch: field(epoch) }
            }
            _ => Inbound::Message(Some(object.clone())),
        },
        Some("hello") => Inbound::Hello { protocol: field(protocol).unwrap_or_default() },
        _ => Inbound::Message(Some(object)),
    }
}

/// The heartbeat ping of the tabwire protocol.
pub const PING: &str = r#"{"type":"ping"}"#;

pub fn ping() -> JsValue {
    JsValue::from_str(PING)
}

/// `{"type":"hello","protocol":"tabwire.v1","client":…}`: this client's
/// answer to the server's greeting, naming the client for the server's
/// deduplication.
pub fn hello(client: &str) -> JsValue {
    JsValue::from_str(&format!(r#"{{"type":"hello","protocol":"{PROTOCOL}","client":{}}}"#, quoted(client)))
}

/// `{"type":"auth","token":…}`: the credentials, right after the hello.
pub fn auth(token: &str) -> JsValue {
    JsValue::from_str(&format!(r#"{{"type":"auth","token":{}}}"#, quoted(token)))
}

/// `{"type":"subscribe"|"unsubscribe","channel":…}`, with `"since":N` (and
/// the `"epoch"` of N's numbering) to resume after the offset N.
pub fn subscription(channel: &str, subscribe: bool, since: Option<&Position>) -> JsValue {
    let kind = if subscribe { "subscribe" } else { "unsubscribe" };
    let since = since.map_or_else(String::new, |position| {
        let epoch = position.epoch.as_deref().map(|epoch| format!(r#","epoch":{}"#, quoted(epoch))).unwrap_or_default();
        format!(r#","since":{}{epoch}"#, position.offset)
    });
    JsValue::from_str(&format!(r#"{{"type":"{kind}","channel":{}{since}}}"#, quoted(channel)))
}


/// `{"type":"msg","id":…,"text"|"data"|"binary"|"publish":…}` around a message. The
/// payload is joined as a JS string; only binary data passes through wasm.
pub fn envelope(id: &str, frame: &Frame) -> JsValue {
    let id = quoted(id);
    let head = |field: &str| JsString::from(format!(r#"{{"type":"msg","id":{id},"{field}":"#));
    let body = match frame.kind() {
        PayloadKind::Json => head("data").concat(frame.data()),
        PayloadKind::Publish => head("publish").concat(frame.data()),
        PayloadKind::Text => {
            let text = js_sys::JSON::stringify(frame.data()).unwrap_or_else(|_| JsString::from("\"\""));
            head("text").concat(&text)
        }
        PayloadKind::Binary => {
            let bytes = Uint8Array::new(frame.data()).to_vec();
            head("binary").concat(&JsValue::from_str(&format!("\"{}\"", base64::encode(&bytes))))
        }
    };
    body.concat(&JsValue::from_str("}")).into()
}
