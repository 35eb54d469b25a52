//! Channels in Redis, shared by every server instance started with the same
//! `--redis URL`. The keys of a channel share its hash tag, so that a
//! script touching them runs on one node of a Redis Cluster:
//!
//! - `tabwire:{<channel>}:meta`, a hash: `offset`, the channel's newest
//!   offset, and `epoch`, the name of its history, drawn (from a random
//!   value the instance passes) by whichever script first touches the
//!   channel; lost with the rest when Redis loses its data, so that the
//!   next history has another;
//! - `tabwire:{<channel>}:history` is a stream holding the newest messages,
//!   under the ids `0-<offset>`, bounded in count and expiring with age;
//! - `tabwire:{<channel>}:seen:<scope>:<id>` remembers, for `--dedupe-secs`,
//!   a client message id already published by that dedupe scope
//!   ([`crate::dedupe`]), so a client that resends through another instance
//!   publishes once;
//! - `tabwire:duplicates:<tag>` counts the publications of that tag whose id
//!   was found already published (across every instance and restart); it is
//!   counted apart from the script, whose keys all share the channel's tag;
//! - the pub/sub channel `tabwire:pub:<channel>` announces each message,
//!   as `<offset>:<data>`, to every instance.
//!
//! Publishing is one script (check the id, keep, count, mark, announce),
//! so offsets follow the announcements' order whichever instance publishes;
//! it writes nothing before the message is stored (see `publish.lua`).
//! Each instance listens
//! to every announcement on one pattern subscription and hands it to its
//! own subscribers. When that link breaks, live messages may be missed: the
//! instance closes its subscribers' connections with 1012, and they resume
//! from their offsets on reconnecting, here or elsewhere.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, PubSub};
use redis::{Client, Msg, Script, Value};

use super::link::{self, Listener, Lost, Topic, Upkeep};
use super::{Published, Reach, Subscribed, Subscribers, Unavailable};
use crate::history::{replay, HistoryLimits, Kept, Since};
use crate::metrics::LinkState;
use crate::shutdown::SERVICE_RESTART;

const ANNOUNCEMENTS: Topic = Topic::Pattern("tabwire:pub:*");
const ANNOUNCEMENT_PREFIX: &str = "tabwire:pub:";

pub struct RedisBroker {
    url: String,
    client: Client,
    commands: ConnectionManager,
    limits: HistoryLimits,
    /// How long a published client message id is remembered
    /// (`--dedupe-secs`); a client that resends later may publish it twice.
    seen_for: Duration,
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
    pub async fn connect(
        url: &str,
        limits: HistoryLimits,
        seen_for: Duration,
    ) -> Result<(Self, PubSub), String> {
        let (client, commands, pubsub) = link::connect(url, &ANNOUNCEMENTS).await?;
        let broker = RedisBroker {
            url: url.to_owned(),
            client,
            commands,
            limits,
            seen_for,
            publish: Script::new(include_str!("publish.lua")),
            snapshot: Script::new(include_str!("snapshot.lua")),
            listening: AtomicBool::new(true),
        };
        Ok((broker, pubsub))
    }

    /// Hands every announcement to `subscribers`, for as long as they live,
    /// listening again whenever the link breaks or goes silent; `state`
    /// follows the link.
    pub fn listen(
        self: &Arc<Self>,
        subscribers: Weak<dyn Subscribers>,
        pubsub: PubSub,
        upkeep: &Upkeep,
        state: LinkState,
    ) {
        let listener = Announcements {
            broker: Arc::clone(self),
            subscribers,
        };
        link::listen(
            self.client.clone(),
            ANNOUNCEMENTS,
            pubsub,
            listener,
            upkeep,
            state,
        );
    }

    /// Publishes `data` to `channel`; with `once`, only if that id was not
    /// published before by that scope: `None` then means a duplicate, which
    /// is counted in `tabwire:duplicates:<tag>`.
    pub async fn publish(
        &self,
        channel: &str,
        data: &str,
        once: Option<Once<'_>>,
    ) -> Result<Option<Published>, Unavailable> {
        let mut invocation = self.publish.key(channel_key(channel, "meta"));
        invocation.key(channel_key(channel, "history"));
        if let Some(once) = &once {
            let seen = format!("seen:{}:{}", once.scope, once.id);
            invocation.key(channel_key(channel, &seen));
        }
        invocation
            .arg(data)
            .arg(self.limits.max_messages)
            .arg(self.limits.max_age.as_millis() as u64)
            .arg(format!("{ANNOUNCEMENT_PREFIX}{channel}"))
            .arg(self.seen_for.as_secs().max(1))
            .arg(crate::random::token());
        let (offset, instances): (u64, usize) = invocation
            .invoke_async(&mut self.commands.clone())
            .await
            .map_err(|error| unavailable(&error))?;
        if offset == 0 {
            if let Some(once) = once {
                // Only a count for the operators: the duplicate is one
                // whether or not it is counted.
                let _: redis::RedisResult<i64> = redis::cmd("INCR")
                    .arg(format!("tabwire:duplicates:{}", once.tag))
                    .query_async(&mut self.commands.clone())
                    .await;
            }
            return Ok(None);
        }
        Ok(Some(Published {
            offset,
            reach: Reach::Instances(instances),
        }))
    }

    /// The channel's newest offset and epoch and, with `since`, what came
    /// after it: only the messages after `since` are read, unless its
    /// offsets belong to another history. Refused while announcements are
    /// not received: the new subscriber would miss live messages.
    pub async fn snapshot(
        &self,
        channel: &str,
        since: Option<&Since>,
    ) -> Result<Subscribed, Unavailable> {
        if !self.listening.load(Ordering::SeqCst) {
            return Err(Unavailable(
                "channel broker (Redis): not listening to announcements".to_owned(),
            ));
        }
        let values: Vec<Value> = self
            .snapshot
            .key(channel_key(channel, "meta"))
            .key(channel_key(channel, "history"))
            .arg(crate::random::token())
            .arg(if since.is_some() { "1" } else { "0" })
            .arg(self.limits.max_age.as_millis() as u64)
            .arg(since.map_or(0, |since| since.offset))
            .arg(since.and_then(|since| since.epoch.as_deref()).unwrap_or(""))
            .invoke_async(&mut self.commands.clone())
            .await
            .map_err(|error| unavailable(&error))?;
        let snapshot = decode_snapshot(&values)
            .ok_or_else(|| Unavailable("channel broker (Redis): malformed history".to_owned()))?;
        let replay = since.map(|since| {
            let kept = Kept {
                newest: snapshot.newest,
                oldest: snapshot.oldest,
                epoch: &snapshot.epoch,
            };
            let entries = snapshot
                .entries
                .iter()
                .map(|(offset, data)| (*offset, data.as_str()));
            replay(kept, since, entries)
        });
        Ok(Subscribed {
            offset: snapshot.newest,
            epoch: snapshot.epoch,
            replay,
        })
    }
}

/// A client message to publish once: its id, within its dedupe scope
/// ([`crate::dedupe::DedupeScope::key`]) and its tag (for the count of
/// duplicates).
#[derive(Debug, Clone, Copy)]
pub struct Once<'a> {
    pub scope: &'a str,
    pub tag: &'a str,
    pub id: &'a str,
}

/// The key `tabwire:{<channel>}:<rest>`: every key of a channel shares its
/// hash tag.
fn channel_key(channel: &str, rest: &str) -> String {
    format!("tabwire:{{{channel}}}:{rest}")
}

/// Hands the announcements to the hub's subscribers; while the link is
/// down, live messages may be missed: subscriptions are refused, and the
/// subscribers' connections closed (1012) so that they resume from their
/// offsets.
struct Announcements {
    broker: Arc<RedisBroker>,
    subscribers: Weak<dyn Subscribers>,
}

impl Listener for Announcements {
    fn connected(&self) {
        self.broker.listening.store(true, Ordering::SeqCst);
    }

    fn heard(&self, message: &Msg) -> bool {
        let Some(alive) = self.subscribers.upgrade() else {
            return false;
        };
        announce(&*alive, message);
        true
    }

    fn lost(&self, how: Lost) -> bool {
        self.broker.listening.store(false, Ordering::SeqCst);
        let Some(alive) = self.subscribers.upgrade() else {
            return false;
        };
        tracing::warn!("lost the Redis announcements ({how}); closing subscribers (1012)");
        alive.close_subscribers(SERVICE_RESTART, "channel broker link lost");
        true
    }

    fn alive(&self) -> bool {
        self.subscribers.strong_count() > 0
    }
}

/// Hands one announcement (`<offset>:<data>` on `tabwire:pub:<channel>`)
/// to the subscribers; anything else on the pattern is not ours and is
/// ignored.
fn announce(subscribers: &dyn Subscribers, message: &Msg) {
    let Some(channel) = message.get_channel_name().strip_prefix(ANNOUNCEMENT_PREFIX) else {
        return;
    };
    let Ok(payload) = std::str::from_utf8(message.get_payload_bytes()) else {
        return;
    };
    if let Some((offset, data)) = payload.split_once(':') {
        if let Ok(offset) = offset.parse() {
            subscribers.fan_out(channel, offset, data);
        }
    }
}

/// A channel as the snapshot script found it.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    newest: u64,
    epoch: String,
    /// The oldest offset kept (`None`: none is, or it was not asked).
    oldest: Option<u64>,
    /// The messages read: (offset, data), oldest first.
    entries: Vec<(u64, String)>,
}

/// `{newest, epoch}` or `{newest, epoch, oldest (0: none), offset, data,
/// ...}` from the snapshot script.
fn decode_snapshot(values: &[Value]) -> Option<Snapshot> {
    let [newest, epoch, rest @ ..] = values else {
        return None;
    };
    let mut snapshot = Snapshot {
        newest: integer(newest)?,
        epoch: text(epoch)?,
        oldest: None,
        entries: Vec::new(),
    };
    let Some((oldest, rest)) = rest.split_first() else {
        return Some(snapshot);
    };
    snapshot.oldest = Some(integer(oldest)?).filter(|oldest| *oldest > 0);
    if rest.len() % 2 != 0 {
        return None;
    }
    snapshot.entries = rest
        .chunks_exact(2)
        .map(|pair| Some((integer(&pair[0])?, text(&pair[1])?)))
        .collect::<Option<Vec<_>>>()?;
    Some(snapshot)
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

    fn data(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn snapshots_decode_or_are_refused() {
        let snapshot = |newest, oldest, entries: Vec<(u64, &str)>| Snapshot {
            newest,
            epoch: "e".to_owned(),
            oldest,
            entries: entries
                .into_iter()
                .map(|(offset, data)| (offset, data.to_owned()))
                .collect(),
        };
        assert_eq!(
            decode_snapshot(&[Value::Int(0), data("e")]),
            Some(snapshot(0, None, vec![]))
        );
        assert_eq!(
            decode_snapshot(&[Value::Int(9), data("e"), Value::Int(0)]),
            Some(snapshot(9, None, vec![]))
        );
        assert_eq!(
            decode_snapshot(&[
                Value::Int(9),
                data("e"),
                Value::Int(2),
                Value::Int(8),
                data("1"),
                Value::Int(9),
                data("2")
            ]),
            Some(snapshot(9, Some(2), vec![(8, "1"), (9, "2")]))
        );
        for malformed in [
            vec![],
            vec![Value::Int(9)],
            vec![Value::Int(9), Value::Int(8)],
            vec![Value::Int(-1), data("e")],
            vec![Value::Int(9), data("e"), Value::Int(1), Value::Int(8)],
            vec![
                Value::Int(9),
                data("e"),
                Value::Int(1),
                data("8"),
                data("1"),
            ],
        ] {
            assert_eq!(decode_snapshot(&malformed), None, "{malformed:?}");
        }
    }

    #[test]
    fn every_key_of_a_channel_shares_its_hash_tag() {
        assert_eq!(channel_key("nav:1", "meta"), "tabwire:{nav:1}:meta");
        assert_eq!(channel_key("nav:1", "history"), "tabwire:{nav:1}:history");
    }
}
