//! How long the server waits on a client before giving up on it: for a
//! request's head, for credentials, for any frame at all, for a peer
//! that vanished without a word (TCP keepalive), and for its clients to
//! take their close when it shuts down. Each bound frees what a client
//! that stopped half-way would otherwise hold for good: a socket, a task,
//! a connection counted against the open-files limit, a server that
//! cannot exit.

use std::time::Duration;

/// The tabwire client's default `heartbeat.intervalMs`: a client on
/// default options sends a ping at least this often.
const CLIENT_HEARTBEAT: Duration = Duration::from_secs(25);

/// How many of the client's default heartbeat intervals pass without a
/// frame before a connection counts as idle: two pings may be lost or
/// late (a hidden tab's timers may be stretched to a minute) before a
/// healthy client is cut.
const HEARTBEATS_PER_IDLE: u32 = 3;

/// The bounds every connection gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Time a client has to send the head of a request (the request line
    /// and headers, a WebSocket handshake's included), counted from the
    /// moment the server waits for one: on a kept-alive connection, from
    /// the end of the previous answer.
    pub header: Duration,
    /// With a JWT secret: time a protocol-mode connection without a token
    /// in its URL has to send a valid `auth` frame; past it, it is closed
    /// with 4401.
    pub auth: Duration,
    /// Time without any frame from the client (pings included, WebSocket
    /// control frames too) after which a connection is closed with 1001;
    /// `None`: never.
    pub idle: Option<Duration>,
    /// Idle time of a TCP connection before the first keepalive probe, and
    /// time between probes, so that a peer gone without a FIN or RST (a
    /// laptop closed, a NAT entry dropped) is found out; `None`: no probes.
    pub tcp_keepalive: Option<Duration>,
    /// How long a graceful shutdown may take, from its start to the exit:
    /// the connections' last frames handled, their closes taken, the HTTP
    /// requests in progress answered ([`crate::shutdown`]). Past it, what
    /// is left is cut.
    pub shutdown: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header: Duration::from_secs(10),
            auth: Duration::from_secs(10),
            idle: Some(CLIENT_HEARTBEAT * HEARTBEATS_PER_IDLE),
            tcp_keepalive: Some(Duration::from_secs(30)),
            shutdown: Duration::from_secs(10),
        }
    }
}
