//! Sharing one connection among tabs: roles, relayed sends, passed-on
//! events, epochs, stealing from a silent leader, counted subscriptions.
//! Several harnesses play the tabs of one origin: what one broadcasts is
//! handed to the others, and they share one storage.

use std::cell::RefCell;
use std::rc::Rc;

use super::harness::{config, sequence, Harness};
use crate::core::{
    CloseInfo, Config, ConnectionState, Event, Input, Machine, Outcome, Peer, Role, ShareConfig, StateChange,
};

fn shared_config() -> Config {
    let mut config = config();
    config.share = Some(ShareConfig::default());
    config.heartbeat = None;
    config
}

/// The tabs of one origin, in the order they opened.
struct Tabs {
    tabs: Vec<Option<Harness>>,
    storage: Rc<RefCell<super::harness::Stored>>,
}

impl Tabs {
    fn new() -> Self {
        Tabs { tabs: Vec::new(), storage: Rc::default() }
    }

    /// Opens a tab (protocol-mode server) and starts it.
    fn open(&mut self) -> usize {
        let index = self.tabs.len();
        let tab = format!("tab{index:05}");
        let ids = format!("{:013}-{tab}-", index + 1);
        let mut harness = Harness::with_machine(Machine::new(shared_config(), tab, ids, sequence(vec![0.5])));
        harness.server_acknowledges = true;
        harness.shared = Some(self.storage.clone());
        harness.input(Input::Start { online: true });
        self.tabs.push(Some(harness));
        self.deliver();
        index
    }

    fn tab(&mut self, index: usize) -> &mut Harness {
        self.tabs[index].as_mut().expect("the tab is open")
    }

    /// Hands every broadcast to every other open tab until none is left.
    fn deliver(&mut self) {
        loop {
            let mut posted = Vec::new();
            for (index, tab) in self.tabs.iter_mut().enumerate() {
                if let Some(tab) = tab {
                    posted.extend(tab.broadcasts.drain(..).map(|peer| (index, peer)));
                }
            }
            if posted.is_empty() {
                return;
            }
            for (from, peer) in posted {
                for (index, tab) in self.tabs.iter_mut().enumerate() {
                    if let (Some(tab), true) = (tab, index != from) {
                        tab.input(Input::Peer(peer.clone()));
                    }
                }
            }
        }
    }

    /// Something happens in one tab, then the others hear of it.
    fn act(&mut self, index: usize, action: impl FnOnce(&mut Harness)) {
        action(self.tab(index));
        self.deliver();
    }

    /// The browser grants the leader lock to `index`.
    fn grant(&mut self, index: usize) {
        self.act(index, |tab| tab.input(Input::LockGranted { stored_epoch: 0 }));
    }

    /// `index` leads and its socket is open.
    fn lead(&mut self, index: usize) {
        self.grant(index);
        self.act(index, Harness::open);
    }

    /// The tab ends (closed, reloaded or crashed): it says nothing more.
    fn end(&mut self, index: usize) -> Harness {
        self.tabs[index].take().expect("the tab is open")
    }

    fn stored(&self) -> Vec<String> {
        self.storage.borrow().keys().cloned().collect()
    }
}

fn send(tab: &mut Harness, text: &str) -> String {
    let sent = tab.machine.send(tab.now, text.to_owned()).expect("accepted");
    tab.drain_effects();
    sent.id
}

fn acks(tab: &Harness) -> Vec<String> {
    tab.events
        .iter()
        .filter_map(|event| match event {
            Event::Ack { id } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

fn roles(tab: &Harness) -> Vec<Role> {
    tab.events
        .iter()
        .filter_map(|event| match event {
            Event::Role(role) => Some(*role),
            _ => None,
        })
        .collect()
}

/// A leader (tab 0, open) and a follower (tab 1).
fn pair() -> Tabs {
    let mut tabs = Tabs::new();
    tabs.open();
    tabs.lead(0);
    tabs.open();
    tabs
}

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
    tabs.tab(0).server_acknowledges = false;
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
    let newer = Peer::Announce { epoch: 7, tab: "elsewhere".to_owned(), state: ConnectionState::Connecting, tabs: 2 };
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

#[test]
fn a_channel_is_subscribed_once_for_all_tabs_and_dropped_with_its_last_tab() {
    let mut tabs = pair();
    tabs.open();
    for index in [1, 2] {
        tabs.act(index, |tab| tab.input(Input::Subscribe { channel: "x".to_owned(), since: None }));
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

/// The channel messages a tab delivered, as `offset:text`.
fn publications(tab: &Harness) -> Vec<String> {
    tab.events
        .iter()
        .filter_map(|event| match event {
            Event::Publication { offset, payload, .. } => Some(format!("{}:{payload}", offset.unwrap_or(0))),
            _ => None,
        })
        .collect()
}

/// The leader's server sends messages `offsets` of channel `x`.
/// The server answers the leader's subscription to `x` at `offset`.
fn server_subscribed(tabs: &mut Tabs, offset: u64) {
    tabs.act(0, |leader| {
        let generation = leader.generation();
        leader.input(Input::Subscribed { generation, channel: "x".to_owned(), offset });
    });
}

fn server_publishes(tabs: &mut Tabs, offsets: std::ops::RangeInclusive<u64>) {
    tabs.act(0, |leader| {
        let generation = leader.generation();
        for offset in offsets {
            let (channel, payload) = ("x".to_owned(), format!("m{offset}"));
            leader.input(Input::Publication { generation, channel, offset: Some(offset), payload });
        }
    });
}

#[test]
fn a_tab_that_joins_a_channel_later_with_since_gets_its_history_and_the_others_no_repeat() {
    let mut tabs = pair();
    tabs.open();
    for index in [0, 1] {
        tabs.act(index, |tab| tab.input(Input::Subscribe { channel: "x".to_owned(), since: None }));
    }
    server_subscribed(&mut tabs, 0);
    server_publishes(&mut tabs, 1..=3);
    let about_x = |tab: &Harness| tab.events.iter().filter(|event| event.channel() == Some("x")).count();
    assert_eq!(about_x(tabs.tab(2)), 0, "a tab not listening to x hears nothing of it");
    tabs.act(2, |late| late.input(Input::Subscribe { channel: "x".to_owned(), since: Some(0) }));
    assert_eq!(tabs.tab(0).sent, ["<subscribe x>", "<subscribe x since 0>"], "the history is asked for");
    // The replay, then a live message.
    server_publishes(&mut tabs, 1..=4);
    let all = ["1:m1", "2:m2", "3:m3", "4:m4"];
    assert_eq!(publications(tabs.tab(2)), all, "the late tab got the history");
    assert_eq!(publications(tabs.tab(0)), all, "the leader, no repeat");
    assert_eq!(publications(tabs.tab(1)), all, "the other follower, no repeat");
    tabs.act(2, |late| late.input(Input::Subscribe { channel: "x".to_owned(), since: Some(0) }));
    assert_eq!(tabs.tab(0).sent.len(), 2, "asked once, not at every hello");
}

#[test]
fn a_tab_joining_while_messages_flow_gets_the_history_before_the_live_ones() {
    let mut tabs = pair();
    tabs.open();
    for index in [0, 1] {
        tabs.act(index, |tab| tab.input(Input::Subscribe { channel: "x".to_owned(), since: None }));
    }
    server_subscribed(&mut tabs, 0);
    server_publishes(&mut tabs, 1..=3);
    tabs.act(2, |late| late.input(Input::Subscribe { channel: "x".to_owned(), since: Some(0) }));
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
    tabs.act(1, |tab| tab.input(Input::Subscribe { channel: "x".to_owned(), since: None }));
    server_subscribed(&mut tabs, 0);
    server_publishes(&mut tabs, 1..=3);
    tabs.act(0, Harness::drop_connection);
    tabs.act(2, |late| late.input(Input::Subscribe { channel: "x".to_owned(), since: Some(0) }));
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
    tabs.act(1, |tab| tab.input(Input::Subscribe { channel: "x".to_owned(), since: None }));
    server_subscribed(&mut tabs, 0);
    server_publishes(&mut tabs, 1..=3);
    // The late tab subscribes; its hello reaches the leader only after the
    // server answered a subscription of its own (a reconnect's, say) and
    // sent messages 4 and 5.
    tabs.tab(2).input(Input::Subscribe { channel: "x".to_owned(), since: Some(0) });
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
fn what_a_leaders_rescan_finds_goes_out_at_once_on_an_open_socket() {
    let mut tabs = pair();
    let id = send(tabs.tab(1), "stored, never relayed");
    tabs.tab(1).broadcasts.clear();
    tabs.end(1);
    tabs.act(0, |leader| leader.input(Input::TabGone { tab: "tab00001".to_owned() }));
    assert_eq!(tabs.tab(0).sent_ids, [id.clone()], "sent without waiting for another connection");
    tabs.act(0, |leader| leader.ack(&id));
    assert!(tabs.stored().is_empty());
}

#[test]
fn channels_are_not_subscribed_in_raw_mode() {
    let mut tabs = Tabs::new();
    tabs.open();
    tabs.tab(0).server_acknowledges = false;
    tabs.act(0, |tab| tab.input(Input::Subscribe { channel: "x".to_owned(), since: None }));
    tabs.lead(0);
    assert!(tabs.tab(0).sent.is_empty());
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

#[test]
fn a_new_leader_resumes_each_channel_after_the_last_offset_any_tab_saw() {
    let mut tabs = pair();
    tabs.act(1, |tab| tab.input(Input::Subscribe { channel: "x".to_owned(), since: None }));
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
