//! The page's network, visibility and back/forward-cache signals.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, VisibilityState, Window};

use super::listener::EventListener;

/// What the page reports that matters to a connection.
pub enum Signal {
    Online,
    Offline,
    Visible,
    Hidden,
    /// `pagehide` of a page kept in the back/forward cache.
    Suspend,
    /// `pageshow` of a page back from the back/forward cache.
    Resume,
}

/// Listens to `online`, `offline`, `pagehide` and `pageshow` on the window
/// and `visibilitychange` on the document for as long as it lives.
pub struct Signals {
    _listeners: Vec<EventListener>,
}

impl Signals {
    /// `None` outside a window (a worker has none of these signals).
    pub fn attach(on_signal: impl Fn(Signal) + Clone + 'static) -> Option<Signals> {
        let window = web_sys::window()?;
        let document = window.document()?;
        let on = |signal: fn(&Event) -> Option<Signal>| {
            let on_signal = on_signal.clone();
            move |event: Event| {
                if let Some(signal) = signal(&event) {
                    on_signal(signal);
                }
            }
        };
        let listeners = vec![
            EventListener::new(window.unchecked_ref(), "online", on(|_| Some(Signal::Online))),
            EventListener::new(window.unchecked_ref(), "offline", on(|_| Some(Signal::Offline))),
            EventListener::new(window.unchecked_ref(), "pagehide", on(|event| persisted(event).then_some(Signal::Suspend))),
            EventListener::new(window.unchecked_ref(), "pageshow", on(|event| persisted(event).then_some(Signal::Resume))),
            EventListener::new(document.unchecked_ref(), "visibilitychange", on(|_| Some(visibility()))),
        ];
        Some(Signals { _listeners: listeners })
    }

    /// `navigator.onLine`; true where there is no window to ask.
    pub fn online() -> bool {
        web_sys::window().as_ref().map(Window::navigator).is_none_or(|navigator| navigator.on_line())
    }

    /// Whether the page is visible; true where there is no document.
    pub fn visible() -> bool {
        !matches!(visibility(), Signal::Hidden)
    }
}

fn visibility() -> Signal {
    let hidden = web_sys::window()
        .and_then(|window| window.document())
        .is_some_and(|document| document.visibility_state() == VisibilityState::Hidden);
    if hidden {
        Signal::Hidden
    } else {
        Signal::Visible
    }
}

/// `PageTransitionEvent.persisted`: the page goes into (or comes from) the
/// back/forward cache.
fn persisted(event: &Event) -> bool {
    js_sys::Reflect::get(event, &JsValue::from_str("persisted")).ok().and_then(|v| v.as_bool()).unwrap_or(false)
}
