//! The rates of messages and bytes per user and per IP address, kept
//! across connections: one GCRA limiter (governor's) per rate, keyed by
//! the user or the address, so that reconnecting starts no one afresh and
//! spreading a flood over several connections gains nothing.
//!
//! A frame over a rate is refused with the time the exceeded limit takes
//! to refill its whole burst: a client that waits that long can send a
//! burst's worth again, rather than one frame before the next refusal.
//! Keys whose limiters have refilled are indistinguishable from new ones
//! and are forgotten every [`SWEEP_EVERY`], so the keyed state holds only
//! the users and addresses that sent within a burst's refill time (seconds
//! at the defaults) and one sweep period.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use tabwire::core::close_codes::retry_after_reason;

use super::{Limits, Rate};
use crate::dedupe::Sender;

/// How often the limiters forget the keys that have refilled.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// A frame over a rate: whose, and how long its limit takes to refill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// `user` or `IP`.
    pub per: &'static str,
    pub retry_after: Duration,
}

impl Refusal {
    /// The reason of the 4429 close: `rate limited per <who>; retry after
    /// <N> ms`, the wait rounded up to a whole millisecond (at least one),
    /// in the grammar of docs/PROTOCOL.md ("Limits").
    pub fn reason(&self) -> String {
        let ms = self.retry_after.as_nanos().div_ceil(1_000_000).max(1);
        let ms = u64::try_from(ms).unwrap_or(u64::MAX);
        retry_after_reason(&format!("rate limited per {}", self.per), ms)
    }
}

/// The limiters of one [`Rate`], keyed by `K`.
#[derive(Debug)]
struct Meter<K: Clone + Hash + Eq> {
    per: &'static str,
    messages: Keyed<K>,
    bytes: Keyed<K>,
    /// How long each takes to refill its burst.
    messages_refill: Duration,
    bytes_refill: Duration,
}

impl<K: Clone + Hash + Eq> Meter<K> {
    /// Rates of zero are taken as one; the byte burst as at least
    /// `max_frame_bytes` (see [`Rate::byte_burst`]).
    fn new(per: &'static str, rate: &Rate, max_frame_bytes: usize) -> Self {
        let max_frame_bytes = u32::try_from(max_frame_bytes).unwrap_or(u32::MAX);
        let messages = quota(rate.messages_per_second, rate.message_burst);
        let bytes = quota(rate.bytes_per_second, rate.byte_burst.max(max_frame_bytes));
        Meter {
            per,
            messages: RateLimiter::keyed(messages),
            bytes: RateLimiter::keyed(bytes),
            messages_refill: messages.burst_size_replenished_in(),
            bytes_refill: bytes.burst_size_replenished_in(),
        }
    }

    /// Counts one message of `size` bytes from `key`, unless it is over a
    /// limit (what it took of the other limit is not given back).
    fn take(&self, key: &K, size: usize) -> Result<(), Refusal> {
        if self.messages.check_key(key).is_err() {
            return Err(self.refusal(self.messages_refill));
        }
        let Some(size) = NonZeroU32::new(u32::try_from(size).unwrap_or(u32::MAX)) else {
            return Ok(());
        };
        // A message larger than the whole burst (`Err`) cannot come within
        // the size limit, which the burst is at least; refused all the same.
        match self.bytes.check_key_n(key, size) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(self.refusal(self.bytes_refill)),
        }
    }

    fn refusal(&self, retry_after: Duration) -> Refusal {
        Refusal {
            per: self.per,
            retry_after,
        }
    }

    /// Forgets the keys whose limiters have refilled.
    fn sweep(&self) {
        for limiter in [&self.messages, &self.bytes] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// How many keys the limiters hold.
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.messages.len() + self.bytes.len()
    }
}

/// `rate` a second with bursts of `burst`, zeros taken as ones.
fn quota(rate: u32, burst: u32) -> Quota {
    let one = NonZeroU32::MIN;
    Quota::per_second(NonZeroU32::new(rate).unwrap_or(one))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(one))
}

/// The rates of every user and every address of a server.
#[derive(Debug)]
pub struct Rates {
    per_user: Meter<Sender>,
    per_ip: Meter<IpAddr>,
}

impl Rates {
    pub fn new(limits: &Limits) -> Self {
        Rates {
            per_user: Meter::new("user", &limits.per_user, limits.max_frame_bytes),
            per_ip: Meter::new("IP", &limits.per_ip, limits.max_frame_bytes),
        }
    }

    /// Counts a message of `size` bytes that `user` sent from `ip`, unless
    /// it is over the user's rates or the address's.
    pub fn take(&self, user: &Sender, ip: IpAddr, size: usize) -> Result<(), Refusal> {
        self.per_user.take(user, size)?;
        self.per_ip.take(&ip, size)
    }

    /// Forgets the users and addresses whose limits have refilled.
    pub fn sweep(&self) {
        self.per_user.sweep();
        self.per_ip.sweep();
    }

    /// How many keys the limiters hold, over all of them.
    #[cfg(test)]
    pub fn keys(&self) -> usize {
        self.per_user.keys() + self.per_ip.keys()
    }
}

#[cfg(test)]
mod tests;
