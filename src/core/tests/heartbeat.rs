//! The heartbeat, on a tabwire connection (where it runs by default) and
//! on a raw one (only with a ping of the application's).

use super::harness::{config, Harness};
use crate::core::{Config, ConnectionState, HeartbeatConfig, Input, Timer};

fn heartbeat_config(interval_ms: f64, timeout_ms: f64) -> Config {
    let mut config = config();
    config.heartbeat = Some(HeartbeatConfig { interval_ms, timeout_ms, in_raw: false });
    config
}


#[test]
fn a_ping_goes_out_every_interval() {
    let mut harness = Harness::greeted(heartbeat_config(25_000.0, 10_000.0));
    harness.advance(24_999.0);
    assert!(harness.sent.is_empty());
    harness.advance(1.0);
    assert_eq!(harness.sent, ["<ping>"]);
    harness.receive_pong();
    harness.advance(25_000.0);
    assert_eq!(harness.sent, ["<ping>", "<ping>"]);
}

#[test]
fn a_pong_measures_the_round_trip_and_is_not_a_message() {
    let mut harness = Harness::greeted(heartbeat_config(1_000.0, 500.0));
    harness.advance(1_000.0);
    harness.advance(42.0);
    harness.receive_pong();
    assert_eq!(harness.machine.stats().last_rtt_ms, Some(42.0));
    assert_eq!(harness.timer(Timer::HeartbeatDeadline), None);
    assert!(harness.messages().is_empty());
    assert_eq!(harness.machine.stats().messages_in, 0);
}

#[test]
fn silence_after_a_ping_declares_the_socket_dead() {
    let mut harness = Harness::greeted(heartbeat_config(25_000.0, 10_000.0));
    harness.advance(25_000.0);
    harness.advance(9_999.0);
    assert_eq!(harness.state(), ConnectionState::Open);
    harness.advance(1.0);
    assert_eq!(harness.failures(), ["heartbeat_timeout"]);
    assert_eq!(harness.closed, [(4000, "heartbeat timeout".to_owned())]);
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
    // The connection was up for more than minUptimeMs: the first delay again.
    assert_eq!(harness.retry_delays(), [250.0]);
    harness.fire_retry();
    assert_eq!(harness.opened.len(), 2);
}

#[test]
fn any_frame_counts_as_life() {
    let mut harness = Harness::greeted(heartbeat_config(25_000.0, 10_000.0));
    harness.advance(25_000.0);
    harness.advance(5_000.0);
    harness.receive("a price");
    harness.advance(9_000.0);
    assert_eq!(harness.state(), ConnectionState::Open);
    assert!(harness.failures().is_empty());
}

#[test]
fn an_unanswered_ping_keeps_its_first_deadline() {
    // Interval shorter than the timeout: the second ping must not push the deadline.
    let mut harness = Harness::greeted(heartbeat_config(1_000.0, 1_500.0));
    harness.advance(1_000.0);
    assert_eq!(harness.timer(Timer::HeartbeatDeadline), Some(2_500.0));
    harness.advance(1_000.0);
    assert_eq!(harness.timer(Timer::HeartbeatDeadline), Some(2_500.0));
    harness.advance(500.0);
    assert_eq!(harness.failures(), ["heartbeat_timeout"]);
}

#[test]
fn heartbeat_off_sends_nothing_and_never_times_out() {
    let mut config = config();
    config.heartbeat = None;
    let mut harness = Harness::greeted(config);
    harness.advance(600_000.0);
    assert!(harness.sent.is_empty());
    assert_eq!(harness.state(), ConnectionState::Open);
    assert_eq!(harness.timer(Timer::HeartbeatPing), None);
}

#[test]
fn the_heartbeat_stops_with_the_socket() {
    let mut harness = Harness::greeted(heartbeat_config(1_000.0, 500.0));
    harness.drop_connection();
    assert_eq!(harness.timer(Timer::HeartbeatPing), None);
    assert_eq!(harness.timer(Timer::HeartbeatDeadline), None);
}

/// A server that does not speak tabwire never answers the default ping,
/// and a strict one closes on an unknown frame: a raw connection is left
/// alone, however long it stays silent.
#[test]
fn a_raw_connection_is_not_pinged_by_default() {
    let mut harness = Harness::connected(heartbeat_config(25_000.0, 10_000.0));
    harness.advance(600_000.0);
    assert!(harness.sent.is_empty());
    assert_eq!(harness.state(), ConnectionState::Open);
    assert_eq!(harness.opened.len(), 1);
    harness.input(Input::Offline);
    harness.input(Input::Visible);
    assert!(harness.sent.is_empty(), "no probe either");
}

#[test]
fn a_raw_connection_is_pinged_with_the_applications_ping() {
    let mut config = heartbeat_config(25_000.0, 10_000.0);
    config.heartbeat = Some(HeartbeatConfig { interval_ms: 25_000.0, timeout_ms: 10_000.0, in_raw: true });
    let mut harness = Harness::connected(config);
    harness.advance(25_000.0);
    assert_eq!(harness.sent, ["<ping>"]);
    harness.advance(10_000.0);
    assert_eq!(harness.failures(), ["heartbeat_timeout"]);
}
