use super::harness::{config, Harness};
use crate::core::{ConnectionState, Input, Timer};

#[test]
fn offline_while_waiting_stops_retrying_and_online_retries_at_once() {
    let mut harness = Harness::connected(config());
    harness.drop_connection();
    harness.input(Input::Offline);
    assert_eq!(harness.state(), ConnectionState::Offline);
    assert_eq!(harness.timer(Timer::Retry), None);
    harness.advance(600_000.0);
    assert_eq!(harness.opened.len(), 1);
    harness.input(Input::Online);
    assert_eq!(harness.state(), ConnectionState::Connecting);
    assert_eq!(harness.opened.len(), 2);
}

#[test]
fn starting_offline_waits_for_the_network() {
    let mut harness = Harness::new(config());
    harness.input(Input::Start { online: false });
    assert_eq!(harness.state(), ConnectionState::Offline);
    assert!(harness.opened.is_empty());
    harness.input(Input::Online);
    assert_eq!(harness.opened.len(), 1);
}

#[test]
fn offline_while_open_probes_the_socket_with_a_ping() {
    let mut harness = Harness::greeted(config());
    harness.input(Input::Offline);
    assert_eq!(harness.sent, ["<ping>"]);
    assert_eq!(harness.state(), ConnectionState::Open);
    // No answer: dead, and no retry while offline.
    harness.advance(10_000.0);
    assert_eq!(harness.failures(), ["heartbeat_timeout"]);
    assert_eq!(harness.state(), ConnectionState::Offline);
    assert_eq!(harness.timer(Timer::Retry), None);
}

#[test]
fn a_socket_lost_while_offline_waits_for_online() {
    let mut harness = Harness::connected(config());
    harness.input(Input::Offline);
    harness.drop_connection();
    assert_eq!(harness.state(), ConnectionState::Offline);
    harness.input(Input::Online);
    assert_eq!(harness.opened.len(), 2);
}

#[test]
fn becoming_visible_while_waiting_retries_at_once() {
    let mut harness = Harness::connected(config());
    harness.drop_connection();
    harness.drop_connection_after_retry_fails(5);
    assert!(harness.timer(Timer::Retry).is_some_and(|at| at > harness.now + 1_000.0));
    let opened = harness.opened.len();
    harness.input(Input::Visible);
    assert_eq!(harness.opened.len(), opened + 1);
    assert_eq!(harness.timer(Timer::Retry), None);
}

#[test]
fn becoming_visible_while_open_pings_at_once() {
    let mut harness = Harness::greeted(config());
    harness.advance(3_000.0);
    harness.input(Input::Visible);
    assert_eq!(harness.sent, ["<ping>"]);
    assert_eq!(harness.timer(Timer::HeartbeatDeadline), Some(13_000.0));
    assert_eq!(harness.timer(Timer::HeartbeatPing), Some(28_000.0));
}

#[test]
fn becoming_visible_while_connecting_changes_nothing() {
    let mut harness = Harness::new(config());
    harness.input(Input::Start { online: true });
    harness.input(Input::Visible);
    assert_eq!(harness.opened.len(), 1);
    assert_eq!(harness.state(), ConnectionState::Connecting);
}

impl Harness {
    /// Lets `count` retries fail so the next delay is long.
    fn drop_connection_after_retry_fails(&mut self, count: usize) {
        for _ in 0..count {
            self.fire_retry();
            self.drop_connection();
        }
    }
}
