//! A WebSocket opened aside while the connection is on HTTP, to learn
//! whether WebSockets get through again: it passes when it opens, its
//! server greets with the tabwire hello, and it stays up for the hold time
//! (a proxy that kills sockets after a few seconds fails it). It then
//! closes; the machine decides what to make of the verdict.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::Array;
use wasm_bindgen::JsValue;

use super::protocol::{self, Inbound};
use super::socket::{Socket, SocketEvent};
use crate::core::mode::PROTOCOL;

/// How long the probe may take to open and be greeted.
const GREETING_MS: u32 = 10_000;

/// A probe running; dropping it abandons it (nothing is reported).
pub struct Probe {
    _state: Rc<RefCell<State>>,
}

type Report = Box<dyn FnOnce(bool)>;

struct State {
    socket: Option<Socket>,
    /// The deadline of the greeting, then the end of the hold.
    timeout: Option<Timeout>,
    greeted: bool,
    report: Option<Report>,
}

impl State {
    /// Ends the probe; returns the report to call once the borrow is over
    /// (it may drop the probe, or start another).
    fn finish(&mut self) -> Option<Report> {
        self.timeout = None;
        if let Some(socket) = self.socket.take() {
            socket.close(1000, "probe");
        }
        self.report.take()
    }
}

/// Ends the probe of `state` with `passed`, reporting after the borrow.
fn conclude(state: &Weak<RefCell<State>>, passed: bool) {
    let Some(state) = state.upgrade() else { return };
    let report = state.borrow_mut().finish();
    if let Some(report) = report {
        report(passed);
    }
}

impl Probe {
    /// Opens the probe socket; `report` hears the verdict once (not if the
    /// probe is dropped first). Fails where `new WebSocket` throws.
    pub fn start(
        url: &str,
        protocols: &Array,
        hold_ms: f64,
        report: impl FnOnce(bool) + 'static,
    ) -> Result<Probe, JsValue> {
        let state = Rc::new(RefCell::new(State {
            socket: None,
            timeout: None,
            greeted: false,
            report: Some(Box::new(report)),
        }));
        let weak = Rc::downgrade(&state);
        let hold_ms = hold_ms as u32;
        let on_event: Rc<dyn Fn(SocketEvent)> = Rc::new(move |event| match event {
            SocketEvent::Open => {}
            SocketEvent::Message(data) => {
                let Some(state) = weak.upgrade() else { return };
                let greets = matches!(protocol::classify(&data), Inbound::Hello { protocol } if protocol == PROTOCOL);
                let mut probe = state.borrow_mut();
                if probe.greeted {
                    return;
                }
                if !greets {
                    drop(probe);
                    return conclude(&weak, false);
                }
                probe.greeted = true;
                let held = weak.clone();
                probe.timeout = Some(Timeout::new(hold_ms, move || conclude(&held, true)));
            }
            SocketEvent::Error | SocketEvent::Close { .. } => conclude(&weak, false),
        });
        let socket = Socket::open(url, protocols, on_event)?;
        let late = Rc::downgrade(&state);
        let mut probe = state.borrow_mut();
        probe.socket = Some(socket);
        probe.timeout = Some(Timeout::new(GREETING_MS, move || conclude(&late, false)));
        drop(probe);
        Ok(Probe { _state: state })
    }
}
