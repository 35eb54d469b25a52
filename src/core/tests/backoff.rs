use proptest::prelude::*;

use super::harness::{config, Harness};
use crate::core::backoff::delay_ms;
use crate::core::{ConnectionState, Event, Failure, Input, Jitter, ReconnectConfig, Timer};

fn reconnect(jitter: Jitter) -> ReconnectConfig {
    ReconnectConfig { jitter, ..ReconnectConfig::default() }
}

#[test]
fn without_jitter_the_delay_doubles_up_to_the_ceiling() {
    let config = reconnect(Jitter::None);
    let delays: Vec<f64> = (0..9).map(|retry| delay_ms(&config, retry, 0.3)).collect();
    assert_eq!(delays, [500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0, 30000.0, 30000.0, 30000.0]);
}

#[test]
fn full_jitter_scales_the_whole_delay() {
    let config = reconnect(Jitter::Full);
    assert_eq!(delay_ms(&config, 2, 0.0), 0.0);
    assert_eq!(delay_ms(&config, 2, 0.25), 500.0);
    assert_eq!(delay_ms(&config, 2, 1.0), 2000.0);
}

#[test]
fn equal_jitter_keeps_half_the_delay() {
    let config = reconnect(Jitter::Equal);
    assert_eq!(delay_ms(&config, 2, 0.0), 1000.0);
    assert_eq!(delay_ms(&config, 2, 0.5), 1500.0);
    assert_eq!(delay_ms(&config, 2, 1.0), 2000.0);
}

#[test]
fn a_huge_retry_number_gives_the_ceiling_not_infinity() {
    let config = reconnect(Jitter::None);
    assert_eq!(delay_ms(&config, u32::MAX, 0.5), 30000.0);
    let zero = ReconnectConfig { min_delay_ms: 0.0, ..config };
    assert_eq!(delay_ms(&zero, u32::MAX, 0.5), 0.0);
}

proptest! {
    #[test]
    fn every_delay_lies_within_its_jitter_bounds(
        min in 0.0f64..10_000.0,
        extra in 0.0f64..100_000.0,
        factor in 1.0f64..10.0,
        retry in 0u32..200,
        random in 0.0f64..1.0,
    ) {
        let max = min + extra;
        for jitter in [Jitter::Full, Jitter::Equal, Jitter::None] {
            let config = ReconnectConfig { min_delay_ms: min, max_delay_ms: max, factor, jitter, ..ReconnectConfig::default() };
            let base = delay_ms(&ReconnectConfig { jitter: Jitter::None, ..config.clone() }, retry, random);
            let delay = delay_ms(&config, retry, random);
            prop_assert!(base >= min.min(max) && base <= max);
            prop_assert!(delay.is_finite() && delay >= 0.0 && delay <= base);
            if jitter == Jitter::Equal {
                prop_assert!(delay >= base / 2.0);
            }
        }
    }
}

/// A harness whose connection attempts all fail before opening.
fn failing(jitter: Jitter, random: Vec<f64>) -> Harness {
    let mut config = config();
    config.reconnect.jitter = jitter;
    let mut harness = Harness::with_random(config, random);
    harness.input(Input::Start { online: true });
    harness
}

#[test]
fn failed_attempts_follow_the_backoff_schedule() {
    let mut harness = failing(Jitter::None, vec![0.5]);
    for _ in 0..8 {
        harness.drop_connection();
        harness.fire_retry();
    }
    assert_eq!(harness.retry_delays(), [500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0, 30000.0, 30000.0]);
    assert_eq!(harness.opened.len(), 9);
    assert_eq!(harness.machine.stats().attempts, 9);
}

#[test]
fn the_injected_randomness_drives_full_jitter() {
    let mut harness = failing(Jitter::Full, vec![0.1, 0.9, 0.5]);
    for _ in 0..3 {
        harness.drop_connection();
        harness.fire_retry();
    }
    assert_eq!(harness.retry_delays(), [50.0, 900.0, 1000.0]);
}

#[test]
fn the_retry_fires_exactly_after_its_delay() {
    let mut harness = failing(Jitter::None, vec![0.5]);
    harness.drop_connection();
    assert_eq!(harness.timer(Timer::Retry), Some(500.0));
    assert_eq!(harness.machine.retry_at_ms(), Some(500.0));
    harness.advance(499.0);
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
    assert_eq!(harness.opened.len(), 1);
    harness.advance(1.0);
    assert_eq!(harness.state(), ConnectionState::Connecting);
    assert_eq!(harness.opened.len(), 2);
}

#[test]
fn the_counter_resets_only_after_the_minimum_uptime() {
    let mut harness = failing(Jitter::None, vec![0.5]);
    for _ in 0..3 {
        harness.drop_connection();
        harness.fire_retry();
    }
    // Open for less than minUptimeMs: the delay keeps growing.
    harness.open();
    harness.advance(4999.0);
    harness.drop_connection();
    harness.fire_retry();
    // Open for minUptimeMs: back to the first delay.
    harness.open();
    harness.advance(5000.0);
    harness.drop_connection();
    assert_eq!(harness.retry_delays(), [500.0, 1000.0, 2000.0, 4000.0, 500.0]);
}

#[test]
fn max_retries_stops_the_client() {
    let mut config = config();
    config.reconnect.max_retries = Some(2);
    let mut harness = Harness::new(config);
    harness.input(Input::Start { online: true });
    harness.drop_connection();
    harness.fire_retry();
    harness.drop_connection();
    harness.fire_retry();
    harness.drop_connection();
    assert_eq!(harness.state(), ConnectionState::Closed);
    assert_eq!(harness.timer(Timer::Retry), None);
    assert_eq!(harness.opened.len(), 3);
    assert!(harness.events.contains(&Event::Error(Failure::RetriesExhausted { retries: 2 })));
    let last_close = harness.events.iter().rev().find_map(|event| match event {
        Event::Close(info) => Some(info.clone()),
        _ => None,
    });
    assert_eq!(last_close.map(|info| info.will_reconnect), Some(false));
}

#[test]
fn zero_max_retries_means_a_single_attempt() {
    let mut config = config();
    config.reconnect.max_retries = Some(0);
    let mut harness = Harness::new(config);
    harness.input(Input::Start { online: true });
    harness.drop_connection();
    assert_eq!(harness.state(), ConnectionState::Closed);
    assert!(harness.retry_delays().is_empty());
}
