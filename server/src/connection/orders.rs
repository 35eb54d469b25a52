//! The control API's orders, carried out by the connection's task: stall
//! and resume, drop and close, and the firehose; and what its outbound
//! queue holds: channel messages, forwarded in order (those queued while
//! stalled first once resumed), or a request to close.

use super::{close_as_asked, give_up, Flow, Wire};
use crate::hub::{Command, Firehose, Next, Order, Outbound, Publication};
use crate::positions::Positions;
use crate::protocol::Message;

/// Carries out what the outbound queue held next.
pub(super) async fn carry(next: Next, wire: &mut Wire, positions: &mut Positions) -> Flow {
    match next {
        Next::Send(publication) => forward(publication, wire, positions).await,
        Next::Close { code, reason } => close_as_asked(wire, code, reason).await,
    }
}

/// Once resumed: sends the channel messages queued while stalled, in
/// order, before the client's frames that waited meanwhile are read.
pub(super) async fn release(
    outbound: &Outbound,
    wire: &mut Wire,
    positions: &mut Positions,
) -> Flow {
    for _ in 0..outbound.queued() {
        let Some(next) = outbound.try_next() else {
            break;
        };
        if let Flow::End = carry(next, wire, positions).await {
            return Flow::End;
        }
    }
    Flow::Continue
}

/// Sends a channel message, unless the connection already sent it (in a
/// replay) or no longer subscribes to its channel; the latency histogram
/// records it once written.
async fn forward(publication: Publication, wire: &mut Wire, positions: &mut Positions) -> Flow {
    if !positions.advance(&publication.channel, publication.offset) {
        return Flow::Continue;
    }
    let frame = Message::Text(publication.frame.as_ref().into());
    match wire.publish(frame, publication.taken).await {
        Ok(()) => Flow::Continue,
        Err(unsent) => give_up(wire, unsent).await,
    }
}

/// Carries out one control order and reports it done.
pub(super) async fn obey(command: Command, wire: &mut Wire, stalled: &mut bool) -> Flow {
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
/// the connection; one that waits past the write timeout closes it as a
/// slow consumer.
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
        if let Err(unsent) = wire.feed(frame).await {
            return give_up(wire, unsent).await;
        }
    }
    match wire.flush().await {
        Ok(()) => Flow::Continue,
        Err(unsent) => give_up(wire, unsent).await,
    }
}
