//! Readable text for whatever JavaScript threw or rejected with.

use js_sys::Error;
use wasm_bindgen::{JsCast, JsValue};

/// The message of an `Error`, a thrown string as is, otherwise `String(value)`.
pub fn describe(value: &JsValue) -> String {
    if let Some(error) = value.dyn_ref::<Error>() {
        return String::from(error.message());
    }
    if let Some(text) = value.as_string() {
        return text;
    }
    String::from(js_sys::JsString::from(value.clone()))
}

/// Reports an exception of a user callback without letting it escape, as
/// the DOM does for event listeners.
pub fn report(context: &str, error: &JsValue) {
    web_sys::console::error_2(&JsValue::from_str(context), error);
}
