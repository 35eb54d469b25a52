//! End-to-end tests: a server started in-process on 127.0.0.1:0, driven by a
//! tokio-tungstenite client and a minimal HTTP client for the control API.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tabwire_server::{serve, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const PING: &str = r#"{"type":"ping"}"#;
const PONG: &str = r#"{"type":"pong"}"#;
const SUBPROTOCOL: &str = "tabwire.v1";

/// Upper bound for any single step, so a broken server fails the test
/// instead of hanging it.
const STEP: Duration = Duration::from_secs(5);

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match timeout(STEP, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// Starts a server on a free loopback port; it stops when the test's runtime
/// ends.
async fn start(config: ServerConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        serve(config, listener).await.expect("serve");
    });
    address
}

fn config(test_control: bool, www: PathBuf, pkg: PathBuf) -> ServerConfig {
    ServerConfig {
        www,
        pkg,
        test_control,
        verbose: false,
    }
}

async fn start_with_control() -> SocketAddr {
    start(config(true, missing_dir(), missing_dir())).await
}

fn missing_dir() -> PathBuf {
    std::env::temp_dir().join("tabwire-server-test-no-such-dir")
}

async fn connect(address: SocketAddr, tag: &str) -> Client {
    let url = format!("ws://{address}/ws?tag={tag}");
    let (client, _) = within("connect", connect_async(url))
        .await
        .expect("connect");
    client
}

/// Connects offering `protocols` (a `Sec-WebSocket-Protocol` value) and
/// returns the client with the subprotocol the server selected.
async fn connect_offering(
    address: SocketAddr,
    tag: &str,
    protocols: &'static str,
) -> (Client, Option<String>) {
    let mut request = format!("ws://{address}/ws?tag={tag}")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(protocols),
    );
    let (client, response) = within("connect", connect_async(request))
        .await
        .expect("connect");
    let selected = response
        .headers()
        .get("sec-websocket-protocol")
        .map(|value| value.to_str().expect("ASCII protocol").to_owned());
    (client, selected)
}

/// Connects in protocol mode, checking the server selected `tabwire.v1`.
async fn connect_protocol(address: SocketAddr, tag: &str) -> Client {
    let (client, selected) = connect_offering(address, tag, SUBPROTOCOL).await;
    assert_eq!(selected.as_deref(), Some(SUBPROTOCOL));
    client
}

async fn send(client: &mut Client, message: Message) {
    within("send", client.send(message)).await.expect("send");
}

async fn next(client: &mut Client) -> Message {
    within("receive", client.next())
        .await
        .expect("stream ended")
        .expect("receive")
}

/// The head of the response to a WebSocket upgrade request offering
/// `protocols`, read up to the blank line; the connection is then dropped.
async fn upgrade_head(address: SocketAddr, path: &str, protocols: &str) -> String {
    within("upgrade response", async {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: Upgrade\r\n\
             Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Protocol: {protocols}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let byte = stream.read_u8().await.expect("read");
            head.push(byte);
        }
        String::from_utf8(head).expect("UTF-8 head")
    })
    .await
}

/// Asserts that nothing arrives for a while (the server may still be
/// sending; 300 ms is far longer than a loopback round trip).
async fn nothing_within_300_ms(client: &mut Client, what: &str) {
    if let Ok(frame) = timeout(Duration::from_millis(300), client.next()).await {
        panic!("{what}: expected nothing, got {frame:?}");
    }
}

fn ack(id: &str) -> Message {
    Message::text(format!(r#"{{"type":"ack","id":"{id}"}}"#))
}

/// The `message` of the `bad_frame` error that must come next.
async fn next_error(client: &mut Client) -> String {
    let frame = next(client).await;
    let Message::Text(text) = &frame else {
        panic!("expected an error frame, got {frame:?}");
    };
    let error: Value = serde_json::from_str(text.as_str()).expect("JSON error frame");
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["code"], "bad_frame", "{error}");
    let keys: Vec<&String> = error
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys.len(), 3, "{error}");
    error["message"]
        .as_str()
        .expect("message is a string")
        .to_owned()
}

/// A parsed HTTP response: status, lower-cased headers, body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// One HTTP/1.1 request on a fresh connection; the server's answers here all
/// have a known length, so reading to the end of the stream suffices.
async fn http(address: SocketAddr, method: &str, path: &str) -> Reply {
    within(&format!("{method} {path}"), async {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nOrigin: http://127.0.0.1:1\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        let raw = String::from_utf8(raw).expect("UTF-8 response");
        let (head, body) = raw.split_once("\r\n\r\n").expect("header end");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("status line");
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(key, value)| (key.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        Reply {
            status,
            headers,
            body: body.to_owned(),
        }
    })
    .await
}

async fn control(address: SocketAddr, path: &str) -> Value {
    let reply = http(address, "GET", path).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.json()
}

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
            "protocolConnections": 0
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
            "protocolConnections": 0
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
        json!({ "refusingForMs": 60000 })
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
        json!({ "refusingForMs": 0 })
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
            "protocolConnections": 0
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
            "protocolConnections": 0
        })
    );
    send(&mut b, Message::text("still here")).await;
    assert_eq!(next(&mut b).await, Message::text("still here"));
}

#[tokio::test]
async fn control_routes_allow_any_origin() {
    let address = start_with_control().await;
    let reply = http(address, "POST", "/control/stats").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
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
    assert_eq!(index.header("cache-control"), Some("no-store"));

    let script = http(address, "GET", "/pkg/tabwire.js").await;
    assert_eq!(script.status, 200);
    assert_eq!(script.body, "export {};");
    assert_eq!(script.header("cache-control"), Some("no-store"));
    assert!(script
        .header("content-type")
        .is_some_and(|t| t.contains("javascript")));

    assert_eq!(http(address, "GET", "/tabwire.js").await.status, 404);
    assert_eq!(http(address, "GET", "/pkg/index.html").await.status, 404);

    let _ = std::fs::remove_dir_all(www);
    let _ = std::fs::remove_dir_all(pkg);
}

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
            "protocolConnections": 1
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
