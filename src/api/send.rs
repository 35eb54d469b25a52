//! What `send()` accepts, and how each kind of data becomes a frame.

use std::fmt;

use js_sys::{ArrayBuffer, Uint8Array, JSON};
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::{QueueFull, SendOutcome};
use crate::web::js_error::describe;
use crate::web::Frame;

/// What became of a message: `"sent"` to the open socket, or `"queued"`
/// until the connection is open again.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum SendResult {
    Sent,
    Queued,
}

impl From<SendOutcome> for SendResult {
    fn from(outcome: SendOutcome) -> Self {
        match outcome {
            SendOutcome::Sent => SendResult::Sent,
            SendOutcome::Queued => SendResult::Queued,
        }
    }
}

/// A refused `send()`.
#[derive(Debug)]
pub enum SendError {
    /// A value that is neither text, binary nor JSON-serialisable, by its `typeof`.
    Unsupported(String),
    /// `JSON.stringify` threw (a cycle, a BigInt, ...).
    NotJson(String),
    QueueFull(QueueFull),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Unsupported(kind) => write!(
                f,
                "tabwire: send() takes a string, an ArrayBuffer, a typed array or a JSON-serialisable value, not {kind}"
            ),
            SendError::NotJson(message) => write!(f, "tabwire: send() could not serialise the value as JSON: {message}"),
            SendError::QueueFull(full) => write!(
                f,
                "tabwire: the send queue is full ({} messages, queue.maxMessages); the message was not queued",
                full.max_messages
            ),
        }
    }
}

/// Turns what the user handed to `send()` into a frame. Binary data is
/// copied, as `WebSocket.send` does, so that changing the buffer afterwards
/// cannot change a queued message.
pub fn to_frame(data: JsValue) -> Result<Frame, SendError> {
    if data.is_string() {
        return Ok(Frame::new(data));
    }
    if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
        return Ok(Frame::new(buffer.slice(0).into()));
    }
    if ArrayBuffer::is_view(&data) {
        // Every view (typed array or DataView) has buffer, byteOffset, byteLength.
        let view = data.unchecked_ref::<Uint8Array>();
        let bytes = Uint8Array::new_with_byte_offset_and_length(&view.buffer(), view.byte_offset(), view.byte_length());
        return Ok(Frame::new(bytes.slice(0, view.byte_length()).buffer().into()));
    }
    if data.is_undefined() || data.is_function() || data.is_symbol() || data.is_instance_of::<web_sys::Blob>() {
        return Err(SendError::Unsupported(type_name(&data)));
    }
    let text = JSON::stringify(&data).map_err(|error| SendError::NotJson(describe(&error)))?;
    if text.is_undefined() {
        return Err(SendError::Unsupported(type_name(&data)));
    }
    Ok(Frame::new(text.into()))
}

fn type_name(data: &JsValue) -> String {
    if data.is_instance_of::<web_sys::Blob>() {
        return "a Blob (read it with await blob.arrayBuffer() first)".to_owned();
    }
    data.js_typeof().as_string().unwrap_or_default()
}
