//! `/control/history`, the test route that reads what the server keeps of a
//! channel (the chaos suite's ground truth before it kills a server or a
//! Redis): every kept message with its offset and its data as published,
//! the newest offset and the epoch subscribers are given; from memory and
//! from Redis alike; only with the control API; and a bad channel is a 400.

mod common;

use common::redis::RedisServer;
use common::*;

/// Publishes `data` (JSON texts) to `channel` through the control API.
async fn publish_all(address: SocketAddr, channel: &str, data: &[&str]) {
    for (index, text) in data.iter().enumerate() {
        let answer = publish(address, channel, text).await;
        assert_eq!(answer["offset"], json!(index + 1), "{answer}");
    }
}

/// What `/control/history` answers for `channel`, which must be 200.
async fn history(address: SocketAddr, channel: &str) -> Value {
    control(address, &format!("/control/history?channel={channel}")).await
}

/// The kept history matches what was published and the epoch a subscriber
/// gets, and reading it leaves no subscriber behind.
async fn reads_back(address: SocketAddr) {
    publish_all(address, "h:1", &["1", "%7B%22a%22:2%7D", "%22three%22"]).await;
    let mut subscriber = connect_protocol(address, "t").await;
    let epoch = subscribe(&mut subscriber, "h:1", None, 3).await;

    let answer = history(address, "h:1").await;
    assert_eq!(
        answer,
        json!({
            "epoch": epoch,
            "newest": 3,
            "oldest": 1,
            "messages": [[1, "1"], [2, "{\"a\":2}"], [3, "\"three\""]],
        })
    );
    let subscriptions = control(address, "/control/stats").await["subscriptions"].clone();
    assert_eq!(
        subscriptions,
        json!({ "h:1": 1 }),
        "only the real subscriber"
    );

    let empty = history(address, "h:none").await;
    assert_eq!(empty["newest"], json!(0));
    assert_eq!(empty["oldest"], json!(1));
    assert_eq!(empty["messages"], json!([]));
    assert!(
        is_epoch(empty["epoch"].as_str().expect("an epoch")),
        "{empty}"
    );
}

#[tokio::test]
async fn reads_the_history_kept_in_memory() {
    reads_back(start_with_control().await).await;
}

#[tokio::test]
async fn reads_the_history_kept_in_redis_and_its_new_epoch_after_a_loss() {
    let mut redis = RedisServer::start();
    let mut config = config(true, missing_dir(), missing_dir());
    config.redis = Some(redis.url());
    let address = start(config).await;
    reads_back(address).await;
    let before = history(address, "h:1").await["epoch"].clone();

    redis.restart();
    // The instance reconnects by itself; until it listens again it refuses.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        let reply = http(address, "GET", "/control/history?channel=h:1").await;
        if reply.status == 200 {
            break reply.json();
        }
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert!(
            std::time::Instant::now() < deadline,
            "Redis never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(after["newest"], json!(0));
    assert_eq!(after["messages"], json!([]));
    assert_ne!(
        after["epoch"], before,
        "a Redis that lost its data starts a new epoch"
    );
}

#[tokio::test]
async fn is_only_mounted_with_the_control_api_and_checks_the_channel() {
    let without = start(config(false, missing_dir(), missing_dir())).await;
    let reply = http(without, "GET", "/control/history?channel=h").await;
    assert_eq!(reply.status, 404);

    let address = start_with_control().await;
    for path in ["/control/history", "/control/history?channel="] {
        let reply = http(address, "POST", path).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert!(reply.json()["error"].as_str().is_some(), "{}", reply.body);
    }
}
