//! Catches misspelt options.
//!
//! serde-wasm-bindgen looks up only the fields a struct names, so
//! `#[serde(deny_unknown_fields)]` never sees an extra key and
//! `{ reconect: {...} }` would pass silently. This compares the keys of the
//! object with the fields serde derived for the struct.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use wasm_bindgen::{JsCast, JsValue};

/// The field names serde derived for `T` (captured from `deserialize_struct`).
pub fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldProbe(&mut fields));
    fields
}

/// The first key of `object` that is not in `fields`, as `prefix.key`.
/// Anything that is not a plain object has no keys to check.
pub fn unknown_key(object: &JsValue, prefix: &str, fields: &[&str]) -> Option<String> {
    let object = object.dyn_ref::<js_sys::Object>().filter(|_| !object.is_function() && !js_sys::Array::is_array(object))?;
    js_sys::Object::keys(object)
        .iter()
        .filter_map(|key| key.as_string())
        .find(|key| !fields.contains(&key.as_str()))
        .map(|key| format!("{prefix}{key}"))
}

struct FieldProbe<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only structs are probed"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("probed"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}
