//! One gloo-timers `Timeout` per core timer.

use gloo_timers::callback::Timeout;

use crate::core::Timer;

/// Longest delay `setTimeout` honours (2^31 - 1 ms); longer ones fire at once.
const MAX_DELAY_MS: f64 = 2_147_483_647.0;

/// Arming a timer replaces its previous `Timeout`, and dropping a `Timeout`
/// clears it, so a cancelled timer never fires.
#[derive(Default)]
pub struct Timers {
    slots: [Option<Timeout>; Timer::ALL.len()],
}

impl Timers {
    pub fn set(&mut self, timer: Timer, delay_ms: f64, callback: impl FnOnce() + 'static) {
        let delay = delay_ms.ceil().clamp(0.0, MAX_DELAY_MS) as u32;
        self.slots[timer.index()] = Some(Timeout::new(delay, callback));
    }

    pub fn cancel(&mut self, timer: Timer) {
        self.slots[timer.index()] = None;
    }
}
