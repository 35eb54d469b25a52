//! Polling sessions: the server's frames wait in the session's [`Mailbox`]
//! until a poll takes them, numbered so that a poll names, by its cursor,
//! the last frame the client has (frames up to it are then forgotten, and a
//! poll whose answer was lost is simply asked again).
//!
//! A poll waits up to [`POLL_WAIT`] for a frame. A session without a poll
//! in progress for [`POLL_IDLE`] ends, as a WebSocket whose client went
//! away does. The frames waiting are bounded by [`MAX_FRAMES`] and
//! [`MAX_BYTES`]: past them the session's loop waits for a poll to take
//! some, as a full TCP buffer holds a socket back. A client that polls gets
//! everything in turn (a history replay longer than the bound, a burst of
//! acknowledgements); one that stopped polling ends with the idle timer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{json, Value};
use tabwire::core::base64;
use tokio::sync::watch;
use tokio::time::{timeout_at, Instant};

use super::outlet::Downstream;
use super::{Answer, Endpoint};
use crate::connection::{self, Gone, Params};
use crate::hub::Carrier;
use crate::limits::PeerSlot;
use crate::protocol::Message;

/// Longest wait of one poll for a frame.
const POLL_WAIT: Duration = Duration::from_secs(20);

/// How long a session lives without a poll in progress.
pub const POLL_IDLE: Duration = Duration::from_secs(30);

/// Most frames waiting for a poll.
const MAX_FRAMES: usize = 1_000;

/// Most bytes (of frame payload) waiting for a poll.
const MAX_BYTES: usize = 1 << 20;

/// `POST /ws?transport=poll`: opens a polling session, counted in `slot`,
/// and answers, at once, `{"session", "cursor", "frames"}` with the
/// server's hello first.
pub async fn open(endpoint: &Endpoint, params: Params, slot: PeerSlot) -> Answer {
    let mailbox = Arc::new(Mailbox::new());
    let (id, outlet) = endpoint
        .sessions
        .open(Downstream::Poll(Arc::clone(&mailbox)));
    let carrier = Carrier::Poll;
    connection::spawn_session(&endpoint.hub, outlet, id.clone(), params, carrier, slot);
    let mut polled = mailbox.wait().await;
    polled.answer["session"] = Value::String(id);
    Answer::json(polled.answer)
}

/// What a poll gets: `{"cursor", "frames"}`, and `"closed": {"code",
/// "reason"}` when the session has ended (these are then its last frames).
#[derive(Debug, PartialEq)]
pub struct Polled {
    pub answer: Value,
    pub closed: bool,
}

/// The frames of one polling session that no poll has confirmed yet.
#[derive(Debug)]
pub struct Mailbox {
    state: Mutex<State>,
    /// Ticks at every change, for the polls and the idle timer waiting.
    changed: watch::Sender<()>,
}

#[derive(Debug)]
struct State {
    frames: VecDeque<Message>,
    /// The number of the newest frame forgotten: `frames[i]` is frame
    /// `forgotten + 1 + i`.
    forgotten: u64,
    bytes: usize,
    closed: Option<(u16, String)>,
    polls: usize,
    /// Since when no poll is in progress.
    idle_since: Instant,
}

impl Mailbox {
    fn new() -> Self {
        Mailbox {
            state: Mutex::new(State {
                frames: VecDeque::new(),
                forgotten: 0,
                bytes: 0,
                closed: None,
                polls: 0,
                idle_since: Instant::now(),
            }),
            changed: watch::Sender::new(()),
        }
    }

    /// A panic elsewhere while holding the lock leaves the frames usable.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `frame` for the next poll, once there is room for it (a frame
    /// alone always fits); `Gone` if the session ended meanwhile, or its
    /// client stopped polling while the frames waited.
    pub async fn push(&self, frame: Message) -> Result<(), Gone> {
        let size = frame.size();
        let mut changes = self.changed.subscribe();
        loop {
            {
                let mut state = self.state();
                if state.closed.is_some() {
                    return Err(Gone);
                }
                let fits = state.frames.len() < MAX_FRAMES && state.bytes + size <= MAX_BYTES;
                if fits || state.frames.is_empty() {
                    state.bytes += size;
                    state.frames.push_back(frame);
                    drop(state);
                    self.changed.send_replace(());
                    return Ok(());
                }
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return Err(Gone) },
                () = self.idle() => return Err(Gone),
            }
        }
    }

    /// Ends the session with `code` and `reason`, for the next poll to
    /// tell, unless it has ended already.
    pub fn close(&self, code: u16, reason: String) {
        self.state().closed.get_or_insert((code, reason));
        self.changed.send_replace(());
    }

    /// Forgets the frames up to `cursor`, the newest the client has;
    /// refuses a cursor that is not that of a frame the session still has.
    pub fn confirm(&self, cursor: u64) -> Result<(), String> {
        let mut state = self.state();
        let newest = state.forgotten + state.frames.len() as u64;
        if cursor < state.forgotten || cursor > newest {
            return Err(format!(
                "cursor: {cursor} is not a frame of this session (it has {} to {newest})",
                state.forgotten
            ));
        }
        while state.forgotten < cursor {
            if let Some(frame) = state.frames.pop_front() {
                state.bytes -= frame.size();
            }
            state.forgotten += 1;
        }
        drop(state);
        // Room made for a push that waits.
        self.changed.send_replace(());
        Ok(())
    }

    /// Every frame waiting, once there is one or the session ended, or
    /// none after [`POLL_WAIT`].
    pub async fn wait(&self) -> Polled {
        let _polling = Polling::start(self);
        let mut changes = self.changed.subscribe();
        let deadline = Instant::now() + POLL_WAIT;
        loop {
            {
                let state = self.state();
                let waited = Instant::now() >= deadline;
                if !state.frames.is_empty() || state.closed.is_some() || waited {
                    return state.answer();
                }
            }
            let changed = timeout_at(deadline, changes.changed()).await;
            if let Ok(Err(_)) = changed {
                // The sender lives in `self`: cannot happen, but must not spin.
                return self.state().answer();
            }
        }
    }

    /// Resolves once no poll has been in progress for [`POLL_IDLE`].
    pub async fn idle(&self) {
        let mut changes = self.changed.subscribe();
        loop {
            let deadline = {
                let state = self.state();
                (state.polls == 0).then(|| state.idle_since + POLL_IDLE)
            };
            let changed = match deadline {
                Some(deadline) if Instant::now() >= deadline => return,
                Some(deadline) => match timeout_at(deadline, changes.changed()).await {
                    Ok(changed) => changed,
                    Err(_) => Ok(()),
                },
                None => changes.changed().await,
            };
            if changed.is_err() {
                return;
            }
        }
    }
}

impl State {
    /// Every frame waiting, as the answer to a poll.
    fn answer(&self) -> Polled {
        let cursor = self.forgotten + self.frames.len() as u64;
        let frames: Vec<Value> = self.frames.iter().map(frame_json).collect();
        let mut answer = json!({ "cursor": cursor, "frames": frames });
        if let Some((code, reason)) = &self.closed {
            answer["closed"] = json!({ "code": code, "reason": reason });
        }
        Polled {
            answer,
            closed: self.closed.is_some(),
        }
    }
}

/// A frame in a poll's answer: a text frame as a JSON string, a binary one
/// as `{"binary": base64}`.
fn frame_json(frame: &Message) -> Value {
    match frame {
        Message::Text(text) => Value::String(text.clone()),
        Message::Binary(bytes) => json!({ "binary": base64::encode(bytes) }),
    }
}

/// A poll in progress, counted for the idle timer until dropped (answered,
/// or given up by a client that went away).
struct Polling<'a>(&'a Mailbox);

impl<'a> Polling<'a> {
    fn start(mailbox: &'a Mailbox) -> Self {
        mailbox.state().polls += 1;
        mailbox.changed.send_replace(());
        Polling(mailbox)
    }
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.polls -= 1;
        state.idle_since = Instant::now();
        drop(state);
        self.0.changed.send_replace(());
    }
}

#[cfg(test)]
mod tests;
