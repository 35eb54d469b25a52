//! Everything that can happen to a client, as the machine sees it.
//!
//! Socket inputs carry the generation of the socket they come from, so the
//! late events of a replaced socket are recognised and ignored.

use super::effect::Timer;

#[derive(Clone, Debug, PartialEq)]
pub enum Input<P> {
    /// Begin; `online` is the browser's `navigator.onLine`.
    Start { online: bool },
    UrlResolved { generation: u64, url: String },
    UrlFailed { generation: u64, message: String },
    /// `new WebSocket(...)` threw.
    SocketRefused { generation: u64, message: String },
    Opened { generation: u64 },
    /// A frame arrived; `is_pong` is the verdict of the pong matcher.
    Frame { generation: u64, payload: P, is_pong: bool },
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
