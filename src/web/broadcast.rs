//! The `BroadcastChannel` the tabs of a namespace talk over.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

use super::listener::EventListener;

/// What arrives on the channel.
pub enum Heard {
    Message(JsValue),
    /// A message this tab could not deserialize (`messageerror`).
    Unreadable,
}

/// An open channel and its listeners; dropping it removes them and closes
/// the channel.
pub struct Broadcast {
    channel: BroadcastChannel,
    _listeners: [EventListener; 2],
}

impl Broadcast {
    /// `None` where the browser has no BroadcastChannel.
    pub fn open(name: &str, on_heard: impl Fn(Heard) + Clone + 'static) -> Option<Broadcast> {
        let exists = js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("BroadcastChannel")).unwrap_or(false);
        if !exists {
            return None;
        }
        let channel = BroadcastChannel::new(name).ok()?;
        let on_unreadable = on_heard.clone();
        let listeners = [
            EventListener::new(channel.unchecked_ref(), "message", move |event| {
                if let Some(event) = event.dyn_ref::<MessageEvent>() {
                    on_heard(Heard::Message(event.data()));
                }
            }),
            EventListener::new(channel.unchecked_ref(), "messageerror", move |_| on_unreadable(Heard::Unreadable)),
        ];
        Some(Broadcast { channel, _listeners: listeners })
    }

    /// Posts to every other tab. Fails only for a value that cannot be
    /// cloned, which the codec never builds.
    pub fn post(&self, message: &JsValue) -> Result<(), JsValue> {
        self.channel.post_message(message)
    }
}

impl Drop for Broadcast {
    fn drop(&mut self) {
        self.channel.close();
    }
}
