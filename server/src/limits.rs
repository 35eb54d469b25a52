//! What clients may send and hold: the largest frame, the rates of
//! messages and bytes per user and per IP address over all their
//! connections ([`rates`]), and how many connections an address and the
//! server as a whole may hold at once ([`peers`]).

mod peers;
mod rates;

pub use self::peers::{address, PeerSlot, Peers};
pub use self::rates::{Rates, Refusal, SWEEP_EVERY};

/// The limits of a server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// What one user may send over all its connections. A user is the
    /// `sub` of its token, else the client id of its hello, else the
    /// connection alone (as for deduplication).
    pub per_user: Rate,
    /// What one IP address may send over all its connections (an IPv6
    /// address counts by its /64, which one subscriber usually has whole).
    pub per_ip: Rate,
    /// Largest data frame (a whole message, after decompression), in
    /// bytes; a larger one closes the connection (1009).
    pub max_frame_bytes: usize,
    /// Connections (WebSockets and HTTP sessions) one IP address may hold
    /// at once; past it an upgrade or session open gets HTTP 429.
    pub max_connections_per_ip: u32,
    /// Connections the server holds at once; past it, HTTP 503.
    pub max_connections: u32,
    /// Take a client's address from the last entry of `X-Forwarded-For`
    /// (which the proxy in front adds) rather than from the TCP peer: only
    /// right behind a proxy that sets it, since clients can send any.
    pub trust_forwarded_for: bool,
}

/// A sustained rate of messages (data frames) and of their bytes, each
/// with a burst that may go over it at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub messages_per_second: u32,
    pub message_burst: u32,
    pub bytes_per_second: u32,
    /// Taken as at least [`Limits::max_frame_bytes`], so that every frame
    /// the size limit lets through can pass in time.
    pub byte_burst: u32,
}

impl Rate {
    /// As much as the fields hold: no limit a benchmark would reach.
    pub const UNLIMITED: Rate = Rate {
        messages_per_second: u32::MAX,
        message_burst: u32::MAX,
        bytes_per_second: u32::MAX,
        byte_burst: u32::MAX,
    };
}

impl Default for Limits {
    /// Generous: a user delivering a backlog of 10,000 queued messages
    /// (of up to 6 KiB each) at once stays within them, and an address
    /// holds several such users (a household or an office behind NAT).
    fn default() -> Self {
        Limits {
            per_user: Rate {
                messages_per_second: 5_000,
                message_burst: 20_000,
                bytes_per_second: 16 << 20,
                byte_burst: 64 << 20,
            },
            per_ip: Rate {
                messages_per_second: 20_000,
                message_burst: 100_000,
                bytes_per_second: 64 << 20,
                byte_burst: 256 << 20,
            },
            max_frame_bytes: 1 << 20,
            max_connections_per_ip: 256,
            max_connections: 100_000,
            trust_forwarded_for: false,
        }
    }
}
