//! The recent messages of one channel, with their offsets, so a client that
//! was away can ask for what it missed (`subscribe` with `since`).
//!
//! Offsets start at 1 and grow by one per message; the history keeps the
//! newest messages, bounded by count and by age. [`replay`] decides what a
//! returning client gets, for this in-memory history and for the one a
//! Redis stream keeps alike.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How much of each channel's past is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    /// Most messages kept per channel.
    pub max_messages: usize,
    /// Oldest message kept, in age.
    pub max_age: Duration,
}

impl Default for HistoryLimits {
    /// A dashboard reloaded or reconnected within ten minutes misses nothing
    /// of a channel publishing up to one message every 0.6 s.
    fn default() -> Self {
        HistoryLimits {
            max_messages: 1_000,
            max_age: Duration::from_secs(600),
        }
    }
}

#[derive(Debug)]
pub struct History {
    /// (offset, when published, the message's `data` as JSON text).
    entries: VecDeque<(u64, Instant, String)>,
    /// The offset of the newest message; 0 before the first.
    last: u64,
    limits: HistoryLimits,
}

/// What a client that saw messages up to `since` gets back.
#[derive(Debug, PartialEq, Eq)]
pub struct Replay {
    /// The messages after `since` still kept, oldest first: (offset, data).
    pub messages: Vec<(u64, String)>,
    /// Messages after `since` that are no longer kept: the first offset the
    /// history can give. `None` when nothing was lost.
    pub gap_from: Option<u64>,
}

/// What a client that saw messages up to `since` gets back from a channel
/// whose newest offset is `last` and which still keeps `kept` (offset, data),
/// oldest first. An offset beyond the newest one (a history that restarted)
/// counts as a gap from the oldest kept message, whose replay then starts
/// at the beginning.
pub fn replay<'a>(kept: impl Iterator<Item = (u64, &'a str)>, last: u64, since: u64) -> Replay {
    let restarted = since > last;
    let mut oldest = None;
    let mut messages = Vec::new();
    for (offset, data) in kept {
        oldest.get_or_insert(offset);
        if offset > since || restarted {
            messages.push((offset, data.to_owned()));
        }
    }
    let oldest = oldest.unwrap_or(last + 1);
    let lost = restarted || since + 1 < oldest;
    Replay {
        messages,
        gap_from: lost.then_some(oldest),
    }
}

impl History {
    pub fn new(limits: HistoryLimits) -> Self {
        History {
            entries: VecDeque::new(),
            last: 0,
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

    /// What came after `since` (see [`replay`]).
    pub fn since(&mut self, since: u64, now: Instant) -> Replay {
        self.trim(now);
        let kept = self
            .entries
            .iter()
            .map(|(offset, _, data)| (*offset, data.as_str()));
        replay(kept, self.last, since)
    }

    fn trim(&mut self, now: Instant) {
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
mod tests {
    use super::*;

    fn history_of(n: u64, max_messages: usize) -> (History, Instant) {
        let now = Instant::now();
        let mut history = History::new(HistoryLimits {
            max_messages,
            max_age: Duration::from_secs(60),
        });
        for index in 1..=n {
            assert_eq!(history.push(format!("{index}"), now), index);
        }
        (history, now)
    }

    fn offsets(replay: &Replay) -> Vec<u64> {
        replay.messages.iter().map(|(offset, _)| *offset).collect()
    }

    #[test]
    fn replays_what_came_after_since_in_order() {
        let (mut history, now) = history_of(5, 10);
        let replay = history.since(2, now);
        assert_eq!(offsets(&replay), [3, 4, 5]);
        assert_eq!(replay.messages[0].1, "3");
        assert_eq!(replay.gap_from, None);
        assert_eq!(
            history.since(5, now),
            Replay {
                messages: Vec::new(),
                gap_from: None
            }
        );
        assert_eq!(
            history.since(0, now).gap_from,
            None,
            "from the start, all kept"
        );
    }

    #[test]
    fn a_since_older_than_the_history_is_a_gap() {
        let (mut history, now) = history_of(10, 4);
        let replay = history.since(3, now);
        assert_eq!(offsets(&replay), [7, 8, 9, 10]);
        assert_eq!(replay.gap_from, Some(7));
        assert_eq!(
            history.since(6, now).gap_from,
            None,
            "6 is just before the oldest kept"
        );
    }

    #[test]
    fn old_messages_expire_by_age() {
        let (mut history, now) = history_of(3, 10);
        let later = now + Duration::from_secs(61);
        let replay = history.since(1, later);
        assert_eq!(offsets(&replay), Vec::<u64>::new());
        assert_eq!(replay.gap_from, Some(4));
        assert_eq!(history.push("4".into(), later), 4);
        assert_eq!(history.last(), 4);
    }

    #[test]
    fn a_since_beyond_the_newest_offset_means_the_history_restarted() {
        let (mut history, now) = history_of(2, 10);
        let replay = history.since(40, now);
        assert_eq!(offsets(&replay), [1, 2]);
        assert_eq!(replay.gap_from, Some(1));
    }
}
