//! Reads the options object by hand, key by key, and catches misspelt keys.
//!
//! Not through serde: serde_wasm_bindgen and its derived deserializers were
//! the largest part of the binary, and their messages did not name the
//! option ("invalid type: string \"5\", expected f64"). Here every value of
//! the wrong type is reported with its path, what it takes and what it got.
//! Each object remembers the keys that were read, so any other key is an
//! unknown option; unknown keys are reported before wrong values, since a
//! misspelt key is the likelier mistake.

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};

use super::options_error::OptionsError;
use crate::web::js_error::js_string;
use crate::web::js_object::JsObject;

/// One object of options (the options themselves, or `reconnect`, ...)
/// being read.
pub struct OptionObject {
    object: JsObject,
    /// Put before each key in messages: "" or "reconnect.".
    prefix: String,
    read: Vec<&'static str>,
    /// The first wrong value, reported once no key is unknown.
    problem: Option<OptionsError>,
}

impl OptionObject {
    /// Reads the options object with `read`.
    pub fn read_root<T>(value: &JsValue, read: impl FnOnce(&mut OptionObject) -> T) -> Result<T, OptionsError> {
        let object = plain_object(value).ok_or_else(|| OptionsError::NotAnObject(shown(value)))?;
        let mut root = OptionObject::new(object, String::new());
        let options = read(&mut root);
        root.finish()?;
        Ok(options)
    }

    fn new(object: JsObject, prefix: String) -> OptionObject {
        OptionObject { object, prefix, read: Vec::new(), problem: None }
    }

    /// The first key that was not read, else the first wrong value.
    fn finish(self) -> Result<(), OptionsError> {
        let unknown = self
            .object
            .keys()
            .iter()
            .filter_map(|key| key.as_string())
            .find(|key| !self.read.contains(&key.as_str()));
        match (unknown, self.problem) {
            (Some(key), _) => Err(OptionsError::UnknownOption(format!("{}{key}", self.prefix))),
            (None, Some(problem)) => Err(problem),
            (None, None) => Ok(()),
        }
    }

    /// The value of `key` as it is (`undefined` when absent).
    pub fn value(&mut self, key: &'static str) -> JsValue {
        self.read.push(key);
        self.object.get(key)
    }

    /// The value of `key`; `None` when absent (`undefined` or `null`).
    fn present(&mut self, key: &'static str) -> Option<JsValue> {
        Some(self.value(key)).filter(|value| !value.is_undefined() && !value.is_null())
    }

    /// The value of `key` turned by `parse`; `None` when absent (`undefined`
    /// or `null`), or when `parse` refuses it, which is reported as not
    /// being `expected` ("a number").
    pub fn get<T>(&mut self, key: &'static str, expected: &str, parse: impl FnOnce(&JsValue) -> Option<T>) -> Option<T> {
        let value = self.present(key)?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.wrong_type(key, expected, &value);
        }
        parsed
    }

    // Not inlined: each option is then a call, not a copy of the checks.
    #[inline(never)]
    pub fn number(&mut self, key: &'static str) -> Option<f64> {
        self.get(key, "a number", JsValue::as_f64)
    }

    #[inline(never)]
    pub fn string(&mut self, key: &'static str) -> Option<String> {
        self.get(key, "a string", JsValue::as_string)
    }

    #[inline(never)]
    pub fn boolean(&mut self, key: &'static str) -> Option<bool> {
        self.get(key, "true or false", JsValue::as_bool)
    }

    /// One of the strings of `choices`, as the value paired with it.
    pub fn choice<T: Copy>(&mut self, key: &'static str, choices: &[(&'static str, T)]) -> Option<T> {
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        let index = self.choice_index(key, &names)?;
        choices.get(index).map(|(_, choice)| *choice)
    }

    /// The position in `names` of the string under `key`.
    #[inline(never)]
    fn choice_index(&mut self, key: &'static str, names: &[&str]) -> Option<usize> {
        let value = self.present(key)?;
        let index = value.as_string().and_then(|text| names.iter().position(|name| *name == text));
        if index.is_none() {
            self.wrong_type(key, &one_of(names), &value);
        }
        index
    }

    /// The array under `key`, each element turned by `parse`; `None` when
    /// absent, or when it is not an array (reported as not being
    /// `expected`) or `parse` refuses an element (reported by its index as
    /// not being `element`).
    pub fn array<T>(
        &mut self,
        key: &'static str,
        expected: &str,
        element: &str,
        parse: impl Fn(&JsValue) -> Option<T>,
    ) -> Option<Vec<T>> {
        let array = self.get(key, expected, |value| value.dyn_ref::<Array>().cloned())?;
        let mut parsed = Vec::new();
        for (index, value) in array.iter().enumerate() {
            let Some(item) = parse(&value) else {
                self.wrong_type(&format!("{key}[{index}]"), element, &value);
                return None;
            };
            parsed.push(item);
        }
        Some(parsed)
    }

    /// The object of options under `key`, read with `read`; `None` when
    /// absent (`undefined` or `null`).
    pub fn object<T>(&mut self, key: &'static str, read: impl FnOnce(&mut OptionObject) -> T) -> Option<T> {
        let value = self.present(key)?;
        self.nested(key, &value, "an object", read)
    }

    /// `value`, the value of `key`, read as an object of options with `read`;
    /// anything but a plain object is reported as not being `expected`.
    pub fn nested<T>(
        &mut self,
        key: &'static str,
        value: &JsValue,
        expected: &str,
        read: impl FnOnce(&mut OptionObject) -> T,
    ) -> Option<T> {
        let mut child = self.child(key, value, expected)?;
        let options = read(&mut child);
        self.merge(child).then_some(options)
    }

    /// The reader of `value`, the object under `key`; `None` (reported as
    /// not being `expected`) if it is not a plain object.
    #[inline(never)]
    fn child(&mut self, key: &str, value: &JsValue, expected: &str) -> Option<OptionObject> {
        match plain_object(value) {
            Some(object) => Some(OptionObject::new(object, format!("{}{key}.", self.prefix))),
            None => {
                self.wrong_type(key, expected, value);
                None
            }
        }
    }

    /// Takes over what a child reader found wrong; whether it found nothing.
    #[inline(never)]
    fn merge(&mut self, child: OptionObject) -> bool {
        match child.finish() {
            Ok(()) => true,
            Err(problem) => {
                self.problem.get_or_insert(problem);
                false
            }
        }
    }

    /// Reports that `value`, under `key`, is not `expected`.
    fn wrong_type(&mut self, key: &str, expected: &str, value: &JsValue) {
        let option = format!("{}{key}", self.prefix);
        self.problem.get_or_insert(OptionsError::WrongType { option, expected: expected.to_owned(), found: shown(value) });
    }
}

/// `"full", "equal" or "none"`.
fn one_of(names: &[&str]) -> String {
    let mut text = String::new();
    for (index, name) in names.iter().enumerate() {
        let separator = match index {
            0 => "",
            _ if index + 1 == names.len() => " or ",
            _ => ", ",
        };
        text.push_str(separator);
        text.push('"');
        text.push_str(name);
        text.push('"');
    }
    text
}

/// `value` if it is an object with keys of its own: not null, an array or a function.
fn plain_object(value: &JsValue) -> Option<JsObject> {
    JsObject::of(value).filter(|_| !Array::is_array(value))
}

/// A value as a message shows it: a string quoted, a number or a boolean as
/// JavaScript writes it, anything else by its kind.
fn shown(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        format!("\"{text}\"")
    } else if value.is_null() {
        "null".to_owned()
    } else if Array::is_array(value) {
        "an array".to_owned()
    } else if value.is_function() {
        "a function".to_owned()
    } else if value.is_object() {
        "an object".to_owned()
    } else if value.is_bigint() {
        format!("{}n", js_string(value))
    } else {
        // A number, a boolean, undefined or a symbol: String() writes each plainly.
        js_string(value)
    }
}
