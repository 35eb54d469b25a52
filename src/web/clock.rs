//! The time fed to the core: `performance.now()`, monotonic, in ms.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;

    #[wasm_bindgen(thread_local_v2, js_namespace = performance, js_name = timeOrigin)]
    static TIME_ORIGIN: f64;
}

/// Milliseconds since the page started (the core's clock).
pub fn now() -> f64 {
    performance_now()
}

/// Converts a time of the core's clock into Unix epoch milliseconds.
pub fn to_epoch_ms(at_ms: f64) -> f64 {
    TIME_ORIGIN.with(|origin| origin + at_ms)
}

/// Converts Unix epoch milliseconds into the core's clock (negative for
/// times before this page load).
pub fn from_epoch_ms(epoch_ms: f64) -> f64 {
    TIME_ORIGIN.with(|origin| epoch_ms - origin)
}

/// Unix epoch milliseconds now, as `Date.now()`.
pub fn epoch_now() -> f64 {
    js_sys::Date::now()
}
