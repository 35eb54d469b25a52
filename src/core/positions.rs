//! The last offset seen per channel: where to resume after a reconnect
//! (`subscribe` with `since`), and which replayed messages were already
//! delivered.

/// Channel names and their last offsets; a page has a handful of channels.
#[derive(Debug, Default)]
pub struct Offsets {
    entries: Vec<(String, u64)>,
}

impl Offsets {
    pub fn get(&self, channel: &str) -> Option<u64> {
        self.entries.iter().find(|(known, _)| known == channel).map(|(_, offset)| *offset)
    }

    /// Takes a message's offset; false if one at or beyond it was seen
    /// already (a repeat, which must not be delivered again).
    pub fn advance(&mut self, channel: &str, offset: u64) -> bool {
        match self.entries.iter_mut().find(|(known, _)| known == channel) {
            Some((_, last)) if *last >= offset => false,
            Some((_, last)) => {
                *last = offset;
                true
            }
            None => {
                self.entries.push((channel.to_owned(), offset));
                true
            }
        }
    }

    /// Learns a position from elsewhere (the server, another tab, the
    /// application) without going back.
    pub fn note(&mut self, channel: &str, offset: u64) {
        self.advance(channel, offset);
    }

    /// Learns a position only for a channel without one.
    pub fn note_if_unknown(&mut self, channel: &str, offset: u64) {
        if self.get(channel).is_none() {
            self.entries.push((channel.to_owned(), offset));
        }
    }

    /// Goes back to `offset`: the channel's numbering started again.
    pub fn rewind(&mut self, channel: &str, offset: u64) {
        self.forget(channel);
        self.entries.push((channel.to_owned(), offset));
    }

    pub fn forget(&mut self, channel: &str) {
        self.entries.retain(|(known, _)| known != channel);
    }

    /// Every channel's last offset.
    pub fn all(&self) -> Vec<(String, u64)> {
        self.entries.clone()
    }
}
