//! Everything that can happen to a client, as the machine sees it.
//!
//! Socket inputs carry the generation of the socket they come from, so the
//! late events of a replaced socket are recognised and ignored.

use super::effect::Timer;
use super::outbox::Restored;
use super::positions::{GapReason, Position};
use super::share::Peer;
use super::transport::Transport;

#[derive(Clone, Debug, PartialEq)]
pub enum Input<P> {
    /// Messages of earlier page loads read from storage, in their order,
    /// and the stored keys that could not be read. Comes before `Start`.
    Restore { entries: Vec<Restored<P>>, skipped: Vec<(String, String)> },
    /// Begin; `online` is the browser's `navigator.onLine`.
    Start {
        online: bool,
    },
    /// An earlier page load of the namespace settled on this HTTP transport
    /// (within the hour): the next attempt uses it. Comes before `Start`,
    /// and before `LockGranted`.
    Remembered {
        transport: Transport,
    },
    /// The probe of the WebSocket made while on HTTP passed (it opened,
    /// greeted and stayed up), or not.
    ProbeResult {
        passed: bool,
    },
    /// Storage refused to keep a message (quota); it stays in memory.
    PersistFailed { id: String, message: String },
    UrlResolved { generation: u64, url: String },
    UrlFailed { generation: u64, message: String },
    /// `new WebSocket(...)` threw.
    SocketRefused { generation: u64, message: String },
    /// The socket opened; `subprotocol`: the one the server selected
    /// (empty for none). Whether it speaks tabwire, its hello tells.
    Opened { generation: u64, subprotocol: String },
    /// A server's greeting arrived, naming `protocol` (the browser layer
    /// reports one only while the machine expects it); `payload` is the
    /// frame, for a raw connection to deliver.
    Hello { generation: u64, protocol: String, payload: P },
    /// An application frame arrived.
    Frame { generation: u64, payload: P },
    /// A message of a subscribed channel arrived (tabwire protocol), with
    /// its offset in the channel if the server numbers them.
    Publication { generation: u64, channel: String, offset: Option<u64>, payload: P },
    /// The server took a subscription; `offset` is the channel's newest,
    /// in the numbering `epoch`.
    Subscribed { generation: u64, channel: String, offset: u64, epoch: Option<String> },
    /// The server ended a subscription.
    Unsubscribed { generation: u64, channel: String },
    /// The server refused a subscription (forbidden, for one).
    SubscribeError { generation: u64, channel: String, code: String, message: String },
    /// The messages of `channel` after `since` are lost; what the server
    /// still had starts at `from`, in the numbering `epoch`.
    Gap { generation: u64, channel: String, since: u64, from: u64, reason: GapReason, epoch: Option<String> },
    /// The answer to a heartbeat ping arrived.
    Pong { generation: u64 },
    /// The server acknowledged the message `id`.
    Ack { generation: u64, id: String },
    /// The server refused the message `id` for good.
    Rejected { generation: u64, id: String, code: String, message: String },
    /// The server reported an error in a protocol frame.
    ServerError { generation: u64, code: String, message: String },
    SocketError { generation: u64 },
    Closed { generation: u64, code: u16, reason: String, clean: bool },
    TimerFired(Timer),
    Online,
    Offline,
    /// The page became visible again (timers may have been throttled meanwhile).
    Visible,
    Hidden,
    /// The page went into the back/forward cache.
    Suspend,
    /// The page came back from the back/forward cache.
    Resume,
    /// The user closed the client; it stays closed.
    Close { code: u16, reason: String },
    /// The user asked for a fresh connection now.
    Reconnect,
    /// This tab's listeners want `channel` (the first listener of it),
    /// from after `since` if the application knows a position.
    Subscribe { channel: String, since: Option<Position> },
    /// The last listener of `channel` in this tab is gone.
    Unsubscribe { channel: String },
    /// The leader lock is this tab's; `stored_epoch` is the epoch the last
    /// leader kept (0 if none).
    LockGranted { stored_epoch: u64 },
    /// Another tab took the lock while this one held it.
    LockLost,
    /// A message from another tab.
    Peer(Peer<P>),
    /// The tab `tab` ended (closed, reloaded or crashed).
    TabGone { tab: String },
}
