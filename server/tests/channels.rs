//! End-to-end tests of channels in protocol mode: subscriptions per
//! connection, publication through the control API, and their counts.

mod common;

use common::*;

/// Sends `frame`, then a ping, and waits for the pong: the server handled
/// `frame` by then (a connection's frames are handled in order).
async fn send_handled(client: &mut Client, frame: &str) {
    send(client, Message::text(frame)).await;
    send(client, Message::text(PING)).await;
    assert_eq!(next(client).await, Message::text(PONG));
}

async fn subscribe(client: &mut Client, channel: &str) {
    send_handled(
        client,
        &format!(r#"{{"type":"subscribe","channel":"{channel}"}}"#),
    )
    .await;
}

async fn subscriptions(address: SocketAddr) -> Value {
    control(address, "/control/stats?tag=ch").await["subscriptions"].clone()
}

#[tokio::test]
async fn publications_reach_the_subscribers_of_their_channel_only() {
    let address = start_with_control().await;
    let mut first = connect_protocol(address, "ch").await;
    let mut second = connect_protocol(address, "ch").await;
    let mut other = connect_protocol(address, "ch").await;
    subscribe(&mut first, "x").await;
    subscribe(&mut second, "x").await;
    subscribe(&mut other, "y").await;
    assert_eq!(subscriptions(address).await, json!({ "x": 2, "y": 1 }));

    let answer = control(
        address,
        "/control/publish?channel=x&data=%7B%22nav%22%3A101.5%7D",
    )
    .await;
    assert_eq!(answer, json!({ "delivered": 2 }));
    let expected = Message::text(r#"{"type":"pub","channel":"x","data":{"nav":101.5}}"#);
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
    send_handled(&mut second, r#"{"type":"unsubscribe","channel":"x"}"#).await;
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
        control(address, "/control/publish?channel=x&data=1").await,
        json!({ "delivered": 0 })
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
    subscribe(&mut client, "ok").await;
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
