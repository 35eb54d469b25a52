//! The HTTP sessions of this instance, by id, and the requests of a session
//! (send, poll, close) carried out on them, for a client of this instance or
//! one forwarded by another ([`super::forward`]).
//!
//! A session's id is `<instance>.<random>`: any instance tells from it which
//! one owns the session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use super::outlet::{Batch, Downstream, Outlet};
use super::poll::Mailbox;
use super::Answer;
use crate::protocol::Message;

/// Batches of sent frames a session takes before a further send waits:
/// the client sends one at a time, so more only come from a misbehaving one.
const QUEUED_BATCHES: usize = 4;

/// A request of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Op {
    /// The client's frames, one a line.
    Send { session: String, body: String },
    /// The frames after `cursor`, waiting for one if none is there.
    Poll { session: String, cursor: u64 },
    /// The client ends the session.
    Close { session: String },
}

impl Op {
    pub fn session(&self) -> &str {
        match self {
            Op::Send { session, .. } | Op::Poll { session, .. } | Op::Close { session } => session,
        }
    }
}

/// The sessions one instance owns.
#[derive(Debug)]
pub struct Sessions {
    /// This instance's id, which starts every session id.
    instance: String,
    live: Mutex<HashMap<String, Entry>>,
    /// How many sessions are listed, for a shutdown waiting for them to go.
    listed: watch::Sender<usize>,
}

/// How requests reach one session: its serving loop's inbox, and, for a
/// polling session, the frames waiting for a poll.
#[derive(Debug, Clone)]
struct Entry {
    upstream: mpsc::Sender<Batch>,
    mailbox: Option<Arc<Mailbox>>,
}

/// The instance that owns the session `id`, as its id says.
pub fn owner(id: &str) -> Option<&str> {
    id.split_once('.').map(|(instance, _)| instance)
}

impl Sessions {
    pub fn new(instance: String) -> Self {
        Sessions {
            instance,
            live: Mutex::new(HashMap::new()),
            listed: watch::Sender::new(0),
        }
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Whether the session `id` is this instance's to serve.
    pub fn owns(&self, id: &str) -> bool {
        owner(id) == Some(self.instance.as_str())
    }

    /// A panic elsewhere while holding the lock leaves the map usable.
    fn live(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lists a new session whose frames go to `downstream`; returns its id
    /// and the end its serving loop holds.
    pub fn open(self: &Arc<Self>, downstream: Downstream) -> (String, Outlet) {
        let id = format!("{}.{}", self.instance, crate::random::token());
        let (upstream, inbox) = mpsc::channel(QUEUED_BATCHES);
        let mailbox = match &downstream {
            Downstream::Poll(mailbox) => Some(Arc::clone(mailbox)),
            Downstream::Stream(_) => None,
        };
        let mut live = self.live();
        live.insert(id.clone(), Entry { upstream, mailbox });
        self.listed.send_replace(live.len());
        drop(live);
        let outlet = Outlet::new(
            inbox,
            downstream,
            Listing {
                sessions: Arc::downgrade(self),
                id: id.clone(),
            },
        );
        (id, outlet)
    }

    fn entry(&self, id: &str) -> Option<Entry> {
        self.live().get(id).cloned()
    }

    /// Unlists the session `id`: requests of it are answered 404 from now.
    pub fn remove(&self, id: &str) {
        let mut live = self.live();
        live.remove(id);
        self.listed.send_replace(live.len());
    }

    /// How many sessions are listed.
    pub fn count(&self) -> usize {
        *self.listed.borrow()
    }

    /// Resolves once no session is listed: every session's loop has
    /// ended, and every polling session's end was taken by a poll (or its
    /// client stopped polling).
    pub async fn emptied(&self) {
        // The sender lives in `self`: the wait cannot fail.
        let _ = self
            .listed
            .subscribe()
            .wait_for(|listed| *listed == 0)
            .await;
    }

    /// Carries out `op` on a session of this instance.
    pub async fn perform(&self, op: Op) -> Answer {
        let Some(entry) = self.entry(op.session()) else {
            return Answer::unknown_session();
        };
        match op {
            Op::Send { body, .. } => send(entry, &body).await,
            Op::Poll { session, cursor } => {
                let Some(mailbox) = entry.mailbox else {
                    return Answer::error(400, "op: the session streams; it is not polled");
                };
                if let Err(why) = mailbox.confirm(cursor) {
                    return Answer::error(400, why);
                }
                let polled = mailbox.wait().await;
                if polled.closed {
                    // The client has the end: nothing more to ask.
                    self.remove(&session);
                }
                Answer::json(polled.answer)
            }
            Op::Close { session } => {
                // The loop ends once it has handled what was sent before,
                // as a WebSocket's does at the client's close.
                self.remove(&session);
                Answer::done()
            }
        }
    }
}

/// Hands the frames of `body` (one a line; blank lines are none) to the
/// session's loop and answers once it has handled them all, in order, as
/// if they had come from a socket. A session that ends meanwhile, or has
/// ended, drops what it did not handle: its stream or next poll brings the
/// close, and the client sends again what was not acknowledged.
async fn send(entry: Entry, body: &str) -> Answer {
    let frames = body
        .split('\n')
        .filter(|line| !line.is_empty())
        .map(|line| Message::Text(line.to_owned()))
        .collect();
    let (handled, done) = oneshot::channel();
    if entry.upstream.send(Batch { frames, handled }).await.is_ok() {
        let _ = done.await;
    }
    Answer::done()
}

/// Keeps a session listed for as long as its loop lives, and a polling
/// session until a poll took its end or a client would have stopped
/// waiting for it.
#[derive(Debug)]
pub struct Listing {
    sessions: Weak<Sessions>,
    id: String,
}

impl Listing {
    /// The loop has ended: the session goes now, or once `linger` has
    /// passed (a polling session whose end waits for a poll).
    pub fn end(&self, linger: Option<Duration>) {
        let (sessions, id) = (self.sessions.clone(), self.id.clone());
        let unlist = move || {
            if let Some(sessions) = sessions.upgrade() {
                sessions.remove(&id);
            }
        };
        match linger {
            None => unlist(),
            Some(linger) => {
                tokio::spawn(async move {
                    tokio::time::sleep(linger).await;
                    unlist();
                });
            }
        }
    }
}
