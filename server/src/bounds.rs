//! What the server holds for one connection at most, so that a client that
//! reads slowly, or subscribes without end, cannot grow the server: the
//! channel messages queued for it, how long one write to it may take, how
//! many channels it listens to and how long their names may be.

use std::time::Duration;

use crate::protocol::MAX_CHANNEL_BYTES;

/// The bounds every connection gets (WebSockets and HTTP sessions alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Channel messages queued for a connection, waiting for its client to
    /// read; one more closes the connection as a slow consumer (3008).
    pub send_queue_messages: usize,
    /// Bytes of those messages; past them, the same (a single larger
    /// message is queued when it is alone).
    pub send_queue_bytes: usize,
    /// Longest a write to the client may wait for it to read (a full TCP
    /// buffer, an HTTP stream not read, a poll not made); past it, the
    /// connection is closed as a slow consumer (3008).
    pub write_timeout: Duration,
    /// Most channels one connection listens to at once; a subscription
    /// past them is refused (`too_many_subscriptions`).
    pub max_subscriptions: usize,
    /// Longest channel name a subscription or publication may have, in
    /// bytes, up to the protocol's [`MAX_CHANNEL_BYTES`]; a longer one is
    /// refused (`channel_too_long`).
    pub max_channel_bytes: usize,
}

impl Default for Bounds {
    /// Room for a burst of thousands of small messages, or a few of the
    /// largest a client may send (1 MiB), per connection; a client that has
    /// not read for 10 s is taken for gone.
    fn default() -> Self {
        Bounds {
            send_queue_messages: 4_096,
            send_queue_bytes: 4 << 20,
            write_timeout: Duration::from_secs(10),
            max_subscriptions: 1_000,
            max_channel_bytes: MAX_CHANNEL_BYTES,
        }
    }
}

/// Close code for a connection whose client does not read as fast as its
/// messages come. Not fatal for a tabwire client: it reconnects and
/// resumes its channels from its offsets, so it loses nothing.
pub const SLOW_CONSUMER: u16 = 3008;

/// The reason sent with [`SLOW_CONSUMER`].
pub const SLOW_CONSUMER_REASON: &str = "slow consumer";
