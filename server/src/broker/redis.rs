//! Channels in Redis, shared by every server instance started with the same
//! `--redis URL`:
//!
//! - `tabwire:offset:<channel>` counts the channel's messages (its offsets);
//! - `tabwire:history:<channel>` is a stream holding the newest of them,
//!   under the ids `0-<offset>`, bounded in count and expiring with age;
//! - `tabwire:seen:<tag>:<id>` remembers, for a while, a client message id
//!   already published, so a client that resends through another instance
//!   publishes once;
//! - `tabwire:duplicates:<tag>` counts the publications of that tag whose id
//!   was found already published (across every instance and restart);
//! - the pub/sub channel `tabwire:pub:<channel>` announces each message,
//!   as `<offset>:<data>`, to every instance.
//!
//! Publishing is one script (count, keep, announce), so offsets follow the
//! announcements' order whichever instance publishes. Each instance listens
//! to every announcement on one pattern subscription and hands it to its
//! own subscribers. When that link breaks, live messages may be missed: the
//! instance closes its subscribers' connections with 1012, and they resume
//! from their offsets on reconnecting, here or elsewhere.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use redis::{Client, Msg, Script, Value};

use super::{Published, Reach, Subscribed, Unavailable};
use crate::history::{replay, HistoryLimits};
use crate::hub::Hub;

const ANNOUNCEMENTS: &str = "tabwire:pub:*";
const ANNOUNCEMENT_PREFIX: &str = "tabwire:pub:";

/// Longest wait for one Redis command; past it the frame that needed it is
/// not handled and its connection closed (1013), to be retried.
const COMMAND_LIMIT: Duration = Duration::from_secs(2);

/// How long a published client message id is remembered. A client that
/// resends a message whose ack it missed does so on its next connection,
/// normally within seconds; one offline for longer than this may publish
/// it twice.
const SEEN_FOR: Duration = Duration::from_secs(3600);

/// Longest pause between attempts to listen again after the link broke.
const MAX_RELISTEN_DELAY: Duration = Duration::from_secs(2);

pub struct RedisBroker {
    url: String,
    client: Client,
    commands: ConnectionManager,
    limits: HistoryLimits,
    publish: Script,
    snapshot: Script,
    /// Whether announcements are being received; subscribing while they
    /// are not would miss live messages.
    listening: AtomicBool,
}

impl std::fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroker")
            .field("url", &self.url)
            .field("limits", &self.limits)
            .field("listening", &self.listening)
            .finish_non_exhaustive()
    }
}

fn unavailable(error: &redis::RedisError) -> Unavailable {
    Unavailable(format!("channel broker (Redis): {error}"))
}

impl RedisBroker {
    /// Connects to the Redis at `url` and subscribes to the announcements;
    /// fails if either is impossible, so a misconfigured server does not
    /// start. Call [`RedisBroker::listen`] once the hub exists.
    pub async fn connect(url: &str, limits: HistoryLimits) -> Result<(Self, PubSub), String> {
        let failed = |error: redis::RedisError| format!("cannot use Redis at {url}: {error}");
        let client = Client::open(url).map_err(failed)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(COMMAND_LIMIT))
            .set_connection_timeout(Some(COMMAND_LIMIT))
            .set_number_of_retries(1);
        let commands = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(failed)?;
        let pubsub = subscribe(&client).await.map_err(failed)?;
        let broker = RedisBroker {
            url: url.to_owned(),
            client,
            commands,
            limits,
            publish: Script::new(include_str!("publish.lua")),
            snapshot: Script::new(include_str!("snapshot.lua")),
            listening: AtomicBool::new(true),
        };
        Ok((broker, pubsub))
    }

    /// Hands every announcement to the hub's subscribers, for as long as
    /// the hub lives, listening again whenever the link breaks.
    pub fn listen(self: &Arc<Self>, hub: Weak<Hub>, pubsub: PubSub) {
        let broker = Arc::clone(self);
        tokio::spawn(async move {
            let mut pubsub = Some(pubsub);
            let mut delay = Duration::from_millis(50);
            loop {
                if let Some(mut connected) = pubsub.take() {
                    broker.listening.store(true, Ordering::SeqCst);
                    delay = Duration::from_millis(50);
                    let mut announcements = connected.on_message();
                    while let Some(message) = announcements.next().await {
                        let Some(hub) = hub.upgrade() else { return };
                        announce(&hub, &message);
                    }
                    broker.listening.store(false, Ordering::SeqCst);
                    let Some(hub) = hub.upgrade() else { return };
                    hub.log(format_args!(
                        "lost the Redis announcements; closing subscribers"
                    ));
                    hub.close_subscribers(SERVICE_RESTART, "channel broker link lost");
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RELISTEN_DELAY);
                if hub.strong_count() == 0 {
                    return;
                }
                pubsub = subscribe(&broker.client).await.ok();
            }
        });
    }

    /// Publishes `data` to `channel`; with `once` (tag, message id), only if
    /// that id was not published before: `None` then means a duplicate.
    pub async fn publish(
        &self,
        channel: &str,
        data: &str,
        once: Option<(&str, &str)>,
    ) -> Result<Option<Published>, Unavailable> {
        let mut invocation = self.publish.key(offset_key(channel));
        invocation.key(history_key(channel));
        if let Some((tag, id)) = once {
            invocation.key(format!("tabwire:seen:{tag}:{id}"));
            invocation.key(format!("tabwire:duplicates:{tag}"));
        }
        invocation
            .arg(data)
            .arg(self.limits.max_messages)
            .arg(self.limits.max_age.as_millis() as u64)
            .arg(format!("{ANNOUNCEMENT_PREFIX}{channel}"))
            .arg(SEEN_FOR.as_secs());
        let (offset, instances): (u64, usize) = invocation
            .invoke_async(&mut self.commands.clone())
            .await
            .map_err(|error| unavailable(&error))?;
        Ok((offset > 0).then_some(Published {
            offset,
            reach: Reach::Instances(instances),
        }))
    }

    /// The channel's newest offset and, with `since`, what came after it.
    /// Refused while announcements are not received: the new subscriber
    /// would miss live messages.
    pub async fn snapshot(
        &self,
        channel: &str,
        since: Option<u64>,
    ) -> Result<Subscribed, Unavailable> {
        if !self.listening.load(Ordering::SeqCst) {
            return Err(Unavailable(
                "channel broker (Redis): not listening to announcements".to_owned(),
            ));
        }
        let values: Vec<Value> = self
            .snapshot
            .key(offset_key(channel))
            .key(history_key(channel))
            .arg(if since.is_some() { "1" } else { "0" })
            .arg(self.limits.max_age.as_millis() as u64)
            .invoke_async(&mut self.commands.clone())
            .await
            .map_err(|error| unavailable(&error))?;
        let (offset, kept) = decode_snapshot(&values)
            .ok_or_else(|| Unavailable("channel broker (Redis): malformed history".to_owned()))?;
        Ok(Subscribed {
            offset,
            replay: since.map(|since| {
                let kept = kept.iter().map(|(offset, data)| (*offset, data.as_str()));
                replay(kept, offset, since)
            }),
        })
    }
}

/// Close code for connections whose live messages may have been missed.
const SERVICE_RESTART: u16 = 1012;

fn offset_key(channel: &str) -> String {
    format!("tabwire:offset:{channel}")
}

fn history_key(channel: &str) -> String {
    format!("tabwire:history:{channel}")
}

async fn subscribe(client: &Client) -> redis::RedisResult<PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.psubscribe(ANNOUNCEMENTS).await?;
    Ok(pubsub)
}

/// Hands one announcement (`<offset>:<data>` on `tabwire:pub:<channel>`)
/// to the hub; anything else on the pattern is not ours and is ignored.
fn announce(hub: &Hub, message: &Msg) {
    let Some(channel) = message.get_channel_name().strip_prefix(ANNOUNCEMENT_PREFIX) else {
        return;
    };
    let Ok(payload) = std::str::from_utf8(message.get_payload_bytes()) else {
        return;
    };
    if let Some((offset, data)) = payload.split_once(':') {
        if let Ok(offset) = offset.parse() {
            hub.fan_out(channel, offset, data);
        }
    }
}

/// `{newest offset, offset, data, ...}` from the snapshot script.
fn decode_snapshot(values: &[Value]) -> Option<(u64, Vec<(u64, String)>)> {
    let (first, rest) = values.split_first()?;
    let offset = integer(first)?;
    if rest.len() % 2 != 0 {
        return None;
    }
    let kept = rest
        .chunks_exact(2)
        .map(|pair| Some((integer(&pair[0])?, text(&pair[1])?)))
        .collect::<Option<Vec<_>>>()?;
    Some((offset, kept))
}

fn integer(value: &Value) -> Option<u64> {
    match value {
        Value::Int(number) => u64::try_from(*number).ok(),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_decode_or_are_refused() {
        let data = |text: &str| Value::BulkString(text.as_bytes().to_vec());
        assert_eq!(decode_snapshot(&[Value::Int(0)]), Some((0, Vec::new())));
        assert_eq!(
            decode_snapshot(&[
                Value::Int(9),
                Value::Int(8),
                data("1"),
                Value::Int(9),
                data("2")
            ]),
            Some((9, vec![(8, "1".to_owned()), (9, "2".to_owned())]))
        );
        assert_eq!(decode_snapshot(&[]), None);
        assert_eq!(decode_snapshot(&[Value::Int(9), Value::Int(8)]), None);
        assert_eq!(decode_snapshot(&[Value::Int(-1)]), None);
        assert_eq!(
            decode_snapshot(&[Value::Int(9), data("8"), data("1")]),
            None
        );
    }
}
