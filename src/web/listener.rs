//! An event listener that owns its closure and removes itself on drop.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventTarget};

/// Registered with `addEventListener` on creation, removed with
/// `removeEventListener` on drop, before the closure itself is freed: a
/// dropped listener can never be called, and nothing leaks.
pub struct EventListener {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn FnMut(Event)>,
}

impl EventListener {
    pub fn new(target: &EventTarget, kind: &'static str, callback: impl FnMut(Event) + 'static) -> EventListener {
        let callback = Closure::<dyn FnMut(Event)>::new(callback);
        // Only fails for a non-object callback, which a Closure never is.
        let _ = target.add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref());
        EventListener { target: target.clone(), kind, callback }
    }
}

impl Drop for EventListener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.kind, self.callback.as_ref().unchecked_ref());
    }
}
