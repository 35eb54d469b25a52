//! Channels kept in this process (no `--redis`): a history per channel,
//! bounded in count (`--max-channels`) and forgotten once idle.
//!
//! A channel is *used* when a message is published to it, when a
//! connection subscribes to it, and for as long as any connection stays
//! subscribed (seen by each [`Memory::forget_idle`]). One unused for the
//! history's longest age holds no message a subscriber could still get:
//! it is forgotten, and its next history starts anew under another epoch,
//! which a client resuming from the old one is told of (a `reset` gap).
//! Without this, every channel name ever subscribed or published to would
//! be kept for the life of the process.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{Published, Reach, Subscribed, Subscribers, Unavailable};
use crate::history::{History, HistoryLimits, Since};

/// Most often idle channels are looked for, whatever the history's age.
const QUICKEST_SWEEP: Duration = Duration::from_millis(100);
/// Least often: a channel outlives its age by two of these at most.
const SLOWEST_SWEEP: Duration = Duration::from_secs(60);

/// Channels kept in this process.
#[derive(Debug)]
pub struct Memory {
    limits: HistoryLimits,
    /// Held only to find, add or forget a channel: each history has a lock
    /// of its own, so that channels publish side by side.
    channels: Mutex<HashMap<String, Channel>>,
}

#[derive(Debug)]
struct Channel {
    history: Arc<Mutex<History>>,
    /// When it was last published to, subscribed to, or found subscribed.
    used: Instant,
}

/// A panic elsewhere while holding a lock leaves what it guards usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Memory {
    pub fn new(limits: HistoryLimits) -> Self {
        Memory {
            limits,
            channels: Mutex::new(HashMap::new()),
        }
    }

    /// The history of the channel `name`, used `now`; a new one if there is
    /// room for it.
    fn used(&self, name: &str, now: Instant) -> Result<Arc<Mutex<History>>, Unavailable> {
        let mut channels = lock(&self.channels);
        let full = channels.len() >= self.limits.max_channels;
        let channel = match channels.entry(name.to_owned()) {
            Entry::Occupied(kept) => kept.into_mut(),
            Entry::Vacant(_) if full => {
                return Err(Unavailable(format!(
                    "channel broker (memory): {} channels kept already (--max-channels)",
                    self.limits.max_channels
                )))
            }
            Entry::Vacant(new) => new.insert(Channel {
                history: Arc::new(Mutex::new(History::new(self.limits))),
                used: now,
            }),
        };
        channel.used = now;
        Ok(Arc::clone(&channel.history))
    }

    /// Publishes `data` to `channel` if `judge` says so: it is asked once
    /// the channel is known to have room (so a message refused for want of
    /// it is not taken as handled), and returns its verdict and whether to
    /// publish. Publishing keeps the message under the channel's next
    /// offset and hands it to the subscribers, all under the channel's
    /// lock, so that two publications of one channel reach subscribers in
    /// offset order.
    pub fn publish<J>(
        &self,
        channel: &str,
        data: &str,
        subscribers: &dyn Subscribers,
        judge: impl FnOnce() -> (J, bool),
    ) -> Result<(J, Option<Published>), Unavailable> {
        let history = self.used(channel, Instant::now())?;
        let mut history = lock(&history);
        let (verdict, publish) = judge();
        if !publish {
            return Ok((verdict, None));
        }
        let offset = history.push(data.to_owned(), Instant::now());
        let delivered = subscribers.fan_out(channel, offset, data);
        let published = Published {
            offset,
            reach: Reach::Subscribers(delivered),
        };
        Ok((verdict, Some(published)))
    }

    /// The channel's newest offset and epoch, and what came after `since`.
    pub fn snapshot(
        &self,
        channel: &str,
        since: Option<&Since>,
    ) -> Result<Subscribed, Unavailable> {
        let history = self.used(channel, Instant::now())?;
        let mut history = lock(&history);
        Ok(Subscribed {
            offset: history.last(),
            epoch: history.epoch().to_owned(),
            replay: since.map(|since| history.since(since, Instant::now())),
        })
    }

    /// Forgets the channels unused for longer than the history's longest
    /// age, `subscribed` naming those with subscribers now, which are used;
    /// the channels kept drop their messages past that age, each under its
    /// own lock once the map's is let go.
    pub fn forget_idle(&self, subscribed: &HashSet<String>, now: Instant) {
        let kept: Vec<Arc<Mutex<History>>> = {
            let mut channels = lock(&self.channels);
            channels.retain(|name, channel| {
                if subscribed.contains(name) {
                    channel.used = now;
                }
                now.saturating_duration_since(channel.used) <= self.limits.max_age
            });
            channels
                .values()
                .map(|channel| Arc::clone(&channel.history))
                .collect()
        };
        for history in kept {
            lock(&history).trim(now);
        }
    }

    /// How often [`Memory::forget_idle`] is worth calling: twice per
    /// history age, within bounds.
    pub fn sweep_period(&self) -> Duration {
        (self.limits.max_age / 2).clamp(QUICKEST_SWEEP, SLOWEST_SWEEP)
    }

    /// How many channels are kept.
    pub fn kept(&self) -> usize {
        lock(&self.channels).len()
    }
}
