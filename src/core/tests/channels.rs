//! Channel offsets: resuming after a reconnect, dropping what was already
//! delivered, gaps, and the offsets a new leader resumes from.

use super::harness::{config, Harness};
use crate::core::{Event, Input};

fn subscribed(channel: &str, since: Option<u64>) -> Harness {
    let mut harness = Harness::new(config());
    harness.server_acknowledges = true;
    harness.input(Input::Subscribe { channel: channel.to_owned(), since });
    harness.input(Input::Start { online: true });
    harness.open();
    harness
}

fn publish(harness: &mut Harness, channel: &str, offset: Option<u64>, text: &str) {
    let generation = harness.generation();
    let channel = channel.to_owned();
    harness.input(Input::Publication { generation, channel, offset, payload: text.to_owned() });
}

fn server_subscribed(harness: &mut Harness, channel: &str, offset: u64) {
    let generation = harness.generation();
    harness.input(Input::Subscribed { generation, channel: channel.to_owned(), offset });
}

/// The channel messages delivered, as `channel:text`.
fn delivered(harness: &Harness) -> Vec<String> {
    harness
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Publication { channel, payload, .. } => Some(format!("{channel}:{payload}")),
            _ => None,
        })
        .collect()
}

fn subscriptions(harness: &Harness) -> Vec<&str> {
    harness.sent.iter().filter(|frame| frame.starts_with("<")).map(String::as_str).collect()
}

#[test]
fn after_a_reconnect_the_client_resumes_after_the_last_offset_and_drops_repeats() {
    let mut harness = subscribed("x", None);
    assert_eq!(subscriptions(&harness), ["<subscribe x>"]);
    server_subscribed(&mut harness, "x", 5);
    assert!(harness.events.contains(&Event::Subscribed { channel: "x".to_owned(), offset: 5 }));
    publish(&mut harness, "x", Some(6), "six");
    publish(&mut harness, "x", Some(6), "six again");
    publish(&mut harness, "x", Some(5), "older");
    harness.drop_connection();
    harness.fire_retry();
    harness.open();
    assert_eq!(subscriptions(&harness), ["<subscribe x>", "<subscribe x since 6>"]);
    server_subscribed(&mut harness, "x", 8);
    for (offset, text) in [(7, "seven"), (8, "eight"), (8, "eight again"), (9, "nine")] {
        publish(&mut harness, "x", Some(offset), text);
    }
    assert_eq!(delivered(&harness), ["x:six", "x:seven", "x:eight", "x:nine"]);
}

#[test]
fn an_offset_given_by_the_application_is_where_the_first_subscription_resumes() {
    let mut harness = subscribed("x", Some(10));
    assert_eq!(subscriptions(&harness), ["<subscribe x since 10>"]);
    server_subscribed(&mut harness, "x", 12);
    publish(&mut harness, "x", Some(11), "eleven");
    publish(&mut harness, "x", Some(12), "twelve");
    assert_eq!(delivered(&harness), ["x:eleven", "x:twelve"], "the replay is not mistaken for repeats");
}

#[test]
fn messages_without_offsets_are_all_delivered() {
    let mut harness = subscribed("x", None);
    publish(&mut harness, "x", None, "a");
    publish(&mut harness, "x", None, "a");
    assert_eq!(delivered(&harness), ["x:a", "x:a"]);
}

#[test]
fn a_gap_is_reported() {
    let mut harness = subscribed("x", Some(3));
    let generation = harness.generation();
    harness.input(Input::Gap { generation, channel: "x".to_owned(), since: 3, from: 40 });
    assert!(harness.events.contains(&Event::Gap { channel: "x".to_owned(), since: 3, from: 40 }));
}

#[test]
fn a_gap_from_a_restarted_history_takes_the_position_back() {
    let mut harness = subscribed("x", None);
    server_subscribed(&mut harness, "x", 0);
    for offset in 1..=40 {
        publish(&mut harness, "x", Some(offset), &offset.to_string());
    }
    // The server restarted and numbers from 1 again.
    harness.drop_connection();
    harness.fire_retry();
    harness.open();
    assert_eq!(subscriptions(&harness).last(), Some(&"<subscribe x since 40>"));
    server_subscribed(&mut harness, "x", 2);
    let generation = harness.generation();
    harness.input(Input::Gap { generation, channel: "x".to_owned(), since: 40, from: 1 });
    publish(&mut harness, "x", Some(1), "new one");
    publish(&mut harness, "x", Some(2), "new two");
    publish(&mut harness, "x", Some(2), "new two again");
    let delivered = delivered(&harness);
    assert_eq!(delivered[40..], ["x:new one", "x:new two"]);
}

#[test]
fn a_channel_listened_to_again_starts_afresh() {
    let mut harness = subscribed("x", None);
    publish(&mut harness, "x", Some(4), "four");
    harness.input(Input::Unsubscribe { channel: "x".to_owned() });
    harness.input(Input::Subscribe { channel: "x".to_owned(), since: None });
    assert_eq!(subscriptions(&harness), ["<subscribe x>", "<unsubscribe x>", "<subscribe x>"]);
}
