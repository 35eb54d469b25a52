//! What an open connection speaks. The server decides, by greeting: a
//! tabwire server's first frame is its hello. A subprotocol echo proves
//! nothing (Node's `ws` selects the first one a client offers without
//! knowing it), so the client never offers one of its own.

/// The name of the protocol, in the hellos of both sides.
pub const PROTOCOL: &str = "tabwire.v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The tabwire protocol: acknowledged messages, channels, pongs.
    Tabwire,
    /// Any WebSocket server: frames pass through as they are.
    Raw,
}

impl Mode {
    /// The name used on the JavaScript side.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Tabwire => PROTOCOL,
            Mode::Raw => "raw",
        }
    }

    pub fn parse(name: &str) -> Option<Mode> {
        [Mode::Tabwire, Mode::Raw].into_iter().find(|mode| mode.as_str() == name)
    }
}
