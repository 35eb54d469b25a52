//! Requests of a session that reach another instance than its owner, carried
//! to the owner through Redis, so that a load balancer needs no stickiness.
//!
//! Each instance listens to its own pub/sub channel,
//! `tabwire:instance:<instance>`, which carries two kinds of messages (JSON):
//!
//! - a request, `{"kind":"request","id":N,"from":"<instance>","op":...}`,
//!   which the owner carries out as if it had come to it, then answers on
//!   the channel of `from`;
//! - a reply, `{"kind":"reply","id":N,"answer":{"status","body"}}`, which
//!   the instance that forwarded request `N` gives its client.
//!
//! A request that no instance hears (`PUBLISH` reaches nobody: the owner is
//! gone) is answered 404, as an unknown session: the client opens a new one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, PubSub};
use redis::{Client, Msg};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::time::timeout;

use super::sessions::{owner, Op, Sessions};
use super::Answer;
use crate::broker::link::{self, Listener, Lost, Topic, Upkeep};
use crate::metrics::LinkState;

/// Longest wait for the owner's reply: a poll waits up to 20 s for a frame
/// there, and a send waits while its session is stalled.
const REPLY_LIMIT: Duration = Duration::from_secs(25);

/// What goes over an instance's channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Envelope {
    Request { id: u64, from: String, op: Op },
    Reply { id: u64, answer: Answer },
}

/// One instance's end of the forwarding.
pub struct Forwarder {
    instance: String,
    client: Client,
    commands: ConnectionManager,
    next_id: AtomicU64,
    /// The requests forwarded and not yet answered, by id.
    waiting: Mutex<HashMap<u64, oneshot::Sender<Answer>>>,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// The pub/sub channel of `instance`.
fn channel(instance: &str) -> String {
    format!("tabwire:instance:{instance}")
}

/// This instance's subscription.
fn topic(instance: &str) -> Topic {
    Topic::Channel(channel(instance))
}

impl Forwarder {
    /// Connects to the Redis at `url` and listens to the channel of
    /// `instance`; fails if either is impossible, so a misconfigured server
    /// does not start. Call [`Forwarder::listen`] once the sessions exist.
    pub async fn connect(url: &str, instance: &str) -> Result<(Self, PubSub), String> {
        let (client, commands, pubsub) = link::connect(url, &topic(instance)).await?;
        let forwarder = Forwarder {
            instance: instance.to_owned(),
            client,
            commands,
            next_id: AtomicU64::new(1),
            waiting: Mutex::new(HashMap::new()),
        };
        Ok((forwarder, pubsub))
    }

    /// A panic elsewhere while holding the lock leaves the map usable.
    fn waiting(&self) -> MutexGuard<'_, HashMap<u64, oneshot::Sender<Answer>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Has the owner of the session of `op` carry it out, and returns its
    /// answer: 404 if no instance owns the session any longer, 503 if Redis
    /// cannot be reached, 504 if the owner did not answer in time.
    pub async fn forward(&self, op: Op) -> Answer {
        let Some(owner) = owner(op.session()).map(channel) else {
            return Answer::unknown_session();
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.waiting().insert(id, reply);
        let _unlisted_when_done = Waiting(self, id);
        let request = Envelope::Request {
            id,
            from: self.instance.clone(),
            op,
        };
        match self.publish(&owner, &request).await {
            Ok(0) => Answer::unknown_session(),
            Ok(_) => match timeout(REPLY_LIMIT, answer).await {
                Ok(Ok(answer)) => answer,
                _ => Answer::error(504, "the session's instance did not answer"),
            },
            Err(why) => Answer::error(503, why),
        }
    }

    /// Publishes `envelope` on `channel`; returns how many instances heard it.
    async fn publish(&self, channel: &str, envelope: &Envelope) -> Result<usize, String> {
        let payload = serde_json::to_string(envelope).map_err(|error| error.to_string())?;
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async(&mut self.commands.clone())
            .await
            .map_err(|error| format!("forwarding through Redis: {error}"))
    }

    /// Carries out the requests that come for `sessions`, and hands the
    /// replies to the requests forwarded, for as long as the sessions live,
    /// listening again whenever the link breaks or goes silent (requests
    /// and replies sent meanwhile are lost: their requester answers 504);
    /// `state` follows the link.
    pub fn listen(
        self: &Arc<Self>,
        sessions: Weak<Sessions>,
        pubsub: PubSub,
        upkeep: &Upkeep,
        state: LinkState,
    ) {
        let listener = Requests {
            forwarder: Arc::clone(self),
            sessions,
        };
        let topic = topic(&self.instance);
        link::listen(self.client.clone(), topic, pubsub, listener, upkeep, state);
    }

    /// Takes one message of the channel: a request is carried out (in a
    /// task of its own: a poll may wait), a reply handed to its requester.
    /// Anything else is not ours and is ignored.
    fn take(self: &Arc<Self>, message: &Msg, sessions: Arc<Sessions>) {
        let Ok(envelope) = serde_json::from_slice(message.get_payload_bytes()) else {
            return;
        };
        match envelope {
            Envelope::Request { id, from, op } => {
                let forwarder = Arc::clone(self);
                tokio::spawn(async move {
                    let answer = sessions.perform(op).await;
                    // A requester that cannot be reached answers 504 itself.
                    let _ = forwarder
                        .publish(&channel(&from), &Envelope::Reply { id, answer })
                        .await;
                });
            }
            Envelope::Reply { id, answer } => {
                if let Some(reply) = self.waiting().remove(&id) {
                    let _ = reply.send(answer);
                }
            }
        }
    }
}

/// A request forwarded, listed until answered or given up (its client may
/// go away before).
struct Waiting<'a>(&'a Forwarder, u64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting().remove(&self.1);
    }
}

/// Hears the requests and replies of this instance's channel.
struct Requests {
    forwarder: Arc<Forwarder>,
    sessions: Weak<Sessions>,
}

impl Listener for Requests {
    fn heard(&self, message: &Msg) -> bool {
        let Some(sessions) = self.sessions.upgrade() else {
            return false;
        };
        self.forwarder.take(message, sessions);
        true
    }

    fn lost(&self, _: Lost) -> bool {
        self.alive()
    }

    fn alive(&self) -> bool {
        self.sessions.strong_count() > 0
    }
}
