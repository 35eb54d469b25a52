//! Channels: what this tab listens to, the subscriptions the server is
//! told about (the union of every tab's, while this tab owns the socket),
//! and where each channel stands, so that a listener gets every message
//! once, in order, and hears of every loss.
//!
//! A position is an offset in a numbering, the channel's epoch. A server
//! whose history started anew (it restarted, or lost its data) names a new
//! epoch: the client resumes with its epoch, the server answers `gap` with
//! the reason `reset`, and the position goes back to the new numbering.
//! Never a silent skip: a subscription that names another epoch than this
//! tab's position without a `gap` for this tab (another tab's position was
//! the one sent) makes the next message start the new numbering, after a
//! `gap` event of its own.

use super::Machine;
use crate::core::effect::Effect;
use crate::core::event::{Event, Failure};
use crate::core::mode::Mode;
use crate::core::positions::{GapReason, Position};
use crate::core::share::{Peer, Role};
use crate::core::state::ConnectionState;
use crate::core::subscriptions::Change;
use crate::core::Payload;

impl<P: Payload + Clone> Machine<P> {
    /// This tab's first listener of `channel`, from after `since` if the
    /// application kept a position.
    pub(super) fn on_subscribe(&mut self, channel: String, since: Option<Position>) {
        if let Some(since) = since.clone() {
            self.positions.note_if_unknown(&channel, since);
        }
        if self.channels.contains(&channel) {
            return;
        }
        if self.mode == Some(Mode::Raw) {
            let what = format!("subscribe(\"{channel}\")");
            self.emit(Event::Error(Failure::ProtocolRequired { what }));
        }
        if since.is_some() && self.role == Role::Follower {
            self.joining.push(channel.clone());
        }
        self.channels.push(channel);
        self.channels_changed();
    }

    /// This tab's last listener of `channel` is gone.
    pub(super) fn on_unsubscribe(&mut self, channel: String) {
        self.joining.retain(|joining| *joining != channel);
        self.renumbered.retain(|(renumbered, _)| *renumbered != channel);
        if let Some(index) = self.channels.iter().position(|known| *known == channel) {
            self.channels.remove(index);
            self.channels_changed();
        }
    }

    /// A channel message, from the socket or the leader: delivered unless
    /// its offset shows it was already (a replay overlapping what came live).
    /// `numbering`: the epoch the leader delivered it in, which names this
    /// tab's position if nothing did yet (a tab that joined after the
    /// leader's subscription never heard its `subscribed`).
    pub(super) fn on_publication(&mut self, channel: String, offset: Option<u64>, numbering: Option<String>, payload: P) {
        if self.skipped_until_replay(&channel, offset) {
            return;
        }
        if let Some(offset) = offset {
            self.start_new_numbering_at(&channel, offset);
        }
        if offset.is_some_and(|offset| !self.positions.advance(&channel, offset)) {
            // Delivered here already, but perhaps a replay another tab asked
            // for: the tabs get it too, and each drops what it has.
            if self.role == Role::Leader && self.sharing {
                let epoch = self.positions.epoch(&channel).map(str::to_owned);
                let event = Event::Publication { channel, offset, epoch, payload };
                self.broadcast(Peer::Event { epoch: self.epoch, event });
            }
            return;
        }
        if let Some(numbering) = numbering {
            self.positions.name_epoch_if_unknown(&channel, &numbering);
        }
        self.count_in(&payload);
        let epoch = self.positions.epoch(&channel).map(str::to_owned);
        self.emit(Event::Publication { channel, offset, epoch, payload });
    }

    /// A follower that joined `channel` from an offset behind the
    /// connection hears live messages before the replay the leader asks
    /// for (on its hello, or on the next connection: it resumes from the
    /// lowest offset of its tabs). One that leaves a hole after this tab's
    /// position comes again in that replay, so it is passed over rather
    /// than let the position jump past the replay. The first message
    /// without a hole (the replay has begun) or a `gap` ends the wait.
    fn skipped_until_replay(&mut self, channel: &str, offset: Option<u64>) -> bool {
        let (Some(offset), Some(last)) = (offset, self.positions.offset(channel)) else { return false };
        if !self.joining.iter().any(|joining| joining == channel) {
            return false;
        }
        if offset > last + 1 {
            return true;
        }
        self.joining.retain(|joining| joining != channel);
        false
    }

    /// The server took a subscription. A fresh one starts at the channel's
    /// newest offset; one that resumes keeps its own, the replay following.
    /// Another epoch than this tab's position means the numbering started
    /// again: a `gap` follows if this tab's position was the one sent;
    /// otherwise the next message begins the new numbering.
    pub(super) fn on_subscribed(&mut self, channel: String, offset: u64, epoch: Option<String>) {
        let position = Position { offset, epoch: epoch.clone() };
        match (self.positions.epoch(&channel), epoch.as_deref()) {
            (Some(own), Some(named)) if own != named => {
                self.renumbered.retain(|(renumbered, _)| *renumbered != channel);
                self.renumbered.push((channel.clone(), named.to_owned()));
            }
            (None, Some(named)) => self.positions.name_epoch_if_unknown(&channel, named),
            _ => {}
        }
        self.positions.note_if_unknown(&channel, position);
        self.emit(Event::Subscribed { channel, offset, epoch });
    }

    /// Messages of `channel` were lost, as this tab sees it: after its own
    /// position, in its own numbering. A reset (another epoch, or a history
    /// that starts at or before an offset already delivered: a server
    /// without epochs that restarted) moves the position back into the new
    /// numbering, or the replay that follows would be taken for repeats. A
    /// tab that already has everything up to `from` lost nothing.
    pub(super) fn on_gap(&mut self, channel: String, since: u64, from: u64, reason: GapReason, epoch: Option<String>) {
        self.joining.retain(|joining| *joining != channel);
        self.renumbered.retain(|(renumbered, _)| *renumbered != channel);
        let own = self.positions.get(&channel).cloned().unwrap_or(Position { offset: since, epoch: None });
        let other_numbering = match (&own.epoch, &epoch) {
            (Some(own), Some(named)) => own != named,
            _ => reason == GapReason::Reset || from <= own.offset,
        };
        if !other_numbering && own.offset + 1 >= from {
            return;
        }
        let reason = if other_numbering { GapReason::Reset } else { reason };
        let epoch = epoch.or(own.epoch);
        self.positions.set(&channel, Position { offset: from.saturating_sub(1), epoch: epoch.clone() });
        self.emit(Event::Gap { channel, since: own.offset, from, reason, epoch });
    }

    /// The first message after a subscription that named another epoch
    /// than this tab's position, with no `gap` for this tab in between:
    /// its numbering starts here, and the loss is said before it.
    fn start_new_numbering_at(&mut self, channel: &str, offset: u64) {
        let Some(index) = self.renumbered.iter().position(|(renumbered, _)| renumbered == channel) else { return };
        let (_, epoch) = self.renumbered.remove(index);
        let own = self.positions.get(channel).cloned().unwrap_or(Position { offset: 0, epoch: None });
        let epoch = Some(epoch);
        self.positions.set(channel, Position { offset: offset.saturating_sub(1), epoch: epoch.clone() });
        let (channel, reason) = (channel.to_owned(), GapReason::Reset);
        self.emit(Event::Gap { channel, since: own.offset, from: offset, reason, epoch });
    }

    /// The channels `tab` now listens to for the first time that the
    /// connection already subscribed to for other tabs, and where the tab
    /// wants to start from, when that is before where the connection is: a
    /// tab that subscribes with `since` after the leader must still get
    /// the history it asks for.
    pub(super) fn behind_on_joined_channels(
        &self,
        tab: &str,
        channels: &[String],
        positions: &[(String, Position)],
    ) -> Vec<(String, Position)> {
        let before = self.subscriptions.channels_of(tab);
        positions
            .iter()
            .filter(|(channel, position)| {
                channels.contains(channel)
                    && !before.contains(channel)
                    && self.subscriptions.channels().any(|subscribed| subscribed == channel)
                    && self.positions.get(channel).is_some_and(|own| {
                        position.offset < own.offset || (position.epoch.is_some() && position.epoch != own.epoch)
                    })
            })
            .cloned()
            .collect()
    }

    /// Asks the server again for what came after `since` on a subscribed
    /// channel. The replay reaches every tab; each drops what it has.
    pub(super) fn replay_for_tab(&mut self, channel: String, since: Position) {
        if self.can_subscribe() {
            self.effects.push_back(Effect::SendSubscription { channel, subscribe: true, since: Some(since) });
        }
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
    pub(super) fn apply(&mut self, change: Change) {
        if !self.can_subscribe() {
            return;
        }
        for channel in change.subscribe {
            self.send_subscribe(channel);
        }
        for channel in change.unsubscribe {
            // Listening again later starts afresh, not where this left off.
            self.positions.forget(&channel);
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

    /// Subscribes, resuming after the lowest position of every tab
    /// listening to the channel (this one included): each tab drops the
    /// replayed messages it already has.
    fn send_subscribe(&mut self, channel: String) {
        let own = self.positions.get(&channel).cloned();
        let since = match (own, self.subscriptions.lowest_position(&channel)) {
            (Some(own), Some(lowest)) if lowest.offset < own.offset => Some(lowest),
            (own, lowest) => own.or(lowest),
        };
        self.effects.push_back(Effect::SendSubscription { channel, subscribe: true, since });
    }

    /// Channels exist only in the tabwire protocol, on an open socket.
    pub(super) fn can_subscribe(&self) -> bool {
        self.owns_connection() && self.state == ConnectionState::Open && self.mode == Some(Mode::Tabwire)
    }
}
