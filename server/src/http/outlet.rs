//! The end of an HTTP session its serving loop holds, as it would hold a
//! WebSocket ([`crate::connection`]'s `Wire`): the client's frames come in
//! batches, one per send request, each answered once the loop took its last
//! frame; the server's frames go down the session's stream or wait for a
//! poll.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::poll::{Mailbox, POLL_IDLE};
use super::sessions::Listing;
use super::stream::Events;
use crate::connection::Gone;
use crate::protocol::Message;

/// The frames of one send request, and how to tell it they are handled.
#[derive(Debug)]
pub struct Batch {
    pub frames: VecDeque<Message>,
    pub handled: oneshot::Sender<()>,
}

/// Where a session's frames go.
#[derive(Debug)]
pub enum Downstream {
    /// To the answer that streams them (bounded: a client that does not
    /// read holds the loop back, as a full TCP buffer would).
    Stream(Events),
    /// To the frames waiting for a poll.
    Poll(Arc<Mailbox>),
}

/// The loop's end of an HTTP session. Dropped, it ends the session without
/// a close: a stream stops without its close event, a poll then gets the
/// close 1006.
#[derive(Debug)]
pub struct Outlet {
    inbox: mpsc::Receiver<Batch>,
    /// The batch being handled: the frames not yet taken.
    batch: Option<Batch>,
    downstream: Downstream,
    listing: Listing,
}

impl Outlet {
    pub fn new(inbox: mpsc::Receiver<Batch>, downstream: Downstream, listing: Listing) -> Self {
        Outlet {
            inbox,
            batch: None,
            downstream,
            listing,
        }
    }

    /// Sends one frame down.
    pub async fn send(&mut self, frame: Message) -> Result<(), Gone> {
        match &self.downstream {
            Downstream::Stream(events) => events.send(frame).await,
            Downstream::Poll(mailbox) => mailbox.push(frame).await,
        }
    }

    /// Sends the close down, after the frames sent before; on a stream
    /// whose client does not read them, ahead of them (it resumes from its
    /// offsets and sends again what was not acknowledged, so they are not
    /// needed). Returns whether it went.
    pub fn close(&mut self, code: u16, reason: String) -> bool {
        match &self.downstream {
            Downstream::Stream(events) => events.close(code, reason),
            Downstream::Poll(mailbox) => {
                mailbox.close(code, reason);
                true
            }
        }
    }

    /// The next frame the client sent; `None` once the session is over:
    /// the client closed it, or stopped reading its stream, or stopped
    /// polling for [`POLL_IDLE`]. A batch is answered once its last frame
    /// was handled, which is when the loop asks for the next one.
    pub async fn receive(&mut self) -> Option<Message> {
        loop {
            if let Some(batch) = &mut self.batch {
                if let Some(frame) = batch.frames.pop_front() {
                    return Some(frame);
                }
                if let Some(Batch { handled, .. }) = self.batch.take() {
                    let _ = handled.send(());
                }
            }
            let batch = match &self.downstream {
                Downstream::Stream(events) => tokio::select! {
                    batch = self.inbox.recv() => batch,
                    () = events.closed() => None,
                },
                Downstream::Poll(mailbox) => tokio::select! {
                    batch = self.inbox.recv() => batch,
                    () = mailbox.idle() => None,
                },
            };
            self.batch = Some(batch?);
        }
    }
}

impl Drop for Outlet {
    fn drop(&mut self) {
        match &self.downstream {
            Downstream::Stream(_) => self.listing.end(None),
            Downstream::Poll(mailbox) => {
                mailbox.close(ABNORMAL, String::new());
                // Kept for the poll that takes the close, for as long as a
                // client polls.
                self.listing.end(Some(POLL_IDLE));
            }
        }
    }
}

/// The close code a browser reports for a connection lost without a close.
const ABNORMAL: u16 = 1006;
