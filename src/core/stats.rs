//! Counters a dashboard can show about its connection.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Connection attempts started, the first one included.
    pub attempts: u32,
    /// Successful opens after the first one.
    pub reconnects: u32,
    /// User messages received (heartbeat pongs excluded).
    pub messages_in: u64,
    /// User messages handed to the socket (heartbeat pings excluded).
    pub messages_out: u64,
    /// Sizes as in [`crate::core::Payload::size`].
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Round trip of the last answered heartbeat ping.
    pub last_rtt_ms: Option<f64>,
}
