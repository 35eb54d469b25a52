//! End-to-end tests of raw mode, the test control API and the static files.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use tokio_tungstenite::tungstenite::{self, protocol::frame::coding::CloseCode};

#[tokio::test]
async fn ping_gets_pong() {
    let address = start_with_control().await;
    let mut client = connect(address, "p").await;
    send(&mut client, Message::text(PING)).await;
    assert_eq!(next(&mut client).await, Message::text(PONG));
    let stats = control(address, "/control/stats?tag=p").await;
    assert_eq!(stats["framesReceived"], 0, "pings are not counted");
    assert_eq!(
        control(address, "/control/received?tag=p").await,
        json!({ "frames": [] })
    );
}

#[tokio::test]
async fn text_and_binary_are_echoed_and_recorded() {
    let address = start_with_control().await;
    let mut client = connect(address, "e").await;
    send(&mut client, Message::text("hello")).await;
    assert_eq!(next(&mut client).await, Message::text("hello"));
    send(&mut client, Message::binary(vec![1u8, 2, 3])).await;
    assert_eq!(next(&mut client).await, Message::binary(vec![1u8, 2, 3]));
    send(&mut client, Message::text(PING)).await;
    assert_eq!(next(&mut client).await, Message::text(PONG));

    assert_eq!(
        control(address, "/control/stats?tag=e").await,
        json!({
            "connections": 1,
            "framesReceived": 2,
            "connectionsTotal": 1,
            "duplicates": 0,
            "protocolConnections": 0,
            "compressedConnections": 0,
            "httpSessions": { "stream": 0, "poll": 0 },
            "subscriptions": {},
            "subscribeFrames": 0,
            "unsubscribeFrames": 0,
            "channelsKept": 0
        })
    );
    assert_eq!(
        control(address, "/control/received?tag=e").await,
        json!({ "frames": ["hello", "<binary 3 bytes>"] })
    );

    assert_eq!(
        control(address, "/control/reset?tag=e").await,
        json!({ "reset": true })
    );
    assert_eq!(
        control(address, "/control/stats?tag=e").await,
        json!({
            "connections": 1,
            "framesReceived": 0,
            "connectionsTotal": 0,
            "duplicates": 0,
            "protocolConnections": 0,
            "compressedConnections": 0,
            "httpSessions": { "stream": 0, "poll": 0 },
            "subscriptions": {},
            "subscribeFrames": 0,
            "unsubscribeFrames": 0,
            "channelsKept": 0
        })
    );
    assert_eq!(
        control(address, "/control/received?tag=e").await,
        json!({ "frames": [] })
    );
}

#[tokio::test]
async fn drop_ends_the_stream_without_a_close_frame() {
    let address = start_with_control().await;
    let mut client = connect(address, "d").await;
    let reply = http(address, "POST", "/control/drop?tag=d").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({ "dropped": 1 }));
    match within("end of stream", client.next()).await {
        None | Some(Err(tungstenite::Error::Protocol(_) | tungstenite::Error::Io(_))) => {}
        other => panic!("expected the stream to end abruptly, got {other:?}"),
    }
    assert_eq!(
        control(address, "/control/stats?tag=d").await["connections"],
        0
    );
    assert_eq!(
        control(address, "/control/drop?tag=d").await,
        json!({ "dropped": 0 })
    );
}

#[tokio::test]
async fn close_sends_the_code_and_reason() {
    let address = start_with_control().await;
    let mut client = connect(address, "c").await;
    assert_eq!(
        control(address, "/control/close?tag=c&code=4001&reason=bye").await,
        json!({ "closed": 1 })
    );
    match next(&mut client).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::from(4001));
            assert_eq!(frame.reason.as_str(), "bye");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    // Completing the handshake ends the stream.
    assert!(within("end after close", client.next()).await.is_none());
    assert_eq!(
        control(address, "/control/stats?tag=c").await["connections"],
        0
    );
}

#[tokio::test]
async fn a_client_close_is_answered() {
    let address = start_with_control().await;
    let mut client = connect(address, "cc").await;
    within("close", client.close(None)).await.expect("close");
    match within("close answer", client.next()).await {
        Some(Ok(Message::Close(_))) | None => {}
        other => panic!("expected the close handshake to finish, got {other:?}"),
    }
    assert!(within("end after close", client.next()).await.is_none());
}

#[tokio::test]
async fn control_frames_are_answered_once_and_not_recorded() {
    let address = start_with_control().await;
    let (mut stream, head) = upgrade_by_hand(address, "/raw?tag=k", "").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let pong = [0x8A, 2, b'h', b'b'];
    stream
        .write_all(&client_frame(0x9, b"hb"))
        .await
        .expect("ping");
    let mut answer = [0u8; 4];
    within("pong", stream.read_exact(&mut answer))
        .await
        .expect("pong");
    assert_eq!(answer, pong);
    stream
        .write_all(&client_frame(0xA, b"x"))
        .await
        .expect("pong");
    let close = [0x88, 2, 0x03, 0xE8];
    assert_eq!(
        close_and_read_rest(&mut stream, &close[2..]).await,
        close,
        "one close frame answers the client's, then the end"
    );
    assert_eq!(
        control(address, "/control/stats?tag=k").await["framesReceived"],
        0
    );
}

#[tokio::test]
async fn a_control_close_is_sent_once() {
    let address = start_with_control().await;
    let (mut stream, _) = upgrade_by_hand(address, "/raw?tag=co", "").await;
    assert_eq!(
        control(address, "/control/close?tag=co&code=4001&reason=bye").await,
        json!({ "closed": 1 })
    );
    let mut close = [0u8; 7];
    within("close", stream.read_exact(&mut close))
        .await
        .expect("close");
    assert_eq!(close, [0x88, 5, 0x0F, 0xA1, b'b', b'y', b'e']);
    let rest = close_and_read_rest(&mut stream, &close[2..]).await;
    assert!(rest.is_empty(), "nothing after the close: {rest:?}");
}

/// Sends a close frame with `payload` on a WebSocket opened by hand, and
/// returns whatever the server sends until it ends the connection.
async fn close_and_read_rest(stream: &mut TcpStream, payload: &[u8]) -> Vec<u8> {
    stream
        .write_all(&client_frame(0x8, payload))
        .await
        .expect("close");
    let mut rest = Vec::new();
    within("end", stream.read_to_end(&mut rest))
        .await
        .expect("read");
    rest
}

#[tokio::test]
async fn bad_close_parameters_are_rejected() {
    let address = start_with_control().await;
    let _client = connect(address, "b").await;
    for query in [
        "code=abc",
        "code=999",
        "code=5000",
        "code=1005",
        "code=1006",
        "code=1015",
    ] {
        let reply = http(address, "GET", &format!("/control/close?tag=b&{query}")).await;
        assert_eq!(reply.status, 400, "{query}");
        let error = reply.json()["error"].as_str().map(str::to_owned);
        assert!(
            error.is_some_and(|e| e.starts_with("code:")),
            "{query}: {}",
            reply.body
        );
    }
    let long = "x".repeat(124);
    let reply = http(address, "GET", &format!("/control/close?reason={long}")).await;
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("reason"));
    let reply = http(address, "GET", "/control/refuse?ms=soon").await;
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("ms"));
    // Nothing was closed by the rejected requests.
    assert_eq!(
        control(address, "/control/stats?tag=b").await["connections"],
        1
    );
}

#[tokio::test]
async fn stall_holds_answers_until_resume() {
    let address = start_with_control().await;
    let mut client = connect(address, "s").await;
    assert_eq!(
        control(address, "/control/stall?tag=s").await,
        json!({ "stalled": 1 })
    );
    send(&mut client, Message::text(PING)).await;
    assert!(
        timeout(Duration::from_millis(300), client.next())
            .await
            .is_err(),
        "a stalled connection must not answer"
    );

    // A connection opened after the stall is served normally.
    let mut fresh = connect(address, "s").await;
    send(&mut fresh, Message::text(PING)).await;
    assert_eq!(next(&mut fresh).await, Message::text(PONG));

    assert_eq!(
        control(address, "/control/resume?tag=s").await,
        json!({ "resumed": 2 })
    );
    assert_eq!(next(&mut client).await, Message::text(PONG));
}

#[tokio::test]
async fn a_stalled_connection_can_still_be_dropped() {
    let address = start_with_control().await;
    let mut client = connect(address, "sd").await;
    control(address, "/control/stall?tag=sd").await;
    assert_eq!(
        control(address, "/control/drop?tag=sd").await,
        json!({ "dropped": 1 })
    );
    match within("end of stream", client.next()).await {
        None | Some(Err(_)) => {}
        Some(Ok(other)) => panic!("expected the stream to end, got {other:?}"),
    }
}

#[tokio::test]
async fn refuse_turns_upgrades_away_with_503() {
    let address = start_with_control().await;
    assert_eq!(
        control(address, "/control/refuse?ms=60000").await,
        json!({ "refusingForMs": 60000, "http": false })
    );
    match within(
        "refused connect",
        connect_async(format!("ws://{address}/ws")),
    )
    .await
    {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        Err(other) => panic!("expected HTTP 503, got {other:?}"),
        Ok(_) => panic!("expected HTTP 503, got an upgrade"),
    }
    // ms=0 ends the refusal (expiry itself is unit tested in the hub).
    assert_eq!(
        control(address, "/control/refuse?ms=0").await,
        json!({ "refusingForMs": 0, "http": false })
    );
    let mut client = connect(address, "").await;
    send(&mut client, Message::text(PING)).await;
    assert_eq!(next(&mut client).await, Message::text(PONG));
}

#[tokio::test]
async fn tags_isolate_actions_and_records() {
    let address = start_with_control().await;
    let mut a = connect(address, "a").await;
    let mut b = connect(address, "b").await;
    send(&mut a, Message::text("from a")).await;
    next(&mut a).await;
    send(&mut b, Message::text("from b")).await;
    next(&mut b).await;

    assert_eq!(
        control(address, "/control/received?tag=a").await,
        json!({ "frames": ["from a"] })
    );
    assert_eq!(
        control(address, "/control/received").await,
        json!({ "frames": ["from a", "from b"] })
    );
    assert_eq!(
        control(address, "/control/stats").await,
        json!({
            "connections": 2,
            "framesReceived": 2,
            "connectionsTotal": 2,
            "duplicates": 0,
            "protocolConnections": 0,
            "compressedConnections": 0,
            "httpSessions": { "stream": 0, "poll": 0 },
            "subscriptions": {},
            "subscribeFrames": 0,
            "unsubscribeFrames": 0,
            "channelsKept": 0
        })
    );

    assert_eq!(
        control(address, "/control/stall?tag=a").await,
        json!({ "stalled": 1 })
    );
    send(&mut b, Message::text(PING)).await;
    assert_eq!(next(&mut b).await, Message::text(PONG));

    assert_eq!(
        control(address, "/control/close?tag=a&code=4002").await,
        json!({ "closed": 1 })
    );
    assert_eq!(
        control(address, "/control/reset?tag=a").await,
        json!({ "reset": true })
    );
    assert_eq!(
        control(address, "/control/stats?tag=b").await,
        json!({
            "connections": 1,
            "framesReceived": 1,
            "connectionsTotal": 1,
            "duplicates": 0,
            "protocolConnections": 0,
            "compressedConnections": 0,
            "httpSessions": { "stream": 0, "poll": 0 },
            "subscriptions": {},
            "subscribeFrames": 0,
            "unsubscribeFrames": 0,
            "channelsKept": 0
        })
    );
    send(&mut b, Message::text("still here")).await;
    assert_eq!(next(&mut b).await, Message::text("still here"));
}

#[tokio::test]
async fn control_routes_are_absent_without_test_control() {
    let address = start(config(false, missing_dir(), missing_dir())).await;
    for path in ["/control/stats", "/control/drop", "/control/refuse?ms=100"] {
        assert_eq!(http(address, "GET", path).await.status, 404, "{path}");
    }
    // The WebSocket endpoint still works.
    let mut client = connect(address, "").await;
    send(&mut client, Message::text("hi")).await;
    assert_eq!(next(&mut client).await, Message::text("hi"));
}

#[tokio::test]
async fn firehose_sends_numbered_frames_to_the_scope() {
    let address = start_with_control().await;
    let mut raw = connect(address, "f").await;
    let mut protocol = connect_protocol(address, "f").await;
    let mut other = connect(address, "g").await;
    // The answer comes once the frames are queued: read them meanwhile.
    let request = tokio::spawn(async move {
        control(address, "/control/firehose?tag=f&count=500&bytes=100").await
    });
    for client in [&mut raw, &mut protocol] {
        for seq in 0..500 {
            let Message::Text(text) = next(client).await else {
                panic!("frame {seq}: not text");
            };
            assert_eq!(text.len(), 100);
            assert_eq!(&text[..8], format!("{seq:08}"));
            assert!(text[8..].bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }
    assert_eq!(
        request.await.expect("control request"),
        json!({ "connections": 2, "sent": 2, "count": 500, "bytes": 100, "binary": false })
    );
    let reply = control(
        address,
        "/control/firehose?tag=f&count=3&bytes=16384&binary=true",
    )
    .await;
    assert_eq!(
        (reply["connections"].clone(), reply["sent"].clone()),
        (json!(2), json!(2))
    );
    for seq in 0..3u32 {
        let Message::Binary(bytes) = next(&mut raw).await else {
            panic!("frame {seq}: not binary");
        };
        assert_eq!(bytes.len(), 16384);
        assert_eq!(bytes[..4], seq.to_be_bytes());
    }
    nothing_within_300_ms(&mut other, "a connection out of scope").await;
    // Still an ordinary connection afterwards.
    send(&mut raw, Message::text("hi")).await;
    assert_eq!(next(&mut raw).await, Message::text("hi"));
    for query in ["", "count=0", "count=1&bytes=4", "count=1&binary=1"] {
        let reply = http(address, "GET", &format!("/control/firehose?tag=f&{query}")).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
    }
}

/// A fresh directory with one file in it.
fn dir_with(file: &str, content: &str) -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tabwire-server-test-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create test directory");
    std::fs::write(dir.join(file), content).expect("write test file");
    dir
}

#[tokio::test]
async fn static_files_are_served_uncached() {
    let www = dir_with("index.html", "<h1>tabwire</h1>");
    let pkg = dir_with("tabwire.js", "export {};");
    let address = start(config(false, www.clone(), pkg.clone())).await;

    let index = http(address, "GET", "/").await;
    assert_eq!(index.status, 200);
    assert_eq!(index.body, "<h1>tabwire</h1>");
    assert_eq!(index.header("cache-control"), Some("no-cache"));

    let script = http(address, "GET", "/pkg/tabwire.js").await;
    assert_eq!(script.status, 200);
    assert_eq!(script.body, "export {};");
    assert_eq!(script.header("cache-control"), Some("no-cache"));
    assert!(script
        .header("content-type")
        .is_some_and(|t| t.contains("javascript")));

    assert_eq!(http(address, "GET", "/tabwire.js").await.status, 404);
    assert_eq!(http(address, "GET", "/pkg/index.html").await.status, 404);
    assert_eq!(index.header("cross-origin-embedder-policy"), None);

    // The same pages, cross-origin isolated.
    let isolated = http(address, "GET", "/isolated/index.html").await;
    assert_eq!(isolated.status, 200);
    assert_eq!(isolated.body, "<h1>tabwire</h1>");
    assert_eq!(
        isolated.header("cross-origin-opener-policy"),
        Some("same-origin")
    );
    assert_eq!(
        isolated.header("cross-origin-embedder-policy"),
        Some("require-corp")
    );
    assert_eq!(isolated.header("cache-control"), Some("no-cache"));
    assert_eq!(http(address, "GET", "/isolated/").await.status, 200);

    let _ = std::fs::remove_dir_all(www);
    let _ = std::fs::remove_dir_all(pkg);
}
