use super::harness::{config, Harness};
use crate::core::{ConnectionState, Event, Failure, Input, Refusal, SendOutcome, SendRefusal};

#[test]
fn messages_sent_before_open_are_flushed_in_order() {
    let mut harness = Harness::new(config());
    harness.input(Input::Start { online: true });
    assert_eq!(harness.send("a"), Ok(SendOutcome::Queued));
    assert_eq!(harness.send("b"), Ok(SendOutcome::Queued));
    assert_eq!(harness.machine.queued(), 2);
    harness.open();
    assert_eq!(harness.send("c"), Ok(SendOutcome::Sent));
    assert_eq!(harness.sent, ["a", "b", "c"]);
    assert_eq!(harness.machine.queued(), 0);
    assert_eq!(harness.machine.stats().messages_out, 3);
}

#[test]
fn messages_queued_across_a_drop_arrive_after_the_reconnect() {
    let mut harness = Harness::connected(config());
    harness.send("1").unwrap();
    harness.drop_connection();
    for text in ["2", "3", "4"] {
        harness.send(text).unwrap();
    }
    harness.fire_retry();
    harness.send("5").unwrap();
    assert_eq!(harness.sent, ["1"]);
    harness.open();
    assert_eq!(harness.sent, ["1", "2", "3", "4", "5"]);
}

#[test]
fn a_full_queue_refuses_new_messages_and_keeps_the_old_ones() {
    let mut config = config();
    config.queue.max_messages = 3;
    let mut harness = Harness::new(config);
    harness.input(Input::Start { online: false });
    for text in ["a", "b", "c"] {
        assert_eq!(harness.send(text), Ok(SendOutcome::Queued));
    }
    let refusal = Refusal::TooManyMessages { max_messages: 3 };
    assert_eq!(harness.send("d"), Err(SendRefusal::QueueFull(refusal)));
    assert!(harness.events.contains(&Event::Error(Failure::QueueFull(refusal))));
    harness.input(Input::Online);
    harness.open();
    assert_eq!(harness.sent, ["a", "b", "c"]);
}

#[test]
fn a_zero_sized_queue_only_sends_when_open() {
    let mut config = config();
    config.queue.max_messages = 0;
    let mut harness = Harness::new(config);
    harness.input(Input::Start { online: true });
    assert!(harness.send("early").is_err());
    harness.open();
    assert_eq!(harness.send("late"), Ok(SendOutcome::Sent));
}

#[test]
fn messages_wait_while_the_client_is_closed() {
    let mut harness = Harness::connected(config());
    harness.input(Input::Close { code: 1000, reason: String::new() });
    assert_eq!(harness.send("later"), Ok(SendOutcome::Queued));
    assert_eq!(harness.state(), ConnectionState::Closed);
    harness.input(Input::Reconnect);
    harness.open();
    assert_eq!(harness.sent, ["later"]);
}
