//! A message as the browser holds it.

use js_sys::{ArrayBuffer, JsString};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::record::PayloadKind;
use crate::core::Payload;

/// A frame kept as a JS value (a string or an ArrayBuffer): it is never
/// copied into wasm memory, which would cost a UTF-16 to UTF-8 conversion
/// per message.
#[derive(Clone, Debug)]
pub struct Frame {
    data: JsValue,
    kind: PayloadKind,
    size: usize,
    /// The frame as JSON, when something parsed it already (the protocol's
    /// classification), so that routing by type does not parse it again.
    parsed: Option<JsValue>,
}

impl Frame {
    /// Text the application handed over as a string.
    pub fn text(data: JsString) -> Frame {
        let size = data.length() as usize;
        Frame { data: data.into(), kind: PayloadKind::Text, size, parsed: None }
    }

    /// Text that holds JSON (the application handed over a value).
    pub fn json(data: JsString) -> Frame {
        let size = data.length() as usize;
        Frame { data: data.into(), kind: PayloadKind::Json, size, parsed: None }
    }

    /// A message for a channel: JSON text `{"channel": ..., "data": ...}`.
    pub fn publication(data: JsString) -> Frame {
        let size = data.length() as usize;
        Frame { data: data.into(), kind: PayloadKind::Publish, size, parsed: None }
    }

    pub fn binary(data: ArrayBuffer) -> Frame {
        let size = data.byte_length() as usize;
        Frame { data: data.into(), kind: PayloadKind::Binary, size, parsed: None }
    }

    /// What a socket delivered: a string, or an ArrayBuffer (binaryType is
    /// "arraybuffer").
    pub fn inbound(data: JsValue) -> Frame {
        match data.dyn_into::<JsString>() {
            Ok(text) => Frame::text(text),
            Err(data) => Frame::binary(data.unchecked_into()),
        }
    }

    /// A frame of `kind` handed over by another tab; `None` if `data` is
    /// not what `kind` says (a string for text, an ArrayBuffer for binary).
    pub fn of_kind(kind: PayloadKind, data: JsValue) -> Option<Frame> {
        match kind {
            PayloadKind::Text => data.dyn_into::<JsString>().ok().map(Frame::text),
            PayloadKind::Json => data.dyn_into::<JsString>().ok().map(Frame::json),
            PayloadKind::Binary => data.dyn_into::<ArrayBuffer>().ok().map(Frame::binary),
            PayloadKind::Publish => data.dyn_into::<JsString>().ok().map(Frame::publication),
        }
    }

    /// Keeps the JSON value of this frame's text, parsed elsewhere.
    pub fn with_parsed(mut self, parsed: JsValue) -> Frame {
        self.parsed = Some(parsed);
        self
    }

    /// The frame's text as a JSON object: kept from an earlier parse, or
    /// parsed now; `None` for binary data and text that is not an object.
    pub fn json_object(&self) -> Option<JsValue> {
        if let Some(parsed) = &self.parsed {
            return Some(parsed.clone());
        }
        let text = self.data.dyn_ref::<JsString>()?;
        if text.char_code_at(0) != f64::from(b'{') {
            return None;
        }
        super::protocol::parse(&self.data).ok().filter(JsValue::is_object)
    }

    pub fn data(&self) -> &JsValue {
        &self.data
    }

    pub fn kind(&self) -> PayloadKind {
        self.kind
    }

    pub fn into_data(self) -> JsValue {
        self.data
    }
}

impl Payload for Frame {
    fn size(&self) -> usize {
        self.size
    }

    fn needs_protocol(&self) -> bool {
        self.kind == PayloadKind::Publish
    }
}
