//! Reconnection delays: exponential growth, a ceiling, and jitter.

use super::config::{Jitter, ReconnectConfig};

/// The delay before retry number `retry` (0 for the first retry).
///
/// `base = min(maxDelay, minDelay * factor^retry)`, then spread by the jitter
/// mode so that many clients dropped at once do not come back in lockstep.
/// `random` is a number in `[0, 1)` supplied by the caller, which makes the
/// schedule exact under test.
pub fn delay_ms(config: &ReconnectConfig, retry: u32, random: f64) -> f64 {
    let base = if config.min_delay_ms == 0.0 {
        0.0
    } else {
        // Saturates to infinity for large exponents, which the ceiling then caps.
        let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
        (config.min_delay_ms * config.factor.powi(exponent)).min(config.max_delay_ms)
    };
    let random = random.clamp(0.0, 1.0);
    match config.jitter {
        Jitter::Full => base * random,
        Jitter::Equal => base / 2.0 + base / 2.0 * random,
        Jitter::None => base,
    }
}
