//! Web Locks (`navigator.locks`), through a hand-written binding: web-sys
//! has them only behind its unstable APIs.
//!
//! A lock is held for as long as the promise its callback returns is
//! pending, so holding one means keeping that promise's `resolve`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortController;

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks`.
    #[derive(Clone)]
    pub type LockManager;

    #[wasm_bindgen(method, js_name = request)]
    fn request(this: &LockManager, name: &str, options: &Object, callback: &JsValue) -> Promise;
}

/// The page's lock manager; `None` without one (an insecure origin, an old
/// browser, a worker without `navigator`).
pub fn lock_manager() -> Option<LockManager> {
    let navigator = Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).ok()?;
    let locks = Reflect::get(&navigator, &JsValue::from_str("locks")).ok()?;
    let request = Reflect::get(&locks, &JsValue::from_str("request")).ok()?;
    request.is_function().then(|| locks.unchecked_into())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Held,
    /// Released or abandoned by its owner: nothing more is reported.
    Over,
}

/// A request for a lock: waiting in line, then held until dropped.
/// Dropping it releases a held lock or leaves the line.
pub struct LockRequest {
    phase: Rc<Cell<Phase>>,
    release: Rc<RefCell<Option<Function>>>,
    /// Leaves the line; `None` for a steal, which never waits.
    abort: Option<AbortController>,
}

impl LockRequest {
    /// Asks for the lock `name`. `on_granted` runs once it is held;
    /// `on_lost` if another tab then steals it. With `steal`, the lock is
    /// taken from its holder at once. Both callbacks run from a microtask,
    /// never inside this call.
    pub fn new(
        manager: &LockManager,
        name: &str,
        steal: bool,
        on_granted: impl FnOnce() + 'static,
        on_lost: impl FnOnce() + 'static,
    ) -> LockRequest {
        let phase = Rc::new(Cell::new(Phase::Waiting));
        let release = Rc::new(RefCell::new(None::<Function>));
        let options = Object::new();
        let abort = if steal {
            let _ = Reflect::set(&options, &JsValue::from_str("steal"), &JsValue::TRUE);
            None
        } else {
            let controller = AbortController::new().ok();
            if let Some(controller) = &controller {
                let _ = Reflect::set(&options, &JsValue::from_str("signal"), &controller.signal());
            }
            controller
        };
        let callback = {
            let (phase, release) = (phase.clone(), release.clone());
            Closure::once_into_js(move |_lock: JsValue| -> Promise {
                let mut resolve_slot = None;
                let held = Promise::new(&mut |resolve, _reject| resolve_slot = Some(resolve));
                if phase.get() == Phase::Waiting {
                    phase.set(Phase::Held);
                    *release.borrow_mut() = resolve_slot;
                    wasm_bindgen_futures::spawn_local(async move { on_granted() });
                } else if let Some(resolve) = resolve_slot {
                    // Granted after its owner gave up: hand it straight back.
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
                held
            })
        };
        let outcome = manager.request(name, &options, &callback);
        let watched = phase.clone();
        wasm_bindgen_futures::spawn_local(async move {
            // The request promise rejects for a held lock only when another
            // tab steals it (AbortError); for one still waiting, when its
            // owner left the line.
            if JsFuture::from(outcome).await.is_err() && watched.get() == Phase::Held {
                watched.set(Phase::Over);
                on_lost();
            }
        });
        LockRequest { phase, release, abort }
    }

    pub fn is_held(&self) -> bool {
        self.phase.get() == Phase::Held
    }
}

impl Drop for LockRequest {
    fn drop(&mut self) {
        let phase = self.phase.replace(Phase::Over);
        if let Some(resolve) = self.release.borrow_mut().take() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
        if phase == Phase::Waiting {
            if let Some(abort) = &self.abort {
                abort.abort();
            }
        }
    }
}
