//! An instance's links to Redis, for the channel broker and for the HTTP
//! sessions' forwarding alike: a connection for commands, and a pub/sub
//! subscription kept up, subscribed again whenever the link breaks.
//!
//! A link can also die without breaking: a TCP path that drops every
//! packet (a firewall, a NAT entry gone, a host that vanished) resets
//! nothing, and a subscription waits for messages that never come. So the
//! subscription is checked every `--redis-liveness-secs` with a `PING` on
//! its own connection; one from which nothing (no message, no answer to a
//! ping) came for [`SILENT_CHECKS`] checks is taken for lost, exactly as
//! if it had broken, which is found out within one more check.

use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Fuse, FusedFuture};
use futures_util::{FutureExt, StreamExt};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub, PubSubSink};
use redis::{Client, Msg, RedisResult};
use tokio::time::{interval_at, timeout, Instant, MissedTickBehavior};

use crate::metrics::LinkState;
use crate::shutdown::Tasks;

/// Longest wait for one Redis command, and for a subscription to be made;
/// past it, what needed it fails (a frame that needed the channel broker
/// is not handled and its connection closed with 1013, to be retried).
pub const COMMAND_LIMIT: Duration = Duration::from_secs(2);

/// Longest pause between attempts to listen again after the link broke.
const MAX_RELISTEN_DELAY: Duration = Duration::from_secs(2);

/// First pause before listening again.
const FIRST_RELISTEN_DELAY: Duration = Duration::from_millis(50);

/// Checks in a row without a word from Redis after which a subscription
/// is lost: one unanswered ping may be a slow Redis; two are a dead link.
pub const SILENT_CHECKS: u32 = 2;

/// What a subscription listens to.
#[derive(Debug, Clone)]
pub enum Topic {
    Pattern(&'static str),
    Channel(String),
}

/// How a subscription is kept up: checked every `liveness`, and listened
/// to in a task of `tasks`, which a shutdown cuts.
#[derive(Debug, Clone)]
pub struct Upkeep {
    pub liveness: Duration,
    pub tasks: Tasks,
}

/// How a subscription was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lost {
    /// Its connection broke (closed, reset, or refused by Redis).
    Broken,
    /// Nothing came over it for this long, pings unanswered.
    Silent(Duration),
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lost::Broken => write!(f, "the link broke"),
            Lost::Silent(silent) => write!(
                f,
                "the link was silent for {:.1} s, pings unanswered",
                silent.as_secs_f64()
            ),
        }
    }
}

/// A client of the Redis at `url`, its connection for commands (each
/// bounded by [`COMMAND_LIMIT`]) and a subscription to `topic`; fails if
/// Redis cannot be reached, so that a misconfigured server does not start.
pub async fn connect(
    url: &str,
    topic: &Topic,
) -> Result<(Client, ConnectionManager, PubSub), String> {
    let failed = |error: redis::RedisError| format!("cannot use Redis at {url}: {error}");
    let client = Client::open(url).map_err(failed)?;
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(COMMAND_LIMIT))
        .set_connection_timeout(Some(COMMAND_LIMIT))
        .set_number_of_retries(1);
    let commands = ConnectionManager::new_with_config(client.clone(), config)
        .await
        .map_err(failed)?;
    let pubsub = subscribe(&client, topic).await.map_err(failed)?;
    Ok((client, commands, pubsub))
}

/// A new subscription to `topic`, made within [`COMMAND_LIMIT`]: through
/// a dead link it would wait for ever.
async fn subscribe(client: &Client, topic: &Topic) -> RedisResult<PubSub> {
    let subscribing = async {
        let mut pubsub = client.get_async_pubsub().await?;
        match topic {
            Topic::Pattern(pattern) => pubsub.psubscribe(*pattern).await?,
            Topic::Channel(channel) => pubsub.subscribe(channel).await?,
        }
        Ok(pubsub)
    };
    match timeout(COMMAND_LIMIT, subscribing).await {
        Ok(subscribed) => subscribed,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer from Redis to the subscription",
        )
        .into()),
    }
}

/// Who hears a subscription's messages.
pub trait Listener: Send + Sync + 'static {
    /// The link is up (again): messages are heard from now on.
    fn connected(&self) {}
    /// Takes one message; `false` once whoever it serves is gone, which
    /// stops the listening.
    fn heard(&self, message: &Msg) -> bool;
    /// The link was lost, as `how` says: what was published until it is
    /// up again is not heard. `false` stops the listening.
    fn lost(&self, how: Lost) -> bool;
    /// Whether whoever it serves still lives, asked before each attempt to
    /// listen again, and at each check of the link.
    fn alive(&self) -> bool;
}

/// Hands every message of `pubsub`, a subscription to `topic`, to
/// `listener`, subscribing again (backing off) whenever the link breaks or
/// goes silent, until the listener says to stop or `upkeep`'s tasks are
/// cut; `state` follows whether it is up.
pub fn listen(
    client: Client,
    topic: Topic,
    pubsub: PubSub,
    listener: impl Listener,
    upkeep: &Upkeep,
    state: LinkState,
) {
    let liveness = upkeep.liveness;
    upkeep.tasks.spawn(async move {
        let mut pubsub = Some(pubsub);
        let mut delay = FIRST_RELISTEN_DELAY;
        loop {
            if let Some(connected) = pubsub.take() {
                state.up();
                listener.connected();
                delay = FIRST_RELISTEN_DELAY;
                let Some(lost) = hear(connected, &listener, liveness).await else {
                    return;
                };
                state.down();
                if !listener.lost(lost) {
                    return;
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RELISTEN_DELAY);
            if !listener.alive() {
                return;
            }
            pubsub = subscribe(&client, &topic).await.ok();
        }
    });
}

/// Hands the messages of `pubsub` to `listener` and pings Redis on it
/// every `liveness`, until the link is lost (which it returns) or the
/// listener stops (`None`).
async fn hear(pubsub: PubSub, listener: &impl Listener, liveness: Duration) -> Option<Lost> {
    // A timer of period zero would panic.
    let liveness = liveness.max(Duration::from_millis(1));
    let (sink, mut messages) = pubsub.split();
    let mut heard_at = Instant::now();
    let mut checks = interval_at(heard_at + liveness, liveness);
    checks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The ping in flight; at most one, however long Redis takes.
    let mut pong = pin!(Fuse::terminated());
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else {
                    return Some(Lost::Broken);
                };
                heard_at = Instant::now();
                if !listener.heard(&message) {
                    return None;
                }
            }
            answered = &mut pong => if answered {
                heard_at = Instant::now();
            },
            _ = checks.tick() => {
                let silent = heard_at.elapsed();
                if silent >= liveness * SILENT_CHECKS {
                    return Some(Lost::Silent(silent));
                }
                if !listener.alive() {
                    return None;
                }
                if pong.is_terminated() {
                    pong.set(ping(sink.clone()).fuse());
                }
            }
        }
    }
}

/// Whether Redis answered a `PING` on the subscription's connection.
async fn ping(mut sink: PubSubSink) -> bool {
    sink.ping::<redis::Value>().await.is_ok()
}
