//! Channels on a shared connection: subscribed once for all tabs, the
//! history a late tab asks for, where a new leader resumes (epochs
//! included), and a reset of a channel's numbering heard by every tab.

use super::harness::Harness;
use super::tabs::*;
use crate::core::{Event, GapReason, Input, Mode, Position, Role, SendRefusal};

#[test]
fn a_channel_is_subscribed_once_for_all_tabs_and_dropped_with_its_last_tab() {
    let mut tabs = pair();
    tabs.open();
    for index in [1, 2] {
        listen(&mut tabs, index, None);
    }
    let subscriptions = |tabs: &mut Tabs| tabs.tab(0).sent.iter().filter(|s| s.starts_with('<')).cloned().collect::<Vec<_>>();
    assert_eq!(subscriptions(&mut tabs), ["<subscribe x>"]);
    let second = tabs.tab(2).machine.role();
    assert_eq!(second, Role::Follower);
    tabs.act(1, |tab| tab.input(Input::Close { code: 1000, reason: String::new() }));
    assert_eq!(subscriptions(&mut tabs), ["<subscribe x>"], "tab 2 still listens");
    tabs.act(0, |leader| leader.input(Input::TabGone { tab: "tab00002".to_owned() }));
    assert_eq!(subscriptions(&mut tabs), ["<subscribe x>", "<unsubscribe x>"]);
    let mut watched = tabs.tab(0).watched.clone();
    watched.sort();
    assert_eq!(watched, ["tab00001", "tab00002"], "each follower watched once");
}

#[test]
fn the_leaders_own_channels_count_too_and_a_new_leader_subscribes_to_the_union() {
    let mut tabs = pair();
    tabs.act(0, |leader| leader.input(Input::Subscribe { channel: "a".to_owned(), since: None }));
    tabs.act(1, |tab| tab.input(Input::Subscribe { channel: "b".to_owned(), since: None }));
    assert_eq!(tabs.tab(0).sent, ["<subscribe a>", "<subscribe b>"]);
    tabs.act(0, |leader| leader.input(Input::Unsubscribe { channel: "a".to_owned() }));
    assert_eq!(tabs.tab(0).sent.last().map(String::as_str), Some("<unsubscribe a>"));
    tabs.end(0);
    tabs.lead(1);
    assert_eq!(tabs.tab(1).sent, ["<subscribe b>"]);
}

#[test]
fn a_tab_that_joins_a_channel_later_with_since_gets_its_history_and_the_others_no_repeat() {
    let mut tabs = pair();
    tabs.open();
    for index in [0, 1] {
        listen(&mut tabs, index, None);
    }
    server_subscribed(&mut tabs, 0);
    server_publishes(&mut tabs, 1..=3);
    let about_x = |tab: &Harness| tab.events.iter().filter(|event| event.channel() == Some("x")).count();
    assert_eq!(about_x(tabs.tab(2)), 0, "a tab not listening to x hears nothing of it");
    listen(&mut tabs, 2, Some(0));
    assert_eq!(tabs.tab(0).sent, ["<subscribe x>", "<subscribe x since 0>"], "the history is asked for");
    // The replay, then a live message.
    server_publishes(&mut tabs, 1..=4);
    let all = ["1:m1", "2:m2", "3:m3", "4:m4"];
    assert_eq!(publications(tabs.tab(2)), all, "the late tab got the history");
    assert_eq!(publications(tabs.tab(0)), all, "the leader, no repeat");
    assert_eq!(publications(tabs.tab(1)), all, "the other follower, no repeat");
    listen(&mut tabs, 2, Some(0));
    assert_eq!(tabs.tab(0).sent.len(), 2, "asked once, not at every hello");
}

#[test]
fn a_tab_joining_while_messages_flow_gets_the_history_before_the_live_ones() {
    let mut tabs = pair();
    tabs.open();
    for index in [0, 1] {
        listen(&mut tabs, index, None);
    }
    server_subscribed(&mut tabs, 0);
    server_publishes(&mut tabs, 1..=3);
    listen(&mut tabs, 2, Some(0));
    // A live message reaches the leader before the server answers the
    // replay's subscription; then the answer, the replay, live again.
    server_publishes(&mut tabs, 4..=4);
    server_subscribed(&mut tabs, 4);
    server_publishes(&mut tabs, 1..=5);
    let all = ["1:m1", "2:m2", "3:m3", "4:m4", "5:m5"];
    assert_eq!(publications(tabs.tab(2)), all, "the late tab: the history, then the live ones, once each");
    assert_eq!(publications(tabs.tab(1)), all);
}

#[test]
fn a_tab_joining_while_the_connection_is_down_gets_its_history_on_the_next_one() {
    let mut tabs = pair();
    tabs.open();
    listen(&mut tabs, 1, None);
    server_subscribed(&mut tabs, 0);
    server_publishes(&mut tabs, 1..=3);
    tabs.act(0, Harness::drop_connection);
    listen(&mut tabs, 2, Some(0));
    tabs.act(0, |leader| {
        leader.fire_retry();
        leader.open();
    });
    let subscribe_frames: Vec<&String> = tabs.tab(0).sent.iter().filter(|frame| frame.starts_with("<subscribe")).collect();
    assert_eq!(subscribe_frames.last().map(|frame| frame.as_str()), Some("<subscribe x since 0>"), "from the lowest tab");
    server_subscribed(&mut tabs, 3);
    server_publishes(&mut tabs, 1..=4);
    let all = ["1:m1", "2:m2", "3:m3", "4:m4"];
    assert_eq!(publications(tabs.tab(2)), all);
    assert_eq!(publications(tabs.tab(1)), all, "the caught-up tab, no repeat");
}

#[test]
fn a_joining_tab_waits_for_its_own_replay_not_an_answer_to_another_subscription() {
    let mut tabs = pair();
    tabs.open();
    listen(&mut tabs, 1, None);
    server_subscribed(&mut tabs, 0);
    server_publishes(&mut tabs, 1..=3);
    // The late tab subscribes; its hello reaches the leader only after the
    // server answered a subscription of its own (a reconnect's, say) and
    // sent messages 4 and 5.
    tabs.tab(2).input(Input::Subscribe { channel: "x".to_owned(), since: Some(Position { offset: 0, epoch: None }) });
    let hello = std::mem::take(&mut tabs.tab(2).broadcasts);
    server_subscribed(&mut tabs, 5);
    server_publishes(&mut tabs, 4..=5);
    tabs.tab(2).broadcasts = hello;
    tabs.deliver();
    assert_eq!(tabs.tab(0).sent.last().map(String::as_str), Some("<subscribe x since 0>"));
    server_subscribed(&mut tabs, 5);
    server_publishes(&mut tabs, 1..=6);
    let all = ["1:m1", "2:m2", "3:m3", "4:m4", "5:m5", "6:m6"];
    assert_eq!(publications(tabs.tab(2)), all, "its history, then the live ones");
    assert_eq!(publications(tabs.tab(1)), all);
}

#[test]
fn channels_are_not_subscribed_in_raw_mode() {
    let mut tabs = Tabs::new();
    tabs.open();
    tabs.tab(0).server_greets = false;
    tabs.act(0, |tab| tab.input(Input::Subscribe { channel: "x".to_owned(), since: None }));
    tabs.lead(0);
    assert!(tabs.tab(0).sent.is_empty());
}

#[test]
fn a_new_leader_resumes_each_channel_after_the_last_offset_any_tab_saw() {
    let mut tabs = pair();
    listen(&mut tabs, 1, None);
    tabs.act(0, |leader| {
        let generation = leader.generation();
        let payload = "seven".to_owned();
        leader.input(Input::Publication { generation, channel: "x".to_owned(), offset: Some(7), payload });
    });
    assert!(matches!(&tabs.tab(1).events.last(), Some(Event::Publication { offset: Some(7), .. })));
    tabs.end(0);
    tabs.lead(1);
    assert_eq!(tabs.tab(1).sent, ["<subscribe x since 7>"]);
}

/// The server lost the channel's history: every tab hears of it once, and
/// every tab gets the new numbering's messages, none taken for a repeat.
#[test]
fn a_reset_reaches_every_tab_and_the_new_history_is_delivered_to_each() {
    let mut tabs = pair();
    for index in [0, 1] {
        listen(&mut tabs, index, None);
    }
    server_subscribed_in(&mut tabs, 0, "E1");
    server_publishes(&mut tabs, 1..=5);
    tabs.act(0, |leader| {
        leader.drop_connection();
        leader.fire_retry();
        leader.open();
    });
    let resumed = tabs.tab(0).sent.iter().rfind(|frame| frame.starts_with("<subscribe")).cloned();
    assert_eq!(resumed.as_deref(), Some("<subscribe x since 5@E1>"));
    server_subscribed_in(&mut tabs, 3, "E2");
    server_reset(&mut tabs, 5, 1, "E2");
    server_publishes(&mut tabs, 1..=3);
    for index in [0, 1] {
        assert_eq!(gaps(tabs.tab(index)), [(5, 1, GapReason::Reset)], "tab {index}");
        assert_eq!(publications(tabs.tab(index))[5..], ["1:m1", "2:m2", "3:m3"], "tab {index}");
    }
}

/// A follower tells a new leader where it is, epoch included, and the
/// new leader resumes from there.
#[test]
fn a_new_leader_resumes_from_the_followers_position_with_its_epoch() {
    let mut tabs = pair();
    listen(&mut tabs, 1, None);
    server_subscribed_in(&mut tabs, 0, "E1");
    server_publishes(&mut tabs, 1..=4);
    tabs.end(0);
    tabs.lead(1);
    assert_eq!(tabs.tab(1).sent, ["<subscribe x since 4@E1>"]);
}

/// A follower knows what the leader's connection speaks: its `stats()`
/// say so, and a publication on a raw connection is refused in the
/// follower too; one relayed before the follower knew waits, unsent.
#[test]
fn followers_know_the_connections_mode_and_a_raw_one_takes_no_publication() {
    let mut tabs = Tabs::new();
    tabs.open();
    tabs.tab(0).server_greets = false;
    tabs.grant(0);
    tabs.open();
    let early = send(tabs.tab(1), "pub:early");
    tabs.deliver();
    tabs.act(0, Harness::open);
    assert_eq!(tabs.tab(1).machine.mode(), Some(Mode::Raw));
    assert!(tabs.tab(0).sent.is_empty(), "the relayed publication waits, unsent");
    assert_eq!(tabs.tab(1).machine.outbox().map(|entry| entry.id.clone()).collect::<Vec<_>>(), [early]);
    assert_eq!(tabs.tab(1).send("pub:late"), Err(SendRefusal::ProtocolRequired));
    tabs.act(0, Harness::drop_connection);
    assert_eq!(tabs.tab(1).machine.mode(), None, "no connection, no mode");
}

/// A tab that starts listening once the leader's subscription is taken
/// hears no `subscribed`: the messages the leader passes on, live or
/// replayed for it, carry their epoch, which names the tab's position.
#[test]
fn a_tab_joining_a_subscribed_channel_delivers_in_the_leaders_epoch() {
    let mut tabs = pair();
    tabs.open();
    tabs.open();
    for index in [0, 1] {
        listen(&mut tabs, index, None);
    }
    server_subscribed_in(&mut tabs, 0, "e1");
    server_publishes(&mut tabs, 1..=2);
    listen(&mut tabs, 2, None);
    listen(&mut tabs, 3, Some(0));
    // The replay tab 3 asked for, then a live message.
    server_publishes(&mut tabs, 1..=3);
    let epochs = |tab: &Harness| -> Vec<(Option<u64>, Option<String>)> {
        tab.events
            .iter()
            .filter_map(|event| match event {
                Event::Publication { offset, epoch, .. } => Some((*offset, epoch.clone())),
                _ => None,
            })
            .collect()
    };
    let e1 = || Some("e1".to_owned());
    let all = [(Some(1), e1()), (Some(2), e1()), (Some(3), e1())];
    assert_eq!(epochs(tabs.tab(3)), all, "replayed, then live");
    assert_eq!(epochs(tabs.tab(2)), all, "the replay passed on reaches the other new tab too");
}
