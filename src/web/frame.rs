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
}

impl Frame {
    /// Text the application handed over as a string.
    pub fn text(data: JsString) -> Frame {
        let size = data.length() as usize;
        Frame { data: data.into(), kind: PayloadKind::Text, size }
    }

    /// Text that holds JSON (the application handed over a value).
    pub fn json(data: JsString) -> Frame {
        let size = data.length() as usize;
        Frame { data: data.into(), kind: PayloadKind::Json, size }
    }

    pub fn binary(data: ArrayBuffer) -> Frame {
        let size = data.byte_length() as usize;
        Frame { data: data.into(), kind: PayloadKind::Binary, size }
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
        }
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
}
