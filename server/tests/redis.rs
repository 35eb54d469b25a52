//! Two server instances sharing channels through a real Redis: what is
//! published through one reaches the subscribers of both, once and in one
//! order; a client that moves from one to the other resumes without a gap
//! or a repeat; a publication resent through the other is published once;
//! a publication that fails in Redis is published by its retry; a Redis
//! that lost its data starts a new epoch; and losing Redis closes the
//! connections that could miss messages.

mod common;

use common::redis::{listening_again, next_close_code, RedisServer};
use common::*;

async fn instance(redis: &RedisServer, history: HistoryLimits) -> SocketAddr {
    let mut config = config(true, missing_dir(), missing_dir());
    config.redis = Some(redis.url());
    config.history = history;
    start(config).await
}

/// Two instances of one Redis, with the default history.
async fn pair(redis: &RedisServer) -> (SocketAddr, SocketAddr) {
    let history = HistoryLimits::default();
    (
        instance(redis, history).await,
        instance(redis, history).await,
    )
}

/// A client subscribed to `channel` on each of `a` and `b`.
async fn subscribers_on_both(a: SocketAddr, b: SocketAddr, channel: &str) -> (Client, Client) {
    let mut on_a = connect_protocol(a, "r").await;
    let mut on_b = connect_protocol(b, "r").await;
    subscribe(&mut on_a, channel, None, 0).await;
    subscribe(&mut on_b, channel, None, 0).await;
    (on_a, on_b)
}

#[tokio::test]
async fn what_is_published_through_one_instance_reaches_the_subscribers_of_both() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let (mut on_a, mut on_b) = subscribers_on_both(a, b, "nav:1").await;

    let answer = publish(b, "nav:1", "101").await;
    assert_eq!(answer, json!({ "instances": 2, "offset": 1 }));
    let mut publisher = connect_protocol(a, "r").await;
    send(&mut publisher, publish_frame("p-1", "nav:1", "102")).await;
    assert_eq!(next(&mut publisher).await, ack("p-1"));
    for client in [&mut on_a, &mut on_b] {
        assert_eq!(next_pub(client, "nav:1").await, (1, "101".to_owned()));
        assert_eq!(next_pub(client, "nav:1").await, (2, "102".to_owned()));
    }
    nothing_within_300_ms(&mut on_a, "each message once").await;
}

#[tokio::test]
async fn a_client_that_moves_to_the_other_instance_resumes_without_gap_or_repeat() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let mut client = connect_protocol(a, "r").await;
    let epoch = subscribe(&mut client, "risk:9", None, 0).await;
    for index in 1..=5 {
        publish(b, "risk:9", &index.to_string()).await;
    }
    for offset in 1..=5 {
        assert_eq!(
            next_pub(&mut client, "risk:9").await,
            (offset, offset.to_string())
        );
    }
    drop(client);

    for index in 6..=50 {
        let through = if index % 2 == 0 { a } else { b };
        publish(through, "risk:9", &index.to_string()).await;
    }
    let mut moved = connect_protocol(b, "r").await;
    assert_eq!(
        resume(&mut moved, "risk:9", 5, &epoch, 50).await,
        epoch,
        "one history, one epoch, on every instance"
    );
    for offset in 6..=50 {
        assert_eq!(
            next_pub(&mut moved, "risk:9").await,
            (offset, offset.to_string())
        );
    }
    publish(a, "risk:9", "51").await;
    assert_eq!(next_pub(&mut moved, "risk:9").await, (51, "51".to_owned()));
    nothing_within_300_ms(&mut moved, "no repeat after the replay").await;
}

#[tokio::test]
async fn subscribing_while_messages_flow_misses_and_repeats_nothing() {
    let redis = RedisServer::start();
    let (a, b) = (
        instance(&redis, FLOW_HISTORY).await,
        instance(&redis, FLOW_HISTORY).await,
    );
    subscribe_while_messages_flow(b, a).await;
}

#[tokio::test]
async fn publishers_on_both_instances_at_once_give_every_subscriber_one_order() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let (mut on_a, mut on_b) = subscribers_on_both(a, b, "fx").await;

    const EACH: usize = 200;
    let publishers = [(a, "a"), (b, "b")].map(|(address, name)| {
        tokio::spawn(async move {
            let mut publisher = connect_protocol(address, "r").await;
            for index in 0..EACH {
                let frame = publish_frame(
                    &format!("{name}-{index}"),
                    "fx",
                    &format!(r#""{name}{index}""#),
                );
                send(&mut publisher, frame).await;
            }
            for _ in 0..EACH {
                next(&mut publisher).await;
            }
        })
    });
    for publisher in publishers {
        publisher.await.expect("a publisher");
    }
    let mut orders = Vec::new();
    for client in [&mut on_a, &mut on_b] {
        let mut seen = Vec::new();
        for offset in 1..=(2 * EACH as u64) {
            let (got, data) = next_pub(client, "fx").await;
            assert_eq!(got, offset, "offsets without gap or repeat");
            seen.push(data);
        }
        orders.push(seen);
    }
    assert_eq!(orders[0], orders[1], "the same order on both instances");
    for name in ["a", "b"] {
        let own: Vec<&String> = orders[0]
            .iter()
            .filter(|data| data.starts_with(&format!("\"{name}")))
            .collect();
        let expected: Vec<String> = (0..EACH)
            .map(|index| format!(r#""{name}{index}""#))
            .collect();
        assert_eq!(
            own,
            expected.iter().collect::<Vec<_>>(),
            "each publisher's order kept"
        );
    }
}

#[tokio::test]
async fn a_publication_resent_through_the_other_instance_is_published_once() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let mut subscriber = connect_protocol(a, "r").await;
    subscribe(&mut subscriber, "approvals", None, 0).await;
    let mut first = connect_as(a, "r", "tab-1").await;
    send(&mut first, publish_frame("once-1", "approvals", "7")).await;
    assert_eq!(next(&mut first).await, ack("once-1"));
    // The ack was lost, say: the client resends through the other instance.
    let mut second = connect_as(b, "r", "tab-1").await;
    send(&mut second, publish_frame("once-1", "approvals", "7")).await;
    assert_eq!(next(&mut second).await, ack("once-1"), "acknowledged again");
    assert_eq!(
        next_pub(&mut subscriber, "approvals").await,
        (1, "7".to_owned())
    );
    nothing_within_300_ms(&mut subscriber, "published once").await;
    assert_eq!(control(b, "/control/stats?tag=r").await["duplicates"], 1);
    assert_eq!(
        redis.command(&["GET", "tabwire:duplicates:r"]).await,
        ::redis::Value::BulkString(b"1".to_vec()),
        "counted in Redis too"
    );
    // Another client's message of the same id is its own.
    let mut other = connect_as(b, "r", "tab-2").await;
    send(&mut other, publish_frame("once-1", "approvals", "8")).await;
    assert_eq!(next(&mut other).await, ack("once-1"));
    assert_eq!(
        next_pub(&mut subscriber, "approvals").await,
        (2, "8".to_owned())
    );
}

#[tokio::test]
async fn the_shared_history_is_bounded_in_count_and_age_and_reports_gaps() {
    let redis = RedisServer::start();
    let short = HistoryLimits {
        max_messages: 5,
        max_age: Duration::from_secs(1),
        ..HistoryLimits::default()
    };
    let a = instance(&redis, short).await;
    let b = instance(&redis, short).await;
    for index in 1..=8 {
        publish(a, "nav:2", &index.to_string()).await;
    }
    let mut client = connect_protocol(b, "r").await;
    let epoch = subscribe(&mut client, "nav:2", Some(1), 8).await;
    assert_eq!(
        next(&mut client).await,
        gap_frame("nav:2", 1, 4, "trimmed", &epoch)
    );
    for offset in 4..=8 {
        assert_eq!(
            next_pub(&mut client, "nav:2").await,
            (offset, offset.to_string())
        );
    }

    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let mut late = connect_protocol(a, "r").await;
    resume(&mut late, "nav:2", 6, &epoch, 8).await;
    assert_eq!(
        next(&mut late).await,
        gap_frame("nav:2", 6, 9, "trimmed", &epoch),
        "everything expired"
    );
    nothing_within_300_ms(&mut late, "nothing left to replay").await;
}

#[tokio::test]
async fn losing_redis_closes_subscribers_and_refuses_until_it_is_back() {
    let mut redis = RedisServer::start();
    let (a, _b) = pair(&redis).await;
    let mut subscriber = connect_protocol(a, "r").await;
    subscribe(&mut subscriber, "alerts", None, 0).await;
    let mut bystander = connect_protocol(a, "r").await;

    redis.kill();
    assert_eq!(
        next_close_code(&mut subscriber).await,
        1012,
        "it may miss live messages"
    );
    send(&mut bystander, Message::text(PING)).await;
    assert_eq!(
        next(&mut bystander).await,
        Message::text(PONG),
        "a connection without channels stays"
    );
    let reply = http(a, "GET", "/control/publish?channel=alerts&data=1").await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    let mut newcomer = connect_protocol(a, "r").await;
    send(
        &mut newcomer,
        Message::text(r#"{"type":"subscribe","channel":"alerts"}"#),
    )
    .await;
    assert_eq!(
        next_close_code(&mut newcomer).await,
        1013,
        "try again later"
    );

    redis.restart();
    listening_again(a).await;
    assert_eq!(
        publish(a, "alerts", "1").await["offset"],
        1,
        "an empty Redis starts again"
    );
}

#[tokio::test]
async fn an_instance_does_not_start_without_its_redis() {
    let redis = RedisServer::start();
    let url = redis.url();
    drop(redis);
    let mut config = config(true, missing_dir(), missing_dir());
    config.redis = Some(url.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let error = within("start", serve(config, listener))
        .await
        .expect_err("no Redis there");
    assert!(
        error
            .to_string()
            .contains(&format!("cannot use Redis at {url}")),
        "{error}"
    );
}

#[tokio::test]
async fn a_redis_that_lost_its_data_starts_a_new_epoch_and_resumes_report_a_reset() {
    let mut redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let (mut client, old_epoch) = subscriber_of_five(b, a, "nav:3").await;

    // Restarted without persistence: the channel's offsets start again.
    redis.restart();
    assert_eq!(next_close_code(&mut client).await, 1012);
    listening_again(a).await;
    listening_again(b).await;
    let new_epoch = resume_across_a_reset(b, a, "nav:3", &old_epoch).await;
    let ::redis::Value::Array(meta) = redis
        .command(&["HMGET", "tabwire:{nav:3}:meta", "offset", "epoch"])
        .await
    else {
        panic!("HMGET answers an array");
    };
    assert_eq!(
        meta,
        [
            ::redis::Value::BulkString(b"8".to_vec()),
            ::redis::Value::BulkString(new_epoch.into_bytes())
        ]
    );
}

#[tokio::test]
async fn a_publication_that_fails_in_redis_is_not_acked_and_its_retry_publishes_it() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let mut subscriber = connect_protocol(b, "r").await;
    subscribe(&mut subscriber, "inj", None, 0).await;

    // A string where the stream goes: the script's XADD fails (WRONGTYPE),
    // after the seen check passed.
    redis
        .command(&["SET", "tabwire:{inj}:history", "not a stream"])
        .await;
    let mut publisher = connect_as(a, "r", "tab-9").await;
    send(&mut publisher, publish_frame("p-1", "inj", "1")).await;
    assert_eq!(
        next_close_code(&mut publisher).await,
        1013,
        "not acknowledged: try again later"
    );
    assert_eq!(
        redis
            .command(&["HGET", "tabwire:{inj}:meta", "offset"])
            .await,
        ::redis::Value::Nil,
        "no offset taken"
    );
    assert_eq!(
        redis.command(&["KEYS", "tabwire:{inj}:seen:*"]).await,
        ::redis::Value::Array(Vec::new()),
        "no seen-mark"
    );
    nothing_within_300_ms(&mut subscriber, "nothing published").await;

    redis.command(&["DEL", "tabwire:{inj}:history"]).await;
    let mut retry = connect_as(a, "r", "tab-9").await;
    send(&mut retry, publish_frame("p-1", "inj", "1")).await;
    assert_eq!(
        next(&mut retry).await,
        ack("p-1"),
        "published, not a duplicate"
    );
    assert_eq!(next_pub(&mut subscriber, "inj").await, (1, "1".to_owned()));
    send(&mut retry, publish_frame("p-2", "inj", "2")).await;
    assert_eq!(next(&mut retry).await, ack("p-2"));
    assert_eq!(
        next_pub(&mut subscriber, "inj").await,
        (2, "2".to_owned()),
        "offsets without a hole"
    );
    nothing_within_300_ms(&mut subscriber, "each once").await;
    assert_eq!(control(a, "/control/stats?tag=r").await["duplicates"], 0);
}
