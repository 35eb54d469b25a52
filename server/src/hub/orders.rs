//! The orders the control API gives a connection, carried out by its task
//! (`connection/orders.rs`). Channel messages come another way: through
//! the connection's bounded [`Outbound`](super::Outbound) queue.

use tokio::sync::oneshot;

/// What the control API asks a connection to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Order {
    /// Drop the TCP stream without a close frame (the browser sees 1006).
    Drop,
    /// Send a close frame with this code and reason, then end.
    Close { code: u16, reason: String },
    /// Stop reading and answering the socket, keeping TCP open.
    Stall,
    /// Undo [`Order::Stall`].
    Resume,
    /// Send these frames, back to back and as fast as the socket takes
    /// them (`/control/firehose`, for throughput benchmarks).
    Firehose(Firehose),
}

/// `count` frames of `bytes` bytes each, text or binary. Frame `seq`
/// (from 0) starts with `seq`: as 8 decimal digits in a text frame, as a
/// 4-byte big-endian number in a binary one, so that a receiver can check
/// the order; the rest is a fixed ASCII filler. A text frame never starts
/// with `{`, so a client that looks for JSON frames sees at its first byte
/// that this is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Firehose {
    pub count: u32,
    pub bytes: usize,
    pub binary: bool,
}

impl Firehose {
    /// The smallest frame: room for the 8 digits of a text frame.
    pub const MIN_BYTES: usize = 8;
    /// The largest frame, the default `--max-frame-bytes`.
    pub const MAX_BYTES: usize = 1 << 20;
    /// The most frames one order sends (8 digits number them all).
    pub const MAX_COUNT: u32 = 10_000_000;

    /// The payload of every frame before its sequence number is written in.
    pub fn template(&self) -> Vec<u8> {
        const FILLER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        FILLER.iter().copied().cycle().take(self.bytes).collect()
    }

    /// Writes `seq` over the start of `template` (see [`Firehose`]).
    pub fn number(&self, template: &mut [u8], seq: u32) {
        if self.binary {
            template[..4].copy_from_slice(&seq.to_be_bytes());
        } else {
            let mut rest = seq;
            for digit in template[..8].iter_mut().rev() {
                // A digit, 0 to 9: the cast cannot truncate.
                *digit = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
        }
    }
}

/// An [`Order`] plus the channel on which the connection says it carried it
/// out, so a control response means the action has happened.
#[derive(Debug)]
pub struct Command {
    pub order: Order,
    pub done: oneshot::Sender<()>,
}

impl Command {
    /// An order whose carrying out nobody waits for.
    pub fn new(order: Order) -> Self {
        Command::with_receipt(order).0
    }

    /// An order, and the receipt that fires once it was carried out.
    pub fn with_receipt(order: Order) -> (Self, oneshot::Receiver<()>) {
        let (done, receipt) = oneshot::channel();
        (Command { order, done }, receipt)
    }
}
