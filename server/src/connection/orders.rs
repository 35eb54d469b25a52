//! The control API's and the broker's orders, carried out by the
//! connection's task: stall and resume, drop and close, channel messages
//! (held while stalled, released in order), and the firehose.

use super::{Flow, Gone, Wire};
use crate::hub::{Command, Firehose, Order};
use crate::positions::Positions;
use crate::protocol::Message;

/// Sends the channel messages held back while stalled, in order.
pub(super) async fn release(
    held: Vec<Command>,
    wire: &mut Wire,
    positions: &mut Positions,
) -> Flow {
    let mut stalled = false;
    for command in held {
        if let Flow::End = obey(command, wire, &mut stalled, positions).await {
            return Flow::End;
        }
    }
    Flow::Continue
}

/// Carries out one control order and reports it done.
pub(super) async fn obey(
    command: Command,
    wire: &mut Wire,
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
            taken,
        } => {
            if positions.advance(&channel, offset) {
                match wire
                    .publish(Message::Text(frame.as_ref().into()), taken)
                    .await
                {
                    Ok(()) => Flow::Continue,
                    Err(Gone) => Flow::End,
                }
            } else {
                Flow::Continue
            }
        }
        Order::Firehose(firehose) => pour(wire, firehose).await,
        Order::Close { code, reason } => {
            let sent = wire.close(code, reason).await;
            // The close is on its way: report before waiting for the
            // client's answer, which may never come.
            let _ = done.send(());
            if sent {
                wire.finish_close().await;
            }
            return Flow::End;
        }
    };
    // The control request may have stopped waiting; that is not our problem.
    let _ = done.send(());
    flow
}

/// Sends the frames of `firehose` back to back: each is queued behind the
/// others (in yawc's write buffer, which goes to the socket whenever it
/// fills, and the rest once the last frame is queued). A failed send ends
/// the connection.
async fn pour(wire: &mut Wire, firehose: Firehose) -> Flow {
    let mut payload = firehose.template();
    for seq in 0..firehose.count {
        firehose.number(&mut payload, seq);
        let frame = if firehose.binary {
            Message::Binary(payload.clone())
        } else {
            // The template and the digits are ASCII.
            Message::Text(String::from_utf8_lossy(&payload).into_owned())
        };
        if wire.feed(frame).await.is_err() {
            return Flow::End;
        }
    }
    match wire.flush().await {
        Ok(()) => Flow::Continue,
        Err(_) => Flow::End,
    }
}
