//! The message side of the machine: what `send` does, how the outbox is
//! handed to a socket, acknowledged, stored, restored and expired.

use super::Machine;
use crate::core::effect::{Effect, Timer};
use crate::core::event::{Event, Failure};
use crate::core::mode::Mode;
use crate::core::outbox::{Entry, Refusal, Restored};
use crate::core::share::{Outcome, Peer};
use crate::core::state::ConnectionState;
use crate::core::Payload;

use super::{SendOutcome, Sent};

/// Why [`Machine::send`] did not take a message. Nothing already in the
/// outbox is dropped for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendRefusal {
    /// The outbox is full.
    QueueFull(Refusal),
    /// A publication, on a connection known to be raw.
    ProtocolRequired,
}

impl<P: Payload + Clone> Machine<P> {
    /// Sends now if the connection is open, otherwise keeps the message in
    /// the outbox (stored, when durable). A full outbox refuses the message
    /// (and reports an `error` event), as a raw connection refuses a
    /// publication; nothing already in the outbox is dropped.
    pub fn send(&mut self, now: f64, payload: P) -> Result<Sent, SendRefusal> {
        let open = self.state == ConnectionState::Open;
        let own_socket = self.owns_connection();
        if payload.needs_protocol() && self.mode == Some(Mode::Raw) {
            self.emit(Event::Error(Failure::ProtocolRequired { what: "publish()".to_owned() }));
            return Err(SendRefusal::ProtocolRequired);
        }
        // Without acknowledgements, a message sent at once never waits: it
        // neither counts against the limits nor is stored. A follower's
        // message waits until the leader reports it done.
        let passes_through = own_socket && open && self.mode == Some(Mode::Raw);
        if !passes_through {
            if let Err(refusal) = self.outbox.admit(payload.size()) {
                self.emit(Event::Error(Failure::QueueFull(refusal)));
                return Err(SendRefusal::QueueFull(refusal));
            }
        }
        let store = self.config.queue.durable && !passes_through;
        let id = self.outbox.push(payload.clone(), now, store);
        if store {
            self.effects.push_back(Effect::Persist { id: id.clone(), payload, created_ms: now, attempts: 0 });
        }
        if (own_socket && open) || (!own_socket && self.leader_known) {
            self.transmit(self.outbox.len() - 1);
        }
        let outcome = if open { SendOutcome::Sent } else { SendOutcome::Queued };
        self.arm_expiry_if_idle();
        Ok(Sent { id, outcome })
    }

    /// Starts the expiry clock for the first message that can expire.
    pub(super) fn arm_expiry_if_idle(&mut self) {
        if self.config.queue.ttl_ms.is_some() && self.timers[Timer::Expiry.index()].is_none() {
            self.arm_expiry();
        }
    }

    /// Drops every undelivered message; returns how many there were.
    pub fn clear_outbox(&mut self) -> usize {
        let cleared = self.outbox.clear();
        for entry in &cleared {
            self.unpersist(entry);
        }
        self.cancel(Timer::Expiry);
        cleared.len()
    }

    pub(super) fn restore(&mut self, now: f64, entries: Vec<Restored<P>>, skipped: Vec<(String, String)>) {
        for (key, reason) in skipped {
            self.emit(Event::Warning { key, reason });
        }
        self.outbox.restore(entries);
        if self.config.queue.ttl_ms.is_some() {
            self.expire(now);
        }
        // A leader's rescan (a tab left) finds what that tab never relayed:
        // it goes out now, not at the next connection.
        if self.owns_connection() && self.state == ConnectionState::Open {
            self.flush_outbox();
        }
    }

    pub(super) fn persist_failed(&mut self, id: String, message: String) {
        if let Some(entry) = self.outbox.get_mut(&id) {
            entry.stored = false;
            self.emit(Event::Error(Failure::StorageFailed { id, message }));
        }
    }

    /// Sends every message that waits, oldest first: on open, all of them
    /// (nothing is in flight before an open); after a rescan, those it found.
    pub(super) fn flush_outbox(&mut self) {
        let mut index = 0;
        while index < self.outbox.len() {
            let waiting = self.outbox.at_mut(index).is_some_and(|entry| !entry.in_flight);
            if !(waiting && self.transmit(index)) {
                index += 1;
            }
        }
    }

    pub(super) fn on_ack(&mut self, id: String) {
        // An ack of a message cleared or expired meanwhile changes nothing.
        if let Some(entry) = self.outbox.remove(&id) {
            self.unpersist(&entry);
            self.finish(entry, Outcome::Acknowledged);
        }
    }

    /// The server refused a message for good: keeping it would only send
    /// it again on every connection.
    pub(super) fn on_rejected(&mut self, id: String, code: String, message: String) {
        if let Some(entry) = self.outbox.remove(&id) {
            self.unpersist(&entry);
            self.finish(entry, Outcome::Rejected { code, message });
        }
    }

    /// Hands the outbox entry at `index` to the socket. With
    /// acknowledgements it stays (in flight) until its ack; without, the
    /// socket taking it is the end, and a publication stays, unsent, for a
    /// connection that speaks tabwire. A follower hands it to the leader
    /// and keeps it until the leader reports it done. Returns whether the
    /// entry left.
    pub(super) fn transmit(&mut self, index: usize) -> bool {
        let acknowledged = self.mode == Some(Mode::Tabwire);
        let own_socket = self.owns_connection();
        let Some(entry) = self.outbox.at_mut(index) else { return false };
        if own_socket && !acknowledged && entry.payload.needs_protocol() {
            return false;
        }
        if !own_socket {
            entry.in_flight = true;
            let relay = Peer::Relay { id: entry.id.clone(), payload: entry.payload.clone(), created_ms: entry.created_ms };
            self.effects.push_back(Effect::Broadcast(relay));
            return false;
        }
        entry.attempts += 1;
        entry.in_flight = true;
        let payload = entry.payload.clone();
        let id = entry.id.clone();
        // A resend updates the stored attempt count (a first send does not
        // rewrite the key it just wrote).
        if acknowledged && entry.stored && entry.attempts > 1 {
            let (created_ms, attempts) = (entry.created_ms, entry.attempts);
            self.effects.push_back(Effect::Persist { id: id.clone(), payload: payload.clone(), created_ms, attempts });
        }
        self.stats.messages_out += 1;
        self.stats.bytes_out += payload.size() as u64;
        if acknowledged {
            self.effects.push_back(Effect::SendMessage { id: Some(id), payload });
            return false;
        }
        self.effects.push_back(Effect::SendMessage { id: None, payload });
        if let Some(entry) = self.outbox.remove_at(index) {
            self.unpersist(&entry);
            self.finish(entry, Outcome::Taken);
        }
        true
    }

    /// A message left the outbox delivered. Another tab's message is
    /// reported to that tab (a stored one may have been found by a rescan
    /// while its tab still lives); the rest here.
    fn finish(&mut self, entry: Entry<P>, outcome: Outcome) {
        if !self.outbox.is_own(&entry.id) && self.sharing {
            self.broadcast_done(entry.id.clone(), outcome.clone());
        }
        if !entry.relayed {
            self.report(entry.id, outcome);
        }
    }

    /// A connection was taken for raw: say once what waits on it for a
    /// tabwire server (publications, kept in the outbox; channels, kept
    /// subscribed), if anything does.
    pub(super) fn report_waiting_protocol_work(&mut self) {
        let publications = self.outbox.entries().filter(|entry| entry.payload.needs_protocol()).count();
        let channels = self.subscriptions.channels().count();
        let what = match (channels, publications) {
            (0, 0) => return,
            (channels, 0) => format!("{channels} channel subscription(s)"),
            (0, publications) => format!("{publications} publication(s) in the outbox"),
            (channels, publications) => {
                format!("{channels} channel subscription(s) and {publications} publication(s) in the outbox")
            }
        };
        self.emit(Event::Error(Failure::ProtocolRequired { what }));
    }

    /// Tells the listeners of this tab how its message `id` ended.
    pub(super) fn report(&mut self, id: String, outcome: Outcome) {
        match outcome {
            Outcome::Acknowledged => self.emit(Event::Ack { id }),
            Outcome::Taken => {}
            Outcome::Rejected { code, message } => self.emit(Event::Rejected { id, code, message }),
        }
    }

    pub(super) fn unpersist(&mut self, entry: &Entry<P>) {
        if entry.stored {
            self.effects.push_back(Effect::Unpersist { id: entry.id.clone() });
        }
    }

    /// Drops the messages older than `queue.ttlMs` and arms the timer for
    /// the next one to reach it.
    pub(super) fn expire(&mut self, now: f64) {
        let Some(ttl) = self.config.queue.ttl_ms else { return };
        let expired = self.outbox.expire(now - ttl);
        for entry in &expired {
            self.unpersist(entry);
        }
        // A relayed message expires in its own tab too, which reports it.
        let ids: Vec<String> = expired.into_iter().filter(|entry| !entry.relayed).map(|entry| entry.id).collect();
        if !ids.is_empty() {
            self.emit(Event::Expired { ids });
        }
        self.arm_expiry();
    }

    fn arm_expiry(&mut self) {
        match (self.config.queue.ttl_ms, self.outbox.oldest_created_ms()) {
            (Some(ttl), Some(oldest)) => self.arm(Timer::Expiry, oldest + ttl),
            _ => self.cancel(Timer::Expiry),
        }
    }
}
