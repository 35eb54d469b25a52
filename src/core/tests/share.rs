//! Sharing one connection among tabs: roles, relayed sends, passed-on
//! events, epochs, stealing from a silent leader, failover.

use super::harness::Harness;
use super::tabs::*;
use crate::core::{CloseInfo, ConnectionState, Event, Input, Mode, Outcome, Peer, Role, StateChange, Transport};

#[test]
fn a_new_tab_follows_until_it_gets_the_lock() {
    let mut tabs = Tabs::new();
    tabs.open();
    let tab = tabs.tab(0);
    assert_eq!(tab.lock_requests, [false]);
    assert!(tab.opened.is_empty(), "no socket of its own");
    assert_eq!(tab.machine.role(), Role::Follower);
    assert_eq!(tab.state(), ConnectionState::Connecting);
    assert_eq!(roles(tab), [Role::Follower]);
}

#[test]
fn the_lock_makes_a_leader_with_a_newer_epoch_that_takes_the_stored_messages() {
    let mut tabs = Tabs::new();
    tabs.open();
    tabs.storage.borrow_mut().insert("0000000000009-deadtab0-00000001".to_owned(), ("left".to_owned(), -5.0, 0));
    tabs.act(0, |tab| tab.input(Input::LockGranted { stored_epoch: 4 }));
    let tab = tabs.tab(0);
    assert_eq!(tab.led, [5]);
    assert_eq!(tab.rescans, 1);
    assert_eq!(tab.machine.role(), Role::Leader);
    assert_eq!(roles(tab), [Role::Follower, Role::Leader]);
    assert_eq!(tab.opened.len(), 1);
    tab.open();
    assert_eq!(tab.sent, ["left"]);
    tab.ack("0000000000009-deadtab0-00000001");
    assert!(tabs.stored().is_empty());
}

#[test]
fn a_followers_send_is_stored_relayed_sent_once_and_acknowledged_in_the_follower() {
    let mut tabs = pair();
    assert_eq!(tabs.tab(1).state(), ConnectionState::Open, "mirrors the leader");
    let id = send(tabs.tab(1), "from the follower");
    assert_eq!(tabs.stored(), std::slice::from_ref(&id));
    tabs.deliver();
    assert_eq!(tabs.tab(0).sent, ["from the follower"]);
    assert_eq!(tabs.tab(0).sent_ids, std::slice::from_ref(&id));
    tabs.act(0, |leader| leader.ack(&id));
    assert_eq!(acks(tabs.tab(1)), [id]);
    assert!(acks(tabs.tab(0)).is_empty(), "the ack is the follower's");
    assert_eq!(tabs.tab(1).machine.queued(), 0);
    assert_eq!(tabs.tab(0).machine.queued(), 0);
    assert!(tabs.stored().is_empty());
}

#[test]
fn a_followers_message_the_server_refuses_is_reported_rejected_in_the_follower_only() {
    let mut tabs = pair();
    let id = send(tabs.tab(1), "forbidden");
    tabs.deliver();
    let rejected = |tab: &Harness| -> Vec<Event<String>> {
        tab.events.iter().filter(|event| matches!(event, Event::Rejected { .. })).cloned().collect()
    };
    tabs.act(0, |leader| {
        let generation = leader.generation();
        let (code, message) = ("forbidden".to_owned(), "no".to_owned());
        leader.input(Input::Rejected { generation, id: id.clone(), code, message });
    });
    let expected = Event::Rejected { id: id.clone(), code: "forbidden".to_owned(), message: "no".to_owned() };
    assert_eq!(rejected(tabs.tab(1)), [expected]);
    assert!(rejected(tabs.tab(0)).is_empty(), "the message is the follower's");
    assert!(acks(tabs.tab(1)).is_empty(), "refused, not acknowledged");
    assert_eq!(tabs.tab(1).machine.queued(), 0);
    assert!(tabs.stored().is_empty(), "never sent again");
    let relay = Peer::Relay { id: id.clone(), payload: "forbidden".to_owned(), created_ms: 0.0 };
    tabs.tab(0).input(Input::Peer(relay));
    assert!(
        matches!(tabs.tab(0).broadcasts.last(), Some(Peer::Done { outcome: Outcome::Rejected { .. }, .. })),
        "a late relay is told it was rejected, not acknowledged"
    );
}

#[test]
fn a_send_before_any_leader_is_relayed_when_one_announces() {
    let mut tabs = Tabs::new();
    tabs.open();
    tabs.open();
    let id = send(tabs.tab(1), "early");
    tabs.deliver();
    assert!(tabs.tab(1).broadcasts.is_empty());
    tabs.lead(0);
    assert_eq!(tabs.tab(0).sent_ids, [id]);
}

#[test]
fn a_duplicate_or_late_relay_is_not_sent_again() {
    let mut tabs = pair();
    let id = send(tabs.tab(1), "once");
    let relay = tabs.tab(1).broadcasts[0].clone();
    tabs.deliver();
    tabs.act(0, |leader| leader.input(Input::Peer(relay.clone())));
    assert_eq!(tabs.tab(0).sent_ids, std::slice::from_ref(&id), "a duplicate relay");
    tabs.act(0, |leader| leader.ack(&id));
    tabs.tab(0).input(Input::Peer(relay));
    assert_eq!(tabs.tab(0).sent_ids, std::slice::from_ref(&id), "a late relay");
    assert!(
        matches!(&tabs.tab(0).broadcasts[..], [Peer::Done { id: done, outcome: Outcome::Acknowledged, .. }] if *done == id),
        "the owner is told again that it is done"
    );
}

#[test]
fn in_raw_mode_a_relayed_message_is_done_once_the_socket_took_it() {
    let mut tabs = Tabs::new();
    tabs.open();
    tabs.tab(0).server_greets = false;
    tabs.lead(0);
    tabs.open();
    let id = send(tabs.tab(1), "raw");
    tabs.deliver();
    assert_eq!(tabs.tab(0).sent, ["raw"]);
    assert_eq!(tabs.tab(1).machine.queued(), 0, "done");
    assert!(acks(tabs.tab(1)).is_empty(), "no ack without the protocol");
    assert!(!tabs.stored().contains(&id));
}

#[test]
fn the_leader_passes_its_connections_events_to_every_tab() {
    let mut tabs = pair();
    tabs.act(0, |leader| leader.receive("price"));
    assert_eq!(tabs.tab(1).messages(), ["price"]);
    assert_eq!(tabs.tab(1).machine.stats().messages_in, 1);
    tabs.act(0, Harness::drop_connection);
    let follower = tabs.tab(1);
    assert_eq!(follower.state(), ConnectionState::Reconnecting);
    assert!(follower.events.iter().any(|e| matches!(e, Event::Close(CloseInfo { code: 1006, .. }))));
    assert!(follower.events.iter().any(|e| matches!(e, Event::Reconnecting { attempt: 1, .. })));
    assert!(follower.opened.is_empty());
}

#[test]
fn only_connection_events_are_passed_on() {
    let mut tabs = pair();
    let leader = tabs.tab(0);
    leader.broadcasts.clear();
    leader.input(Input::Restore { entries: Vec::new(), skipped: vec![("k".to_owned(), "bad".to_owned())] });
    assert!(leader.broadcasts.is_empty(), "a warning stays in its tab");
}

#[test]
fn events_of_a_stale_leader_are_ignored_and_it_is_reminded_of_the_current_one() {
    let mut tabs = pair();
    let stale = Peer::Event { epoch: 0, event: Event::Message("old".to_owned()) };
    tabs.act(1, |follower| follower.input(Input::Peer(stale.clone())));
    assert!(tabs.tab(1).messages().is_empty());
    tabs.tab(0).input(Input::Peer(stale));
    assert!(matches!(tabs.tab(0).broadcasts[..], [Peer::Announce { epoch: 1, .. }]));
}

#[test]
fn a_visible_follower_steals_from_a_silent_leader_and_a_hidden_one_does_not() {
    let mut tabs = pair();
    tabs.open();
    tabs.act(2, |tab| tab.input(Input::Hidden));
    // The leader answers: no steal, however long.
    for _ in 0..5 {
        for index in [1, 2] {
            tabs.act(index, |tab| tab.advance(1_000.0));
        }
    }
    assert_eq!(tabs.tab(1).lock_requests, [false]);
    // The leader hangs: its messages stop.
    let hung = tabs.end(0);
    for _ in 0..3 {
        for index in [1, 2] {
            tabs.act(index, |tab| tab.advance(1_000.0));
        }
    }
    assert_eq!(tabs.tab(1).lock_requests, [false, true], "a steal after 2 s without an answer");
    assert_eq!(tabs.tab(2).lock_requests, [false], "a hidden tab waits");
    assert_eq!(hung.machine.role(), Role::Leader);
}

#[test]
fn a_leader_that_lost_its_lock_steps_down_and_hands_its_own_messages_to_the_new_one() {
    let mut tabs = pair();
    let own = send(tabs.tab(0), "the old leader's");
    let from_follower = send(tabs.tab(1), "the follower's");
    tabs.deliver();
    // The follower takes the lock (the old leader hung); the old one learns it.
    tabs.grant(1);
    tabs.act(0, |old| old.input(Input::LockLost));
    let old = tabs.tab(0);
    assert_eq!(old.machine.role(), Role::Follower);
    assert_eq!(old.socket, None, "its socket is closed");
    assert_eq!(old.closed.last().map(|(code, _)| *code), Some(4001));
    assert_eq!(old.lock_requests, [false, false]);
    assert_eq!(old.machine.outbox().map(|e| e.id.clone()).collect::<Vec<_>>(), std::slice::from_ref(&own));
    assert!(tabs.stored().contains(&from_follower), "the follower's message stays stored");
    tabs.act(1, Harness::open);
    let new = tabs.tab(1);
    assert!(new.sent_ids.contains(&own) && new.sent_ids.contains(&from_follower), "{:?}", new.sent_ids);
}

#[test]
fn a_leader_hearing_a_newer_epoch_steps_down_at_once() {
    let mut tabs = pair();
    let newer = Peer::Announce { epoch: 7, tab: "elsewhere".to_owned(), state: ConnectionState::Connecting, tabs: 2, open: None };
    tabs.tab(0).input(Input::Peer(newer));
    let old = tabs.tab(0);
    assert_eq!(old.machine.role(), Role::Follower);
    assert_eq!(old.socket, None);
    assert_eq!(old.lock_requests, [false, false]);
}

#[test]
fn every_tab_knows_how_many_tabs_share_the_connection() {
    let mut tabs = pair();
    tabs.deliver();
    assert_eq!((tabs.tab(0).machine.tabs(), tabs.tab(1).machine.tabs()), (2, 2));
    tabs.open();
    tabs.deliver();
    assert_eq!([0, 1, 2].map(|index| tabs.tab(index).machine.tabs()), [3, 3, 3]);
    tabs.act(0, |leader| leader.input(Input::TabGone { tab: "tab00002".to_owned() }));
    tabs.deliver();
    assert_eq!((tabs.tab(0).machine.tabs(), tabs.tab(1).machine.tabs()), (2, 2), "a tab left");
}

/// A tab that joins a connection already open hears of it from the
/// leader's announce: its `open`, what it speaks and what carries it.
#[test]
fn a_tab_that_joins_an_open_connection_knows_its_mode_and_transport() {
    let mut tabs = pair();
    let opened = |tab: &Harness| {
        tab.events
            .iter()
            .filter_map(|event| match event {
                Event::Open { mode, transport, .. } => Some((*mode, *transport)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // Tab 1 joined once the leader's socket was open.
    assert_eq!(opened(tabs.tab(1)), [(Mode::Tabwire, Transport::WebSocket)]);
    assert_eq!(tabs.tab(1).state(), ConnectionState::Open);
    let late = tabs.open();
    let joined = tabs.tab(late);
    assert_eq!(opened(joined), [(Mode::Tabwire, Transport::WebSocket)], "once");
    assert_eq!((joined.machine.mode(), joined.machine.transport()), (Some(Mode::Tabwire), Some(Transport::WebSocket)));
    assert_eq!(opened(tabs.tab(1)), [(Mode::Tabwire, Transport::WebSocket)], "not again for the others");
    tabs.act(0, Harness::drop_connection);
    assert_eq!([1, 2].map(|index| tabs.tab(index).machine.transport()), [None, None]);
}

#[test]
fn what_a_leaders_rescan_finds_goes_out_at_once_on_an_open_socket() {
    let mut tabs = pair();
    let id = send(tabs.tab(1), "stored, never relayed");
    tabs.tab(1).broadcasts.clear();
    tabs.end(1);
    tabs.act(0, |leader| leader.input(Input::TabGone { tab: "tab00001".to_owned() }));
    assert_eq!(tabs.tab(0).sent_ids, std::slice::from_ref(&id), "sent without waiting for another connection");
    tabs.act(0, |leader| leader.ack(&id));
    assert!(tabs.stored().is_empty());
}

/// A page load that stored a message but knew no leader when it was
/// reloaded or closed: the leader never heard of it.
const UNHANDED_ID: &str = "0000000000009-deadtab0-00000001";

#[test]
fn a_leader_takes_over_the_stored_messages_of_a_tab_it_never_heard_of_when_it_leaves() {
    let mut tabs = pair();
    tabs.storage.borrow_mut().insert(UNHANDED_ID.to_owned(), ("left behind".to_owned(), 0.0, 0));
    tabs.act(0, |leader| leader.input(Input::Peer(Peer::Bye { tab: "deadtab0".to_owned() })));
    assert_eq!(tabs.tab(0).sent, ["left behind"]);
    tabs.act(0, |leader| leader.ack(UNHANDED_ID));
    assert!(tabs.stored().is_empty());
}

#[test]
fn a_reloaded_tabs_unhanded_messages_go_out_before_its_new_ones() {
    let mut tabs = pair();
    // The earlier load crashed: no bye, nothing relayed.
    tabs.storage.borrow_mut().insert(UNHANDED_ID.to_owned(), ("before the reload".to_owned(), 0.0, 0));
    let reloaded = tabs.open();
    send(tabs.tab(reloaded), "after the reload");
    tabs.deliver();
    assert_eq!(tabs.tab(0).sent, ["before the reload", "after the reload"]);
}

#[test]
fn a_leader_going_into_the_back_forward_cache_hands_over_and_rejoins_when_back() {
    let mut tabs = pair();
    tabs.act(0, |leader| leader.input(Input::Suspend));
    let cached = tabs.tab(0);
    assert_eq!(cached.socket, None);
    assert_eq!(cached.lock_releases, 1);
    assert_eq!(cached.machine.role(), Role::Follower);
    tabs.lead(1);
    tabs.act(0, |cached| cached.input(Input::Resume));
    let back = tabs.tab(0);
    assert_eq!(back.lock_requests, [false, false]);
    assert_eq!(back.state(), ConnectionState::Open, "it follows the new leader");
}

#[test]
fn closing_the_leader_does_not_close_the_other_tabs() {
    let mut tabs = pair();
    tabs.act(0, |leader| leader.input(Input::Close { code: 1000, reason: String::new() }));
    assert_eq!(tabs.tab(0).state(), ConnectionState::Closed);
    assert_eq!(tabs.tab(0).lock_releases, 1);
    assert_eq!(tabs.tab(1).state(), ConnectionState::Open, "the closed state is not passed on");
    let closed_state = |event: &Event<String>| matches!(event, Event::State(StateChange { state: ConnectionState::Closed, .. }));
    assert!(!tabs.tab(1).events.iter().any(closed_state));
}

#[test]
fn when_the_leader_dies_the_next_one_delivers_everything_exactly_once() {
    let mut tabs = pair();
    tabs.open();
    let mut sent = Vec::new();
    for round in 0..3 {
        for index in [1, 2] {
            sent.push(send(tabs.tab(index), &format!("m{index}-{round}")));
        }
    }
    tabs.deliver();
    let first = tabs.tab(0).sent_ids.clone();
    assert_eq!(first.len(), 6);
    // The leader acks two, then dies with four in flight.
    for id in &first[..2] {
        tabs.act(0, |leader| leader.ack(id));
    }
    tabs.end(0);
    tabs.lead(1);
    let resent = tabs.tab(1).sent_ids.clone();
    let mut expected = first[2..].to_vec();
    expected.sort();
    let mut unique = resent.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique, expected, "the unacknowledged ones, sent once by the new leader");
    assert_eq!(resent.len(), 4, "{resent:?}");
    for id in &resent {
        tabs.act(1, |leader| leader.ack(id));
    }
    assert!(tabs.stored().is_empty());
    let mut all_acks = [acks(tabs.tab(1)), acks(tabs.tab(2))].concat();
    all_acks.sort();
    sent.sort();
    assert_eq!(all_acks, sent, "every message acknowledged once, in the tab that sent it");
}

#[test]
fn the_leader_announces_its_state_to_a_tab_that_joins() {
    let mut tabs = pair();
    let follower = tabs.tab(1);
    assert!(follower.events.contains(&Event::State(StateChange {
        state: ConnectionState::Open,
        attempt: 0,
        retry_at_ms: None,
        close: None
    })));
    assert!(follower.opened.is_empty());
}
