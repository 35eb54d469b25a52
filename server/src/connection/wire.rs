//! What carries a connection's frames: a WebSocket, or an HTTP session
//! ([`crate::http`]). The serving loop speaks to either through [`Wire`],
//! so that both get one protocol, one set of limits and the same orders,
//! and count their data frames in the same metrics. A write waits for the
//! client to read (a full TCP buffer, a stream not read, polls not made)
//! for at most the write timeout
//! ([`crate::bounds::Bounds::write_timeout`]).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt};
use tokio::time::timeout;
use yawc::close::CloseCode;
use yawc::{Frame, HttpWebSocket as WebSocket, OpCode};

use crate::http::Outlet;
use crate::metrics::Metrics;
use crate::protocol::Message;

/// How long sending the close itself may take (the client may have stopped
/// reading, leaving TCP buffers full).
const SEND_CLOSE_LIMIT: Duration = Duration::from_secs(2);

/// How long a close the server started waits for the client's close frame
/// before dropping the stream anyway.
const CLOSE_HANDSHAKE_LIMIT: Duration = Duration::from_secs(5);

/// What came from the client.
#[derive(Debug)]
pub enum Inbound {
    /// A data frame, to be answered.
    Frame(Message),
    /// A WebSocket ping or pong: nothing to answer (yawc answers pings by
    /// itself), but a sign of life all the same.
    Control,
}

/// The client can no longer be reached: the connection is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

/// Why a frame was not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsent {
    /// The client can no longer be reached.
    Gone,
    /// The client did not read within the write timeout: a slow consumer.
    Stuck,
}

/// A connection's way to its client, and the metrics its frames count in.
/// Dropping it without [`Wire::close`] ends the connection as a network
/// failure would: a WebSocket's TCP stream goes without a close frame, an
/// HTTP session ends without its close event (the client reads 1006
/// either way).
pub struct Wire {
    way: Way,
    metrics: Arc<Metrics>,
    write_timeout: Duration,
}

enum Way {
    Socket(Box<WebSocket>),
    Http(Outlet),
}

impl Wire {
    /// A WebSocket's wire, whose writes wait at most `write_timeout`.
    pub fn socket(socket: WebSocket, metrics: Arc<Metrics>, write_timeout: Duration) -> Self {
        Wire {
            way: Way::Socket(Box::new(socket)),
            metrics,
            write_timeout,
        }
    }

    /// An HTTP session's wire, whose writes wait at most `write_timeout`.
    pub fn http(outlet: Outlet, metrics: Arc<Metrics>, write_timeout: Duration) -> Self {
        Wire {
            way: Way::Http(outlet),
            metrics,
            write_timeout,
        }
    }

    /// The metrics the connection counts in.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: Message) -> Result<(), Unsent> {
        self.write(frame, false).await
    }

    /// Sends a channel message that the hub took at `taken`, and records
    /// how long it took to be written.
    pub async fn publish(&mut self, frame: Message, taken: Instant) -> Result<(), Unsent> {
        self.send(frame).await?;
        self.metrics.publication_written(taken);
        Ok(())
    }

    /// Queues one frame behind the others: a WebSocket writes its buffer
    /// when it fills, and on [`Wire::flush`].
    pub async fn feed(&mut self, frame: Message) -> Result<(), Unsent> {
        self.write(frame, true).await
    }

    /// Sends one frame, or with `queue` only queues it on a WebSocket (an
    /// HTTP session sends it either way), and counts it.
    async fn write(&mut self, frame: Message, queue: bool) -> Result<(), Unsent> {
        let size = frame.size();
        let write = async {
            match &mut self.way {
                Way::Socket(socket) if queue => {
                    socket.feed(data_frame(frame)).await.map_err(|_| Gone)
                }
                Way::Socket(socket) => socket.send(data_frame(frame)).await.map_err(|_| Gone),
                Way::Http(outlet) => outlet.send(frame).await,
            }
        };
        within(self.write_timeout, write).await?;
        self.metrics.frame_sent(size);
        Ok(())
    }

    /// Sends what [`Wire::feed`] queued.
    pub async fn flush(&mut self) -> Result<(), Unsent> {
        let write = async {
            match &mut self.way {
                Way::Socket(socket) => socket.flush().await.map_err(|_| Gone),
                Way::Http(_) => Ok(()),
            }
        };
        within(self.write_timeout, write).await
    }

    /// Sends the close with `code` and `reason`; returns whether it went
    /// within [`SEND_CLOSE_LIMIT`].
    pub async fn close(&mut self, code: u16, reason: String) -> bool {
        match &mut self.way {
            Way::Socket(socket) => {
                let frame = Frame::close(CloseCode::from(code), reason);
                matches!(
                    timeout(SEND_CLOSE_LIMIT, socket.send(frame)).await,
                    Ok(Ok(()))
                )
            }
            Way::Http(outlet) => outlet.close(code, reason),
        }
    }

    /// After a close the server sent: waits (bounded) for the client's
    /// close frame, ignoring data that was already in flight. An HTTP
    /// session has nothing to wait for: its close event ends it.
    pub async fn finish_close(&mut self) {
        if let Way::Socket(socket) = &mut self.way {
            let _ = timeout(CLOSE_HANDSHAKE_LIMIT, drain(socket)).await;
        }
    }

    /// The next frame from the client; `None` once the connection is
    /// over: the client closed it, the network failed, or the client broke
    /// the WebSocket protocol (an invalid frame, text that is not UTF-8, a
    /// frame over yawc's own bounds), or, for an HTTP session, its stream
    /// or polls stopped. yawc answers pings on its own.
    pub async fn receive(&mut self) -> Option<Inbound> {
        let inbound = match &mut self.way {
            Way::Socket(socket) => receive(socket).await,
            Way::Http(outlet) => outlet.receive().await.map(Inbound::Frame),
        }?;
        if let Inbound::Frame(frame) = &inbound {
            self.metrics.frame_received(frame.size());
        }
        Some(inbound)
    }
}

/// The outcome of a write that may wait at most `limit`. A function
/// returning the future rather than an `async fn`, which would hold the
/// write's future twice.
fn within(
    limit: Duration,
    write: impl Future<Output = Result<(), Gone>>,
) -> impl Future<Output = Result<(), Unsent>> {
    timeout(limit, write).map(|outcome| match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(Gone)) => Err(Unsent::Gone),
        Err(_) => Err(Unsent::Stuck),
    })
}

fn data_frame(frame: Message) -> Frame {
    match frame {
        Message::Text(text) => Frame::text(text),
        Message::Binary(bytes) => Frame::binary(bytes),
    }
}

async fn receive(socket: &mut WebSocket) -> Option<Inbound> {
    loop {
        let Ok(frame) = socket.next_frame().await else {
            settle(socket).await;
            return None;
        };
        let message = match frame.opcode() {
            // yawc has checked the text is UTF-8.
            OpCode::Text => String::from_utf8(frame.into_payload().into())
                .ok()
                .map(Message::Text),
            OpCode::Binary => Some(Message::Binary(frame.into_payload().into())),
            OpCode::Close => {
                settle(socket).await;
                None
            }
            // Pongs, and pings yawc answers.
            OpCode::Ping | OpCode::Pong => return Some(Inbound::Control),
            // Fragments come reassembled.
            OpCode::Continuation => continue,
        };
        return message.map(Inbound::Frame);
    }
}

/// Lets yawc send the close frame it owes, in answer to the client's or for
/// a protocol error it found: it writes it on the next read, which then
/// reports the end.
async fn settle(socket: &mut WebSocket) {
    let _ = timeout(SEND_CLOSE_LIMIT, socket.next_frame()).await;
}

/// Reads until the client's close frame. It stops right there: yawc would
/// answer that close with another on the next read, but this side has sent
/// its own already.
async fn drain(socket: &mut WebSocket) {
    while let Ok(frame) = socket.next_frame().await {
        if frame.opcode() == OpCode::Close {
            return;
        }
    }
}
