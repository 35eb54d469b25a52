//! Subscribing and publishing, and the fan-out of channel messages. The
//! [`Broker`] numbers and keeps the messages; it reaches the connections
//! through [`Subscribers`], which the hub is, and which hands each message
//! to the subscribers of its channel ([`Fanout`](super::fanout)) without
//! taking the hub's lock.

use std::collections::BTreeMap;

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
            Broker::Memory(memory) => Ok(memory.snapshot(channel, since)),
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
        match &self.broker {
            Broker::Memory(memory) => Ok(memory.publish(channel, data, self)),
            Broker::Redis(redis) => redis
                .publish(channel, data, None)
                .await?
                .ok_or_else(|| Unavailable("channel broker: publication lost".to_owned())),
        }
    }

    /// How many connections in `scope` are subscribed to each channel.
    pub fn subscriptions(&self, scope: Scope<'_>) -> BTreeMap<String, usize> {
        self.fanout.counts(|tag| scope.matches(tag))
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

    fn log(&self, message: std::fmt::Arguments<'_>) {
        Hub::log(self, message);
    }
}
