//! Graceful restarts of one of two server instances sharing a real Redis:
//! a publication in flight is published and acknowledged before its
//! connection gets 1012; and publishers under load, resending through the
//! other instance what was not acknowledged, leave every message in the
//! channel's history exactly once.

mod common;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::proxy::Proxy;
use common::redis::RedisServer;
use common::stoppable::{expect_restart, Stoppable};
use common::*;
use tokio::task::JoinHandle;

/// A tagged instance of `redis_url`, whose history keeps every message of
/// these tests.
fn instance_config(redis_url: String) -> ServerConfig {
    let mut config = config(true, missing_dir(), missing_dir());
    config.redis = Some(redis_url);
    config.history = HistoryLimits {
        max_messages: 10_000,
        max_age: Duration::from_secs(600),
        ..HistoryLimits::default()
    };
    config
}

/// The data of every message in the history of `channel`, in offset
/// order, as Redis keeps it.
async fn history(redis: &RedisServer, channel: &str) -> Vec<String> {
    let key = format!("tabwire:{{{channel}}}:history");
    let ::redis::Value::Array(entries) = redis.command(&["XRANGE", &key, "-", "+"]).await else {
        panic!("XRANGE answers an array");
    };
    entries
        .iter()
        .map(|entry| {
            let ::redis::Value::Array(parts) = entry else {
                panic!("an entry: {entry:?}");
            };
            let [_, ::redis::Value::Array(fields)] = parts.as_slice() else {
                panic!("an id and fields: {parts:?}");
            };
            let data = fields
                .chunks_exact(2)
                .find(|pair| pair[0] == ::redis::Value::BulkString(b"d".to_vec()))
                .expect("the data field");
            let ::redis::Value::BulkString(bytes) = &data[1] else {
                panic!("data as a string: {data:?}");
            };
            String::from_utf8(bytes.clone()).expect("UTF-8 data")
        })
        .collect()
}

#[tokio::test]
async fn a_publication_in_flight_is_published_and_acknowledged_before_the_1012() {
    let redis = RedisServer::start();
    let proxy = Proxy::start(redis.address()).await;
    let mut server = Stoppable::start(instance_config(proxy.url())).await;
    let bound = server.bound;
    let mut publisher = connect_as(server.address, "g", "tab-1").await;
    let mut bystander = connect_protocol(server.address, "g").await;

    // The publication reaches the way to Redis, and waits there.
    proxy.pause();
    send(&mut publisher, publish_frame("in-flight-1", "held", "1")).await;
    proxy.holds("in-flight-1").await;
    server.signal();
    // The shutdown has begun: every connection has its close order.
    expect_restart(&mut bystander).await;
    proxy.resume();
    assert_eq!(
        next(&mut publisher).await,
        ack("in-flight-1"),
        "the frame being handled is finished first"
    );
    expect_restart(&mut publisher).await;

    let took = server.stop().await;
    assert!(took < bound, "took {took:?}");
    assert_eq!(history(&redis, "held").await, ["1"], "published once");
}

/// Publishers that start on the instance shut down, and on the other.
const PUBLISHERS_ON_STOPPED: usize = 12;
const PUBLISHERS_ON_OTHER: usize = 4;
/// Messages each publisher publishes.
const EACH: usize = 150;
/// Messages a publisher sends ahead of their acks.
const WINDOW: usize = 8;
const TOTAL: usize = (PUBLISHERS_ON_STOPPED + PUBLISHERS_ON_OTHER) * EACH;
const CHANNEL: &str = "orders";

/// How one of a publisher's connections ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// With a close frame: its code and reason.
    Closed(u16, String),
    /// Without one: the connection broke.
    Broke(String),
    /// Every message acknowledged.
    Done,
}

/// A tabwire client publishing `EACH` messages under ids `<name>-<k>`,
/// each holding its id, at most `WINDOW` of them unacknowledged: through
/// the first of `addresses`, and, whenever a connection ends, through the
/// next, sending again, in order, whatever was not acknowledged. Returns
/// how each connection ended.
async fn publish_all(
    name: String,
    addresses: Vec<SocketAddr>,
    acked: Arc<AtomicUsize>,
) -> Vec<End> {
    let mut ends = Vec::new();
    let mut unacked: VecDeque<String> = VecDeque::new();
    let mut fresh = 0;
    for address in addresses {
        let mut client = connect_as(address, "g", &name).await;
        let end = 'connection: {
            for id in unacked.clone() {
                if let Err(error) = client.send(message(&id)).await {
                    break 'connection End::Broke(error.to_string());
                }
            }
            loop {
                while unacked.len() < WINDOW && fresh < EACH {
                    let id = format!("{name}-{fresh}");
                    if let Err(error) = client.send(message(&id)).await {
                        break 'connection End::Broke(error.to_string());
                    }
                    unacked.push_back(id);
                    fresh += 1;
                }
                if unacked.is_empty() {
                    break 'connection End::Done;
                }
                match within("an ack", client.next()).await {
                    Some(Ok(Message::Text(text))) => {
                        let frame: Value = serde_json::from_str(text.as_str()).expect("JSON");
                        assert_eq!(frame["type"], "ack", "{frame}");
                        let id = frame["id"].as_str().expect("an id");
                        unacked.retain(|waiting| waiting != id);
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Ok(Message::Close(Some(close)))) => {
                        break 'connection End::Closed(close.code.into(), close.reason.to_string());
                    }
                    Some(Ok(other)) => panic!("{name}: unexpected {other:?}"),
                    Some(Err(error)) => break 'connection End::Broke(error.to_string()),
                    None => break 'connection End::Broke("ended".to_owned()),
                }
            }
        };
        let done = end == End::Done;
        ends.push(end);
        if done {
            return ends;
        }
        // Reads on, which answers the close.
        let _ = timeout(STEP, client.next()).await;
    }
    panic!("{name}: no instance left, {unacked:?} unacknowledged");
}

/// The publication of `id`, whose data is the id itself.
fn message(id: &str) -> Message {
    publish_frame(id, CHANNEL, &format!("\"{id}\""))
}

/// A subscriber of `CHANNEL` at `address`, reading in a task until its
/// connection ends; the task returns the code and reason of its close.
async fn subscriber_until_closed(address: SocketAddr) -> JoinHandle<(u16, String)> {
    let mut client = connect_protocol(address, "g").await;
    subscribe(&mut client, CHANNEL, None, 0).await;
    tokio::spawn(async move { read_until_closed(client).await })
}

async fn read_until_closed(mut client: Client) -> (u16, String) {
    loop {
        if let Message::Close(Some(close)) = next(&mut client).await {
            let _ = timeout(STEP, client.next()).await;
            return (close.code.into(), close.reason.to_string());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishers_under_load_lose_and_repeat_nothing_when_their_instance_restarts() {
    let redis = RedisServer::start();
    let stopped = Stoppable::start(instance_config(redis.url())).await;
    let bound = stopped.bound;
    let other = start(instance_config(redis.url())).await;
    let acked = Arc::new(AtomicUsize::new(0));

    let subscribers = [
        subscriber_until_closed(stopped.address).await,
        subscriber_until_closed(stopped.address).await,
    ];
    let publishers: Vec<_> = (0..PUBLISHERS_ON_STOPPED + PUBLISHERS_ON_OTHER)
        .map(|index| {
            let addresses = if index < PUBLISHERS_ON_STOPPED {
                vec![stopped.address, other]
            } else {
                vec![other]
            };
            tokio::spawn(publish_all(
                format!("p{index}"),
                addresses,
                Arc::clone(&acked),
            ))
        })
        .collect();

    within("a quarter of the messages acknowledged", async {
        while acked.load(Ordering::Relaxed) < TOTAL / 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let took = stopped.stop().await;
    assert!(took < bound, "the stop took {took:?}");

    let restart = End::Closed(1012, "server restart".to_owned());
    for (index, publisher) in publishers.into_iter().enumerate() {
        let ends = timeout(Duration::from_secs(60), publisher)
            .await
            .expect("the publisher to finish")
            .expect("a publisher");
        if index < PUBLISHERS_ON_STOPPED {
            assert_eq!(ends, [restart.clone(), End::Done], "p{index}");
        } else {
            assert_eq!(ends, [End::Done], "p{index}");
        }
    }
    for subscriber in subscribers {
        let close = subscriber.await.expect("a subscriber");
        assert_eq!(close, (1012, "server restart".to_owned()));
    }

    let kept = history(&redis, CHANNEL).await;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for data in &kept {
        *counts.entry(data.as_str()).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, count)| **count > 1).collect();
    assert!(repeated.is_empty(), "published twice: {repeated:?}");
    let missing: Vec<String> = (0..PUBLISHERS_ON_STOPPED + PUBLISHERS_ON_OTHER)
        .flat_map(|index| (0..EACH).map(move |k| format!("\"p{index}-{k}\"")))
        .filter(|data| !counts.contains_key(data.as_str()))
        .collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert_eq!(kept.len(), TOTAL);
}
