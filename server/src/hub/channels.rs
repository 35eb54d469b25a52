//! Subscribing and publishing, and the fan-out of channel messages. The
//! [`Broker`] numbers and keeps the messages; it reaches the connections
//! through [`Subscribers`], which the hub is, and which hands each message
//! to the subscribers of its channel ([`Fanout`](super::fanout)) without
//! taking the hub's lock.

use std::collections::BTreeMap;
use std::sync::Weak;
use std::time::Instant;

use tokio::time::{interval, MissedTickBehavior};

use super::fanout::Subscriber;
use super::{Hub, Scope};
use crate::broker::{Broker, Published, Subscribed, Subscribers, Unavailable};
use crate::history::Since;

impl Hub {
    /// Lists the connection `id` among the subscribers of `channel` and
    /// counts the frame, then reads the channel from the broker. Listed
    /// first, the connection gets whatever is published meanwhile live if
    /// not in the snapshot: nothing falls between the two (see
    /// [`crate::broker`]).
    pub(super) async fn subscribe(
        &self,
        id: u64,
        subscriber: &Subscriber,
        channel: &str,
        since: Option<&Since>,
    ) -> Result<Subscribed, Unavailable> {
        self.state()
            .tags
            .entry(subscriber.tag.to_string())
            .or_default()
            .subscribe_frames += 1;
        self.fanout.add(id, channel, subscriber);
        match &self.broker {
            Broker::Memory(memory) => memory.snapshot(channel, since),
            Broker::Redis(redis) => redis.snapshot(channel, since).await,
        }
    }

    /// Takes the connection `id` (tagged `tag`) off the subscribers of
    /// `channel` and counts the frame.
    pub(super) fn unsubscribe(&self, id: u64, tag: &str, channel: &str) {
        self.state()
            .tags
            .entry(tag.to_owned())
            .or_default()
            .unsubscribe_frames += 1;
        self.fanout.remove(id, channel);
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
            // Gathered before the broker's locks are taken: the broker
            // takes the subscriber index's under a channel's own (in
            // `fan_out`), never the other way.
            let subscribed = self.fanout.channels();
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
        self.fanout.counts(|tag| scope.matches(tag))
    }

    /// How many subscriptions the live connections hold, over how many
    /// channels.
    pub fn subscription_totals(&self) -> (usize, usize) {
        self.fanout.totals()
    }
}

impl Subscribers for Hub {
    /// Queues the message `offset` of `channel` for this server's
    /// connections subscribed to it; returns how many took it.
    fn fan_out(&self, channel: &str, offset: u64, data: &str) -> usize {
        self.fanout.send(channel, offset, data)
    }

    /// Closes every connection that subscribes to a channel, with `code`:
    /// they get back what they missed by resuming from their offsets on
    /// their next connection.
    fn close_subscribers(&self, code: u16, reason: &str) {
        self.fanout.close_all(code, reason);
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
