//! Channel subscriptions counted across tabs: the server sees one
//! subscription per channel, however many tabs listen to it.
//!
//! Plain vectors: a page has a handful of tabs and channels, and ordered
//! maps would cost the wasm module tens of kilobytes.

use super::positions::Position;

/// What the server must be told after a change of the table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub subscribe: Vec<String>,
    pub unsubscribe: Vec<String>,
}

/// Each known tab's channels, and how many tabs listen to each channel.
#[derive(Debug, Default)]
pub struct Subscriptions {
    by_tab: Vec<(String, Vec<String>)>,
    /// Every channel some tab listens to, with the number of those tabs.
    counts: Vec<(String, usize)>,
    /// Where each tab said it is, per channel.
    positions: Vec<(String, Vec<(String, Position)>)>,
}

impl Subscriptions {
    /// Replaces `tab`'s channels; a tab not seen before becomes known.
    pub fn set(&mut self, tab: &str, channels: &[String]) -> Change {
        let mut wanted: Vec<String> = Vec::with_capacity(channels.len());
        for channel in channels {
            if !wanted.contains(channel) {
                wanted.push(channel.clone());
            }
        }
        let old = match self.by_tab.iter_mut().find(|(known, _)| known == tab) {
            Some((_, current)) => std::mem::replace(current, wanted.clone()),
            None => {
                self.by_tab.push((tab.to_owned(), wanted.clone()));
                Vec::new()
            }
        };
        let mut change = Change::default();
        for channel in old.iter().filter(|channel| !wanted.contains(channel)) {
            self.release(channel, &mut change);
        }
        for channel in wanted.into_iter().filter(|channel| !old.contains(channel)) {
            match self.counts.iter_mut().find(|(known, _)| *known == channel) {
                Some((_, count)) => *count += 1,
                None => {
                    change.subscribe.push(channel.clone());
                    self.counts.push((channel, 1));
                }
            }
        }
        change
    }

    /// Takes where `tab` says it is in each channel.
    pub fn set_positions(&mut self, tab: &str, positions: &[(String, Position)]) {
        match self.positions.iter_mut().find(|(known, _)| known == tab) {
            Some((_, known)) => known.clone_from(&positions.to_vec()),
            None => self.positions.push((tab.to_owned(), positions.to_vec())),
        }
    }

    /// The lowest position a tab listening to `channel` said it is at:
    /// where the connection must resume for every tab to get what it has
    /// not seen.
    pub fn lowest_position(&self, channel: &str) -> Option<Position> {
        self.positions
            .iter()
            .filter(|(tab, _)| self.channels_of(tab).iter().any(|listened| listened == channel))
            .flat_map(|(_, positions)| positions.iter().filter(|(known, _)| known == channel).map(|(_, position)| position))
            .min_by_key(|position| position.offset)
            .cloned()
    }

    /// Forgets `tab` (it left or died) and its channels.
    pub fn remove(&mut self, tab: &str) -> Change {
        self.positions.retain(|(known, _)| known != tab);
        let mut change = Change::default();
        if let Some(index) = self.by_tab.iter().position(|(known, _)| known == tab) {
            let (_, channels) = self.by_tab.swap_remove(index);
            for channel in &channels {
                self.release(channel, &mut change);
            }
        }
        change
    }

    /// The channels `tab` listens to (none for a tab not known).
    pub fn channels_of(&self, tab: &str) -> &[String] {
        self.by_tab.iter().find(|(known, _)| known == tab).map_or(&[], |(_, channels)| channels.as_slice())
    }

    /// How many tabs are known (the leader's own included).
    pub fn tab_count(&self) -> usize {
        self.by_tab.len()
    }

    pub fn knows(&self, tab: &str) -> bool {
        self.by_tab.iter().any(|(known, _)| known == tab)
    }

    /// Every channel some tab listens to.
    pub fn channels(&self) -> impl Iterator<Item = &String> {
        self.counts.iter().map(|(channel, _)| channel)
    }

    pub fn clear(&mut self) {
        self.by_tab.clear();
        self.counts.clear();
        self.positions.clear();
    }

    fn release(&mut self, channel: &str, change: &mut Change) {
        if let Some(index) = self.counts.iter().position(|(known, _)| known == channel) {
            self.counts[index].1 -= 1;
            if self.counts[index].1 == 0 {
                self.counts.swap_remove(index);
                change.unsubscribe.push(channel.to_owned());
            }
        }
    }
}
