//! End-to-end tests of protocol mode (`/ws`, `tabwire.v1`): the hellos,
//! acknowledged, deduplicated delivery and the refusal of malformed frames;
//! and which endpoint is in which mode.

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
            "httpSessions": { "stream": 0, "poll": 0 },
            "subscriptions": {},
            "subscribeFrames": 0,
            "unsubscribeFrames": 0,
            "channelsKept": 0
        })
    );
}

#[tokio::test]
async fn a_repeated_id_is_only_acknowledged() {
    let address = start_with_control().await;
    let msg = r#"{"type":"msg","id":"dup-1","text":"once"}"#;
    let mut first = connect_as(address, "dd", "tab-1").await;
    send(&mut first, Message::text(msg)).await;
    assert_eq!(next(&mut first).await, Message::text("once"));
    assert_eq!(next(&mut first).await, ack("dup-1"));
    send(&mut first, Message::text(msg)).await;
    assert_eq!(next(&mut first).await, ack("dup-1"), "no second echo");
    assert_eq!(
        control(address, "/control/stats?tag=dd").await["duplicates"],
        1
    );

    // A later connection of the same client (a reload) resends it.
    within("close", first.close(None)).await.expect("close");
    let mut second = connect_as(address, "dd", "tab-1").await;
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
    assert_eq!(reply.header("access-control-allow-origin"), Some(PAGE_ORIGIN));
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

/// Checks that an upgrade of `path` offering `protocols` succeeds without
/// selecting any (read by hand: tungstenite refuses a handshake that
/// selects none of its offers, which browsers accept).
async fn upgraded_without_subprotocol(address: SocketAddr, path: &str, protocols: &str) {
    let head = upgrade_head(address, path, protocols).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("sec-websocket-protocol"),
        "{head}"
    );
}

#[tokio::test]
async fn ws_greets_first_whatever_subprotocol_is_offered() {
    let address = start_with_control().await;
    let msg = r#"{"type":"msg","id":"r-1","text":"x"}"#;
    // No subprotocol offered, as the client does by default: protocol mode,
    // and the server's hello comes before anything is sent.
    let mut plain = connect_to(address, "/ws?tag=greet").await;
    let hello = expect_hello(&mut plain).await;
    assert_eq!(hello["limits"]["maxFrameBytes"], 1_048_576);
    send(&mut plain, Message::text(msg)).await;
    assert_eq!(next(&mut plain).await, Message::text("x"));
    assert_eq!(next(&mut plain).await, ack("r-1"));

    // Offered among the application's own, tabwire.v1 is selected.
    let (mut both, selected) = connect_offering(address, "greet", "chat, tabwire.v1").await;
    assert_eq!(selected.as_deref(), Some(SUBPROTOCOL));
    let other = expect_hello(&mut both).await;
    assert_ne!(
        other["session"], hello["session"],
        "a session per connection"
    );

    // Any other is not selected.
    upgraded_without_subprotocol(address, "/ws?tag=greet", "chat").await;
    let stats = control(address, "/control/stats?tag=greet").await;
    assert_eq!(stats["protocolConnections"], 2, "{stats}");
}

#[tokio::test]
async fn raw_mode_is_on_its_own_endpoint() {
    let address = start_with_control().await;
    let msg = r#"{"type":"msg","id":"r-1","text":"x"}"#;

    let mut raw = connect(address, "raw").await;
    send(&mut raw, Message::text(msg)).await;
    assert_eq!(
        next(&mut raw).await,
        Message::text(msg),
        "no hello, and an echo"
    );
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
    // A client hello is just another frame there.
    send(&mut raw, client_hello("c")).await;
    assert_eq!(next(&mut raw).await, client_hello("c"));

    // /raw never selects a subprotocol, tabwire.v1 included.
    upgraded_without_subprotocol(address, "/raw?tag=raw", "tabwire.v1").await;

    let stats = control(address, "/control/stats?tag=raw").await;
    assert_eq!(stats["protocolConnections"], 0);
    assert_eq!(stats["duplicates"], 0);
    assert_eq!(stats["framesReceived"], 4);
}

#[tokio::test]
async fn the_client_is_named_once_by_a_well_formed_hello() {
    let address = start_with_control().await;
    let mut client = connect_anonymous(address, "hi").await;
    for (hello, problem) in [
        (
            r#"{"type":"hello","protocol":"tabwire.v1"}"#,
            "client: missing",
        ),
        (
            r#"{"type":"hello","protocol":"tabwire.v1","client":"a b"}"#,
            "client: 1 to 64 characters of A-Z, a-z, 0-9, _ and -",
        ),
    ] {
        send(&mut client, Message::text(hello)).await;
        assert_eq!(next_error(&mut client).await, problem, "{hello}");
    }
    send(&mut client, client_hello("tab-1")).await;
    send(&mut client, client_hello("tab-2")).await;
    assert_eq!(
        next_error(&mut client).await,
        "hello: the client is named once per connection"
    );
    // Named tab-1, not tab-2: a message of tab-1 is a repeat there.
    let msg = r#"{"type":"msg","id":"n-1","text":"x"}"#;
    send(&mut client, Message::text(msg)).await;
    assert_eq!(next(&mut client).await, Message::text("x"));
    assert_eq!(next(&mut client).await, ack("n-1"));
    let mut again = connect_as(address, "hi", "tab-1").await;
    send(&mut again, Message::text(msg)).await;
    assert_eq!(next(&mut again).await, ack("n-1"), "a repeat of tab-1");
    let mut other = connect_as(address, "hi", "tab-2").await;
    send(&mut other, Message::text(msg)).await;
    assert_eq!(next(&mut other).await, Message::text("x"), "new for tab-2");
}

#[tokio::test]
async fn an_id_over_128_bytes_is_refused_without_being_echoed() {
    let address = start_with_control().await;
    let mut client = connect_protocol(address, "long").await;
    let id = "i".repeat(129);
    send(
        &mut client,
        Message::text(format!(r#"{{"type":"msg","id":"{id}","text":"x"}}"#)),
    )
    .await;
    assert_eq!(
        next(&mut client).await,
        Message::text(
            r#"{"type":"error","code":"bad_frame","message":"id: 129 bytes; at most 128 are allowed"}"#
        )
    );
    let id = "i".repeat(128);
    send(
        &mut client,
        Message::text(format!(r#"{{"type":"msg","id":"{id}","text":"x"}}"#)),
    )
    .await;
    assert_eq!(next(&mut client).await, Message::text("x"));
    assert_eq!(next(&mut client).await, ack(&id));
    assert_eq!(
        control(address, "/control/received?tag=long").await,
        json!({ "frames": ["x"] })
    );
}
