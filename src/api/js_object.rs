//! The plain JavaScript objects the API hands out (event payloads, receipts,
//! `stats()`, outbox entries), built field by field with `Reflect.set`.
//!
//! Not through serde: serde_wasm_bindgen, the derived serializers and their
//! error messages were about a third of the binary, for objects of a few
//! numbers and strings. The tsify types still declare their TypeScript shape;
//! each one's `into_js` writes exactly its fields.

use js_sys::{Object, Reflect};
use tsify::{Ts, Tsify};
use wasm_bindgen::JsValue;

/// An object under construction.
pub struct JsObject(Object);

impl JsObject {
    pub fn new() -> Self {
        JsObject(Object::new())
    }

    /// Sets `key` (`Reflect.set` on a fresh plain object cannot fail).
    pub fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    /// Sets `key` only when there is a value: left out, as `key?:` declares it.
    pub fn set_some(self, key: &str, value: Option<impl Into<JsValue>>) -> Self {
        match value {
            Some(value) => self.set(key, value),
            None => self,
        }
    }

    /// The object as the tsify type it was built to match.
    pub fn typed<T: Tsify>(self) -> Ts<T> {
        Ts::new_unchecked(self.into())
    }
}

impl From<JsObject> for JsValue {
    fn from(object: JsObject) -> JsValue {
        object.0.into()
    }
}
