use super::harness::{config, Harness, URL};
use crate::core::{
    CloseInfo, Config, ConnectionState, Event, Failure, Input, Mode, Timer, Transport, UrlSource,
};

#[test]
fn start_opens_a_socket_and_reports_each_state() {
    let mut harness = Harness::connected(config());
    assert_eq!(harness.opened, [(1, URL.to_owned())]);
    assert_eq!(
        harness.states(),
        [ConnectionState::Connecting, ConnectionState::Open]
    );
    assert!(harness.events.contains(&Event::Open {
        attempt: 0,
        mode: Mode::Raw,
        transport: Transport::WebSocket
    }));
    harness.receive("hello");
    assert_eq!(harness.messages(), ["hello"]);
    let stats = harness.machine.stats();
    assert_eq!((stats.attempts, stats.messages_in, stats.bytes_in), (1, 1, 5));
}

#[test]
fn without_auto_connect_the_client_waits_idle() {
    let mut config = config();
    config.auto_connect = false;
    let mut harness = Harness::new(config);
    harness.input(Input::Start { online: true });
    assert_eq!(harness.state(), ConnectionState::Idle);
    assert!(harness.opened.is_empty());
    harness.input(Input::Reconnect);
    assert_eq!(harness.state(), ConnectionState::Connecting);
    assert_eq!(harness.opened.len(), 1);
}

#[test]
fn a_socket_that_does_not_open_in_time_is_closed_and_retried() {
    let mut harness = Harness::new(config());
    harness.input(Input::Start { online: true });
    assert_eq!(harness.timer(Timer::ConnectTimeout), Some(10_000.0));
    harness.advance(10_000.0);
    assert_eq!(harness.failures(), ["connect_timeout"]);
    assert_eq!(harness.closed, [(4000, "connect timeout".to_owned())]);
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
    assert_eq!(harness.retry_delays().len(), 1);
    harness.fire_retry();
    assert_eq!(harness.opened.len(), 2);
}

#[test]
fn events_of_a_replaced_socket_are_ignored() {
    let mut harness = Harness::connected(config());
    let old = harness.generation();
    harness.drop_connection();
    harness.fire_retry();
    harness.open();
    let events_before = harness.events.len();
    harness.input(Input::Closed { generation: old, code: 1000, reason: String::new(), clean: true });
    harness.input(Input::Frame { generation: old, payload: "late".to_owned() });
    harness.input(Input::Opened { generation: old, subprotocol: String::new() });
    harness.input(Input::Hello { generation: old, protocol: "tabwire.v1".to_owned(), payload: "late".to_owned() });
    harness.input(Input::SocketError { generation: old });
    assert_eq!(harness.events.len(), events_before);
    assert_eq!(harness.state(), ConnectionState::Open);
    assert!(harness.messages().is_empty());
}

#[test]
fn a_user_close_never_reconnects() {
    let mut harness = Harness::connected(config());
    harness.input(Input::Close { code: 1000, reason: "bye".to_owned() });
    assert_eq!(harness.closed, [(1000, "bye".to_owned())]);
    assert_eq!(harness.state(), ConnectionState::Closed);
    let expected = CloseInfo { code: 1000, reason: "bye".to_owned(), clean: true, will_reconnect: false };
    assert!(harness.events.contains(&Event::Close(expected)));
    for timer in Timer::ALL {
        assert_eq!(harness.timer(timer), None, "{timer:?}");
    }
    harness.input(Input::Online);
    harness.input(Input::Visible);
    harness.advance(120_000.0);
    assert_eq!(harness.opened.len(), 1);
}

#[test]
fn a_user_close_while_waiting_cancels_the_retry() {
    let mut harness = Harness::connected(config());
    harness.drop_connection();
    harness.input(Input::Close { code: 1000, reason: String::new() });
    assert_eq!(harness.state(), ConnectionState::Closed);
    harness.advance(120_000.0);
    assert_eq!(harness.opened.len(), 1);
}

#[test]
fn reconnect_replaces_the_socket_at_once_and_resets_the_counter() {
    let mut harness = Harness::new(config());
    harness.input(Input::Start { online: true });
    for _ in 0..3 {
        harness.drop_connection();
        harness.fire_retry();
    }
    harness.open();
    harness.input(Input::Reconnect);
    assert_eq!(harness.closed.last(), Some(&(1000, "reconnect".to_owned())));
    assert_eq!(harness.opened.len(), 5);
    assert_eq!(harness.state(), ConnectionState::Connecting);
    harness.drop_connection();
    assert_eq!(harness.retry_delays().last(), Some(&250.0));
}

#[test]
fn reconnect_restarts_a_closed_client() {
    let mut harness = Harness::connected(config());
    harness.server_close(1008);
    assert_eq!(harness.state(), ConnectionState::Closed);
    harness.input(Input::Reconnect);
    harness.open();
    assert_eq!(harness.state(), ConnectionState::Open);
    assert_eq!(harness.machine.stats().reconnects, 1);
}

#[test]
fn the_url_provider_is_asked_on_every_attempt() {
    let mut harness = Harness::new(Config::new(UrlSource::Provider));
    harness.input(Input::Start { online: true });
    assert!(harness.opened.is_empty());
    let generation = harness.url_requests[0].0;
    harness.input(Input::UrlFailed { generation, message: "no token".to_owned() });
    assert_eq!(harness.failures(), ["url_provider"]);
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
    harness.fire_retry();
    let generation = harness.url_requests[1].0;
    harness.input(Input::UrlResolved { generation, url: "http://example.test/".to_owned() });
    assert_eq!(harness.failures(), ["url_provider", "invalid_url"]);
    harness.fire_retry();
    let generation = harness.url_requests[2].0;
    harness.input(Input::UrlResolved { generation, url: URL.to_owned() });
    harness.open();
    assert_eq!(harness.state(), ConnectionState::Open);
    assert_eq!(harness.url_requests.iter().map(|r| r.1).collect::<Vec<_>>(), [0, 1, 2]);
}

#[test]
fn a_late_answer_of_the_provider_is_ignored() {
    let mut harness = Harness::new(Config::new(UrlSource::Provider));
    harness.input(Input::Start { online: true });
    let first = harness.url_requests[0].0;
    harness.advance(10_000.0);
    assert_eq!(harness.failures(), ["connect_timeout"]);
    harness.input(Input::UrlResolved { generation: first, url: URL.to_owned() });
    assert!(harness.opened.is_empty());
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
}

#[test]
fn a_refused_socket_counts_as_a_failed_attempt() {
    let mut harness = Harness::new(config());
    harness.input(Input::Start { online: true });
    let generation = harness.generation();
    harness.input(Input::SocketRefused { generation, message: "SyntaxError".to_owned() });
    assert_eq!(harness.events.iter().filter(|e| matches!(e, Event::Error(Failure::SocketRefused { .. }))).count(), 1);
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
}

#[test]
fn a_socket_error_is_reported_and_the_close_decides() {
    let mut harness = Harness::connected(config());
    let generation = harness.generation();
    harness.input(Input::SocketError { generation });
    assert_eq!(harness.failures(), ["socket"]);
    assert_eq!(harness.state(), ConnectionState::Open);
    harness.drop_connection();
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
}

#[test]
fn every_socket_ends_with_one_close_event() {
    let mut harness = Harness::new(config());
    harness.input(Input::Start { online: true });
    harness.advance(10_000.0); // connect timeout
    harness.fire_retry();
    harness.open();
    harness.drop_connection();
    harness.fire_retry();
    harness.input(Input::Close { code: 1000, reason: String::new() });
    let closes: Vec<(u16, bool)> = harness
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Close(info) => Some((info.code, info.will_reconnect)),
            _ => None,
        })
        .collect();
    assert_eq!(closes, [(4000, true), (1006, true), (1000, false)]);
    assert_eq!(harness.opened.len(), 3);
}

#[test]
fn the_reconnecting_state_says_when_the_next_attempt_starts() {
    let mut harness = Harness::connected(config());
    harness.now = 1_000.0;
    harness.drop_connection();
    let change = harness.events.iter().rev().find_map(|event| match event {
        Event::State(change) => Some(change.clone()),
        _ => None,
    });
    let change = change.expect("a state event");
    assert_eq!(change.state, ConnectionState::Reconnecting);
    assert_eq!(change.attempt, 1);
    assert_eq!(change.retry_at_ms, Some(1_000.0 + 250.0));
}
