//! Choosing the transport: HTTP when WebSockets are blocked or killed, but
//! never when the server itself is down; polls when a stream is buffered;
//! back to the WebSocket when a probe gets through, without losing or
//! repeating a message; the choice kept for the next page loads.

use super::harness::{config, Harness};
use crate::core::{Config, ConnectionState, Event, Input, Timer, Transport};

fn all_transports() -> Config {
    let mut config = config();
    config.transports = vec![Transport::WebSocket, Transport::Sse, Transport::Polling];
    config.heartbeat = None;
    config
}

fn started(config: Config) -> Harness {
    let mut harness = Harness::new(config);
    harness.server_greets = true;
    harness.input(Input::Start { online: true });
    harness
}

/// The socket of the attempt under way fails before it opens; the next
/// attempt starts.
fn attempt_fails(harness: &mut Harness) {
    harness.drop_connection();
    harness.fire_retry();
}

/// The connection opens, lives `uptime_ms` and is dropped without a
/// close handshake (as a proxy kills it); the next attempt starts.
fn killed_after(harness: &mut Harness, uptime_ms: f64) {
    harness.open();
    harness.advance(uptime_ms);
    harness.drop_connection();
    harness.fire_retry();
}

fn opened_transports(harness: &Harness) -> Vec<Transport> {
    harness
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Open { transport, .. } => Some(*transport),
            _ => None,
        })
        .collect()
}

/// Blocked WebSockets: 3 attempts failed, and the HTTP attempt that
/// follows has its connection up, before any frame came.
fn http_trial_up() -> Harness {
    let mut harness = started(all_transports());
    for _ in 0..3 {
        attempt_fails(&mut harness);
    }
    let generation = harness.generation();
    harness.input(Input::Opened {
        generation,
        subprotocol: String::new(),
    });
    harness
}

fn only_websockets(harness: &Harness) -> bool {
    harness
        .carried_by
        .iter()
        .all(|transport| *transport == Transport::WebSocket)
}

/// After 3 WebSockets that never opened, HTTP, and it opens; the
/// WebSocket is probed at once.
fn on_http_trial() -> Harness {
    let mut harness = started(all_transports());
    for _ in 0..3 {
        attempt_fails(&mut harness);
    }
    assert_eq!(
        harness.carried_by,
        [Transport::WebSocket; 3]
            .iter()
            .copied()
            .chain([Transport::Sse])
            .collect::<Vec<_>>()
    );
    harness.open();
    harness.advance(0.0);
    assert_eq!(harness.probes.len(), 1, "a probe at once");
    harness
}

/// Blocked WebSockets: on HTTP, and the probe made at once failed, so the
/// fall back is kept (for the next page loads too); the next probe later.
fn fallen_back_to_sse() -> Harness {
    let mut harness = on_http_trial();
    harness.input(Input::ProbeResult { passed: false });
    harness
}

#[test]
fn three_websockets_that_never_open_then_http_that_does_settles_on_http() {
    let harness = fallen_back_to_sse();
    assert_eq!(harness.state(), ConnectionState::Open);
    assert_eq!(opened_transports(&harness), [Transport::Sse]);
    assert_eq!(harness.machine.transport(), Some(Transport::Sse));
    assert_eq!(harness.remembered, [Some(Transport::Sse)]);
    assert_eq!(harness.timer(Timer::Upgrade), Some(harness.now + 5_000.0));
}

/// The server was down and came back just as HTTP was tried: HTTP opens,
/// but so does the probe made at once. Back to the WebSocket, and nothing
/// kept for the next page loads: the WebSocket was never blocked.
#[test]
fn a_server_back_just_as_http_was_tried_is_not_taken_for_a_blocked_websocket() {
    let mut harness = on_http_trial();
    assert!(harness.remembered.is_empty(), "not yet kept: {:?}", harness.remembered);
    harness.input(Input::ProbeResult { passed: true });
    assert_eq!(harness.carried_by.last(), Some(&Transport::WebSocket));
    assert!(harness.remembered.iter().all(Option::is_none), "{:?}", harness.remembered);
}

/// The server is down: HTTP fails as well, so the client goes back to the
/// WebSocket and backs off as before, trying HTTP every 3rd failure.
#[test]
fn when_http_fails_too_the_server_is_down_and_nothing_changes() {
    let mut harness = started(all_transports());
    for _ in 0..8 {
        attempt_fails(&mut harness);
    }
    use Transport::{Sse, WebSocket};
    assert_eq!(
        harness.carried_by,
        [WebSocket, WebSocket, WebSocket, Sse, WebSocket, WebSocket, WebSocket, Sse, WebSocket]
    );
    assert!(harness.remembered.is_empty());
    assert_eq!(harness.timer(Timer::Upgrade), None);
    let delays = harness.retry_delays();
    assert!(
        delays.windows(2).all(|pair| pair[1] >= pair[0]),
        "the backoff grows on: {delays:?}"
    );
}

/// A proxy lets sockets open and kills them after 2 s: after the third,
/// HTTP.
#[test]
fn websockets_killed_young_three_times_lead_to_http() {
    let mut harness = started(all_transports());
    for _ in 0..3 {
        killed_after(&mut harness, 2_000.0);
    }
    assert_eq!(harness.carried_by.last(), Some(&Transport::Sse));
    harness.open();
    assert_eq!(harness.machine.transport(), Some(Transport::Sse));
}

/// Young connections that the server closed with a handshake (a restart,
/// a broker it lost) were not killed by a proxy: no fall back.
#[test]
fn young_connections_the_server_closed_do_not_count_as_killed() {
    let mut harness = started(all_transports());
    for code in [1012, 1013, 1012, 1013] {
        harness.open();
        harness.advance(2_000.0);
        harness.server_close(code);
        harness.fire_retry();
    }
    assert!(only_websockets(&harness));
}

#[test]
fn a_websocket_that_lives_on_clears_the_count() {
    let mut harness = started(all_transports());
    for _ in 0..2 {
        killed_after(&mut harness, 2_000.0);
    }
    killed_after(&mut harness, 60_000.0);
    harness.open();
    harness.advance(2_000.0);
    harness.drop_connection();
    harness.fire_retry();
    assert!(only_websockets(&harness));
}

/// A proxy buffers the stream: its first event (the hello) never comes,
/// so polls take over at once, without a backoff.
#[test]
fn a_buffered_stream_gives_way_to_polls_at_once() {
    let mut harness = http_trial_up();
    let before = harness.now;
    harness.advance(1_000.0);
    assert_eq!(harness.carried_by.last(), Some(&Transport::Polling));
    assert_eq!(harness.now, before + 1_000.0, "no backoff");
    assert_eq!(harness.closed.last().map(|(code, _)| *code), Some(1000));
    harness.open();
    assert_eq!(opened_transports(&harness), [Transport::Polling]);
    assert_eq!(harness.remembered.last(), Some(&Some(Transport::Polling)));
    assert!(harness.failures().is_empty(), "{:?}", harness.failures());
}

#[test]
fn a_probe_that_fails_comes_again_later() {
    let mut harness = fallen_back_to_sse();
    harness.advance(5_000.0);
    assert_eq!(harness.probes.len(), 2);
    harness.input(Input::ProbeResult { passed: false });
    assert_eq!(
        harness.timer(Timer::Upgrade),
        Some(harness.now + 10_000.0),
        "twice the wait"
    );
    assert_eq!(harness.machine.transport(), Some(Transport::Sse));
}

/// The probe passed: the HTTP session ends, a WebSocket opens at once,
/// and the message whose ack the HTTP session did not bring is sent again
/// on it, with its id: the server, which knows the id, handles it once.
#[test]
fn a_probe_that_passes_moves_back_to_the_websocket_losing_and_repeating_nothing() {
    let mut harness = fallen_back_to_sse();
    harness.send("in flight").expect("room");
    let id = harness.sent_ids[0].clone();
    harness.advance(5_000.0);
    harness.input(Input::ProbeResult { passed: true });
    assert_eq!(
        harness.closed.last(),
        Some(&(1000, "upgrade to websocket".to_owned()))
    );
    assert_eq!(harness.carried_by.last(), Some(&Transport::WebSocket));
    assert_eq!(
        harness.remembered.last(),
        Some(&None),
        "forgotten for the next page loads"
    );
    harness.open();
    assert_eq!(
        harness.sent_ids,
        [id.clone(), id.clone()],
        "sent again with the same id"
    );
    harness.ack(&id);
    assert_eq!(harness.machine.queued(), 0);
    assert_eq!(
        opened_transports(&harness),
        [Transport::Sse, Transport::WebSocket]
    );
    assert_eq!(harness.timer(Timer::Upgrade), None);
}

/// After an upgrade, a WebSocket that dies young again goes back to HTTP
/// at once, and the probes come more rarely: no flapping.
#[test]
fn a_websocket_that_dies_young_after_an_upgrade_goes_back_to_http_and_probes_less() {
    let mut harness = fallen_back_to_sse();
    harness.advance(5_000.0);
    harness.input(Input::ProbeResult { passed: true });
    harness.open();
    harness.advance(2_000.0);
    harness.drop_connection();
    harness.fire_retry();
    assert_eq!(harness.carried_by.last(), Some(&Transport::Sse));
    harness.open();
    harness.advance(0.0);
    harness.input(Input::ProbeResult { passed: false });
    assert_eq!(harness.timer(Timer::Upgrade), Some(harness.now + 10_000.0));
}

#[test]
fn a_page_load_starts_on_the_transport_an_earlier_one_settled_on() {
    let mut harness = Harness::new(all_transports());
    harness.server_greets = true;
    harness.input(Input::Remembered {
        transport: Transport::Polling,
    });
    harness.input(Input::Start { online: true });
    assert_eq!(harness.carried_by, [Transport::Polling]);
    harness.open();
    assert!(
        harness.timer(Timer::Upgrade).is_some(),
        "and probes the WebSocket"
    );
    assert!(harness.remembered.is_empty());
}

#[test]
fn one_transport_given_is_the_only_one() {
    let mut config = all_transports();
    config.transports = vec![Transport::Sse];
    let mut harness = started(config);
    for _ in 0..5 {
        attempt_fails(&mut harness);
    }
    assert!(harness
        .carried_by
        .iter()
        .all(|transport| *transport == Transport::Sse));
    harness.open();
    assert_eq!(harness.timer(Timer::Upgrade), None, "no WebSocket to probe");

    let mut config = all_transports();
    config.transports = vec![Transport::WebSocket];
    let mut harness = started(config);
    for _ in 0..5 {
        attempt_fails(&mut harness);
    }
    assert!(only_websockets(&harness));
}

/// HTTP carries the tabwire protocol only: a server that answers it with
/// something else than the hello is no server of this client's.
#[test]
fn over_http_a_first_frame_that_is_not_the_hello_is_an_error_not_raw() {
    let mut harness = http_trial_up();
    harness.receive("not a hello");
    assert_eq!(harness.failures(), ["not_tabwire"]);
    assert!(harness.messages().is_empty());
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
}
