//! How far a connection got in each channel it subscribes to, so that a
//! live message it already sent in a replay (or one that arrives after it
//! unsubscribed) is not sent.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Positions {
    /// Channel → the newest offset sent or covered by the subscription.
    last: HashMap<String, u64>,
}

impl Positions {
    /// A subscription that covers the channel up to `offset` (its newest
    /// message when subscribing; a replay goes no further).
    pub fn start(&mut self, channel: &str, offset: u64) {
        self.last.insert(channel.to_owned(), offset);
    }

    pub fn stop(&mut self, channel: &str) {
        self.last.remove(channel);
    }

    /// Whether `channel` is subscribed to.
    pub fn holds(&self, channel: &str) -> bool {
        self.last.contains_key(channel)
    }

    /// How many channels are subscribed to.
    pub fn count(&self) -> usize {
        self.last.len()
    }

    /// The channels subscribed to, in name order.
    pub fn channels(&self) -> Vec<String> {
        let mut channels: Vec<String> = self.last.keys().cloned().collect();
        channels.sort_unstable();
        channels
    }

    /// Whether the message `offset` of `channel` is to be sent: the channel
    /// is subscribed and the offset is new. Moves the position if so.
    pub fn advance(&mut self, channel: &str, offset: u64) -> bool {
        match self.last.get_mut(channel) {
            Some(last) if offset > *last => {
                *last = offset;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_new_offsets_of_subscribed_channels_pass() {
        let mut positions = Positions::default();
        assert!(!positions.advance("x", 1), "not subscribed");
        positions.start("x", 3);
        assert!(!positions.advance("x", 2), "covered by the subscription");
        assert!(!positions.advance("x", 3));
        assert!(positions.advance("x", 4));
        assert!(!positions.advance("x", 4), "sent already");
        assert!(
            positions.advance("x", 6),
            "a hole is the broker's to prevent, not ours"
        );
        positions.start("a", 0);
        assert_eq!(positions.channels(), ["a", "x"]);
        assert_eq!((positions.count(), positions.holds("a")), (2, true));
        positions.stop("x");
        assert!(!positions.advance("x", 7), "after unsubscribing");
        assert_eq!(positions.channels(), ["a"]);
        assert_eq!((positions.count(), positions.holds("x")), (1, false));
    }
}
