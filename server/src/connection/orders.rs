//! The control API's and the broker's orders, carried out by the
//! connection's task: stall and resume, drop and close, channel messages
//! (held while stalled, released in order), and the firehose.

use std::time::Duration;

use futures_util::SinkExt;
use tokio::time::timeout;
use yawc::close::CloseCode;
use yawc::{Frame, HttpWebSocket as WebSocket, OpCode};

use super::{send, Flow, SEND_CLOSE_LIMIT};
use crate::hub::{Command, Firehose, Order};
use crate::positions::Positions;
use crate::protocol::Message;

/// How long a control-initiated close waits for the client's close frame
/// before dropping the stream anyway.
const CLOSE_HANDSHAKE_LIMIT: Duration = Duration::from_secs(5);

/// Sends the channel messages held back while stalled, in order.
pub(super) async fn release(
    held: Vec<Command>,
    socket: &mut WebSocket,
    positions: &mut Positions,
) -> Flow {
    let mut stalled = false;
    for command in held {
        if let Flow::End = obey(command, socket, &mut stalled, positions).await {
            return Flow::End;
        }
    }
    Flow::Continue
}

/// Carries out one control order and reports it done.
pub(super) async fn obey(
    command: Command,
    socket: &mut WebSocket,
    stalled: &mut bool,
    positions: &mut Positions,
) -> Flow {
    let Command { order, done } = command;
    let flow = match order {
        Order::Stall => {
            *stalled = true;
            Flow::Continue
        }
        Order::Resume => {
            *stalled = false;
            Flow::Continue
        }
        Order::Drop => return Flow::Dropped(done),
        Order::Publication {
            channel,
            offset,
            frame,
        } => {
            if positions.advance(&channel, offset) {
                send(socket, Message::Text(frame.as_ref().into())).await
            } else {
                Flow::Continue
            }
        }
        Order::Firehose(firehose) => pour(socket, firehose).await,
        Order::Close { code, reason } => {
            let frame = Frame::close(CloseCode::from(code), reason);
            let sent = timeout(SEND_CLOSE_LIMIT, socket.send(frame)).await;
            // The close frame is on its way: report before waiting for the
            // client's answer, which may never come.
            let _ = done.send(());
            if let Ok(Ok(())) = sent {
                let _ = timeout(CLOSE_HANDSHAKE_LIMIT, drain(socket)).await;
            }
            return Flow::End;
        }
    };
    // The control request may have stopped waiting; that is not our problem.
    let _ = done.send(());
    flow
}

/// Sends the frames of `firehose` back to back: each is queued in yawc's
/// write buffer, which goes to the socket whenever it fills, and the rest
/// once the last frame is queued. A failed send ends the connection.
async fn pour(socket: &mut WebSocket, firehose: Firehose) -> Flow {
    let mut payload = firehose.template();
    for seq in 0..firehose.count {
        firehose.number(&mut payload, seq);
        let frame = if firehose.binary {
            Frame::binary(payload.clone())
        } else {
            Frame::text(payload.clone())
        };
        if socket.feed(frame).await.is_err() {
            return Flow::End;
        }
    }
    match socket.flush().await {
        Ok(()) => Flow::Continue,
        Err(_) => Flow::End,
    }
}

/// Reads until the client's close frame, ignoring data that was already in
/// flight. It stops right there: yawc would answer that close with another
/// on the next read, but this side has sent its own already.
async fn drain(socket: &mut WebSocket) {
    while let Ok(frame) = socket.next_frame().await {
        if frame.opcode() == OpCode::Close {
            return;
        }
    }
}
