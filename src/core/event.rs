//! What the machine reports to the user's listeners.

use std::fmt;

use super::mode::Mode;
use super::number::Number;
use super::outbox::Refusal;
use super::positions::GapReason;
use super::share::Role;
use super::state::ConnectionState;
use super::transport::Transport;

#[derive(Clone, Debug, PartialEq)]
pub enum Event<P> {
    State(StateChange),
    /// The connection is up, its `mode` decided, carried by `transport`.
    Open {
        attempt: u32,
        mode: Mode,
        transport: Transport,
    },
    Message(P),
    /// A message of a subscribed channel; `epoch`: the numbering of its
    /// offset, as this tab knows it.
    Publication { channel: String, offset: Option<u64>, epoch: Option<String>, payload: P },
    /// The server took the subscription to `channel`; `offset`: its newest
    /// message, in the numbering `epoch`.
    Subscribed { channel: String, offset: u64, epoch: Option<String> },
    /// The server ended the subscription to `channel`.
    Unsubscribed { channel: String },
    /// The server refused the subscription to `channel`; the connection stays.
    SubscribeError { channel: String, code: String, message: String },
    /// Messages of `channel` after `since` were lost (the server no longer
    /// has them, or its numbering started again): the application should
    /// refetch what they carried. What follows starts at `from`, in the
    /// numbering `epoch`.
    Gap { channel: String, since: u64, from: u64, reason: GapReason, epoch: Option<String> },
    /// Every socket that was created ends with exactly one `Close`, whether
    /// the server, the network, the user or a timeout ended it.
    Close(CloseInfo),
    Reconnecting { attempt: u32, delay_ms: f64, retry_at_ms: f64 },
    Error(Failure),
    /// The server acknowledged a message: it left the outbox.
    Ack { id: String },
    /// The server refused a message for good (`code` `forbidden`: the
    /// token may not publish to its channel): it left the outbox.
    Rejected { id: String, code: String, message: String },
    /// Messages dropped unsent because they reached `queue.ttlMs`.
    Expired { ids: Vec<String> },
    /// Something was skipped without harm (a stored key that is not ours,
    /// a broadcast message that is not tabwire's).
    Warning { key: String, reason: String },
    /// This tab's part in the shared connection changed.
    Role(Role),
}

impl<P> Event<P> {
    /// The channel an event is about, if it is about one.
    pub fn channel(&self) -> Option<&str> {
        match self {
            Event::Publication { channel, .. }
            | Event::Subscribed { channel, .. }
            | Event::Unsubscribed { channel }
            | Event::SubscribeError { channel, .. }
            | Event::Gap { channel, .. } => Some(channel),
            _ => None,
        }
    }

    /// Events of the shared connection, which a leader passes on to every
    /// tab; the others concern the tab's own messages, storage or role.
    pub fn concerns_every_tab(&self) -> bool {
        matches!(
            self,
            Event::State(_)
                | Event::Open { .. }
                | Event::Message(_)
                | Event::Publication { .. }
                | Event::Subscribed { .. }
                | Event::Unsubscribed { .. }
                | Event::SubscribeError { .. }
                | Event::Gap { .. }
                | Event::Close(_)
                | Event::Reconnecting { .. }
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct StateChange {
    pub state: ConnectionState,
    /// 0 for the first connection; n while working on the n-th retry.
    pub attempt: u32,
    /// When the next attempt starts (machine clock), while `Reconnecting`.
    pub retry_at_ms: Option<f64>,
    /// Why the client stopped, once `Closed`.
    pub close: Option<CloseInfo>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CloseInfo {
    pub code: u16,
    pub reason: String,
    /// The closing handshake completed (false for a dropped connection).
    pub clean: bool,
    pub will_reconnect: bool,
}

/// Something went wrong; the `error` event carries one of these.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// The socket did not open within `connectTimeoutMs`.
    ConnectTimeout { timeout_ms: f64 },
    /// No frame arrived within `heartbeat.timeoutMs` after a ping.
    HeartbeatTimeout { timeout_ms: f64 },
    /// The browser fired `error` on the socket (it gives no detail).
    Socket,
    /// `new WebSocket(...)` threw.
    SocketRefused { message: String },
    /// The URL provider threw or rejected.
    UrlProvider { message: String },
    /// The URL provider returned something that is not a WebSocket URL.
    InvalidUrl { url: String, reason: &'static str },
    /// `reconnect.maxRetries` retries failed; the client stopped.
    RetriesExhausted { retries: u32 },
    /// `send()` was refused because the outbox is full.
    QueueFull(Refusal),
    /// Storage refused a message (quota); it is kept in memory only.
    StorageFailed { id: String, message: String },
    /// The server answered a protocol frame with an error.
    Server { code: String, message: String },
    /// Channels or publications on a connection without the tabwire
    /// protocol: `what` waits for a server that speaks it.
    ProtocolRequired { what: String },
    /// `protocol: "tabwire"`, and the server did not greet with the
    /// tabwire hello (`first_frame`: something else came first; otherwise
    /// nothing within `helloTimeoutMs`).
    NotTabwire { first_frame: bool },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::ConnectTimeout { timeout_ms } => {
                write!(f, "the socket did not open within {} ms", Number(*timeout_ms))
            }
            Failure::HeartbeatTimeout { timeout_ms } => {
                write!(f, "no frame arrived within {} ms after a heartbeat ping", Number(*timeout_ms))
            }
            Failure::Socket => write!(f, "the WebSocket reported an error"),
            Failure::SocketRefused { message } => write!(f, "the WebSocket could not be created: {message}"),
            Failure::UrlProvider { message } => write!(f, "the url provider failed: {message}"),
            Failure::InvalidUrl { url, reason } => write!(f, "the url provider returned \"{url}\", which {reason}"),
            Failure::RetriesExhausted { retries } => {
                write!(f, "gave up after {retries} failed retries (reconnect.maxRetries)")
            }
            Failure::QueueFull(Refusal::TooManyMessages { max_messages }) => write!(
                f,
                "the outbox is full ({max_messages} messages, queue.maxMessages); the message was not queued"
            ),
            Failure::QueueFull(Refusal::TooManyBytes { max_bytes, size }) => write!(
                f,
                "the outbox has no room for {size} more bytes ({max_bytes} at most, queue.maxBytes); the message was not queued"
            ),
            Failure::StorageFailed { id, message } => {
                write!(f, "message {id} could not be stored ({message}); it is kept in memory until delivered")
            }
            Failure::Server { code, message } => write!(f, "the server reported {code}: {message}"),
            Failure::ProtocolRequired { what } => write!(
                f,
                "{what} needs a server that speaks the tabwire protocol; this connection is raw (the server did not greet with its hello)"
            ),
            Failure::NotTabwire { first_frame: true } => {
                write!(f, "the server's first frame was not the tabwire hello (protocol: \"tabwire\")")
            }
            Failure::NotTabwire { first_frame: false } => {
                write!(f, "the server did not greet with the tabwire hello within helloTimeoutMs (protocol: \"tabwire\")")
            }
        }
    }
}
