//! The names events and `stats()` spell: roles, states, error kinds, protocol
//! modes, gap reasons, as TypeScript string unions.

use tsify::Tsify;

use crate::core::{ConnectionState, Failure, GapReason, Mode, Role, Transport};

/// A tab's part in the shared connection, as `role` events and `stats()` name it.
#[derive(Tsify)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    /// This tab has its own socket: sharing is off or not possible here.
    Solo,
    /// This tab holds the socket for every tab.
    Leader,
    /// Another tab holds the socket; this one sends and receives through it.
    Follower,
}

impl RoleName {
    /// The name the TypeScript declaration spells.
    pub fn name(&self) -> &'static str {
        match self {
            RoleName::Solo => "solo",
            RoleName::Leader => "leader",
            RoleName::Follower => "follower",
        }
    }
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        match role {
            Role::Solo => RoleName::Solo,
            Role::Leader => RoleName::Leader,
            Role::Follower => RoleName::Follower,
        }
    }
}

/// The connection state, as `state` events and the `state` getter name it.
#[derive(Tsify)]
#[serde(rename_all = "lowercase")]
pub enum StateName {
    Idle,
    Connecting,
    Open,
    Reconnecting,
    Offline,
    Closed,
}

impl StateName {
    /// The name the TypeScript declaration spells.
    pub fn name(&self) -> &'static str {
        match self {
            StateName::Idle => "idle",
            StateName::Connecting => "connecting",
            StateName::Open => "open",
            StateName::Reconnecting => "reconnecting",
            StateName::Offline => "offline",
            StateName::Closed => "closed",
        }
    }
}

impl From<ConnectionState> for StateName {
    fn from(state: ConnectionState) -> Self {
        match state {
            ConnectionState::Idle => StateName::Idle,
            ConnectionState::Connecting => StateName::Connecting,
            ConnectionState::Open => StateName::Open,
            ConnectionState::Reconnecting => StateName::Reconnecting,
            ConnectionState::Offline => StateName::Offline,
            ConnectionState::Closed => StateName::Closed,
        }
    }
}

/// What went wrong, for the `error` event.
#[derive(Tsify)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    ConnectTimeout,
    HeartbeatTimeout,
    Socket,
    SocketRefused,
    UrlProvider,
    InvalidUrl,
    RetriesExhausted,
    QueueFull,
    /// localStorage refused a message (quota): it is kept in memory.
    StorageFailed,
    /// The server answered a protocol frame with an `error` frame.
    Server,
    /// `subscribe()` or `publish()` on a connection that is not tabwire's:
    /// the subscription is kept and the publication refused or kept
    /// waiting, for a server that speaks the protocol.
    ProtocolRequired,
    /// `protocol: "tabwire"`, and the server did not greet with the tabwire hello.
    NotTabwire,
}

impl ErrorKind {
    /// The name the TypeScript declaration spells.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::ConnectTimeout => "connect_timeout",
            ErrorKind::HeartbeatTimeout => "heartbeat_timeout",
            ErrorKind::Socket => "socket",
            ErrorKind::SocketRefused => "socket_refused",
            ErrorKind::UrlProvider => "url_provider",
            ErrorKind::InvalidUrl => "invalid_url",
            ErrorKind::RetriesExhausted => "retries_exhausted",
            ErrorKind::QueueFull => "queue_full",
            ErrorKind::StorageFailed => "storage_failed",
            ErrorKind::Server => "server",
            ErrorKind::ProtocolRequired => "protocol_required",
            ErrorKind::NotTabwire => "not_tabwire",
        }
    }
}

impl From<&Failure> for ErrorKind {
    fn from(failure: &Failure) -> Self {
        match failure {
            Failure::ConnectTimeout { .. } => ErrorKind::ConnectTimeout,
            Failure::HeartbeatTimeout { .. } => ErrorKind::HeartbeatTimeout,
            Failure::Socket => ErrorKind::Socket,
            Failure::SocketRefused { .. } => ErrorKind::SocketRefused,
            Failure::UrlProvider { .. } => ErrorKind::UrlProvider,
            Failure::InvalidUrl { .. } => ErrorKind::InvalidUrl,
            Failure::RetriesExhausted { .. } => ErrorKind::RetriesExhausted,
            Failure::QueueFull(_) => ErrorKind::QueueFull,
            Failure::StorageFailed { .. } => ErrorKind::StorageFailed,
            Failure::Server { .. } => ErrorKind::Server,
            Failure::ProtocolRequired { .. } => ErrorKind::ProtocolRequired,
            Failure::NotTabwire { .. } => ErrorKind::NotTabwire,
        }
    }
}

/// What a connection speaks, as `open` events and `stats()` name it:
/// `"tabwire.v1"` when the server greeted with the tabwire hello
/// (acknowledged messages, channels), `"raw"` for any other server.
#[derive(Tsify)]
pub enum ProtocolName {
    #[serde(rename = "tabwire.v1")]
    Tabwire,
    #[serde(rename = "raw")]
    Raw,
}

/// Why messages of a channel were lost: `"trimmed"`, the server's history
/// no longer reaches back that far; `"reset"`, the channel's numbering
/// started again (a new epoch: the server lost its history).
#[derive(Tsify)]
#[serde(rename_all = "lowercase")]
pub enum GapReasonName {
    Trimmed,
    Reset,
}

impl ProtocolName {
    /// The name the TypeScript declaration spells.
    pub fn name(&self) -> &'static str {
        match self {
            ProtocolName::Tabwire => Mode::Tabwire.as_str(),
            ProtocolName::Raw => Mode::Raw.as_str(),
        }
    }
}

impl From<Mode> for ProtocolName {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Tabwire => ProtocolName::Tabwire,
            Mode::Raw => ProtocolName::Raw,
        }
    }
}

impl GapReasonName {
    /// The name the TypeScript declaration spells.
    pub fn name(&self) -> &'static str {
        match self {
            GapReasonName::Trimmed => GapReason::Trimmed.as_str(),
            GapReasonName::Reset => GapReason::Reset.as_str(),
        }
    }
}

impl From<GapReason> for GapReasonName {
    fn from(reason: GapReason) -> Self {
        match reason {
            GapReason::Trimmed => GapReasonName::Trimmed,
            GapReason::Reset => GapReasonName::Reset,
        }
    }
}

/// What carries a connection, as `open` events, `stats()` and the
/// `transports` option name it: `"websocket"`; `"sse"`, a stream of
/// server-sent events read with `fetch`, sends as POSTs; `"polling"`, long
/// polls, sends as POSTs.
#[derive(Tsify, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum TransportName {
    Websocket,
    Sse,
    Polling,
}

impl TransportName {
    /// The name the TypeScript declaration spells.
    pub fn name(&self) -> &'static str {
        Transport::from(*self).as_str()
    }
}

impl From<Transport> for TransportName {
    fn from(transport: Transport) -> Self {
        match transport {
            Transport::WebSocket => TransportName::Websocket,
            Transport::Sse => TransportName::Sse,
            Transport::Polling => TransportName::Polling,
        }
    }
}

impl From<TransportName> for Transport {
    fn from(name: TransportName) -> Self {
        match name {
            TransportName::Websocket => Transport::WebSocket,
            TransportName::Sse => Transport::Sse,
            TransportName::Polling => Transport::Polling,
        }
    }
}
