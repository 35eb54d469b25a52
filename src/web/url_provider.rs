//! Calling the user's URL and token providers, which may answer at once or later.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::js_error::describe;

/// Calls `provider({ attempt, authFailed })` and waits for its answer, a
/// string or a promise of one (`what` it should be, for the message). Every
/// failure becomes a message, which never quotes a token.
pub async fn resolve(provider: Function, attempt: u32, auth_failed: bool, what: &str) -> Result<String, String> {
    let context = Object::new();
    let _ = Reflect::set(&context, &"attempt".into(), &attempt.into());
    let _ = Reflect::set(&context, &"authFailed".into(), &auth_failed.into());
    let answer = provider.call1(&JsValue::UNDEFINED, &context).map_err(|error| describe(&error))?;
    let answer = match answer.dyn_into::<Promise>() {
        Ok(promise) => JsFuture::from(promise).await.map_err(|error| describe(&error))?,
        Err(value) => value,
    };
    answer.as_string().ok_or_else(|| format!("it returned a {} instead of a {what} string", answer.js_typeof().as_string().unwrap_or_default()))
}
