//! The page's network and visibility signals.

use wasm_bindgen::JsCast;
use web_sys::{VisibilityState, Window};

use super::listener::EventListener;

/// What the page reports that matters to a connection.
pub enum Signal {
    Online,
    Offline,
    Visible,
}

/// Listens to `online`/`offline` on the window and `visibilitychange` on the
/// document for as long as it lives.
pub struct Signals {
    _listeners: Vec<EventListener>,
}

impl Signals {
    /// `None` outside a window (a worker has neither signal).
    pub fn attach(on_signal: impl Fn(Signal) + Clone + 'static) -> Option<Signals> {
        let window = web_sys::window()?;
        let document = window.document()?;
        let (online, offline) = (on_signal.clone(), on_signal.clone());
        let visible_document = document.clone();
        let listeners = vec![
            EventListener::new(window.unchecked_ref(), "online", move |_| online(Signal::Online)),
            EventListener::new(window.unchecked_ref(), "offline", move |_| offline(Signal::Offline)),
            EventListener::new(document.unchecked_ref(), "visibilitychange", move |_| {
                if visible_document.visibility_state() == VisibilityState::Visible {
                    on_signal(Signal::Visible);
                }
            }),
        ];
        Some(Signals { _listeners: listeners })
    }

    /// `navigator.onLine`; true where there is no window to ask.
    pub fn online() -> bool {
        web_sys::window().as_ref().map(Window::navigator).is_none_or(|navigator| navigator.on_line())
    }
}
