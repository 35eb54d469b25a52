//! The recent messages of one channel, with their offsets, so a client that
//! was away can ask for what it missed (`subscribe` with `since`).
//!
//! Offsets start at 1 and grow by one per message; the history keeps the
//! newest messages, bounded by count and by age. Each history is named by an
//! *epoch*, a random string drawn when it starts, so that a client coming
//! back with offsets of an earlier history (the server restarted, Redis lost
//! its data) is told so instead of getting the wrong messages. [`replay`]
//! decides what a returning client gets, for this in-memory history and for
//! the one a Redis stream keeps alike.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How much of each channel's past is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    /// Most messages kept per channel.
    pub max_messages: usize,
    /// Oldest message kept, in age.
    pub max_age: Duration,
    /// Most channels kept in memory at once (a Redis broker keeps its
    /// channels in Redis).
    pub max_channels: usize,
}

impl Default for HistoryLimits {
    /// A dashboard reloaded or reconnected within ten minutes misses nothing
    /// of a channel publishing up to one message every 0.6 s. A hundred
    /// thousand channels, most of them quiet, take some tens of MiB.
    fn default() -> Self {
        HistoryLimits {
            max_messages: 1_000,
            max_age: Duration::from_secs(600),
            max_channels: 100_000,
        }
    }
}

/// The recent messages of one channel, in memory.
#[derive(Debug)]
pub struct History {
    /// (offset, when published, the message's `data` as JSON text).
    entries: VecDeque<(u64, Instant, String)>,
    /// The offset of the newest message; 0 before the first.
    last: u64,
    /// Names this history: a new one for every history started anew.
    epoch: String,
    limits: HistoryLimits,
}

/// Where a returning subscriber resumes: after the message `offset` of the
/// history named `epoch` (if it says which).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since {
    pub offset: u64,
    pub epoch: Option<String>,
}

/// Why a returning subscriber cannot get every message after its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapReason {
    /// The history no longer keeps them (count or age limit).
    Trimmed,
    /// The history is not the one the subscriber knew (another epoch, or
    /// an offset beyond the newest): its offsets mean nothing here.
    Reset,
}

/// Messages lost to a returning subscriber; the replay starts at `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub from: u64,
    pub reason: GapReason,
}

/// What a client that saw messages up to `since` gets back.
#[derive(Debug, PartialEq, Eq)]
pub struct Replay {
    /// The messages it gets, oldest first: (offset, data).
    pub messages: Vec<(u64, String)>,
    /// The messages it cannot get, if any.
    pub gap: Option<Gap>,
}

/// A channel's history as a returning subscriber finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept<'a> {
    /// The newest offset (0 before the first message).
    pub newest: u64,
    /// The oldest offset still kept; `None` when none is.
    pub oldest: Option<u64>,
    pub epoch: &'a str,
}

/// Whether the subscriber's offsets belong to another history: it names
/// another epoch, or an offset beyond the newest (a history that restarted
/// without its client knowing the epoch). It then gets everything kept.
/// The Redis snapshot script applies the same rule to choose what it reads.
pub fn is_reset(kept: Kept<'_>, since: &Since) -> bool {
    since
        .epoch
        .as_deref()
        .is_some_and(|epoch| epoch != kept.epoch)
        || since.offset > kept.newest
}

/// What a client that saw messages up to `since` gets back from a channel
/// found as `kept`, given `entries` (offset, data), oldest first: at least
/// every kept message after `since.offset`, and every kept message on a
/// reset (earlier ones are skipped).
///
/// - reset ([`is_reset`]): every kept message, after a gap from the oldest
///   kept offset (the newest + 1 when none is kept);
/// - trimmed: the oldest kept offset is past `since.offset + 1`;
/// - otherwise the messages after `since.offset`, without a gap.
pub fn replay<'a>(
    kept: Kept<'_>,
    since: &Since,
    entries: impl Iterator<Item = (u64, &'a str)>,
) -> Replay {
    let reset = is_reset(kept, since);
    let messages = entries
        .filter(|(offset, _)| reset || *offset > since.offset)
        .map(|(offset, data)| (offset, data.to_owned()))
        .collect();
    let from = kept.oldest.unwrap_or(kept.newest + 1);
    let reason = if reset {
        Some(GapReason::Reset)
    } else if since.offset + 1 < from {
        Some(GapReason::Trimmed)
    } else {
        None
    };
    Replay {
        messages,
        gap: reason.map(|reason| Gap { from, reason }),
    }
}

impl History {
    /// An empty history under a new random epoch.
    pub fn new(limits: HistoryLimits) -> Self {
        History {
            entries: VecDeque::new(),
            last: 0,
            epoch: crate::random::token(),
            limits,
        }
    }

    /// Keeps `data` under the next offset and returns that offset.
    pub fn push(&mut self, data: String, now: Instant) -> u64 {
        self.last += 1;
        self.entries.push_back((self.last, now, data));
        self.trim(now);
        self.last
    }

    /// The offset of the newest message (0 before the first).
    pub fn last(&self) -> u64 {
        self.last
    }

    /// The name of this history.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// What came after `since` (see [`replay`]).
    pub fn since(&mut self, since: &Since, now: Instant) -> Replay {
        self.trim(now);
        let kept = Kept {
            newest: self.last,
            oldest: self.entries.front().map(|(offset, _, _)| *offset),
            epoch: &self.epoch,
        };
        let entries = self
            .entries
            .iter()
            .map(|(offset, _, data)| (*offset, data.as_str()));
        replay(kept, since, entries)
    }

    /// Drops the messages past the count and age limits.
    pub fn trim(&mut self, now: Instant) {
        while self.entries.len() > self.limits.max_messages {
            self.entries.pop_front();
        }
        while self
            .entries
            .front()
            .is_some_and(|(_, at, _)| now.duration_since(*at) > self.limits.max_age)
        {
            self.entries.pop_front();
        }
    }
}

#[cfg(test)]
mod tests;
