//! End-to-end tests of channels in protocol mode: subscriptions per
//! connection, publication through the control API, and their counts.

mod common;

use common::*;

async fn subscriptions(address: SocketAddr) -> Value {
    control(address, "/control/stats?tag=ch").await["subscriptions"].clone()
}

#[tokio::test]
async fn publications_reach_the_subscribers_of_their_channel_only() {
    let address = start_with_control().await;
    let mut first = connect_protocol(address, "ch").await;
    let mut second = connect_protocol(address, "ch").await;
    let mut other = connect_protocol(address, "ch").await;
    subscribe(&mut first, "x", None, 0).await;
    subscribe(&mut second, "x", None, 0).await;
    subscribe(&mut other, "y", None, 0).await;
    assert_eq!(subscriptions(address).await, json!({ "x": 2, "y": 1 }));

    let answer = publish(address, "x", "%7B%22nav%22%3A101.5%7D").await;
    assert_eq!(answer, json!({ "delivered": 2, "offset": 1 }));
    let expected = pub_frame("x", 1, r#"{"nav":101.5}"#);
    assert_eq!(next(&mut first).await, expected);
    assert_eq!(next(&mut second).await, expected);
    nothing_within_300_ms(&mut other, "a subscriber of y").await;

    drop(first);
    within("the server to see the first connection go", async {
        while subscriptions(address).await != json!({ "x": 1, "y": 1 }) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    unsubscribe(&mut second, "x").await;
    assert_eq!(subscriptions(address).await, json!({ "y": 1 }));
    let stats = control(address, "/control/stats?tag=ch").await;
    assert_eq!(
        (
            stats["subscribeFrames"].clone(),
            stats["unsubscribeFrames"].clone()
        ),
        (json!(3), json!(1))
    );
    assert_eq!(
        publish(address, "x", "1").await,
        json!({ "delivered": 0, "offset": 2 }),
        "kept in the history, sent to nobody"
    );
}

#[tokio::test]
async fn a_bad_channel_is_refused_and_the_connection_stays() {
    let address = start_with_control().await;
    let mut client = connect_protocol(address, "ch").await;
    send(
        &mut client,
        Message::text(r#"{"type":"subscribe","channel":""}"#),
    )
    .await;
    assert_eq!(next_error(&mut client).await, "channel: empty");
    subscribe(&mut client, "ok", None, 0).await;
    assert_eq!(subscriptions(address).await, json!({ "ok": 1 }));
}

#[tokio::test]
async fn publish_checks_its_parameters() {
    let address = start_with_control().await;
    for path in [
        "/control/publish?data=1",
        "/control/publish?channel=x&data=%7Bnope",
        "/control/publish?channel=",
    ] {
        let reply = http(address, "GET", path).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
    }
    let reply = http(address, "POST", "/control/publish?channel=x").await;
    assert_eq!(
        reply.status, 400,
        "an empty body is no JSON: {}",
        reply.body
    );
}

#[tokio::test]
async fn a_subscriber_coming_back_gets_what_it_missed_then_the_live_messages() {
    let address = start_with_control().await;
    for index in 1..=5 {
        publish(address, "x", &index.to_string()).await;
    }
    let mut client = connect_protocol(address, "ch").await;
    subscribe(&mut client, "x", Some(2), 5).await;
    for offset in 3..=5 {
        assert_eq!(
            next(&mut client).await,
            pub_frame("x", offset, &offset.to_string())
        );
    }
    publish(address, "x", "6").await;
    assert_eq!(next(&mut client).await, pub_frame("x", 6, "6"));
    nothing_within_300_ms(&mut client, "a replay without repeats").await;
}

#[tokio::test]
async fn an_offset_the_history_cannot_give_is_reported_as_a_gap() {
    let address = start_with_control().await;
    publish(address, "x", "1").await;
    let mut client = connect_protocol(address, "ch").await;
    // An offset beyond the newest: the history this client knew is gone.
    let epoch = subscribe(&mut client, "x", Some(90), 1).await;
    assert_eq!(
        next(&mut client).await,
        gap_frame("x", 90, 1, "reset", &epoch)
    );
    assert_eq!(next(&mut client).await, pub_frame("x", 1, "1"));
}

#[tokio::test]
async fn a_trimmed_history_is_reported_as_a_trimmed_gap() {
    let mut config = config(true, missing_dir(), missing_dir());
    config.history.max_messages = 3;
    let address = start(config).await;
    let mut client = connect_protocol(address, "ch").await;
    let epoch = subscribe(&mut client, "x", None, 0).await;
    for index in 1..=6 {
        publish(address, "x", &index.to_string()).await;
    }
    drop(client);
    let mut back = connect_protocol(address, "ch").await;
    assert_eq!(resume(&mut back, "x", 1, &epoch, 6).await, epoch);
    assert_eq!(
        next(&mut back).await,
        gap_frame("x", 1, 4, "trimmed", &epoch)
    );
    for offset in 4..=6 {
        assert_eq!(next_pub(&mut back, "x").await, (offset, offset.to_string()));
    }
    // Just before the oldest kept: nothing lost.
    let mut again = connect_protocol(address, "ch").await;
    resume(&mut again, "x", 3, &epoch, 6).await;
    for offset in 4..=6 {
        assert_eq!(
            next_pub(&mut again, "x").await,
            (offset, offset.to_string())
        );
    }
    nothing_within_300_ms(&mut again, "no gap").await;
}

#[tokio::test]
async fn a_restarted_server_reports_a_reset_with_its_new_epoch_and_whole_history() {
    // The first server: the subscriber sees offsets 1-5 of epoch E.
    let before = start_with_control().await;
    let (client, old_epoch) = subscriber_of_five(before, before, "x").await;
    drop(client);
    // A new server (fresh process state) has a history of its own.
    let after = start_with_control().await;
    let new_epoch = resume_across_a_reset(after, after, "x", &old_epoch).await;
    // Resuming with the new epoch: no gap.
    let mut current = connect_protocol(after, "ch").await;
    resume(&mut current, "x", 8, &new_epoch, 8).await;
    publish(after, "x", "9").await;
    assert_eq!(next_pub(&mut current, "x").await, (9, "9".to_owned()));
}

#[tokio::test]
async fn a_client_publishes_through_a_message_that_is_acknowledged() {
    let address = start_with_control().await;
    let mut subscriber = connect_protocol(address, "ch").await;
    subscribe(&mut subscriber, "x", None, 0).await;
    let mut publisher = connect_protocol(address, "ch").await;
    let frame = r#"{"type":"msg","id":"p1","publish":{"channel":"x","data":{"v":1}}}"#;
    send(&mut publisher, Message::text(frame)).await;
    assert_eq!(
        next(&mut publisher).await,
        ack("p1"),
        "acknowledged, not echoed"
    );
    assert_eq!(next(&mut subscriber).await, pub_frame("x", 1, r#"{"v":1}"#));
    send(&mut publisher, Message::text(frame)).await;
    assert_eq!(next(&mut publisher).await, ack("p1"));
    nothing_within_300_ms(&mut subscriber, "a repeated id is published once").await;
}

#[tokio::test]
async fn subscribing_while_messages_flow_misses_and_repeats_nothing() {
    let mut config = config(true, missing_dir(), missing_dir());
    config.history = FLOW_HISTORY;
    let address = start(config).await;
    subscribe_while_messages_flow(address, address).await;
}

#[tokio::test]
async fn the_demo_streams_publish_navs_approvals_and_alerts() {
    let mut config = config(true, missing_dir(), missing_dir());
    config.demo = true;
    let address = start(config).await;
    let mut client = connect_protocol(address, "demo").await;
    // Resuming from the start: the first request came with the first tick.
    for channel in ["nav:GLB-EQ", "approvals:desk-1", "risk:alerts"] {
        send(
            &mut client,
            Message::text(format!(
                r#"{{"type":"subscribe","channel":"{channel}","since":0}}"#
            )),
        )
        .await;
    }
    let mut seen = std::collections::BTreeSet::new();
    // The first alert comes after 7 s.
    let all_three = timeout(Duration::from_secs(10), async {
        while seen.len() < 3 {
            let frame: Value =
                serde_json::from_str(next(&mut client).await.to_text().expect("text"))
                    .expect("JSON");
            if frame["type"] == "pub" {
                seen.insert(frame["channel"].as_str().expect("a channel").to_owned());
            }
        }
    });
    assert!(all_three.await.is_ok(), "only {seen:?} within 10 s");
}

#[tokio::test]
async fn a_stalled_connection_gets_its_channel_messages_only_once_resumed() {
    let address = start_with_control().await;
    let mut client = connect_protocol(address, "ch").await;
    subscribe(&mut client, "x", None, 0).await;
    control(address, "/control/stall?tag=ch").await;
    for index in 1..=3 {
        publish(address, "x", &index.to_string()).await;
    }
    nothing_within_300_ms(&mut client, "a stalled server sends nothing").await;
    control(address, "/control/resume?tag=ch").await;
    for offset in 1..=3 {
        assert_eq!(
            next(&mut client).await,
            pub_frame("x", offset, &offset.to_string())
        );
    }
}

async fn channels_kept(address: SocketAddr) -> Value {
    control(address, "/control/stats").await["channelsKept"].clone()
}

#[tokio::test]
async fn channels_nobody_uses_are_forgotten_once_the_history_age_passed() {
    let mut config = config(true, missing_dir(), missing_dir());
    config.history.max_age = Duration::from_secs(3);
    let address = start(config).await;
    let mut stays = connect_protocol(address, "stays").await;
    let epoch = subscribe(&mut stays, "kept", None, 0).await;
    let mut leaves = connect_protocol(address, "leaves").await;
    for index in 0..300 {
        subscribe(&mut leaves, &format!("c{index}"), None, 0).await;
    }
    publish(address, "unheard", "1").await;
    assert_eq!(channels_kept(address).await, json!(302));

    drop(leaves);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while channels_kept(address).await != json!(1) {
        assert!(
            std::time::Instant::now() < deadline,
            "still {} channels kept",
            channels_kept(address).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The one still subscribed keeps its history.
    assert_eq!(resume(&mut stays, "kept", 0, &epoch, 0).await, epoch);
    nothing_within_300_ms(&mut stays, "no gap").await;
}
