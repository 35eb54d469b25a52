//! End-to-end tests of what the server holds for one connection at most: a
//! subscriber that stops reading is closed as a slow consumer (3008), on a
//! WebSocket or an HTTP session, without holding back the other
//! subscribers of its channel, and gets everything it missed by resuming;
//! subscriptions past the cap, and channel names past the bound, are
//! refused with the connection left as it was.

mod common;

use common::transport::{frames_of, parse_frame, send_frames, PollSession, StreamSession};
use common::*;
use tabwire_server::Bounds;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Long enough for a connection to be found slow on a busy machine: a
/// write times out after 1 s, the close then gets 2 s.
const SLOW_FOUND_WITHIN: Duration = Duration::from_secs(30);

/// A server whose connections queue 16 channel messages (2 MiB) at most,
/// wait 1 s at most for a write, listen to 3 channels at most, named in 16
/// bytes at most.
async fn start_bounded() -> SocketAddr {
    let mut config = config(true, missing_dir(), missing_dir());
    config.bounds = Bounds {
        send_queue_messages: 16,
        send_queue_bytes: 2 << 20,
        write_timeout: Duration::from_secs(1),
        max_subscriptions: 3,
        max_channel_bytes: 16,
    };
    start(config).await
}

/// The data of message `index`: a JSON string of about `bytes` bytes that
/// names it.
fn large_data(index: u64, bytes: usize) -> String {
    format!(r#""{index}-{}""#, "x".repeat(bytes))
}

/// Waits until the connections tagged `tag` are all gone.
async fn gone(address: SocketAddr, tag: &str) {
    let wait = async {
        loop {
            let stats = control(address, &format!("/control/stats?tag={tag}")).await;
            if stats["connections"] == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    timeout(SLOW_FOUND_WITHIN, wait)
        .await
        .unwrap_or_else(|_| panic!("the server still serves {tag}"));
}

/// Reads what a client that stopped reading still gets: the channel's
/// messages in order from offset 1, then the close (which must be 3008) or
/// the end of the connection. Returns the last offset it got whole.
async fn drain(client: &mut Client, channel: &str, bytes: usize) -> u64 {
    let mut last = 0;
    loop {
        match timeout(STEP, client.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let frame: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
                assert_eq!(frame["type"], "pub", "a frame of {} bytes", text.len());
                assert_eq!(frame["channel"], channel);
                let offset = frame["offset"].as_u64().expect("an offset");
                assert_eq!(offset, last + 1, "in order, none missing");
                assert_eq!(frame["data"].to_string(), large_data(offset, bytes));
                last = offset;
            }
            Ok(Some(Ok(Message::Close(Some(close))))) => {
                assert_eq!(close.code, CloseCode::from(3008));
                assert_eq!(close.reason.as_str(), "slow consumer");
                return last;
            }
            Ok(Some(Ok(other))) => panic!("unexpected {other:?}"),
            // The server dropped the connection (its close could not get
            // through): what was on the way is cut.
            Ok(Some(Err(_)) | None) => return last,
            Err(_) => panic!("the slow client's connection did not end"),
        }
    }
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_closed_the_others_get_everything_and_it_resumes() {
    const TOTAL: u64 = 200;
    const BYTES: usize = 64 << 10;
    let address = start_bounded().await;
    let mut slow = connect_protocol(address, "slow").await;
    let epoch = subscribe(&mut slow, "big", None, 0).await;
    let mut fast = connect_protocol(address, "fast").await;
    subscribe(&mut fast, "big", None, 0).await;
    let reader = tokio::spawn(async move {
        for offset in 1..=TOTAL {
            assert_eq!(
                next_pub(&mut fast, "big").await,
                (offset, large_data(offset, BYTES)),
                "every message, in order"
            );
        }
        fast
    });

    // 12.8 MB: far more than the slow client's TCP buffers hold. One at a
    // time, so that a subscriber that reads keeps up, even with the server
    // and every client on one thread.
    let mut publisher = connect_protocol(address, "pub").await;
    for index in 1..=TOTAL {
        let frame = publish_frame(&format!("p-{index}"), "big", &large_data(index, BYTES));
        send(&mut publisher, frame).await;
        assert_eq!(next(&mut publisher).await, ack(&format!("p-{index}")));
    }
    let mut fast = within("the fast subscriber", reader)
        .await
        .expect("the fast subscriber");
    gone(address, "slow").await;
    assert_eq!(
        control(address, "/control/stats?tag=fast").await["connections"],
        1,
        "the fast subscriber stays"
    );

    let last = drain(&mut slow, "big", BYTES).await;
    assert!(last < TOTAL, "it stopped reading, yet got all {last}");
    let mut back = connect_protocol(address, "slow").await;
    resume(&mut back, "big", last, &epoch, TOTAL).await;
    for offset in last + 1..=TOTAL {
        assert_eq!(
            next_pub(&mut back, "big").await,
            (offset, large_data(offset, BYTES)),
            "what it missed, in order"
        );
    }
    nothing_within_300_ms(&mut back, "nothing twice").await;
    send(&mut fast, Message::text(PING)).await;
    assert_eq!(next(&mut fast).await, Message::text(PONG));
}

/// Publishes `data` to `channel` through the control API, in the body.
async fn publish_posted(address: SocketAddr, channel: &str, data: &str) {
    let path = format!("/control/publish?channel={channel}");
    let reply = request(address, "POST", &path, "", data).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_polling_session_whose_frames_are_not_taken_ends_with_3008_and_resumes() {
    const TOTAL: u64 = 80;
    const BYTES: usize = 32 << 10;
    let address = start_bounded().await;
    let (mut session, _hello) = PollSession::open(address, "tag=poller").await;
    session
        .send(&[r#"{"type":"subscribe","channel":"p"}"#])
        .await;
    // 2.5 MiB, while the frames waiting for a poll take 1 MiB.
    for index in 1..=TOTAL {
        publish_posted(address, "p", &large_data(index, BYTES)).await;
    }
    gone(address, "poller").await;

    let mut last = 0;
    let closed = loop {
        let answer = session.poll_answer().await;
        for frame in frames_of(&answer) {
            if frame["type"] == "pub" {
                assert_eq!(frame["offset"], last + 1, "in order, none missing");
                assert_eq!(frame["data"].to_string(), large_data(last + 1, BYTES));
                last += 1;
            }
        }
        if let Some(closed) = answer.get("closed") {
            break closed.clone();
        }
    };
    assert_eq!(closed, json!({ "code": 3008, "reason": "slow consumer" }));
    assert!(last < TOTAL, "it took no frame, yet got all {last}");

    let (mut back, _hello) = PollSession::open(address, "tag=poller").await;
    let subscribe = format!(r#"{{"type":"subscribe","channel":"p","since":{last}}}"#);
    // The replay is more than the frames waiting for a poll may be: the
    // send is answered once it is all taken, so polls go on meanwhile, as
    // a client's do.
    let id = back.id.clone();
    let subscribing = tokio::spawn(async move { send_frames(address, &id, &[&subscribe]).await });
    let mut resumed = Vec::new();
    while resumed.len() < (TOTAL - last + 1) as usize {
        resumed.extend(back.poll().await);
    }
    subscribing.await.expect("the subscription was handled");
    assert_eq!(resumed[0]["type"], "subscribed", "{}", resumed[0]);
    for (offset, frame) in (last + 1..=TOTAL).zip(&resumed[1..]) {
        assert_eq!(frame["offset"], offset, "what it missed, in order");
        assert_eq!(frame["data"].to_string(), large_data(offset, BYTES));
    }
}

#[tokio::test]
async fn a_stream_that_is_not_read_ends_with_a_3008_close_event() {
    const TOTAL: u64 = 400;
    const BYTES: usize = 32 << 10;
    let address = start_bounded().await;
    let mut session = StreamSession::open(address, "tag=streamer").await;
    session.subscribe("s").await;
    // 12.8 MiB, not read meanwhile.
    for index in 1..=TOTAL {
        publish_posted(address, "s", &large_data(index, BYTES)).await;
    }
    gone(address, "streamer").await;
    let mut last = 0;
    loop {
        let event = session.events.next().await.expect("the close event");
        if event.kind.as_deref() == Some("close") {
            let close: Value = serde_json::from_str(&event.data).expect("JSON close");
            assert_eq!(close, json!({ "code": 3008, "reason": "slow consumer" }));
            break;
        }
        let frame = parse_frame(&event.data);
        assert_eq!(frame["offset"], last + 1, "in order, none missing");
        last += 1;
    }
    assert!(last < TOTAL, "it read nothing, yet got all {last}");
    assert_eq!(session.events.next().await, None, "the end after the close");
}

/// The error that refuses the subscription to `channel` with `code`.
async fn expect_refusal(client: &mut Client, channel: &str, code: &str) {
    let frame = next(client).await;
    let refusal: Value = serde_json::from_str(frame.to_text().expect("text")).expect("JSON");
    assert_eq!(refusal["type"], "error", "{refusal}");
    assert_eq!(refusal["code"], code, "{refusal}");
    assert_eq!(refusal["channel"], channel, "{refusal}");
    assert!(refusal["message"].is_string(), "{refusal}");
}

#[tokio::test]
async fn subscriptions_past_the_cap_and_names_past_the_bound_are_refused_and_the_rest_holds() {
    let address = start_bounded().await;
    let mut client = connect_protocol(address, "caps").await;
    for channel in ["a", "b", "c"] {
        subscribe(&mut client, channel, None, 0).await;
    }
    let subscribe_d = Message::text(r#"{"type":"subscribe","channel":"d"}"#);
    send(&mut client, subscribe_d.clone()).await;
    expect_refusal(&mut client, "d", "too_many_subscriptions").await;
    subscribe(&mut client, "a", None, 0).await;
    let long = "l".repeat(17);
    let subscribe_long = format!(r#"{{"type":"subscribe","channel":"{long}"}}"#);
    send(&mut client, Message::text(subscribe_long)).await;
    expect_refusal(&mut client, &long, "channel_too_long").await;
    assert_eq!(
        control(address, "/control/stats?tag=caps").await["subscriptions"],
        json!({ "a": 1, "b": 1, "c": 1 })
    );

    send(&mut client, publish_frame("too-long", &long, "1")).await;
    let refusal: Value =
        serde_json::from_str(next(&mut client).await.to_text().expect("text")).expect("JSON");
    assert_eq!(
        (&refusal["code"], &refusal["id"]),
        (&json!("channel_too_long"), &json!("too-long")),
        "refused for good, by id: {refusal}"
    );
    publish(address, "b", "7").await;
    assert_eq!(next(&mut client).await, pub_frame("b", 1, "7"));
    unsubscribe(&mut client, "c").await;
    let sixteen = "s".repeat(16);
    subscribe(&mut client, &sixteen, None, 0).await;
    send(&mut client, Message::text(PING)).await;
    assert_eq!(next(&mut client).await, Message::text(PONG));
    assert_eq!(
        control(address, &format!("/control/history?channel={long}")).await["newest"],
        0,
        "the refused publication was not kept"
    );
}
