//! The machine's part in sharing one connection among tabs: joining,
//! taking and losing the lead, relaying messages through the leader,
//! watching a leader that may be frozen, and counting subscriptions.

use super::Machine;
use crate::core::effect::{Effect, Timer};
use crate::core::event::{CloseInfo, Event, StateChange};
use crate::core::outbox::Entry;
use crate::core::share::{Outcome, Peer, Role};
use crate::core::state::ConnectionState;
use crate::core::transport::Transport;
use crate::core::mode::Mode;
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
            Peer::Announce { epoch, tab, state, tabs, open } => self.on_announce(now, epoch, tab, state, tabs, open),
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
            Peer::Hello { tab, channels, positions } => {
                if self.role == Role::Leader {
                    let behind = self.behind_on_joined_channels(&tab, &channels, &positions);
                    self.subscriptions.set_positions(&tab, &positions);
                    self.on_tab_hello(tab, channels);
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

    fn on_announce(
        &mut self,
        now: f64,
        epoch: u64,
        tab: String,
        state: ConnectionState,
        tabs: u32,
        open: Option<(Mode, Transport)>,
    ) {
        if self.role == Role::Leader && epoch == self.epoch && tab == self.tab {
            return;
        }
        if !self.heard_leader(now, epoch) {
            return;
        }
        self.tabs_announced = tabs;
        let opens_here = state == ConnectionState::Open && self.state != ConnectionState::Open;
        self.mirror_state(state);
        match open {
            // A tab that joins an open connection hears of it as if it
            // had seen it open.
            Some((mode, transport)) if opens_here => {
                self.on_leader_event(Event::Open { attempt: 0, mode, transport })
            }
            Some((mode, transport)) => {
                self.mode = Some(mode);
                self.open_transport = Some(transport);
            }
            None => {}
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
            Event::Publication {
                channel,
                offset,
                epoch,
                payload,
            } => self.on_publication(channel, offset, epoch, payload),
            Event::Subscribed {
                channel,
                offset,
                epoch,
            } => self.on_subscribed(channel, offset, epoch),
            Event::Gap {
                channel,
                since,
                from,
                reason,
                epoch,
            } => self.on_gap(channel, since, from, reason, epoch),
            Event::Open {
                attempt,
                mode,
                transport,
            } => {
                self.mode = Some(mode);
                self.open_transport = Some(transport);
                self.emit(Event::Open {
                    attempt,
                    mode,
                    transport,
                });
            }
            Event::Close(info) => {
                self.mode = None;
                self.open_transport = None;
                self.emit(Event::Close(info));
            }
            event => self.emit(event),
        }
    }

    /// The leader finished a relayed message; it leaves the outbox of the
    /// tab that sent it.
    fn on_done(&mut self, id: String, outcome: Outcome) {
        if let Some(entry) = self.outbox.remove(&id) {
            self.unpersist(&entry);
            self.report(id, outcome);
        }
    }

    fn on_tab_hello(&mut self, tab: String, channels: Vec<String>) {
        if !self.subscriptions.knows(&tab) {
            self.effects.push_back(Effect::WatchTab { tab: tab.clone() });
            // A tab new to this leader may be the reload of one that left
            // messages in storage without handing them in (it knew no
            // leader, or this one never heard of it): they go out before
            // anything the new page load relays, keeping its order.
            self.rescan_storage();
        }
        let change = self.subscriptions.set(&tab, &channels);
        self.apply(change);
        self.announce();
    }

    /// A tab left or died: its channels go, and its stored messages that
    /// never reached this leader are taken over, even from a tab this
    /// leader never heard of (it left before it knew a leader).
    pub(super) fn forget_tab(&mut self, tab: &str) {
        if self.role != Role::Leader {
            return;
        }
        if self.subscriptions.knows(tab) {
            let change = self.subscriptions.remove(tab);
            self.apply(change);
            self.announce();
        }
        self.rescan_storage();
    }

    /// Takes over what storage holds that this leader does not.
    fn rescan_storage(&mut self) {
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

    pub(super) fn hello(&mut self) {
        let (channels, positions) = (self.channels.clone(), self.positions.all());
        self.broadcast(Peer::Hello { tab: self.tab.clone(), channels, positions });
    }

    fn announce(&mut self) {
        let (epoch, tab, state, tabs) = (self.epoch, self.tab.clone(), self.state, self.tabs());
        let open = self.mode.zip(self.open_transport);
        self.broadcast(Peer::Announce { epoch, tab, state, tabs, open });
    }

    pub(super) fn broadcast(&mut self, peer: Peer<P>) {
        self.effects.push_back(Effect::Broadcast(peer));
    }
}
