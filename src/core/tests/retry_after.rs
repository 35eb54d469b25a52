use super::harness::{config, Harness};
use crate::core::close_codes::{retry_after_ms, retry_after_reason, CloseAction, CloseCodePolicy, MAX_RETRY_AFTER_MS, RATE_LIMITED};
use crate::core::{Config, ConnectionState, Event, Input, Jitter, StateChange, Timer};

/// A configuration whose backoff is exact: 500 ms, then 1,000 ms, ...
fn exact() -> Config {
    let mut config = config();
    config.reconnect.jitter = Jitter::None;
    config
}

/// The server refuses the open connection with 4429 and `reason`.
fn rate_limited(harness: &mut Harness, reason: &str) {
    let generation = harness.generation();
    harness.input(Input::Closed { generation, code: RATE_LIMITED, reason: reason.to_owned(), clean: true });
}

/// The `retry_at_ms` of the last `reconnecting` state reported.
fn reported_retry_at(harness: &Harness) -> Option<f64> {
    harness.events.iter().rev().find_map(|event| match event {
        Event::State(StateChange { state: ConnectionState::Reconnecting, retry_at_ms, .. }) => *retry_at_ms,
        _ => None,
    })
}

#[test]
fn the_wait_is_read_from_a_rate_limited_reason_only() {
    let wait = |reason: &str| retry_after_ms(RATE_LIMITED, reason);
    assert_eq!(wait("rate limited; retry after 1500 ms"), Some(1500.0));
    let reason = retry_after_reason("rate limited per user", 1500);
    assert_eq!(reason, "rate limited per user; retry after 1500 ms");
    assert_eq!(wait(&reason), Some(1500.0), "what servers send, clients read");
    assert_eq!(wait("retry after 0 ms"), Some(0.0));
    assert_eq!(wait("per ip; retry after 7 ms, then slower"), Some(7.0));
    assert_eq!(wait("retry after soon; retry after 20 ms"), Some(20.0), "the first well-formed one counts");
    for reason in ["rate limited", "", "retry after ms", "retry after 12x ms", "retry after 12 s", "retry after -5 ms", "Retry After 5 ms"] {
        assert_eq!(wait(reason), None, "{reason:?}");
    }
    assert_eq!(wait("retry after 99999999999999999999999999 ms"), Some(MAX_RETRY_AFTER_MS));
    assert_eq!(retry_after_ms(1013, "retry after 1500 ms"), None, "only 4429 carries a wait");
    assert_eq!(CloseCodePolicy::default().classify(RATE_LIMITED), CloseAction::Reconnect);
}

#[test]
fn the_next_attempt_waits_for_the_retry_after_when_it_is_longer_than_the_backoff() {
    let mut harness = Harness::connected(exact());
    rate_limited(&mut harness, "rate limited; retry after 20000 ms");
    let until = harness.now + 20_000.0;
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
    assert_eq!(harness.retry_delays(), [20_000.0]);
    assert_eq!(harness.timer(Timer::Retry), Some(until));
    assert_eq!(reported_retry_at(&harness), Some(until), "the state's countdown shows the wait");
    assert_eq!(harness.machine.retry_at_ms(), Some(until));
    harness.advance(19_999.0);
    assert_eq!(harness.opened.len(), 1);
    harness.advance(1.0);
    assert_eq!(harness.opened.len(), 2);
}

#[test]
fn a_retry_after_shorter_than_the_backoff_changes_nothing() {
    let mut harness = Harness::connected(exact());
    rate_limited(&mut harness, "rate limited; retry after 100 ms");
    assert_eq!(harness.retry_delays(), [500.0]);
}

#[test]
fn a_rate_limited_close_without_a_wait_gets_the_ordinary_backoff() {
    let mut harness = Harness::connected(exact());
    rate_limited(&mut harness, "rate limited");
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
    assert_eq!(harness.retry_delays(), [500.0]);
}

#[test]
fn a_wait_over_five_minutes_is_cut_to_five_minutes() {
    let mut harness = Harness::connected(exact());
    rate_limited(&mut harness, "rate limited; retry after 86400000 ms");
    assert_eq!(harness.retry_delays(), [MAX_RETRY_AFTER_MS]);
    harness.advance(MAX_RETRY_AFTER_MS);
    assert_eq!(harness.opened.len(), 2);
}

#[test]
fn the_wait_holds_for_the_next_attempt_only() {
    let mut harness = Harness::connected(exact());
    rate_limited(&mut harness, "rate limited; retry after 20000 ms");
    harness.fire_retry();
    harness.open();
    harness.advance(5_000.0);
    harness.drop_connection();
    assert_eq!(harness.retry_delays(), [20_000.0, 500.0]);
}

#[test]
fn neither_the_page_shown_nor_the_network_back_nor_reconnect_cut_the_wait_short() {
    let mut harness = Harness::connected(exact());
    rate_limited(&mut harness, "rate limited; retry after 20000 ms");
    let until = harness.now + 20_000.0;
    harness.advance(1_000.0);
    harness.input(Input::Visible);
    assert_eq!(harness.opened.len(), 1);
    assert_eq!(harness.timer(Timer::Retry), Some(until));
    harness.input(Input::Offline);
    assert_eq!(harness.state(), ConnectionState::Offline);
    harness.advance(1_000.0);
    harness.input(Input::Online);
    assert_eq!((harness.state(), harness.opened.len()), (ConnectionState::Reconnecting, 1));
    assert_eq!(reported_retry_at(&harness), Some(until));
    harness.input(Input::Reconnect);
    assert_eq!(harness.opened.len(), 1);
    assert_eq!(harness.timer(Timer::Retry), Some(until));
    harness.advance(until - harness.now);
    assert_eq!(harness.opened.len(), 2);
    assert_eq!(harness.state(), ConnectionState::Connecting);
}

#[test]
fn every_unacknowledged_message_is_resent_in_order_after_the_wait() {
    let mut harness = Harness::new(exact());
    harness.server_greets = true;
    harness.input(Input::Start { online: true });
    harness.open();
    let mut ids = Vec::new();
    for text in ["m1", "m2", "m3", "m4", "m5", "m6"] {
        ids.push(harness.machine.send(harness.now, text.to_owned()).expect("accepted").id);
        harness.drain_effects();
    }
    // The server handled m1 to m4 and refused m5: m5 and m6 were not
    // handled, and nothing was acknowledged past m4.
    for id in &ids[..4] {
        harness.ack(id);
    }
    rate_limited(&mut harness, "rate limited; retry after 3000 ms");
    let (frames_before, ids_before) = (harness.sent.len(), harness.sent_ids.len());
    harness.send("m7").expect("accepted while away");
    harness.advance(2_999.0);
    assert_eq!(harness.opened.len(), 1, "nothing goes out before the wait is over");
    harness.advance(1.0);
    harness.open();
    assert_eq!(harness.sent[frames_before..], ["m5", "m6", "m7"]);
    assert_eq!(harness.sent_ids[ids_before..ids_before + 2], ids[4..]);
    assert_eq!(harness.machine.queued(), 3);
}
