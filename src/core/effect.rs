//! What the machine asks the browser layer to do.

use super::event::Event;
use super::positions::Position;
use super::share::Peer;
use super::transport::Transport;

/// The machine's timers. Each is either armed once or not at all, so the
/// browser layer keeps one slot per timer and re-arming replaces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The backoff delay before the next attempt.
    Retry,
    /// The socket must open before this.
    ConnectTimeout,
    /// Time to send the next heartbeat ping.
    HeartbeatPing,
    /// Some frame must arrive before this, or the socket is dead.
    HeartbeatDeadline,
    /// The oldest message reaches `queue.ttlMs`.
    Expiry,
    /// A visible follower asks the leader whether it is alive.
    Probe,
    /// An open socket's server must have greeted by then.
    Hello,
    /// Time to probe the WebSocket again, while on HTTP.
    Upgrade,
}

impl Timer {
    pub const ALL: [Timer; 8] = [
        Timer::Retry,
        Timer::ConnectTimeout,
        Timer::HeartbeatPing,
        Timer::HeartbeatDeadline,
        Timer::Expiry,
        Timer::Probe,
        Timer::Hello,
        Timer::Upgrade,
    ];

    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect<P> {
    /// Call the user's URL provider; answer with `UrlResolved` or `UrlFailed`.
    ResolveUrl {
        generation: u64,
        attempt: u32,
        auth_failed: bool,
    },
    /// Create a connection tagged with `generation`, carried by
    /// `transport` (the URL is the WebSocket's; HTTP uses it with its
    /// scheme turned into http(s)).
    OpenSocket {
        generation: u64,
        url: String,
        transport: Transport,
    },
    /// Open a WebSocket aside, to see whether it opens, greets and stays up
    /// for `hold_ms`; answer `ProbeResult`.
    ProbeWebSocket {
        url: String,
        hold_ms: f64,
    },
    /// Keep (or, `None`, forget) the HTTP transport this connection settled
    /// on, for the next page loads of the namespace (`Input::Remembered`).
    RememberTransport {
        transport: Option<Transport>,
    },
    /// The server greeted: send this client's hello, then its
    /// credentials, before anything else.
    Greet,
    /// Send a message; with an id, in the tabwire protocol's `msg` frame.
    SendMessage { id: Option<String>, payload: P },
    /// Send the configured heartbeat ping frame.
    SendPing,
    /// Close the current socket if it is still open, detach it and forget it.
    CloseSocket { code: u16, reason: String },
    /// Write (or rewrite) the stored copy of an outbox entry; answer a
    /// failure with `PersistFailed`.
    Persist { id: String, payload: P, created_ms: f64, attempts: u32 },
    /// Delete the stored copy of an outbox entry.
    Unpersist { id: String },
    /// Tell the server to start or stop sending a channel (tabwire
    /// protocol); `since`: resume after this position.
    SendSubscription { channel: String, subscribe: bool, since: Option<Position> },
    SetTimer { timer: Timer, at_ms: f64 },
    CancelTimer(Timer),
    Emit(Event<P>),
    /// Ask for the leader lock: wait in line, or (`steal`) take it from a
    /// holder that stopped answering. Answer `LockGranted` and, should the
    /// lock be taken away later, `LockLost`.
    RequestLock { steal: bool },
    /// Give the leader lock back, or stop waiting for it.
    ReleaseLock,
    /// This tab leads with `epoch` from now: keep it where the next leader
    /// reads it (`LockGranted::stored_epoch`).
    Lead { epoch: u64 },
    /// Read the whole stored outbox of the namespace and answer `Restore`:
    /// a new leader, or a leader that lost a tab, takes over its messages.
    Rescan,
    /// Post to the other tabs.
    Broadcast(Peer<P>),
    /// Wait for `tab` to end (it holds a lock of its own for its life);
    /// answer `TabGone`.
    WatchTab { tab: String },
}
