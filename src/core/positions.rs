//! Where this tab is in each channel: the last offset it delivered and the
//! epoch of the numbering that offset belongs to. It says where to resume
//! after a reconnect (`subscribe` with `since` and `epoch`) and which
//! replayed messages were already delivered.

/// The position in one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub offset: u64,
    /// The numbering `offset` belongs to; `None` from a server without
    /// epochs, or before the server named one.
    pub epoch: Option<String>,
}

/// Whether `epoch` is one as servers name them: 1 to 64 characters of
/// `[0-9A-Za-z_-]` (it goes into the frames the client writes).
pub fn is_epoch(epoch: &str) -> bool {
    !epoch.is_empty()
        && epoch.len() <= 64
        && epoch.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-'))
}

/// Why a channel's messages were lost (`gap`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapReason {
    /// The server's history no longer reaches back that far.
    Trimmed,
    /// The channel's numbering started again: a new epoch (the server lost
    /// its history, or restarted without one).
    Reset,
}

impl GapReason {
    pub fn as_str(self) -> &'static str {
        match self {
            GapReason::Trimmed => "trimmed",
            GapReason::Reset => "reset",
        }
    }

    pub fn parse(name: &str) -> Option<GapReason> {
        [GapReason::Trimmed, GapReason::Reset].into_iter().find(|reason| reason.as_str() == name)
    }
}

/// Channel names and their positions; a page has a handful of channels.
#[derive(Debug, Default)]
pub struct Positions {
    entries: Vec<(String, Position)>,
}

impl Positions {
    pub fn get(&self, channel: &str) -> Option<&Position> {
        self.entries.iter().find(|(known, _)| known == channel).map(|(_, position)| position)
    }

    pub fn offset(&self, channel: &str) -> Option<u64> {
        self.get(channel).map(|position| position.offset)
    }

    pub fn epoch(&self, channel: &str) -> Option<&str> {
        self.get(channel).and_then(|position| position.epoch.as_deref())
    }

    /// Takes a message's offset; false if one at or beyond it was seen
    /// already (a repeat, which must not be delivered again).
    pub fn advance(&mut self, channel: &str, offset: u64) -> bool {
        match self.entries.iter_mut().find(|(known, _)| known == channel) {
            Some((_, position)) if position.offset >= offset => false,
            Some((_, position)) => {
                position.offset = offset;
                true
            }
            None => {
                self.entries.push((channel.to_owned(), Position { offset, epoch: None }));
                true
            }
        }
    }

    /// Learns a position only for a channel without one.
    pub fn note_if_unknown(&mut self, channel: &str, position: Position) {
        if self.get(channel).is_none() {
            self.entries.push((channel.to_owned(), position));
        }
    }

    /// Names the numbering of a position that had none yet.
    pub fn name_epoch_if_unknown(&mut self, channel: &str, epoch: &str) {
        if let Some((_, position)) = self.entries.iter_mut().find(|(known, _)| known == channel) {
            position.epoch.get_or_insert_with(|| epoch.to_owned());
        }
    }

    /// Moves to `position`, back or forth: the numbering started again, or
    /// what lies between was lost.
    pub fn set(&mut self, channel: &str, position: Position) {
        self.forget(channel);
        self.entries.push((channel.to_owned(), position));
    }

    pub fn forget(&mut self, channel: &str) {
        self.entries.retain(|(known, _)| known != channel);
    }

    /// Every channel's position.
    pub fn all(&self) -> Vec<(String, Position)> {
        self.entries.clone()
    }
}
