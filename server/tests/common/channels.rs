//! Channel helpers of the end-to-end tests: subscribing and resuming,
//! publishing, and the frames that come back (`subscribed`, `gap`, `pub`).

use super::*;

/// Whether `epoch` has the form the protocol promises: 1 to 64 characters
/// of `[A-Za-z0-9_-]`.
pub fn is_epoch(epoch: &str) -> bool {
    (1..=64).contains(&epoch.len())
        && epoch
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// Subscribes (resuming after `since`, if given, of no epoch in
/// particular), checks the answer names the channel's newest offset and
/// returns the channel's epoch.
pub async fn subscribe(
    client: &mut Client,
    channel: &str,
    since: Option<u64>,
    offset: u64,
) -> String {
    let since = since
        .map(|since| format!(r#","since":{since}"#))
        .unwrap_or_default();
    let frame = format!(r#"{{"type":"subscribe","channel":"{channel}"{since}}}"#);
    send(client, Message::text(frame)).await;
    expect_subscribed(client, channel, offset).await
}

/// Subscribes resuming after `since` of the history `epoch`; checks the
/// answer names the channel's newest offset and returns its epoch.
pub async fn resume(
    client: &mut Client,
    channel: &str,
    since: u64,
    epoch: &str,
    offset: u64,
) -> String {
    let frame = format!(
        r#"{{"type":"subscribe","channel":"{channel}","since":{since},"epoch":"{epoch}"}}"#
    );
    send(client, Message::text(frame)).await;
    expect_subscribed(client, channel, offset).await
}

/// Unsubscribes from `channel`; checks the answer.
pub async fn unsubscribe(client: &mut Client, channel: &str) {
    let frame = format!(r#"{{"type":"unsubscribe","channel":"{channel}"}}"#);
    send(client, Message::text(frame)).await;
    let expected = format!(r#"{{"type":"unsubscribed","channel":"{channel}"}}"#);
    assert_eq!(next(client).await, Message::text(expected));
}

/// Checks the next frame is `subscribed` to `channel` at `offset`, and
/// returns the epoch it names.
pub async fn expect_subscribed(client: &mut Client, channel: &str, offset: u64) -> String {
    let frame = next(client).await;
    let value: Value = serde_json::from_str(frame.to_text().expect("text")).expect("JSON frame");
    let epoch = value["epoch"].as_str().unwrap_or_default().to_owned();
    assert!(is_epoch(&epoch), "{value}");
    let expected = format!(
        r#"{{"type":"subscribed","channel":"{channel}","offset":{offset},"epoch":"{epoch}"}}"#
    );
    assert_eq!(frame, Message::text(expected));
    epoch
}

/// The `gap` frame of `channel` for a subscriber resuming after `since`:
/// the replay starts at `from`, for `reason`, in the history `epoch`.
pub fn gap_frame(channel: &str, since: u64, from: u64, reason: &str, epoch: &str) -> Message {
    Message::text(format!(
        r#"{{"type":"gap","channel":"{channel}","since":{since},"from":{from},"reason":"{reason}","epoch":"{epoch}"}}"#
    ))
}

/// A client subscribed to `channel` on `subscriber_at` while five messages
/// (101 to 105) are published through `publisher_at`; returns it, having
/// read them, with the epoch of their history.
pub async fn subscriber_of_five(
    publisher_at: SocketAddr,
    subscriber_at: SocketAddr,
    channel: &str,
) -> (Client, String) {
    let mut client = connect_protocol(subscriber_at, "ch").await;
    let epoch = subscribe(&mut client, channel, None, 0).await;
    for index in 1..=5 {
        publish(publisher_at, channel, &(100 + index).to_string()).await;
    }
    for offset in 1..=5 {
        assert_eq!(next_pub(&mut client, channel).await.0, offset);
    }
    (client, epoch)
}

/// Once the history of `channel` started anew (a restarted server, a Redis
/// that lost its data), eight messages (1001 to 1008) are published through
/// `publisher_at`, and a client that saw offsets 1-5 of `old_epoch`
/// resumes after 5 on `subscriber_at`. Handing it 6-8 as if they followed
/// 5 would be wrong: it gets `subscribed` with a new epoch, a `reset` gap
/// from 1, and all eight, once. Returns the new epoch.
pub async fn resume_across_a_reset(
    publisher_at: SocketAddr,
    subscriber_at: SocketAddr,
    channel: &str,
    old_epoch: &str,
) -> String {
    for index in 1..=8 {
        publish(publisher_at, channel, &(1000 + index).to_string()).await;
    }
    let mut back = connect_protocol(subscriber_at, "ch").await;
    let new_epoch = resume(&mut back, channel, 5, old_epoch, 8).await;
    assert_ne!(new_epoch, old_epoch);
    assert_eq!(
        next(&mut back).await,
        gap_frame(channel, 5, 1, "reset", &new_epoch)
    );
    for offset in 1..=8 {
        assert_eq!(
            next_pub(&mut back, channel).await,
            (offset, (1000 + offset).to_string())
        );
    }
    nothing_within_300_ms(&mut back, "the whole history once").await;
    new_epoch
}

pub async fn publish(address: SocketAddr, channel: &str, data: &str) -> Value {
    control(
        address,
        &format!("/control/publish?channel={channel}&data={data}"),
    )
    .await
}

pub fn pub_frame(channel: &str, offset: u64, data: &str) -> Message {
    Message::text(format!(
        r#"{{"type":"pub","channel":"{channel}","offset":{offset},"data":{data}}}"#
    ))
}

/// The (offset, data) of the `pub` frame of `channel` that must come next.
pub async fn next_pub(client: &mut Client, channel: &str) -> (u64, String) {
    let frame = next(client).await;
    let Message::Text(text) = &frame else {
        panic!("expected a pub frame, got {frame:?}");
    };
    let value: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
    assert_eq!(value["type"], "pub", "{value}");
    assert_eq!(value["channel"], channel, "{value}");
    let offset = value["offset"].as_u64().expect("an offset");
    (offset, value["data"].to_string())
}

pub fn publish_frame(id: &str, channel: &str, data: &str) -> Message {
    Message::text(format!(
        r#"{{"type":"msg","id":"{id}","publish":{{"channel":"{channel}","data":{data}}}}}"#
    ))
}

/// Messages [`subscribe_while_messages_flow`] publishes; the servers' history
/// must keep them all ([`FLOW_HISTORY`]), or a slow subscriber would rightly
/// get a `trimmed` gap.
pub const FLOW_TOTAL: u64 = 2_000;

/// A history that keeps every message of [`subscribe_while_messages_flow`].
pub const FLOW_HISTORY: HistoryLimits = HistoryLimits {
    max_messages: FLOW_TOTAL as usize,
    max_age: Duration::from_secs(600),
    max_channels: 100,
};

/// A client subscribes from the beginning while another publishes
/// [`FLOW_TOTAL`] messages as fast as it can through `publisher_at`: the
/// replay and the live messages overlap, and the client must still get each
/// offset once, in order.
pub async fn subscribe_while_messages_flow(publisher_at: SocketAddr, subscriber_at: SocketAddr) {
    let mut watcher = connect_protocol(subscriber_at, "r").await;
    subscribe(&mut watcher, "ticks", None, 0).await;
    let publisher = tokio::spawn(async move {
        // Sent without waiting for acks, so that messages flow fast.
        let mut publisher = connect_protocol(publisher_at, "r").await;
        for index in 1..=FLOW_TOTAL {
            send(
                &mut publisher,
                publish_frame(&format!("t-{index}"), "ticks", &index.to_string()),
            )
            .await;
        }
        for _ in 1..=FLOW_TOTAL {
            next(&mut publisher).await;
        }
    });
    // The watcher sees the flow start; the newcomer then subscribes from
    // the beginning, its replay and the live messages overlapping.
    for offset in 1..=20 {
        assert_eq!(next_pub(&mut watcher, "ticks").await.0, offset);
    }
    let mut newcomer = connect_protocol(subscriber_at, "r").await;
    send(
        &mut newcomer,
        Message::text(r#"{"type":"subscribe","channel":"ticks","since":0}"#),
    )
    .await;
    let subscribed = next(&mut newcomer).await;
    assert!(
        subscribed
            .to_text()
            .expect("text")
            .contains(r#""type":"subscribed""#),
        "{subscribed:?}"
    );
    for offset in 1..=FLOW_TOTAL {
        assert_eq!(
            next_pub(&mut newcomer, "ticks").await,
            (offset, offset.to_string())
        );
    }
    publisher.await.expect("the publisher");
    nothing_within_300_ms(&mut newcomer, "no repeat").await;
}
