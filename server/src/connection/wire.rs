//! What carries a connection's frames: a WebSocket, or an HTTP session
//! ([`crate::http`]). The serving loop speaks to either through [`Wire`],
//! so that both get one protocol, one set of limits and the same orders.
//! A write waits for the client to read (a full TCP buffer, a stream not
//! read, polls not made) for at most the write timeout
//! ([`crate::bounds::Bounds::write_timeout`]).

use std::time::Duration;

use futures_util::SinkExt;
use tokio::time::timeout;
use yawc::close::CloseCode;
use yawc::{Frame, HttpWebSocket as WebSocket, OpCode};

use crate::http::Outlet;
use crate::protocol::Message;

/// How long sending the close itself may take (the client may have stopped
/// reading, leaving TCP buffers full).
const SEND_CLOSE_LIMIT: Duration = Duration::from_secs(2);

/// How long a close the server started waits for the client's close frame
/// before dropping the stream anyway.
const CLOSE_HANDSHAKE_LIMIT: Duration = Duration::from_secs(5);

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

/// A connection's way to its client. Dropping it without [`Wire::close`]
/// ends the connection as a network failure would: a WebSocket's TCP
/// stream goes without a close frame, an HTTP session ends without its
/// close event (the client reads 1006 either way).
pub struct Wire {
    link: Link,
    write_timeout: Duration,
}

enum Link {
    Socket(Box<WebSocket>),
    Http(Outlet),
}

impl Wire {
    /// A WebSocket's wire, whose writes wait at most `write_timeout`.
    pub fn socket(socket: WebSocket, write_timeout: Duration) -> Self {
        Wire {
            link: Link::Socket(Box::new(socket)),
            write_timeout,
        }
    }

    /// An HTTP session's wire, whose writes wait at most `write_timeout`.
    pub fn http(outlet: Outlet, write_timeout: Duration) -> Self {
        Wire {
            link: Link::Http(outlet),
            write_timeout,
        }
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: Message) -> Result<(), Unsent> {
        self.write(frame, true).await
    }

    /// Queues one frame behind the others: a WebSocket writes its buffer
    /// when it fills, and on [`Wire::flush`].
    pub async fn feed(&mut self, frame: Message) -> Result<(), Unsent> {
        self.write(frame, false).await
    }

    /// Sends or (without `flush`, on a WebSocket) queues one frame.
    async fn write(&mut self, frame: Message, flush: bool) -> Result<(), Unsent> {
        let write = async {
            match &mut self.link {
                Link::Socket(socket) if flush => {
                    socket.send(data_frame(frame)).await.map_err(|_| Gone)
                }
                Link::Socket(socket) => socket.feed(data_frame(frame)).await.map_err(|_| Gone),
                Link::Http(outlet) => outlet.send(frame).await,
            }
        };
        within(self.write_timeout, write).await
    }

    /// Sends what [`Wire::feed`] queued.
    pub async fn flush(&mut self) -> Result<(), Unsent> {
        let write = async {
            match &mut self.link {
                Link::Socket(socket) => socket.flush().await.map_err(|_| Gone),
                Link::Http(_) => Ok(()),
            }
        };
        within(self.write_timeout, write).await
    }

    /// Sends the close with `code` and `reason`; returns whether it went
    /// within [`SEND_CLOSE_LIMIT`].
    pub async fn close(&mut self, code: u16, reason: String) -> bool {
        match &mut self.link {
            Link::Socket(socket) => {
                let frame = Frame::close(CloseCode::from(code), reason);
                matches!(
                    timeout(SEND_CLOSE_LIMIT, socket.send(frame)).await,
                    Ok(Ok(()))
                )
            }
            Link::Http(outlet) => outlet.close(code, reason),
        }
    }

    /// After a close the server sent: waits (bounded) for the client's
    /// close frame, ignoring data that was already in flight. An HTTP
    /// session has nothing to wait for: its close event ends it.
    pub async fn finish_close(&mut self) {
        if let Link::Socket(socket) = &mut self.link {
            let _ = timeout(CLOSE_HANDSHAKE_LIMIT, drain(socket)).await;
        }
    }

    /// The next data frame from the client; `None` once the connection is
    /// over: the client closed it, the network failed, or the client broke
    /// the WebSocket protocol (an invalid frame, text that is not UTF-8, a
    /// frame over yawc's own bounds), or, for an HTTP session, its stream
    /// or polls stopped. yawc answers pings on its own.
    pub async fn receive(&mut self) -> Option<Message> {
        match &mut self.link {
            Link::Socket(socket) => receive(socket).await,
            Link::Http(outlet) => outlet.receive().await,
        }
    }
}

/// The outcome of a write that may wait at most `limit`.
async fn within(
    limit: Duration,
    write: impl std::future::Future<Output = Result<(), Gone>>,
) -> Result<(), Unsent> {
    match timeout(limit, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(Gone)) => Err(Unsent::Gone),
        Err(_) => Err(Unsent::Stuck),
    }
}

fn data_frame(frame: Message) -> Frame {
    match frame {
        Message::Text(text) => Frame::text(text),
        Message::Binary(bytes) => Frame::binary(bytes),
    }
}

async fn receive(socket: &mut WebSocket) -> Option<Message> {
    loop {
        let Ok(frame) = socket.next_frame().await else {
            settle(socket).await;
            return None;
        };
        match frame.opcode() {
            // yawc has checked the text is UTF-8.
            OpCode::Text => {
                return String::from_utf8(frame.into_payload().into())
                    .ok()
                    .map(Message::Text)
            }
            OpCode::Binary => return Some(Message::Binary(frame.into_payload().into())),
            OpCode::Close => {
                settle(socket).await;
                return None;
            }
            // Pongs, and pings yawc answers; fragments come reassembled.
            OpCode::Ping | OpCode::Pong | OpCode::Continuation => {}
        }
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
