//! Which connections subscribe to which channels, and the fan-out of
//! channel messages to them. The [`Broker`] numbers and keeps the messages;
//! it reaches the connections through [`Subscribers`], which the hub is.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Instant;

use tokio::time::{interval, MissedTickBehavior};

use super::{Command, Hub, Order, Scope};
use crate::broker::{Broker, Published, Subscribed, Subscribers, Unavailable};
use crate::history::Since;
use crate::protocol::publication;

impl Hub {
    /// Adds `channel` to the channels of the connection `id` and counts the
    /// frame, then reads the channel from the broker. Listed first, the
    /// connection gets whatever is published meanwhile live if not in the
    /// snapshot: nothing falls between the two (see [`crate::broker`]).
    pub(super) async fn subscribe(
        &self,
        id: u64,
        channel: &str,
        since: Option<&Since>,
    ) -> Result<Subscribed, Unavailable> {
        {
            let mut guard = self.state();
            let state = &mut *guard;
            if let Some(live) = state.connections.get_mut(&id) {
                live.channels.insert(channel.to_owned());
                state
                    .tags
                    .entry(live.tag.clone())
                    .or_default()
                    .subscribe_frames += 1;
            }
        }
        match &self.broker {
            Broker::Memory(memory) => memory.snapshot(channel, since),
            Broker::Redis(redis) => redis.snapshot(channel, since).await,
        }
    }

    /// Removes `channel` from the channels of the connection `id` and
    /// counts the frame.
    pub(super) fn unsubscribe(&self, id: u64, channel: &str) {
        let mut guard = self.state();
        let state = &mut *guard;
        if let Some(live) = state.connections.get_mut(&id) {
            live.channels.remove(channel);
            state
                .tags
                .entry(live.tag.clone())
                .or_default()
                .unsubscribe_frames += 1;
        }
    }

    /// Keeps `data` (JSON text) in the history of `channel` under its next
    /// offset and sends it to every connection subscribed to the channel,
    /// on this server and, with Redis, on every other.
    pub async fn publish(&self, channel: &str, data: &str) -> Result<Published, Unavailable> {
        let published = match &self.broker {
            Broker::Memory(memory) => memory.publish(channel, data, self, || ((), true))?.1,
            Broker::Redis(redis) => redis.publish(channel, data, None).await?,
        };
        published.ok_or_else(|| Unavailable("channel broker: publication lost".to_owned()))
    }

    /// Forgets the channels kept in memory that were unused for the
    /// history's longest age, as of `now` (see
    /// [`Memory`](crate::broker::Memory)); Redis keeps its own.
    pub fn forget_idle_channels(&self, now: Instant) {
        if let Broker::Memory(memory) = &self.broker {
            // Gathered before the broker's lock is taken: the broker takes
            // the hub's under its own (in `fan_out`), never the other way.
            let subscribed: HashSet<String> = self
                .state()
                .connections
                .values()
                .flat_map(|live| live.channels.iter().cloned())
                .collect();
            memory.forget_idle(&subscribed, now);
        }
    }

    /// How many channels this server keeps in memory; `None` with Redis.
    pub fn kept_channels(&self) -> Option<usize> {
        match &self.broker {
            Broker::Memory(memory) => Some(memory.kept()),
            Broker::Redis(_) => None,
        }
    }

    /// How many connections in `scope` are subscribed to each channel.
    pub fn subscriptions(&self, scope: Scope<'_>) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for live in self.state().connections.values() {
            if scope.matches(&live.tag) {
                for channel in &live.channels {
                    *counts.entry(channel.clone()).or_default() += 1;
                }
            }
        }
        counts
    }

    /// How many subscriptions the live connections hold, over how many
    /// channels.
    pub fn subscription_totals(&self) -> (usize, usize) {
        let state = self.state();
        let mut channels = HashSet::new();
        let mut subscriptions = 0;
        for live in state.connections.values() {
            subscriptions += live.channels.len();
            channels.extend(live.channels.iter().map(String::as_str));
        }
        (subscriptions, channels.len())
    }
}

impl Subscribers for Hub {
    /// Sends the message `offset` of `channel` to this server's connections
    /// subscribed to it; returns how many.
    fn fan_out(&self, channel: &str, offset: u64, data: &str) -> usize {
        let order = Order::Publication {
            channel: Arc::from(channel),
            offset,
            frame: Arc::from(publication(channel, offset, data)),
            taken: Instant::now(),
        };
        let state = self.state();
        let mut delivered = 0;
        for live in state.connections.values() {
            if live.channels.contains(channel) {
                let command = Command::new(order.clone());
                delivered += usize::from(live.commands.send(command).is_ok());
            }
        }
        delivered
    }

    /// Closes every connection that subscribes to a channel, with `code`:
    /// they get back what they missed by resuming from their offsets on
    /// their next connection.
    fn close_subscribers(&self, code: u16, reason: &str) {
        let mut state = self.state();
        state.connections.retain(|_, live| {
            if live.channels.is_empty() {
                return true;
            }
            let order = Order::Close {
                code,
                reason: reason.to_owned(),
            };
            let _ = live.commands.send(Command::new(order));
            false
        });
    }
}

/// Forgets the idle channels of `hub`'s memory broker
/// ([`Hub::forget_idle_channels`]) as often as it says, for as long as the
/// hub lives; with Redis, ends at once.
pub async fn forget_idle_channels(hub: Weak<Hub>) {
    let period = hub.upgrade().and_then(|hub| match &hub.broker {
        Broker::Memory(memory) => Some(memory.sweep_period()),
        Broker::Redis(_) => None,
    });
    let Some(period) = period else {
        return;
    };
    let mut ticks = interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(hub) = hub.upgrade() else {
            return;
        };
        hub.forget_idle_channels(Instant::now());
    }
}
