//! What the end-to-end tests share: a server started in-process on
//! 127.0.0.1:0, a tokio-tungstenite client (on `/raw`, or on `/ws` with the
//! hellos exchanged), a minimal HTTP client for the control API, and time
//! limits on every step.

// Each test file uses its own subset of these helpers.
#![allow(dead_code, unused_imports)]

pub mod auth;
pub mod channels;
pub mod proxy;
pub mod redis;
pub mod stoppable;
pub mod transport;

pub use std::future::Future;
pub use std::net::SocketAddr;
pub use std::path::PathBuf;
pub use std::time::Duration;

pub use self::channels::*;

pub use futures_util::{SinkExt, StreamExt};
pub use serde_json::{json, Value};
pub use tabwire_server::{serve, HistoryLimits, JwtConfig, Limits, Rate, ServerConfig, Timeouts};
pub use tokio::io::{AsyncReadExt, AsyncWriteExt};
pub use tokio::net::{TcpListener, TcpStream};
pub use tokio::time::timeout;
pub use tokio_tungstenite::tungstenite::client::IntoClientRequest;
pub use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
pub use tokio_tungstenite::tungstenite::Message;
pub use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub const PING: &str = r#"{"type":"ping"}"#;
pub const PONG: &str = r#"{"type":"pong"}"#;
pub const SUBPROTOCOL: &str = "tabwire.v1";

/// Upper bound for any single step, so a broken server fails the test
/// instead of hanging it.
pub const STEP: Duration = Duration::from_secs(5);

pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match timeout(STEP, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// Starts a server on a free loopback port; it stops when the test's runtime
/// ends.
pub async fn start(config: ServerConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        serve(config, listener).await.expect("serve");
    });
    address
}

/// The origin of the pages the tests' HTTP requests come from, another
/// than the server's: [`config`] lets it in.
pub const PAGE_ORIGIN: &str = "http://127.0.0.1:1";

pub fn config(test_control: bool, www: PathBuf, pkg: PathBuf) -> ServerConfig {
    ServerConfig {
        www,
        pkg,
        test_control,
        allowed_origins: vec![PAGE_ORIGIN.to_owned()],
        ..ServerConfig::default()
    }
}

pub async fn start_with_control() -> SocketAddr {
    start(config(true, missing_dir(), missing_dir())).await
}

pub fn missing_dir() -> PathBuf {
    std::env::temp_dir().join("tabwire-server-test-no-such-dir")
}

/// Connects to `/raw` (raw mode: echo, no hello).
pub async fn connect(address: SocketAddr, tag: &str) -> Client {
    connect_to(address, &format!("/raw?tag={tag}")).await
}

/// Connects to `path` (with its query), offering no subprotocol.
pub async fn connect_to(address: SocketAddr, path: &str) -> Client {
    let url = format!("ws://{address}{path}");
    let (client, _) = within("connect", connect_async(url))
        .await
        .expect("connect");
    client
}

/// Connects offering `protocols` (a `Sec-WebSocket-Protocol` value) and
/// returns the client with the subprotocol the server selected.
pub async fn connect_offering(
    address: SocketAddr,
    tag: &str,
    protocols: &'static str,
) -> (Client, Option<String>) {
    connect_offering_at(address, &format!("/ws?tag={tag}"), protocols).await
}

/// Connects to `path` (with its query) offering `protocols`; returns the
/// client and the subprotocol the server selected.
pub async fn connect_offering_at(
    address: SocketAddr,
    path: &str,
    protocols: &'static str,
) -> (Client, Option<String>) {
    let mut request = format!("ws://{address}{path}")
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

/// Connects to `/ws` as a client of its own (a new client id each time):
/// reads and checks the server's hello, and sends the client's.
pub async fn connect_protocol(address: SocketAddr, tag: &str) -> Client {
    static CLIENTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let count = CLIENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    connect_as(address, tag, &format!("test-{count}")).await
}

/// Connects to `/ws` as the client `client_id` (its dedupe scope unless a
/// token names a `sub`): reads and checks the server's hello, and sends the
/// client's.
pub async fn connect_as(address: SocketAddr, tag: &str, client_id: &str) -> Client {
    let mut client = connect_anonymous(address, tag).await;
    send(&mut client, client_hello(client_id)).await;
    client
}

/// Connects to `/ws` and reads and checks the server's hello, but sends no
/// hello of its own: its messages are deduplicated per connection only.
pub async fn connect_anonymous(address: SocketAddr, tag: &str) -> Client {
    let mut client = connect_to(address, &format!("/ws?tag={tag}")).await;
    expect_hello(&mut client).await;
    client
}

/// A client hello naming `client_id`.
pub fn client_hello(client_id: &str) -> Message {
    Message::text(format!(
        r#"{{"type":"hello","protocol":"tabwire.v1","client":"{client_id}"}}"#
    ))
}

/// Reads the frame that must come first on `/ws`, the server's hello,
/// checks it and returns it.
pub async fn expect_hello(client: &mut Client) -> Value {
    let frame = next(client).await;
    let text = frame.to_text().expect("a text hello");
    assert!(text.starts_with(r#"{"type":"hello","#), "{text}");
    let hello: Value = serde_json::from_str(text).expect("JSON hello");
    // serde_json sorts them.
    let keys: Vec<&String> = hello
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        ["limits", "protocol", "session", "time", "type"],
        "{hello}"
    );
    assert_eq!(hello["type"], "hello", "{hello}");
    assert_eq!(hello["protocol"], SUBPROTOCOL, "{hello}");
    assert!(
        hello["session"].as_str().is_some_and(|s| !s.is_empty()),
        "{hello}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    let time = hello["time"].as_u64().expect("a time");
    assert!(time.abs_diff(now) < 60_000, "{hello}");
    assert!(
        hello["limits"]["maxFrameBytes"].as_u64().is_some(),
        "{hello}"
    );
    assert_eq!(hello["limits"]["maxIdBytes"], 128, "{hello}");
    hello
}

pub async fn send(client: &mut Client, message: Message) {
    within("send", client.send(message)).await.expect("send");
}

pub async fn next(client: &mut Client) -> Message {
    within("receive", client.next())
        .await
        .expect("stream ended")
        .expect("receive")
}

/// The head of the response to a WebSocket upgrade request offering
/// `protocols`, read up to the blank line; the connection is then dropped.
pub async fn upgrade_head(address: SocketAddr, path: &str, protocols: &str) -> String {
    upgrade_head_with(
        address,
        path,
        &format!("Sec-WebSocket-Protocol: {protocols}\r\n"),
    )
    .await
}

/// The same with `headers` (each line ending in CRLF) added to the request.
pub async fn upgrade_head_with(address: SocketAddr, path: &str, headers: &str) -> String {
    upgrade_by_hand(address, path, headers).await.1
}

/// Sends a WebSocket upgrade request with `headers` (each line ending in
/// CRLF) added; returns the stream and the response head, read up to the
/// blank line.
pub async fn upgrade_by_hand(
    address: SocketAddr,
    path: &str,
    headers: &str,
) -> (TcpStream, String) {
    within("upgrade response", async {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: Upgrade\r\n\
             Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{headers}\r\n"
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let byte = stream.read_u8().await.expect("read");
            head.push(byte);
        }
        (stream, String::from_utf8(head).expect("UTF-8 head"))
    })
    .await
}

/// A client frame of `opcode` with a short `payload` (under 126 bytes),
/// masked with a zero key so its payload reads as is.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

/// The next frame is a close with `code` and `reason`.
pub async fn expect_close(client: &mut Client, code: u16, reason: &str) {
    match next(client).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::from(code));
            assert_eq!(frame.reason.as_str(), reason);
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

/// Asserts that nothing arrives for a while (the server may still be
/// sending; 300 ms is far longer than a loopback round trip).
pub async fn nothing_within_300_ms(client: &mut Client, what: &str) {
    if let Ok(frame) = timeout(Duration::from_millis(300), client.next()).await {
        panic!("{what}: expected nothing, got {frame:?}");
    }
}

pub fn ack(id: &str) -> Message {
    Message::text(format!(r#"{{"type":"ack","id":"{id}"}}"#))
}

/// The `message` of the `bad_frame` error that must come next.
pub async fn next_error(client: &mut Client) -> String {
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
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// One HTTP/1.1 request on a fresh connection, from a page of
/// [`PAGE_ORIGIN`].
pub async fn http(address: SocketAddr, method: &str, path: &str) -> Reply {
    let origin = format!("Origin: {PAGE_ORIGIN}\r\n");
    request(address, method, path, &origin, "").await
}

/// One HTTP/1.1 request on a fresh connection with `headers` (each line
/// ending in CRLF) and `body`; the connection is closed after the answer,
/// so reading to the end of the stream reads it all (a chunked body is
/// decoded).
pub async fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Reply {
    within(&format!("{method} {path}"), async {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{headers}\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        let raw = String::from_utf8(raw).expect("UTF-8 response");
        let (head, body) = raw.split_once("\r\n\r\n").expect("header end");
        let (status, headers) = parse_head(head);
        let chunked = headers
            .iter()
            .any(|(key, value)| key == "transfer-encoding" && value == "chunked");
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        };
        Reply {
            status,
            headers,
            body,
        }
    })
    .await
}

/// The status and the headers (names lower-cased) of a response head.
pub fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
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
    (status, headers)
}

/// The body of a whole chunked transfer.
fn dechunk(mut raw: &str) -> String {
    let mut body = String::new();
    while let Some((size, rest)) = raw.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        body.push_str(&rest[..size]);
        raw = &rest[size + 2..];
    }
    body
}

pub async fn control(address: SocketAddr, path: &str) -> Value {
    let reply = http(address, "GET", path).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.json()
}
