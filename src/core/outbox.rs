//! Messages that are not delivered yet, oldest first.
//!
//! Every message handed to `send` gets an id and an entry here. In raw mode
//! the entry leaves once a socket took the frame; with the tabwire protocol
//! it leaves only when the server acknowledges its id, so a frame lost with
//! a dying socket is sent again after the reconnect.

use std::collections::VecDeque;

use super::id_hash::IdSet;
use super::Payload;

/// Width of the sequence number in ids, so that ids sort in send order.
const SEQ_WIDTH: usize = 8;

/// The longest message id a server takes (see docs/PROTOCOL.md).
pub const MAX_ID_BYTES: usize = 128;

/// Whether `id` can be a message id: 1 to [`MAX_ID_BYTES`] bytes of
/// `[0-9A-Za-z_.:-]`. Tabwire's own ids (`<time>-<tab>-<sequence>`) are;
/// an id another tab hands over goes into this tab's frames, so nothing
/// else is taken.
pub fn is_message_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b':' | b'-'))
}

/// Why the outbox refused a new message. Nothing already in it is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    TooManyMessages { max_messages: usize },
    TooManyBytes { max_bytes: usize, size: usize },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry<P> {
    pub id: String,
    pub payload: P,
    /// Machine clock; negative for messages of earlier page loads.
    pub created_ms: f64,
    /// How many times a socket took it.
    pub attempts: u32,
    /// Sent on the current connection, waiting for its acknowledgement.
    pub in_flight: bool,
    /// Written to storage (false in memory mode or after a storage failure).
    pub stored: bool,
    /// Handed over by a live tab that reports on it itself: a leader sends
    /// it, but neither lists it as its own nor reports its ack or expiry.
    pub relayed: bool,
}

/// An entry read back from storage.
#[derive(Clone, Debug, PartialEq)]
pub struct Restored<P> {
    pub id: String,
    pub payload: P,
    pub created_ms: f64,
    pub attempts: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub max_messages: usize,
    pub max_bytes: usize,
}

#[derive(Debug)]
pub struct Outbox<P> {
    entries: VecDeque<Entry<P>>,
    bytes: usize,
    limits: Limits,
    /// Prefix of this page load's ids: unique across tabs and reloads.
    id_prefix: String,
    next_seq: u64,
}

impl<P: Payload> Outbox<P> {
    pub fn new(limits: Limits, id_prefix: String) -> Self {
        Outbox { entries: VecDeque::new(), bytes: 0, limits, id_prefix, next_seq: 0 }
    }

    /// Whether a message of `size` fits; a message larger than the whole
    /// byte limit never does.
    pub fn admit(&self, size: usize) -> Result<(), Refusal> {
        if self.entries.len() >= self.limits.max_messages {
            return Err(Refusal::TooManyMessages { max_messages: self.limits.max_messages });
        }
        if self.bytes + size > self.limits.max_bytes {
            return Err(Refusal::TooManyBytes { max_bytes: self.limits.max_bytes, size });
        }
        Ok(())
    }

    /// Appends a message with the next id and returns that id.
    pub fn push(&mut self, payload: P, now: f64, stored: bool) -> String {
        self.next_seq += 1;
        let id = format!("{}{:0width$}", self.id_prefix, self.next_seq, width = SEQ_WIDTH);
        self.bytes += payload.size();
        self.entries.push_back(Entry {
            id: id.clone(),
            payload,
            created_ms: now,
            attempts: 0,
            in_flight: false,
            stored,
            relayed: false,
        });
        id
    }

    /// Puts messages of earlier page loads, already in their order, before
    /// everything sent since. Limits do not apply: nothing stored is dropped.
    pub fn restore(&mut self, restored: Vec<Restored<P>>) {
        let mut known: IdSet = self.entries.iter().map(|e| e.id.clone()).collect();
        let mut older = VecDeque::with_capacity(restored.len() + self.entries.len());
        for item in restored {
            if !known.insert(item.id.clone()) {
                continue;
            }
            self.bytes += item.payload.size();
            older.push_back(Entry {
                id: item.id,
                payload: item.payload,
                created_ms: item.created_ms,
                attempts: item.attempts,
                in_flight: false,
                stored: true,
                relayed: false,
            });
        }
        older.extend(self.entries.drain(..));
        self.entries = older;
    }

    /// Takes over a message another tab created, after everything else.
    /// Limits do not apply: the owner admitted it already.
    pub fn adopt(&mut self, entry: Entry<P>) {
        self.bytes += entry.payload.size();
        self.entries.push_back(entry);
    }

    /// Whether this page load created the message `id`.
    pub fn is_own(&self, id: &str) -> bool {
        id.starts_with(&self.id_prefix)
    }

    /// Keeps only this page load's messages (a leader stepping down hands
    /// the others back to their owners and the next leader).
    pub fn retain_own(&mut self) {
        let prefix = &self.id_prefix;
        self.entries.retain(|entry| entry.id.starts_with(prefix.as_str()));
        self.bytes = self.entries.iter().map(|e| e.payload.size()).sum();
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Entry<P>> {
        self.position(id).map(|index| &mut self.entries[index])
    }

    /// The entry at `index` in send order (a flush walks them by index:
    /// looking each up by id would make a flush quadratic).
    pub fn at_mut(&mut self, index: usize) -> Option<&mut Entry<P>> {
        self.entries.get_mut(index)
    }

    pub fn remove(&mut self, id: &str) -> Option<Entry<P>> {
        self.remove_at(self.position(id)?)
    }

    pub fn remove_at(&mut self, index: usize) -> Option<Entry<P>> {
        let entry = self.entries.remove(index)?;
        self.bytes -= entry.payload.size();
        Some(entry)
    }

    /// After a connection ended: what was in flight must be sent again.
    pub fn requeue_in_flight(&mut self) {
        for entry in &mut self.entries {
            entry.in_flight = false;
        }
    }

    /// Removes every message created at or before `cutoff_ms`.
    pub fn expire(&mut self, cutoff_ms: f64) -> Vec<Entry<P>> {
        let (expired, kept): (Vec<_>, Vec<_>) = self.entries.drain(..).partition(|e| e.created_ms <= cutoff_ms);
        self.entries = kept.into();
        self.bytes = self.entries.iter().map(|e| e.payload.size()).sum();
        expired
    }

    pub fn clear(&mut self) -> Vec<Entry<P>> {
        self.bytes = 0;
        self.entries.drain(..).collect()
    }

    pub fn oldest_created_ms(&self) -> Option<f64> {
        self.entries.iter().map(|e| e.created_ms).min_by(f64::total_cmp)
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry<P>> {
        self.entries.iter()
    }

    /// The messages this tab reports on (all but the relayed ones).
    pub fn reported(&self) -> impl Iterator<Item = &Entry<P>> {
        self.entries.iter().filter(|entry| !entry.relayed)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Most lookups are of the oldest messages (acks come in order).
    fn position(&self, id: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.id == id)
    }
}
