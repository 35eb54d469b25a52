//! Which connections listen to which channels, kept per channel, so that a
//! publication touches its own channel's subscribers only: it queues its
//! frame in each one's [`Outbound`] under a read lock of this index, which
//! publications share, and never under the hub's lock. Subscribing and
//! unsubscribing take the write lock for a moment.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use super::outbound::{Outbound, Publication};
use crate::protocol::publication;

/// One connection listening to a channel.
#[derive(Debug, Clone)]
pub struct Subscriber {
    /// The connection's tag, for the control API's counts.
    pub tag: Arc<str>,
    pub outbound: Arc<Outbound>,
}

/// See the module.
#[derive(Debug, Default)]
pub struct Fanout {
    index: RwLock<Index>,
}

#[derive(Debug, Default)]
struct Index {
    /// Channel → the connections listening to it, by id.
    channels: HashMap<String, HashMap<u64, Subscriber>>,
    /// Connection id → its channels, to unlist a connection at once.
    connections: HashMap<u64, HashSet<String>>,
}

impl Fanout {
    /// A panic elsewhere while holding the lock leaves the index usable.
    fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection `id` gets the messages of `channel` from now on
    /// (again, if it already did).
    pub fn add(&self, id: u64, channel: &str, subscriber: &Subscriber) {
        let mut index = self.write();
        index
            .channels
            .entry(channel.to_owned())
            .or_default()
            .insert(id, subscriber.clone());
        index
            .connections
            .entry(id)
            .or_default()
            .insert(channel.to_owned());
    }

    /// The connection `id` no longer gets the messages of `channel`.
    pub fn remove(&self, id: u64, channel: &str) {
        let mut index = self.write();
        if let Some(channels) = index.connections.get_mut(&id) {
            channels.remove(channel);
            if channels.is_empty() {
                index.connections.remove(&id);
            }
        }
        index.forget(id, channel);
    }

    /// The connection `id` no longer gets any channel's messages.
    pub fn remove_connection(&self, id: u64) {
        let mut index = self.write();
        for channel in index.connections.remove(&id).unwrap_or_default() {
            index.forget(id, &channel);
        }
    }

    /// Queues the message `offset` of `channel` for its subscribers;
    /// returns how many took it (one that is closing, or whose queue is
    /// full, does not).
    pub fn send(&self, channel: &str, offset: u64, data: &str) -> usize {
        let index = self.read();
        let Some(subscribers) = index.channels.get(channel) else {
            return 0;
        };
        let message = Publication {
            channel: Arc::from(channel),
            offset,
            frame: Arc::from(publication(channel, offset, data)),
            taken: Instant::now(),
        };
        subscribers
            .values()
            .filter(|subscriber| subscriber.outbound.push(&message))
            .count()
    }

    /// Closes every connection listening to a channel, with `code` and
    /// `reason`.
    pub fn close_all(&self, code: u16, reason: &str) {
        let index = self.read();
        let mut closed = HashSet::new();
        for subscribers in index.channels.values() {
            for (id, subscriber) in subscribers {
                if closed.insert(*id) {
                    subscriber.outbound.close(code, reason);
                }
            }
        }
    }

    /// How many connections whose tag `counted` accepts listen to each
    /// channel.
    pub fn counts(&self, counted: impl Fn(&str) -> bool) -> BTreeMap<String, usize> {
        let index = self.read();
        let mut counts = BTreeMap::new();
        for (channel, subscribers) in &index.channels {
            let count = subscribers
                .values()
                .filter(|subscriber| counted(&subscriber.tag))
                .count();
            if count > 0 {
                counts.insert(channel.clone(), count);
            }
        }
        counts
    }

    /// The channels someone listens to.
    pub fn channels(&self) -> HashSet<String> {
        self.read().channels.keys().cloned().collect()
    }

    /// How many subscriptions the connections hold, over how many
    /// channels.
    pub fn totals(&self) -> (usize, usize) {
        let index = self.read();
        let subscriptions = index.channels.values().map(HashMap::len).sum();
        (subscriptions, index.channels.len())
    }
}

impl Index {
    /// Takes the connection `id` off the list of `channel`, and the
    /// channel off the index once nobody listens to it.
    fn forget(&mut self, id: u64, channel: &str) {
        if let Some(subscribers) = self.channels.get_mut(channel) {
            subscribers.remove(&id);
            if subscribers.is_empty() {
                self.channels.remove(channel);
            }
        }
    }
}
