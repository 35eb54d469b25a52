//! What `send()` accepts, and how each kind of data becomes a frame.

use std::fmt;

use js_sys::{ArrayBuffer, JsString, Uint8Array, JSON};
use tsify::{Ts, Tsify};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::{Failure, Refusal, SendOutcome, SendRefusal, Sent};
use crate::web::js_object::JsObject;
use crate::web::js_error::describe;
use crate::web::Frame;

/// What became of a message: `"sent"` to the open socket, `"queued"` in
/// the outbox until a connection opens, or `"refused"`: by a full outbox
/// (nothing already queued was dropped), or, for a publication, by a raw
/// connection. `id` follows the message to its `ack` event and in
/// `outbox()`.
#[derive(Tsify)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum SendReceipt {
    Sent { id: String },
    Queued { id: String },
    Refused { reason: RefusalReason, message: String },
}

#[derive(Tsify)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// `queue.maxMessages` reached.
    TooManyMessages,
    /// `queue.maxBytes` would be exceeded.
    TooManyBytes,
    /// `publish()` on a connection whose server does not speak tabwire.
    ProtocolRequired,
}

impl SendReceipt {
    pub fn into_js(self) -> Ts<SendReceipt> {
        let object = match self {
            SendReceipt::Sent { id } => JsObject::new().set("status", "sent").set("id", id),
            SendReceipt::Queued { id } => JsObject::new().set("status", "queued").set("id", id),
            SendReceipt::Refused { reason, message } => {
                JsObject::new().set("status", "refused").set("reason", reason.name()).set("message", message)
            }
        };
        Ts::new_unchecked(object.into())
    }
}

impl RefusalReason {
    /// The name the TypeScript declaration spells.
    fn name(&self) -> &'static str {
        match self {
            RefusalReason::TooManyMessages => "too_many_messages",
            RefusalReason::TooManyBytes => "too_many_bytes",
            RefusalReason::ProtocolRequired => "protocol_required",
        }
    }
}

impl From<Sent> for SendReceipt {
    fn from(sent: Sent) -> Self {
        match sent.outcome {
            SendOutcome::Sent => SendReceipt::Sent { id: sent.id },
            SendOutcome::Queued => SendReceipt::Queued { id: sent.id },
        }
    }
}

impl From<SendRefusal> for SendReceipt {
    fn from(refusal: SendRefusal) -> Self {
        let (reason, failure) = match refusal {
            SendRefusal::QueueFull(full @ Refusal::TooManyMessages { .. }) => {
                (RefusalReason::TooManyMessages, Failure::QueueFull(full))
            }
            SendRefusal::QueueFull(full @ Refusal::TooManyBytes { .. }) => {
                (RefusalReason::TooManyBytes, Failure::QueueFull(full))
            }
            SendRefusal::ProtocolRequired => {
                (RefusalReason::ProtocolRequired, Failure::ProtocolRequired { what: "publish()".to_owned() })
            }
        };
        SendReceipt::Refused { reason, message: failure.to_string() }
    }
}

/// A refused `send()`.
#[derive(Debug)]
pub enum SendError {
    /// A value that is neither text, binary nor JSON-serialisable, by its `typeof`.
    Unsupported(String),
    /// `JSON.stringify` threw (a cycle, a BigInt, ...).
    NotJson(String),
    /// The outbox is full and `queue.whenFull` is "throw".
    QueueFull(Refusal),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Unsupported(kind) => write!(
                f,
                "tabwire: send() takes a string, an ArrayBuffer, a typed array or a JSON-serialisable value, not {kind}"
            ),
            SendError::NotJson(message) => write!(f, "tabwire: send() could not serialise the value as JSON: {message}"),
            SendError::QueueFull(refusal) => write!(f, "tabwire: {}", Failure::QueueFull(*refusal)),
        }
    }
}

/// Turns what the user handed to `send()` into a frame. Binary data is
/// copied, as `WebSocket.send` does, so that changing the buffer afterwards
/// cannot change a queued message.
pub fn to_frame(data: JsValue) -> Result<Frame, SendError> {
    let data = match data.dyn_into::<JsString>() {
        Ok(text) => return Ok(Frame::text(text)),
        Err(data) => data,
    };
    if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
        return Ok(Frame::binary(buffer.slice(0)));
    }
    if ArrayBuffer::is_view(&data) {
        // Every view (typed array or DataView) has buffer, byteOffset, byteLength.
        let view = data.unchecked_ref::<Uint8Array>();
        let bytes = Uint8Array::new_with_byte_offset_and_length(&view.buffer(), view.byte_offset(), view.byte_length());
        return Ok(Frame::binary(bytes.slice(0, view.byte_length()).buffer()));
    }
    if data.is_undefined() || data.is_function() || data.is_symbol() || data.is_instance_of::<web_sys::Blob>() {
        return Err(SendError::Unsupported(type_name(&data)));
    }
    let text = JSON::stringify(&data).map_err(|error| SendError::NotJson(describe(&error)))?;
    if text.is_undefined() {
        return Err(SendError::Unsupported(type_name(&data)));
    }
    Ok(Frame::json(text))
}

/// A message for `channel`, for `publish()`: any JSON value.
pub fn to_publication(channel: &str, data: &JsValue) -> Result<Frame, SendError> {
    if data.is_undefined() || data.is_function() || data.is_symbol() {
        return Err(SendError::Unsupported(type_name(data)));
    }
    let text = JSON::stringify(data).map_err(|error| SendError::NotJson(describe(error.as_ref())))?;
    let channel = JSON::stringify(&JsValue::from_str(channel)).map_err(|error| SendError::NotJson(describe(error.as_ref())))?;
    let body = JsString::from(r#"{"channel":"#).concat(&channel).concat(&JsValue::from_str(r#","data":"#)).concat(&text).concat(&JsValue::from_str("}"));
    Ok(Frame::publication(body))
}

fn type_name(data: &JsValue) -> String {
    if data.is_instance_of::<web_sys::Blob>() {
        return "a Blob (read it with await blob.arrayBuffer() first)".to_owned();
    }
    data.js_typeof().as_string().unwrap_or_default()
}
