//! The `BroadcastChannel` the tabs of a namespace talk over.
//!
//! A leader passes every frame of its socket on to the other tabs. One post
//! per frame costs the leader a structured clone and an IPC hop, and each
//! follower an event and a call into wasm, per frame: under a burst of
//! frames that is most of a follower's cost. So frames may be posted
//! *soon* ([`Broadcast::post_soon`]): they wait for the end of the current
//! burst, a task posted on a `MessageChannel` of this page, and go together
//! in one post. That task runs after the socket messages already queued,
//! so a lone frame goes out a task later and a burst goes out in one post,
//! without a timer (which the browser throttles in hidden tabs).

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageChannel, MessageEvent};

use super::listener::EventListener;

/// What arrives on the channel.
pub enum Heard {
    Message(JsValue),
    /// A message this tab could not deserialize (`messageerror`).
    Unreadable,
}

/// Wraps messages that go out together into the one value posted.
pub type Batcher = fn(js_sys::Array) -> JsValue;

/// An open channel and its listeners; dropping it posts what waits, removes
/// the listeners and closes the channel.
pub struct Broadcast {
    outgoing: Rc<Outgoing>,
    _listeners: [EventListener; 3],
}

/// The channel and the messages waiting for the end of the burst.
struct Outgoing {
    channel: BroadcastChannel,
    waiting: RefCell<js_sys::Array>,
    batch: Batcher,
    /// `port2` wakes `port1`'s listener, which posts what waits.
    wake: MessageChannel,
}

impl Broadcast {
    /// `None` where the browser has no BroadcastChannel or MessageChannel.
    pub fn open(name: &str, batch: Batcher, on_heard: impl Fn(Heard) + Clone + 'static) -> Option<Broadcast> {
        let global = js_sys::global();
        let exists = |name: &str| js_sys::Reflect::has(&global, &JsValue::from_str(name)).unwrap_or(false);
        if !exists("BroadcastChannel") || !exists("MessageChannel") {
            return None;
        }
        let channel = BroadcastChannel::new(name).ok()?;
        let wake = MessageChannel::new().ok()?;
        let outgoing = Rc::new(Outgoing { channel, waiting: RefCell::new(js_sys::Array::new()), batch, wake });
        let on_unreadable = on_heard.clone();
        let woken = Rc::downgrade(&outgoing);
        let listeners = [
            EventListener::new(outgoing.channel.unchecked_ref(), "message", move |event| {
                if let Some(event) = event.dyn_ref::<MessageEvent>() {
                    on_heard(Heard::Message(event.data()));
                }
            }),
            EventListener::new(outgoing.channel.unchecked_ref(), "messageerror", move |_| {
                on_unreadable(Heard::Unreadable)
            }),
            EventListener::new(outgoing.wake.port1().unchecked_ref(), "message", move |_| {
                if let Some(outgoing) = woken.upgrade() {
                    outgoing.report(outgoing.flush());
                }
            }),
        ];
        // A port's listener added with addEventListener waits for start().
        outgoing.wake.port1().start();
        Some(Broadcast { outgoing, _listeners: listeners })
    }

    /// Posts to every other tab now, after whatever waits. Fails only for a
    /// value that cannot be cloned, which the codec never builds.
    pub fn post(&self, message: &JsValue) -> Result<(), JsValue> {
        self.outgoing.flush()?;
        self.outgoing.channel.post_message(message)
    }

    /// Posts at the end of the current burst, with the messages posted soon
    /// before it, in order.
    pub fn post_soon(&self, message: &JsValue) {
        let waiting = self.outgoing.waiting.borrow().push(message);
        if waiting == 1 {
            // Only fails for a closed port, which an open Broadcast never has.
            let _ = self.outgoing.wake.port2().post_message(&JsValue::NULL);
        }
    }
}

impl Outgoing {
    /// Posts what waits: one message as itself, several as a batch.
    fn flush(&self) -> Result<(), JsValue> {
        let waiting = self.waiting.replace(js_sys::Array::new());
        match waiting.length() {
            0 => Ok(()),
            1 => self.channel.post_message(&waiting.get(0)),
            _ => self.channel.post_message(&(self.batch)(waiting)),
        }
    }

    fn report(&self, posted: Result<(), JsValue>) {
        if let Err(error) = posted {
            super::js_error::report("tabwire: could not post to the other tabs", &error);
        }
    }
}

impl Drop for Broadcast {
    fn drop(&mut self) {
        self.outgoing.report(self.outgoing.flush());
        self.outgoing.channel.close();
        self.outgoing.wake.port1().close();
        self.outgoing.wake.port2().close();
    }
}
