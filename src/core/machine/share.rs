//! The machine's part in sharing one connection among tabs: joining,
//! taking and losing the lead, relaying messages through the leader,
//! watching a leader that may be frozen, and counting subscriptions.

use super::Machine;
use crate::core::effect::{Effect, Timer};
use crate::core::event::{CloseInfo, Event, StateChange};
use crate::core::outbox::Entry;
use crate::core::share::{Outcome, Peer, Role};
use crate::core::state::ConnectionState;
use crate::core::subscriptions::Change;
use crate::core::Payload;

/// Close code of the socket of a leader that lost its lock to another tab.
const LEAD_LOST_CLOSE_CODE: u16 = 4001;

impl<P: Payload + Clone> Machine<P> {
    /// Takes part in sharing: waits for the leader lock and asks who leads.
    pub(super) fn join(&mut self, now: f64) {
        self.sharing = true;
        self.role = Role::Follower;
        self.leader_known = false;
        self.stopped_by = None;
        self.set_state(ConnectionState::Connecting, None);
        self.effects.push_back(Effect::RequestLock { steal: false });
        self.emit(Event::Role(Role::Follower));
        self.probe(now);
    }

    /// Stops sharing: gives the lock back (or stops waiting for it) and
    /// tells the leader this tab's channels are gone.
    pub(super) fn leave(&mut self) {
        if !self.sharing {
            return;
        }
        self.sharing = false;
        self.cancel(Timer::Probe);
        self.effects.push_back(Effect::ReleaseLock);
        self.broadcast(Peer::Bye { tab: self.tab.clone() });
    }

    /// Into the back/forward cache: a cached page must not hold the lock,
    /// or no other tab could lead until it is evicted.
    pub(super) fn suspend(&mut self) {
        if !self.sharing {
            return;
        }
        if self.role == Role::Leader {
            self.step_down("page suspended");
        }
        self.leave();
    }

    /// Back from the back/forward cache: join again.
    pub(super) fn resume(&mut self, now: f64) {
        if self.config.share.is_some() && !self.sharing && self.state != ConnectionState::Closed {
            self.join(now);
        }
    }

    pub(super) fn on_lock_granted(&mut self, now: f64, stored_epoch: u64) {
        if !self.sharing || self.role == Role::Leader {
            // Granted after this tab left: give it straight back.
            self.effects.push_back(Effect::ReleaseLock);
            return;
        }
        self.epoch = self.epoch.max(stored_epoch) + 1;
        self.role = Role::Leader;
        self.leader_known = true;
        self.unanswered_since = None;
        self.cancel(Timer::Probe);
        self.effects.push_back(Effect::Lead { epoch: self.epoch });
        self.outbox.requeue_in_flight();
        // Messages of tabs that died before a leader sent them, and of the
        // last leader's outbox, are in storage.
        self.effects.push_back(Effect::Rescan);
        self.subscriptions.clear();
        let (tab, channels) = (self.tab.clone(), self.channels.clone());
        self.subscriptions.set(&tab, &channels);
        self.emit(Event::Role(Role::Leader));
        self.failures = 0;
        if self.online {
            self.begin_attempt(now);
        } else {
            self.set_state(ConnectionState::Offline, None);
        }
        self.announce();
    }

    /// The lock was taken by a tab that found this one unresponsive.
    pub(super) fn on_lock_lost(&mut self, now: f64) {
        if self.role != Role::Leader || !self.sharing {
            return;
        }
        self.step_down("another tab leads");
        self.effects.push_back(Effect::RequestLock { steal: false });
        self.probe(now);
    }

    /// Leaves the socket to the next leader: closes it at once, without
    /// sending anything more, and keeps only this tab's own messages.
    fn step_down(&mut self, reason: &str) {
        self.role = Role::Follower;
        self.leader_known = false;
        self.cancel_all_timers();
        let info = CloseInfo {
            code: LEAD_LOST_CLOSE_CODE,
            reason: reason.to_owned(),
            clean: true,
            will_reconnect: true,
        };
        self.discard_socket(&info);
        self.outbox.retain_own();
        self.subscriptions.clear();
        self.set_state(ConnectionState::Connecting, None);
        self.emit(Event::Role(Role::Follower));
    }

    /// A visible follower asks the leader whether it is alive; one that got
    /// no answer for `steal_after_ms` takes the lock.
    pub(super) fn probe(&mut self, now: f64) {
        let Some(share) = self.config.share.clone() else { return };
        if !self.sharing || self.role != Role::Follower || !self.visible {
            return;
        }
        match self.unanswered_since {
            Some(since) if now - since >= share.steal_after_ms => {
                self.unanswered_since = None;
                self.effects.push_back(Effect::RequestLock { steal: true });
            }
            Some(_) => self.hello(),
            None => {
                self.unanswered_since = Some(now);
                self.hello();
            }
        }
        self.arm(Timer::Probe, now + share.probe_interval_ms);
    }

    pub(super) fn on_hidden(&mut self) {
        self.visible = false;
        self.unanswered_since = None;
        self.cancel(Timer::Probe);
    }

    pub(super) fn on_peer(&mut self, now: f64, peer: Peer<P>) {
        if !self.sharing {
            return;
        }
        match peer {
            Peer::Announce { epoch, tab, state, tabs } => self.on_announce(now, epoch, tab, state, tabs),
            Peer::Event { epoch, event } => {
                if self.heard_leader(now, epoch) {
                    self.on_leader_event(event);
                }
            }
            Peer::Done { epoch, id, outcome } => {
                // A leader that was done with a message is right about it,
                // even if it has been replaced since.
                self.heard_leader(now, epoch);
                self.on_done(id, outcome);
            }
            Peer::Hello { tab, channels, offsets } => {
                if self.role == Role::Leader {
                    let behind = self.behind_on_joined_channels(&tab, &channels, &offsets);
                    self.subscriptions.set_offsets(&tab, &offsets);
                    self.on_hello(tab, channels);
                    for (channel, since) in behind {
                        self.replay_for_tab(channel, since);
                    }
                }
            }
            Peer::Bye { tab } => self.forget_tab(&tab),
            Peer::Relay { id, payload, created_ms } => {
                if self.role == Role::Leader {
                    self.adopt(id, payload, created_ms);
                }
            }
        }
    }

    fn on_announce(&mut self, now: f64, epoch: u64, tab: String, state: ConnectionState, tabs: u32) {
        if self.role == Role::Leader && epoch == self.epoch && tab == self.tab {
            return;
        }
        if self.heard_leader(now, epoch) {
            self.tabs_announced = tabs;
            self.mirror_state(state);
        }
    }

    /// How many tabs share the connection, this one included: as the
    /// leader knows them, or as it last announced them to a follower.
    pub fn tabs(&self) -> u32 {
        let tabs = match self.role {
            Role::Solo => 1,
            Role::Leader => u32::try_from(self.subscriptions.tab_count()).unwrap_or(u32::MAX),
            Role::Follower => self.tabs_announced,
        };
        tabs.max(1)
    }

    /// Sorts a message of a leader by its epoch. An older leader is stale
    /// (it was frozen, and another took over): it is reminded of the
    /// current one and ignored. A newer leader replaces the one known, and
    /// a leader that sees it was replaced steps down. Returns whether the
    /// message comes from the current leader.
    fn heard_leader(&mut self, now: f64, epoch: u64) -> bool {
        if epoch < self.epoch {
            if self.role == Role::Leader {
                self.announce();
            }
            return false;
        }
        if self.role == Role::Leader {
            if epoch == self.epoch {
                return false;
            }
            self.step_down("another tab leads");
            self.effects.push_back(Effect::RequestLock { steal: false });
        }
        self.unanswered_since = None;
        if epoch > self.epoch || !self.leader_known {
            self.epoch = epoch;
            self.leader_known = true;
            // A new leader knows nothing of this tab: tell it the channels
            // and hand it every message still waiting.
            self.hello();
            self.outbox.requeue_in_flight();
            self.flush_outbox();
        }
        if self.visible && self.timers[Timer::Probe.index()].is_none() {
            self.probe(now);
        }
        true
    }

    fn mirror_state(&mut self, state: ConnectionState) {
        if self.state != state {
            let change = StateChange { state, attempt: 0, retry_at_ms: None, close: None };
            self.on_leader_event(Event::State(change));
        }
    }

    fn on_leader_event(&mut self, event: Event<P>) {
        // The leader passes on the events of every tab's channels; one this
        // tab does not listen to concerns it not, and leaves no position.
        if event.channel().is_some_and(|channel| !self.channels.iter().any(|own| own == channel)) {
            return;
        }
        match event {
            Event::State(change) => {
                self.state = change.state;
                self.last_reported = Some((change.state, change.attempt));
                self.emit(Event::State(change));
            }
            Event::Message(payload) => {
                self.count_in(&payload);
                self.emit(Event::Message(payload));
            }
            Event::Publication { channel, offset, payload } => self.on_publication(channel, offset, payload),
            Event::Subscribed { channel, offset } => self.on_subscribed(channel, offset),
            Event::Gap { channel, since, from } => self.on_gap(channel, since, from),
            event => self.emit(event),
        }
    }

    /// A channel message, from the socket or the leader: delivered unless
    /// its offset shows it was already (a replay overlapping what came live).
    pub(super) fn on_publication(&mut self, channel: String, offset: Option<u64>, payload: P) {
        if self.skipped_until_replay(&channel, offset) {
            return;
        }
        if offset.is_some_and(|offset| !self.offsets.advance(&channel, offset)) {
            // Delivered here already, but perhaps a replay another tab asked
            // for: the tabs get it too, and each drops what it has.
            if self.role == Role::Leader && self.sharing {
                let event = Event::Publication { channel, offset, payload };
                self.broadcast(Peer::Event { epoch: self.epoch, event });
            }
            return;
        }
        self.count_in(&payload);
        self.emit(Event::Publication { channel, offset, payload });
    }

    /// A follower that joined `channel` from an offset behind the
    /// connection hears live messages before the replay the leader asks
    /// for (on its hello, or on the next connection: it resumes from the
    /// lowest offset of its tabs). One that leaves a hole after this tab's
    /// position comes again in that replay, so it is passed over rather
    /// than let the position jump past the replay. The first message
    /// without a hole (the replay has begun) or a `gap` ends the wait.
    fn skipped_until_replay(&mut self, channel: &str, offset: Option<u64>) -> bool {
        let (Some(offset), Some(last)) = (offset, self.offsets.get(channel)) else { return false };
        if !self.joining.iter().any(|joining| joining == channel) {
            return false;
        }
        if offset > last + 1 {
            return true;
        }
        self.joining.retain(|joining| joining != channel);
        false
    }

    /// Messages of `channel` were lost. When the server's history starts
    /// at or before an offset already delivered (it restarted, numbering
    /// from 1 again), the client's position goes back with it, or the
    /// replay that follows would be taken for repeats.
    pub(super) fn on_gap(&mut self, channel: String, since: u64, from: u64) {
        self.joining.retain(|joining| *joining != channel);
        if self.offsets.get(&channel).is_some_and(|last| from <= last) {
            self.offsets.rewind(&channel, from.saturating_sub(1));
        }
        self.emit(Event::Gap { channel, since, from });
    }

    /// A fresh subscription starts at the channel's newest offset; one that
    /// resumes keeps its own, the replay following.
    pub(super) fn on_subscribed(&mut self, channel: String, offset: u64) {
        self.offsets.note_if_unknown(&channel, offset);
        self.emit(Event::Subscribed { channel, offset });
    }

    /// The leader finished a relayed message; it leaves the outbox of the
    /// tab that sent it.
    fn on_done(&mut self, id: String, outcome: Outcome) {
        if let Some(entry) = self.outbox.remove(&id) {
            self.unpersist(&entry);
            self.report(id, outcome);
        }
    }

    /// The channels `tab` now listens to for the first time that the
    /// connection already subscribed to for other tabs, and where the tab
    /// wants to start from, when that is before where the connection is: a
    /// tab that subscribes with `since` after the leader must still get
    /// the history it asks for.
    fn behind_on_joined_channels(&self, tab: &str, channels: &[String], offsets: &[(String, u64)]) -> Vec<(String, u64)> {
        let before = self.subscriptions.channels_of(tab);
        offsets
            .iter()
            .filter(|(channel, offset)| {
                channels.contains(channel)
                    && !before.contains(channel)
                    && self.subscriptions.channels().any(|subscribed| subscribed == channel)
                    && self.offsets.get(channel).is_some_and(|last| *offset < last)
            })
            .cloned()
            .collect()
    }

    /// Asks the server again for what came after `since` on a subscribed
    /// channel. The replay reaches every tab; each drops what it has.
    fn replay_for_tab(&mut self, channel: String, since: u64) {
        if self.can_subscribe() {
            self.effects.push_back(Effect::SendSubscription { channel, subscribe: true, since: Some(since) });
        }
    }

    fn on_hello(&mut self, tab: String, channels: Vec<String>) {
        if !self.subscriptions.knows(&tab) {
            self.effects.push_back(Effect::WatchTab { tab: tab.clone() });
        }
        let change = self.subscriptions.set(&tab, &channels);
        self.apply(change);
        self.announce();
    }

    /// A tab left or died: its channels go, and its stored messages that
    /// never reached this leader are taken over.
    pub(super) fn forget_tab(&mut self, tab: &str) {
        if self.role != Role::Leader || !self.subscriptions.knows(tab) {
            return;
        }
        let change = self.subscriptions.remove(tab);
        self.apply(change);
        self.announce();
        if self.config.queue.durable {
            self.effects.push_back(Effect::Rescan);
        }
    }

    /// Takes a follower's message into the outbox, once.
    fn adopt(&mut self, id: String, payload: P, created_ms: f64) {
        if let Some(outcome) = self.finished.get(&id) {
            // Sent again to this leader after it was done: tell the owner.
            let outcome = outcome.clone();
            return self.broadcast_done(id, outcome);
        }
        if self.outbox.is_own(&id) {
            return;
        }
        if let Some(entry) = self.outbox.get_mut(&id) {
            // Found in storage by a rescan, and its tab is alive: that tab
            // reports on it.
            entry.relayed = true;
            return;
        }
        let stored = self.config.queue.durable;
        self.outbox.adopt(Entry { id, payload, created_ms, attempts: 0, in_flight: false, stored, relayed: true });
        if self.state == ConnectionState::Open {
            self.transmit(self.outbox.len() - 1);
        }
        self.arm_expiry_if_idle();
    }

    /// A relayed message left this leader's outbox: tell its owner.
    pub(super) fn broadcast_done(&mut self, id: String, outcome: Outcome) {
        self.finished.insert(id.clone(), outcome.clone());
        let epoch = self.epoch;
        self.broadcast(Peer::Done { epoch, id, outcome });
    }

    /// This tab's channels changed: the owner of the socket applies them,
    /// a follower tells the leader.
    pub(super) fn channels_changed(&mut self) {
        if self.owns_connection() {
            let (tab, channels) = (self.tab.clone(), self.channels.clone());
            let change = self.subscriptions.set(&tab, &channels);
            self.apply(change);
        } else if self.sharing {
            self.hello();
        }
    }

    /// Tells the server about a change of the union of channels.
    fn apply(&mut self, change: Change) {
        if !self.can_subscribe() {
            return;
        }
        for channel in change.subscribe {
            self.send_subscribe(channel);
        }
        for channel in change.unsubscribe {
            // Listening again later starts afresh, not where this left off.
            self.offsets.forget(&channel);
            self.effects.push_back(Effect::SendSubscription { channel, subscribe: false, since: None });
        }
    }

    /// On open: the server knows nothing of this connection's channels.
    pub(super) fn subscribe_all(&mut self) {
        if !self.can_subscribe() {
            return;
        }
        let channels: Vec<String> = self.subscriptions.channels().cloned().collect();
        for channel in channels {
            self.send_subscribe(channel);
        }
    }

    /// Subscribes, resuming after the last offset every tab listening to
    /// the channel has delivered (this one included): each tab drops the
    /// replayed messages it already has.
    fn send_subscribe(&mut self, channel: String) {
        let own = self.offsets.get(&channel);
        let since = match (own, self.subscriptions.lowest_offset(&channel)) {
            (Some(own), Some(lowest)) => Some(own.min(lowest)),
            (own, lowest) => own.or(lowest),
        };
        self.effects.push_back(Effect::SendSubscription { channel, subscribe: true, since });
    }

    /// Channels exist only in the tabwire protocol, on an open socket.
    fn can_subscribe(&self) -> bool {
        self.owns_connection() && self.state == ConnectionState::Open && self.acknowledged
    }

    fn hello(&mut self) {
        let (channels, offsets) = (self.channels.clone(), self.offsets.all());
        self.broadcast(Peer::Hello { tab: self.tab.clone(), channels, offsets });
    }

    fn announce(&mut self) {
        let (epoch, tab, state, tabs) = (self.epoch, self.tab.clone(), self.state, self.tabs());
        self.broadcast(Peer::Announce { epoch, tab, state, tabs });
    }

    fn broadcast(&mut self, peer: Peer<P>) {
        self.effects.push_back(Effect::Broadcast(peer));
    }
}
