//! An instance's links to Redis, for the channel broker and for the HTTP
//! sessions' forwarding alike: a connection for commands, and a pub/sub
//! subscription kept up, subscribed again whenever the link breaks.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use redis::{Client, Msg, RedisResult};

use crate::metrics::LinkState;

/// Longest wait for one Redis command; past it, what needed it fails (a
/// frame that needed the channel broker is not handled and its connection
/// closed with 1013, to be retried).
pub const COMMAND_LIMIT: Duration = Duration::from_secs(2);

/// Longest pause between attempts to listen again after the link broke.
const MAX_RELISTEN_DELAY: Duration = Duration::from_secs(2);

/// What a subscription listens to.
#[derive(Debug, Clone)]
pub enum Topic {
    Pattern(&'static str),
    Channel(String),
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

async fn subscribe(client: &Client, topic: &Topic) -> RedisResult<PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    match topic {
        Topic::Pattern(pattern) => pubsub.psubscribe(*pattern).await?,
        Topic::Channel(channel) => pubsub.subscribe(channel).await?,
    }
    Ok(pubsub)
}

/// Who hears a subscription's messages.
pub trait Listener: Send + 'static {
    /// The link is up (again): messages are heard from now on.
    fn connected(&self) {}
    /// Takes one message; `false` once whoever it serves is gone, which
    /// stops the listening.
    fn heard(&self, message: &Msg) -> bool;
    /// The link broke: what was published until it is up again is not
    /// heard. `false` stops the listening.
    fn lost(&self) -> bool;
    /// Whether whoever it serves still lives, asked before each attempt to
    /// listen again.
    fn alive(&self) -> bool;
}

/// Hands every message of `pubsub`, a subscription to `topic`, to
/// `listener`, subscribing again (backing off) whenever the link breaks,
/// until the listener says to stop; `state` follows whether it is up.
pub fn listen(
    client: Client,
    topic: Topic,
    pubsub: PubSub,
    listener: impl Listener,
    state: LinkState,
) {
    tokio::spawn(async move {
        let mut pubsub = Some(pubsub);
        let mut delay = Duration::from_millis(50);
        loop {
            if let Some(mut connected) = pubsub.take() {
                state.up();
                listener.connected();
                delay = Duration::from_millis(50);
                let mut messages = connected.on_message();
                while let Some(message) = messages.next().await {
                    if !listener.heard(&message) {
                        return;
                    }
                }
                state.down();
                if !listener.lost() {
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
