//! End-to-end tests of protocol mode (`tabwire.v1`): acknowledged,
//! deduplicated delivery and the refusal of malformed frames.

mod common;

use common::*;

#[tokio::test]
async fn protocol_messages_are_echoed_then_acked_and_recorded() {
    let address = start_with_control().await;
    let mut client = connect_protocol(address, "pm").await;

    // Data is echoed and recorded byte for byte: spacing and key order kept.
    send(
        &mut client,
        Message::text(r#"{"type":"msg","id":"m-1","data": {"b":1, "a":2}}"#),
    )
    .await;
    assert_eq!(next(&mut client).await, Message::text(r#"{"b":1, "a":2}"#));
    assert_eq!(next(&mut client).await, ack("m-1"));

    send(
        &mut client,
        Message::text(r#"{"id":"m-2","text":"hello \"you\"","type":"msg"}"#),
    )
    .await;
    assert_eq!(next(&mut client).await, Message::text(r#"hello "you""#));
    assert_eq!(next(&mut client).await, ack("m-2"));

    send(
        &mut client,
        Message::text(r#"{"type":"msg","id":"m-3","binary":"AQID"}"#),
    )
    .await;
    assert_eq!(next(&mut client).await, Message::binary(vec![1u8, 2, 3]));
    assert_eq!(next(&mut client).await, ack("m-3"));

    // Pings are parsed, so any formatting works, and are not recorded.
    send(&mut client, Message::text(r#"{ "type": "ping" }"#)).await;
    assert_eq!(next(&mut client).await, Message::text(PONG));

    assert_eq!(
        control(address, "/control/received?tag=pm").await,
        json!({ "frames": [r#"{"b":1, "a":2}"#, r#"hello "you""#, "<binary 3 bytes>"] })
    );
    assert_eq!(
        control(address, "/control/stats?tag=pm").await,
        json!({
            "connections": 1,
            "framesReceived": 3,
            "connectionsTotal": 1,
            "duplicates": 0,
            "protocolConnections": 1,
            "compressedConnections": 0,
            "subscriptions": {},
            "subscribeFrames": 0,
            "unsubscribeFrames": 0
        })
    );
}

#[tokio::test]
async fn a_repeated_id_is_only_acknowledged() {
    let address = start_with_control().await;
    let msg = r#"{"type":"msg","id":"dup-1","text":"once"}"#;
    let mut first = connect_protocol(address, "dd").await;
    send(&mut first, Message::text(msg)).await;
    assert_eq!(next(&mut first).await, Message::text("once"));
    assert_eq!(next(&mut first).await, ack("dup-1"));
    send(&mut first, Message::text(msg)).await;
    assert_eq!(next(&mut first).await, ack("dup-1"), "no second echo");
    assert_eq!(
        control(address, "/control/stats?tag=dd").await["duplicates"],
        1
    );

    // A later connection of the same tag (a reload) resends it.
    within("close", first.close(None)).await.expect("close");
    let mut second = connect_protocol(address, "dd").await;
    send(&mut second, Message::text(msg)).await;
    assert_eq!(next(&mut second).await, ack("dup-1"));
    send(&mut second, Message::text(PING)).await;
    assert_eq!(next(&mut second).await, Message::text(PONG));
    let stats = control(address, "/control/stats?tag=dd").await;
    assert_eq!(
        (&stats["duplicates"], &stats["framesReceived"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(
        control(address, "/control/received?tag=dd").await,
        json!({ "frames": ["once"] })
    );

    // Tags do not share ids.
    let mut other = connect_protocol(address, "dd-other").await;
    send(&mut other, Message::text(msg)).await;
    assert_eq!(next(&mut other).await, Message::text("once"));
    assert_eq!(next(&mut other).await, ack("dup-1"));

    // Reset forgets the ids and the count.
    control(address, "/control/reset?tag=dd").await;
    assert_eq!(
        control(address, "/control/stats?tag=dd").await["duplicates"],
        0
    );
    send(&mut second, Message::text(msg)).await;
    assert_eq!(next(&mut second).await, Message::text("once"));
    assert_eq!(next(&mut second).await, ack("dup-1"));
}

#[tokio::test]
async fn withheld_acks_are_not_sent() {
    let address = start_with_control().await;
    let mut client = connect_protocol(address, "wa").await;
    assert_eq!(
        control(address, "/control/acks?tag=wa&enabled=false").await,
        json!({ "acks": false })
    );
    let msg = r#"{"type":"msg","id":"w-1","data":[1, 2]}"#;
    send(&mut client, Message::text(msg)).await;
    assert_eq!(next(&mut client).await, Message::text("[1, 2]"));
    nothing_within_300_ms(&mut client, "acks withheld").await;
    assert_eq!(
        control(address, "/control/received?tag=wa").await,
        json!({ "frames": ["[1, 2]"] })
    );

    // The resend is recognised, and gets nothing either.
    send(&mut client, Message::text(msg)).await;
    nothing_within_300_ms(&mut client, "duplicate with acks withheld").await;
    assert_eq!(
        control(address, "/control/stats?tag=wa").await["duplicates"],
        1
    );

    // Re-enabling sends no withheld ack; the next resend is acknowledged.
    let reply = http(address, "POST", "/control/acks?tag=wa&enabled=true").await;
    assert_eq!(reply.json(), json!({ "acks": true }));
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    send(&mut client, Message::text(PING)).await;
    assert_eq!(next(&mut client).await, Message::text(PONG));
    send(&mut client, Message::text(msg)).await;
    assert_eq!(next(&mut client).await, ack("w-1"));

    // Reset sends acks again.
    control(address, "/control/acks?tag=wa&enabled=false").await;
    control(address, "/control/reset?tag=wa").await;
    send(&mut client, Message::text(msg)).await;
    assert_eq!(next(&mut client).await, Message::text("[1, 2]"));
    assert_eq!(next(&mut client).await, ack("w-1"));

    for query in ["enabled=false", "tag=wa", "tag=wa&enabled=no"] {
        let reply = http(address, "GET", &format!("/control/acks?{query}")).await;
        assert_eq!(reply.status, 400, "{query}");
    }
}

#[tokio::test]
async fn malformed_frames_get_an_error_and_the_connection_stays() {
    let address = start_with_control().await;
    let mut client = connect_protocol(address, "mf").await;
    for (frame, field) in [
        ("hello", "frame"),
        (r#"["msg"]"#, "frame"),
        (r#"{"id":"1","text":"x"}"#, "type"),
        (r#"{"type":"ack","id":"1"}"#, "type"),
        (r#"{"type":"msg","text":"x"}"#, "id"),
        (r#"{"type":"msg","id":"","text":"x"}"#, "id"),
        (r#"{"type":"msg","id":7,"text":"x"}"#, "id"),
        (r#"{"type":"msg","id":"1"}"#, "data, text, binary"),
        (
            r#"{"type":"msg","id":"1","text":"x","data":1}"#,
            "data, text, binary",
        ),
        (r#"{"type":"msg","id":"1","text":1}"#, "text"),
        (r#"{"type":"msg","id":"1","binary":"AQI"}"#, "binary"),
    ] {
        send(&mut client, Message::text(frame)).await;
        let message = next_error(&mut client).await;
        assert!(
            message.starts_with(&format!("{field}:")),
            "{frame}: {message}"
        );
    }
    send(&mut client, Message::binary(vec![1u8, 2, 3])).await;
    assert!(next_error(&mut client)
        .await
        .contains("binary WebSocket frames"));

    send(&mut client, Message::text(PING)).await;
    assert_eq!(next(&mut client).await, Message::text(PONG));
    assert_eq!(
        control(address, "/control/received?tag=mf").await,
        json!({ "frames": [] })
    );
    // The malformed frames handled no id: the same id is still new.
    send(
        &mut client,
        Message::text(r#"{"type":"msg","id":"1","text":"ok"}"#),
    )
    .await;
    assert_eq!(next(&mut client).await, Message::text("ok"));
    assert_eq!(next(&mut client).await, ack("1"));
}

#[tokio::test]
async fn without_the_subprotocol_the_connection_is_raw() {
    let address = start_with_control().await;
    let msg = r#"{"type":"msg","id":"r-1","text":"x"}"#;

    let mut raw = connect(address, "raw").await;
    send(&mut raw, Message::text(msg)).await;
    assert_eq!(next(&mut raw).await, Message::text(msg));
    send(&mut raw, Message::text(PING)).await;
    assert_eq!(
        next(&mut raw).await,
        Message::text(PONG),
        "no ack in raw mode"
    );
    // Raw mode compares pings exactly: a reformatted one is echoed.
    send(&mut raw, Message::text(r#"{ "type": "ping" }"#)).await;
    assert_eq!(next(&mut raw).await, Message::text(r#"{ "type": "ping" }"#));
    send(&mut raw, Message::text(msg)).await;
    assert_eq!(
        next(&mut raw).await,
        Message::text(msg),
        "no dedupe in raw mode"
    );

    // Offering only another subprotocol selects none: raw mode too. (Read by
    // hand: tungstenite refuses a handshake that selects none of its offers,
    // which browsers accept.)
    let head = upgrade_head(address, "/ws?tag=raw", "chat").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("sec-websocket-protocol"),
        "{head}"
    );

    let stats = control(address, "/control/stats?tag=raw").await;
    assert_eq!(stats["protocolConnections"], 0);
    assert_eq!(stats["duplicates"], 0);
    assert_eq!(stats["framesReceived"], 3);

    // Offered among the application's own, tabwire.v1 is selected.
    let (mut both, selected) = connect_offering(address, "raw", "chat, tabwire.v1").await;
    assert_eq!(selected.as_deref(), Some(SUBPROTOCOL));
    send(&mut both, Message::text(msg)).await;
    assert_eq!(next(&mut both).await, Message::text("x"));
    assert_eq!(next(&mut both).await, ack("r-1"));
    assert_eq!(
        control(address, "/control/stats?tag=raw").await["protocolConnections"],
        1
    );
}
