//! Plain JavaScript objects built and read field by field with `Reflect`:
//! the payloads the API hands out (events, receipts, `stats()`, outbox
//! entries) and the messages tabs post to each other.
//!
//! Not through serde: serde_wasm_bindgen, the derived serializers and their
//! error messages were about a third of the binary, for objects of a few
//! numbers and strings.

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

#[derive(Default)]
pub struct JsObject(Object);

impl JsObject {
    pub fn new() -> Self {
        JsObject::default()
    }

    /// `value` if it is an object (an array or a class instance included).
    pub fn of(value: &JsValue) -> Option<JsObject> {
        value.is_object().then(|| JsObject(value.clone().unchecked_into()))
    }

    /// Sets `key` (`Reflect.set` on a plain object cannot fail).
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

    /// The value of `key`, `undefined` when absent (or when a getter throws).
    pub fn get(&self, key: &str) -> JsValue {
        Reflect::get(&self.0, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    /// Its own enumerable string keys, as `Object.keys` lists them.
    pub fn keys(&self) -> js_sys::Array {
        Object::keys(&self.0)
    }
}

impl From<JsObject> for JsValue {
    fn from(object: JsObject) -> JsValue {
        object.0.into()
    }
}
