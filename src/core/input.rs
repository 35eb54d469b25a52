//! Everything that can happen to a client, as the machine sees it.
//!
//! Socket inputs carry the generation of the socket they come from, so the
//! late events of a replaced socket are recognised and ignored.

use super::effect::Timer;
use super::outbox::Restored;

#[derive(Clone, Debug, PartialEq)]
pub enum Input<P> {
    /// Messages of earlier page loads read from storage, in their order,
    /// and the stored keys that could not be read. Comes before `Start`.
    Restore { entries: Vec<Restored<P>>, skipped: Vec<(String, String)> },
    /// Begin; `online` is the browser's `navigator.onLine`.
    Start { online: bool },
    /// Storage refused to keep a message (quota); it stays in memory.
    PersistFailed { id: String, message: String },
    UrlResolved { generation: u64, url: String },
    UrlFailed { generation: u64, message: String },
    /// `new WebSocket(...)` threw.
    SocketRefused { generation: u64, message: String },
    /// The socket opened; `acknowledged`: the server speaks the tabwire
    /// protocol (it acknowledges messages by id).
    Opened { generation: u64, acknowledged: bool },
    /// An application frame arrived.
    Frame { generation: u64, payload: P },
    /// The answer to a heartbeat ping arrived.
    Pong { generation: u64 },
    /// The server acknowledged the message `id`.
    Ack { generation: u64, id: String },
    /// The server reported an error in a protocol frame.
    ServerError { generation: u64, code: String, message: String },
    SocketError { generation: u64 },
    Closed { generation: u64, code: u16, reason: String, clean: bool },
    TimerFired(Timer),
    Online,
    Offline,
    /// The page became visible again (timers may have been throttled meanwhile).
    Visible,
    /// The user closed the client; it stays closed.
    Close { code: u16, reason: String },
    /// The user asked for a fresh connection now.
    Reconnect,
}
