//! Two server instances sharing channels through a real Redis: what is
//! published through one reaches the subscribers of both, once and in one
//! order; a client that moves from one to the other resumes without a gap
//! or a repeat; a publication resent through the other is published once;
//! and losing Redis closes the connections that could miss messages.

mod common;

use common::redis::RedisServer;
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
    subscribe(&mut client, "risk:9", None, 0).await;
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
    subscribe(&mut moved, "risk:9", Some(5), 50).await;
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
    let (a, b) = pair(&redis).await;
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
    let mut first = connect_protocol(a, "r").await;
    send(&mut first, publish_frame("once-1", "approvals", "7")).await;
    assert_eq!(next(&mut first).await, ack("once-1"));
    // The ack was lost, say: the client resends through the other instance.
    let mut second = connect_protocol(b, "r").await;
    send(&mut second, publish_frame("once-1", "approvals", "7")).await;
    assert_eq!(next(&mut second).await, ack("once-1"), "acknowledged again");
    assert_eq!(
        next_pub(&mut subscriber, "approvals").await,
        (1, "7".to_owned())
    );
    nothing_within_300_ms(&mut subscriber, "published once").await;
    assert_eq!(control(b, "/control/stats?tag=r").await["duplicates"], 1);
}

#[tokio::test]
async fn the_shared_history_is_bounded_in_count_and_age_and_reports_gaps() {
    let redis = RedisServer::start();
    let short = HistoryLimits {
        max_messages: 5,
        max_age: Duration::from_secs(1),
    };
    let a = instance(&redis, short).await;
    let b = instance(&redis, short).await;
    for index in 1..=8 {
        publish(a, "nav:2", &index.to_string()).await;
    }
    let mut client = connect_protocol(b, "r").await;
    subscribe(&mut client, "nav:2", Some(1), 8).await;
    assert_eq!(
        next(&mut client).await,
        Message::text(r#"{"type":"gap","channel":"nav:2","since":1,"from":4}"#)
    );
    for offset in 4..=8 {
        assert_eq!(
            next_pub(&mut client, "nav:2").await,
            (offset, offset.to_string())
        );
    }

    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let mut late = connect_protocol(a, "r").await;
    subscribe(&mut late, "nav:2", Some(6), 8).await;
    assert_eq!(
        next(&mut late).await,
        Message::text(r#"{"type":"gap","channel":"nav:2","since":6,"from":9}"#),
        "everything expired"
    );
    nothing_within_300_ms(&mut late, "nothing left to replay").await;
}

/// The code of the close frame that must come next.
async fn next_close_code(client: &mut Client) -> u16 {
    match next(client).await {
        Message::Close(Some(frame)) => frame.code.into(),
        other => panic!("expected a close frame, got {other:?}"),
    }
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
    within("the instance to listen again", async {
        loop {
            let mut client = connect_protocol(a, "r").await;
            send(
                &mut client,
                Message::text(r#"{"type":"subscribe","channel":"alerts"}"#),
            )
            .await;
            if let Message::Text(_) = next(&mut client).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
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
