//! Readable text for whatever JavaScript threw or rejected with.

use js_sys::{Error, JsString};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    /// JavaScript's `String(value)`, which throws only for an object whose
    /// conversion to a primitive throws.
    #[wasm_bindgen(js_name = String, catch)]
    fn string_of(value: &JsValue) -> Result<JsString, JsValue>;
}

/// The message of an `Error`, a thrown string as is, otherwise `String(value)`.
pub fn describe(value: &JsValue) -> String {
    if let Some(error) = value.dyn_ref::<Error>() {
        return String::from(error.message());
    }
    if let Some(text) = value.as_string() {
        return text;
    }
    js_string(value)
}

/// `String(value)`, as JavaScript writes a number (`0.1`, `NaN`), a boolean
/// or a symbol; empty if the conversion throws.
pub fn js_string(value: &JsValue) -> String {
    string_of(value).ok().and_then(|text| text.as_string()).unwrap_or_default()
}

/// Reports an exception of a user callback without letting it escape, as
/// the DOM does for event listeners.
pub fn report(context: &str, error: &JsValue) {
    web_sys::console::error_2(&JsValue::from_str(context), error);
}
