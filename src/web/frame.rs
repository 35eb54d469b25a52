//! A message as the browser holds it.

use js_sys::{ArrayBuffer, JsString};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::Payload;

/// A frame kept as a JS value (a string or an ArrayBuffer): it
/// is never copied into wasm memory, which would cost a UTF-16 to UTF-8
/// conversion per message.
#[derive(Clone, Debug)]
pub struct Frame {
    data: JsValue,
    size: usize,
}

impl Frame {
    /// A text frame (JS string) or a binary one (ArrayBuffer).
    pub fn new(data: JsValue) -> Frame {
        let size = size_of(&data);
        Frame { data, size }
    }

    pub fn data(&self) -> &JsValue {
        &self.data
    }

    pub fn into_data(self) -> JsValue {
        self.data
    }
}

fn size_of(data: &JsValue) -> usize {
    if let Some(text) = data.dyn_ref::<JsString>() {
        text.length() as usize
    } else if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
        buffer.byte_length() as usize
    } else {
        0
    }
}

impl Payload for Frame {
    fn size(&self) -> usize {
        self.size
    }
}
