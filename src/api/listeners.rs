//! The user's event listeners, and their delivery.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::JsValue;

use super::events::{self, EventKind};
use crate::core::Event;
use crate::web::js_error::report;
use crate::web::{EventSink, Frame};

#[derive(Default)]
pub struct Listeners {
    next_id: u32,
    entries: Vec<(u32, EventKind, Function)>,
}

impl Listeners {
    pub fn add(&mut self, kind: EventKind, listener: Function) -> u32 {
        self.next_id += 1;
        self.entries.push((self.next_id, kind, listener));
        self.next_id
    }

    pub fn remove(&mut self, id: u32) {
        self.entries.retain(|(entry, _, _)| *entry != id);
    }

    /// The listeners of `kind` now: one added or removed while they run
    /// does not change this delivery.
    fn of(&self, kind: EventKind) -> Vec<Function> {
        self.entries
            .iter()
            .filter(|(_, entry_kind, _)| *entry_kind == kind)
            .map(|(_, _, listener)| listener.clone())
            .collect()
    }
}

/// Delivers the driver's events to the listeners. A listener that throws is
/// reported on the console and the others still run.
pub struct ListenerSink {
    pub listeners: Rc<RefCell<Listeners>>,
}

impl EventSink for ListenerSink {
    fn deliver(&self, event: Event<Frame>) {
        let listeners = self.listeners.borrow().of(EventKind::of(&event));
        if listeners.is_empty() {
            return;
        }
        let payload = match events::to_js(event) {
            Ok(payload) => payload,
            Err(error) => return report("tabwire: could not build an event", &JsValue::from(error)),
        };
        for listener in listeners {
            if let Err(error) = listener.call1(&JsValue::UNDEFINED, &payload) {
                report("tabwire: a listener threw", &error);
            }
        }
    }
}
