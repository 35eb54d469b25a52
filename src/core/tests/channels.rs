//! Channel positions: resuming after a reconnect, dropping what was
//! already delivered, gaps, epochs (a numbering that started again is
//! never a silent skip), and channels on a raw connection.

use super::harness::{config, Harness};
use crate::core::{Event, GapReason, Input, Position};

fn at(offset: u64, epoch: Option<&str>) -> Position {
    Position { offset, epoch: epoch.map(str::to_owned) }
}

fn subscribed(channel: &str, since: Option<u64>) -> Harness {
    subscribed_from(channel, since.map(|offset| at(offset, None)))
}

fn subscribed_from(channel: &str, since: Option<Position>) -> Harness {
    let mut harness = Harness::new(config());
    harness.server_greets = true;
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
    server_subscribed_in(harness, channel, offset, None);
}

fn server_subscribed_in(harness: &mut Harness, channel: &str, offset: u64, epoch: Option<&str>) {
    let generation = harness.generation();
    let epoch = epoch.map(str::to_owned);
    harness.input(Input::Subscribed { generation, channel: channel.to_owned(), offset, epoch });
}

fn server_gap(harness: &mut Harness, (since, from): (u64, u64), reason: GapReason, epoch: Option<&str>) {
    let generation = harness.generation();
    let (channel, epoch) = ("x".to_owned(), epoch.map(str::to_owned));
    harness.input(Input::Gap { generation, channel, since, from, reason, epoch });
}

/// The `gap` events, as (since, from, reason, epoch).
fn gaps(harness: &Harness) -> Vec<(u64, u64, GapReason, Option<String>)> {
    harness
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Gap { since, from, reason, epoch, .. } => Some((*since, *from, *reason, epoch.clone())),
            _ => None,
        })
        .collect()
}

fn reconnect(harness: &mut Harness) {
    harness.drop_connection();
    harness.fire_retry();
    harness.open();
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
    assert!(harness.events.contains(&Event::Subscribed { channel: "x".to_owned(), offset: 5, epoch: None }));
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
    server_gap(&mut harness, (3, 40), GapReason::Trimmed, None);
    assert_eq!(gaps(&harness), [(3, 40, GapReason::Trimmed, None)]);
    publish(&mut harness, "x", Some(40), "forty");
    assert_eq!(delivered(&harness), ["x:forty"]);
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
    server_gap(&mut harness, (40, 1), GapReason::Trimmed, None);
    assert_eq!(gaps(&harness), [(40, 1, GapReason::Reset, None)], "a server without epochs: the offsets say it");
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

#[test]
fn the_resume_names_the_epoch_of_the_position_and_messages_carry_it() {
    let mut harness = subscribed("x", None);
    server_subscribed_in(&mut harness, "x", 5, Some("E1"));
    publish(&mut harness, "x", Some(6), "six");
    assert!(harness.events.iter().any(|event| matches!(
        event,
        Event::Publication { offset: Some(6), epoch: Some(epoch), .. } if epoch == "E1"
    )));
    reconnect(&mut harness);
    assert_eq!(subscriptions(&harness), ["<subscribe x>", "<subscribe x since 6@E1>"]);
}

#[test]
fn a_position_the_application_kept_is_sent_with_its_epoch() {
    let harness = subscribed_from("x", Some(at(12, Some("E1"))));
    assert_eq!(subscriptions(&harness), ["<subscribe x since 12@E1>"]);
}

/// The server restarted without its history and published 8 messages
/// before the client came back: they are delivered, after a `gap` that
/// says the numbering started again, not passed over as repeats of 1-5.
#[test]
fn a_reset_of_the_numbering_is_a_gap_and_the_new_history_is_delivered() {
    let mut harness = subscribed("x", None);
    server_subscribed_in(&mut harness, "x", 0, Some("E1"));
    for offset in 1..=5 {
        publish(&mut harness, "x", Some(offset), &format!("old {offset}"));
    }
    reconnect(&mut harness);
    assert_eq!(subscriptions(&harness).last(), Some(&"<subscribe x since 5@E1>"));
    server_subscribed_in(&mut harness, "x", 8, Some("E2"));
    server_gap(&mut harness, (5, 1), GapReason::Reset, Some("E2"));
    for offset in 1..=8 {
        publish(&mut harness, "x", Some(offset), &format!("new {offset}"));
    }
    assert_eq!(gaps(&harness), [(5, 1, GapReason::Reset, Some("E2".to_owned()))]);
    let delivered = delivered(&harness);
    let new: Vec<String> = (1..=8).map(|offset| format!("x:new {offset}")).collect();
    assert_eq!(delivered[5..], new[..]);
    reconnect(&mut harness);
    assert_eq!(subscriptions(&harness).last(), Some(&"<subscribe x since 8@E2>"));
}

/// Another tab's position was the one sent (the server saw no reason for
/// a gap), but this tab's is of an older numbering: the first message
/// starts the new one, after a `gap` of this tab's own.
#[test]
fn another_epoch_without_a_gap_for_this_tab_is_said_before_the_next_message() {
    let mut harness = subscribed("x", None);
    server_subscribed_in(&mut harness, "x", 0, Some("E1"));
    for offset in 1..=6 {
        publish(&mut harness, "x", Some(offset), &offset.to_string());
    }
    reconnect(&mut harness);
    server_subscribed_in(&mut harness, "x", 9, Some("E2"));
    assert!(gaps(&harness).is_empty(), "a gap may still come from the server");
    publish(&mut harness, "x", Some(3), "three");
    publish(&mut harness, "x", Some(4), "four");
    assert_eq!(gaps(&harness), [(6, 3, GapReason::Reset, Some("E2".to_owned()))]);
    assert_eq!(delivered(&harness)[6..], ["x:three", "x:four"]);
}

#[test]
fn a_tab_that_has_everything_before_the_gap_lost_nothing() {
    let mut harness = subscribed("x", None);
    server_subscribed_in(&mut harness, "x", 50, Some("E1"));
    // Another tab resumed from 3: the history no longer reaches back there.
    server_gap(&mut harness, (3, 40), GapReason::Trimmed, Some("E1"));
    assert!(gaps(&harness).is_empty());
    publish(&mut harness, "x", Some(45), "45");
    publish(&mut harness, "x", Some(51), "51");
    assert_eq!(delivered(&harness), ["x:51"]);
}

#[test]
fn on_a_raw_connection_a_subscription_is_an_error_and_is_never_sent() {
    let mut harness = Harness::new(config());
    harness.input(Input::Subscribe { channel: "x".to_owned(), since: None });
    harness.input(Input::Start { online: true });
    harness.open();
    assert_eq!(harness.failures(), ["protocol_required"]);
    harness.input(Input::Subscribe { channel: "y".to_owned(), since: None });
    assert_eq!(harness.failures(), ["protocol_required", "protocol_required"]);
    assert!(subscriptions(&harness).is_empty());
    // The next connection's server speaks tabwire: both are subscribed.
    harness.server_greets = true;
    reconnect(&mut harness);
    assert_eq!(subscriptions(&harness), ["<subscribe x>", "<subscribe y>"]);
}
