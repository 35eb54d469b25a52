//! Several harnesses playing the tabs of one origin: what one broadcasts
//! is handed to the others, and they share one storage.

use std::cell::RefCell;
use std::rc::Rc;

use super::harness::{config, sequence, Harness};
use crate::core::{Config, Event, GapReason, Input, Machine, Position, Role, ShareConfig};

pub(super) fn shared_config() -> Config {
    let mut config = config();
    config.share = Some(ShareConfig::default());
    config.heartbeat = None;
    config
}

/// The tabs of one origin, in the order they opened.
pub(super) struct Tabs {
    pub(super) tabs: Vec<Option<Harness>>,
    pub(super) storage: Rc<RefCell<super::harness::Stored>>,
}

impl Tabs {
    pub(super) fn new() -> Self {
        Tabs { tabs: Vec::new(), storage: Rc::default() }
    }

    /// Opens a tab (protocol-mode server) and starts it.
    pub(super) fn open(&mut self) -> usize {
        let index = self.tabs.len();
        let tab = format!("tab{index:05}");
        let ids = format!("{:013}-{tab}-", index + 1);
        let mut harness = Harness::with_machine(Machine::new(shared_config(), tab, ids, sequence(vec![0.5])));
        harness.server_greets = true;
        harness.shared = Some(self.storage.clone());
        harness.input(Input::Start { online: true });
        self.tabs.push(Some(harness));
        self.deliver();
        index
    }

    pub(super) fn tab(&mut self, index: usize) -> &mut Harness {
        self.tabs[index].as_mut().expect("the tab is open")
    }

    /// Hands every broadcast to every other open tab until none is left.
    pub(super) fn deliver(&mut self) {
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
    pub(super) fn act(&mut self, index: usize, action: impl FnOnce(&mut Harness)) {
        action(self.tab(index));
        self.deliver();
    }

    /// The browser grants the leader lock to `index`.
    pub(super) fn grant(&mut self, index: usize) {
        self.act(index, |tab| tab.input(Input::LockGranted { stored_epoch: 0 }));
    }

    /// `index` leads and its socket is open.
    pub(super) fn lead(&mut self, index: usize) {
        self.grant(index);
        self.act(index, Harness::open);
    }

    /// The tab ends (closed, reloaded or crashed): it says nothing more.
    pub(super) fn end(&mut self, index: usize) -> Harness {
        self.tabs[index].take().expect("the tab is open")
    }

    pub(super) fn stored(&self) -> Vec<String> {
        self.storage.borrow().keys().cloned().collect()
    }
}

pub(super) fn send(tab: &mut Harness, text: &str) -> String {
    let sent = tab.machine.send(tab.now, text.to_owned()).expect("accepted");
    tab.drain_effects();
    sent.id
}

pub(super) fn acks(tab: &Harness) -> Vec<String> {
    tab.events
        .iter()
        .filter_map(|event| match event {
            Event::Ack { id } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn roles(tab: &Harness) -> Vec<Role> {
    tab.events
        .iter()
        .filter_map(|event| match event {
            Event::Role(role) => Some(*role),
            _ => None,
        })
        .collect()
}

/// A leader (tab 0, open) and a follower (tab 1).
pub(super) fn pair() -> Tabs {
    let mut tabs = Tabs::new();
    tabs.open();
    tabs.lead(0);
    tabs.open();
    tabs
}

/// The channel messages a tab delivered, as `offset:text`.
pub(super) fn publications(tab: &Harness) -> Vec<String> {
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
pub(super) fn server_subscribed(tabs: &mut Tabs, offset: u64) {
    tabs.act(0, |leader| {
        let generation = leader.generation();
        leader.input(Input::Subscribed { generation, channel: "x".to_owned(), offset, epoch: None });
    });
}

pub(super) fn server_publishes(tabs: &mut Tabs, offsets: std::ops::RangeInclusive<u64>) {
    tabs.act(0, |leader| {
        let generation = leader.generation();
        for offset in offsets {
            let (channel, payload) = ("x".to_owned(), format!("m{offset}"));
            leader.input(Input::Publication { generation, channel, offset: Some(offset), payload });
        }
    });
}

/// The leader's server answers the subscription to `x` in `epoch`, or
/// reports a reset to `epoch`, the replay starting at `from`.
pub(super) fn server_subscribed_in(tabs: &mut Tabs, offset: u64, epoch: &str) {
    tabs.act(0, |leader| {
        let generation = leader.generation();
        let epoch = Some(epoch.to_owned());
        leader.input(Input::Subscribed { generation, channel: "x".to_owned(), offset, epoch });
    });
}

pub(super) fn server_reset(tabs: &mut Tabs, since: u64, from: u64, epoch: &str) {
    tabs.act(0, |leader| {
        let generation = leader.generation();
        let (channel, reason, epoch) = ("x".to_owned(), GapReason::Reset, Some(epoch.to_owned()));
        leader.input(Input::Gap { generation, channel, since, from, reason, epoch });
    });
}

pub(super) fn gaps(tab: &Harness) -> Vec<(u64, u64, GapReason)> {
    tab.events
        .iter()
        .filter_map(|event| match event {
            Event::Gap { since, from, reason, .. } => Some((*since, *from, *reason)),
            _ => None,
        })
        .collect()
}

/// Tab `index` starts listening to channel `x`, from after offset `since`.
pub(super) fn listen(tabs: &mut Tabs, index: usize, since: Option<u64>) {
    let since = since.map(|offset| Position { offset, epoch: None });
    tabs.act(index, |tab| tab.input(Input::Subscribe { channel: "x".to_owned(), since }));
}
