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
    /// Listeners of channel messages: (id, channel, listener).
    channels: Vec<(u32, String, Function)>,
    /// Listeners of JSON frames by their type: (id, type, listener).
    types: Vec<(u32, String, Function)>,
}

impl Listeners {
    pub fn add(&mut self, kind: EventKind, listener: Function) -> u32 {
        self.next_id += 1;
        self.entries.push((self.next_id, kind, listener));
        self.next_id
    }

    /// Removes an event or type listener (ids are unique across both).
    pub fn remove(&mut self, id: u32) {
        self.entries.retain(|(entry, _, _)| *entry != id);
        self.types.retain(|(entry, _, _)| *entry != id);
    }

    /// Adds a listener of the frames whose type field is `kind`.
    pub fn add_type(&mut self, kind: String, listener: Function) -> u32 {
        self.next_id += 1;
        self.types.push((self.next_id, kind, listener));
        self.next_id
    }

    fn of_type(&self, kind: &str) -> Vec<Function> {
        self.types.iter().filter(|(_, known, _)| known == kind).map(|(_, _, listener)| listener.clone()).collect()
    }

    /// Adds a listener of `channel`; returns its id and whether it is the
    /// channel's first (the tab subscribes then).
    pub fn add_channel(&mut self, channel: String, listener: Function) -> (u32, bool) {
        self.next_id += 1;
        let first = !self.channels.iter().any(|(_, known, _)| *known == channel);
        self.channels.push((self.next_id, channel, listener));
        (self.next_id, first)
    }

    /// Removes a channel listener; returns its channel if it was the last
    /// one (the tab unsubscribes then).
    pub fn remove_channel(&mut self, id: u32) -> Option<String> {
        let index = self.channels.iter().position(|(entry, _, _)| *entry == id)?;
        let (_, channel, _) = self.channels.remove(index);
        let last = !self.channels.iter().any(|(_, known, _)| *known == channel);
        last.then_some(channel)
    }

    fn of_channel(&self, channel: &str) -> Vec<Function> {
        self.channels.iter().filter(|(_, known, _)| known == channel).map(|(_, _, listener)| listener.clone()).collect()
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
    /// The field `onType` routes by, as a JS string made once.
    pub type_field: JsValue,
}

impl ListenerSink {
    /// A JSON frame whose type has `onType` listeners goes to them, parsed
    /// (once: the protocol's classification may have parsed it already).
    /// Returns whether it did.
    fn route_by_type(&self, frame: &Frame) -> bool {
        if self.listeners.borrow().types.is_empty() {
            return false;
        }
        let Some(object) = frame.json_object() else { return false };
        let kind = js_sys::Reflect::get(&object, &self.type_field).ok().and_then(|kind| kind.as_string());
        let listeners = kind.map(|kind| self.listeners.borrow().of_type(&kind)).unwrap_or_default();
        if listeners.is_empty() {
            return false;
        }
        call_all(listeners, &object);
        true
    }
}

fn call_all(listeners: Vec<Function>, payload: &JsValue) {
    for listener in listeners {
        if let Err(error) = listener.call1(&JsValue::UNDEFINED, payload) {
            report("tabwire: a listener threw", &error);
        }
    }
}

impl EventSink for ListenerSink {
    fn deliver(&self, event: Event<Frame>) {
        if let Event::Message(frame) = &event {
            if self.route_by_type(frame) {
                return;
            }
        }
        let listeners = match (&event, EventKind::of(&event)) {
            (Event::Publication { channel, .. }, _) => self.listeners.borrow().of_channel(channel),
            (_, Some(kind)) => self.listeners.borrow().of(kind),
            (_, None) => return,
        };
        if listeners.is_empty() {
            return;
        }
        call_all(listeners, &events::to_js(event));
    }
}
