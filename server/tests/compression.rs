//! End-to-end tests of permessage-deflate (RFC 7692) with a yawc client, as
//! tokio-tungstenite (the other tests' client) does not compress. A tap on
//! the client's TCP stream shows what the server really sent: the handshake
//! response, and whether its frames are compressed (their RSV1 bit).

mod common;

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use common::*;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use yawc::{CompressionLevel, Frame, HttpRequest, OpCode, Options, WebSocket};

/// A TCP stream that keeps a copy of every byte read from it.
struct Tap {
    stream: TcpStream,
    read: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Tap {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.stream).poll_read(cx, buf);
        self.read
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(&buf.filled()[before..]);
        poll
    }
}

impl AsyncWrite for Tap {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A yawc client and everything the server sent it so far.
struct Deflating {
    socket: WebSocket<Tap>,
    read: Arc<Mutex<Vec<u8>>>,
}

impl Deflating {
    /// Connects offering permessage-deflate: to `/ws?tag=...` offering
    /// `tabwire.v1` too if `protocol`, else to `/raw?tag=...`.
    async fn connect(address: SocketAddr, tag: &str, protocol: bool) -> Deflating {
        let stream = TcpStream::connect(address).await.expect("connect");
        let read = Arc::new(Mutex::new(Vec::new()));
        let tap = Tap {
            stream,
            read: Arc::clone(&read),
        };
        let path = if protocol { "ws" } else { "raw" };
        let url = format!("ws://{address}/{path}?tag={tag}")
            .parse()
            .expect("URL");
        // Reads echoes of frames as large as the server takes.
        let options = Options::default()
            .with_compression_level(CompressionLevel::fast())
            .with_limits(16 << 20, 16 << 20);
        let mut request = HttpRequest::builder();
        if protocol {
            request = request.header("Sec-WebSocket-Protocol", SUBPROTOCOL);
        }
        let socket = within(
            "handshake",
            WebSocket::handshake_with_request(url, tap, options, request),
        )
        .await
        .expect("handshake");
        Deflating { socket, read }
    }

    /// The handshake response's head, lower-cased, and the bytes since.
    fn seen(&self) -> (String, Vec<u8>) {
        let read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        let end = read
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .expect("a complete response head")
            + 4;
        let head = String::from_utf8_lossy(&read[..end]).to_ascii_lowercase();
        (head, read[end..].to_vec())
    }

    async fn send(&mut self, frame: Frame) {
        within("send", self.socket.send(frame)).await.expect("send");
    }

    /// The next frame's opcode and payload.
    async fn next(&mut self) -> (OpCode, Vec<u8>) {
        let frame = within("receive", self.socket.next_frame())
            .await
            .expect("receive");
        (frame.opcode(), frame.into_payload().to_vec())
    }
}

/// RSV1 of a frame's first byte: set on a compressed message.
const COMPRESSED: u8 = 0x40;

fn text(body: &str) -> (OpCode, Vec<u8>) {
    (OpCode::Text, body.as_bytes().to_vec())
}

#[tokio::test]
async fn a_client_offering_deflate_gets_it_and_compressed_echoes() {
    let address = start_with_control().await;
    let mut client = Deflating::connect(address, "z", false).await;
    let (head, _) = client.seen();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(
        head.contains("\r\nsec-websocket-extensions: permessage-deflate\r\n"),
        "{head}"
    );
    assert!(!head.contains("sec-websocket-protocol"), "{head}");

    let body = "hello, compressed world; hello, compressed world";
    client.send(Frame::text(body)).await;
    assert_eq!(client.next().await, text(body));
    let (_, frames) = client.seen();
    assert_eq!(frames[0] & COMPRESSED, COMPRESSED, "{frames:?}");
    client.send(Frame::binary(vec![1u8, 2, 3])).await;
    assert_eq!(client.next().await, (OpCode::Binary, vec![1u8, 2, 3]));

    let stats = control(address, "/control/stats?tag=z").await;
    assert_eq!(stats["compressedConnections"], 1, "{stats}");
    assert_eq!(stats["protocolConnections"], 0, "{stats}");
    assert_eq!(
        control(address, "/control/received?tag=z").await,
        json!({ "frames": [body, "<binary 3 bytes>"] })
    );
}

#[tokio::test]
async fn protocol_mode_works_compressed() {
    let address = start_with_control().await;
    let mut client = Deflating::connect(address, "zp", true).await;
    let (head, _) = client.seen();
    assert!(
        head.contains("\r\nsec-websocket-protocol: tabwire.v1\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nsec-websocket-extensions: permessage-deflate\r\n"),
        "{head}"
    );
    let (opcode, hello) = client.next().await;
    assert_eq!(opcode, OpCode::Text);
    assert!(hello.starts_with(br#"{"type":"hello""#), "{hello:?}");

    client
        .send(Frame::text(r#"{"type":"msg","id":"z-1","data":{"a":1}}"#))
        .await;
    assert_eq!(client.next().await, text(r#"{"a":1}"#));
    assert_eq!(client.next().await, text(r#"{"type":"ack","id":"z-1"}"#));
    client.send(Frame::text(PING)).await;
    assert_eq!(client.next().await, text(PONG));
    let (_, frames) = client.seen();
    assert_eq!(frames[0] & COMPRESSED, COMPRESSED, "{frames:?}");

    let stats = control(address, "/control/stats?tag=zp").await;
    assert_eq!(stats["compressedConnections"], 1, "{stats}");
    assert_eq!(stats["protocolConnections"], 1, "{stats}");
    // A client that does not offer it is not counted.
    let _plain = connect_protocol(address, "zp").await;
    let stats = control(address, "/control/stats?tag=zp").await;
    assert_eq!(stats["connections"], 2, "{stats}");
    assert_eq!(stats["compressedConnections"], 1, "{stats}");
}

#[tokio::test]
async fn without_compression_the_offer_is_declined() {
    let mut config = config(true, missing_dir(), missing_dir());
    config.compression = false;
    let address = start(config).await;
    let mut client = Deflating::connect(address, "n", false).await;
    let (head, _) = client.seen();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(!head.contains("sec-websocket-extensions"), "{head}");

    client.send(Frame::text("plain")).await;
    assert_eq!(client.next().await, text("plain"));
    let (_, frames) = client.seen();
    assert_eq!(frames[0] & COMPRESSED, 0, "{frames:?}");
    assert_eq!(
        control(address, "/control/stats?tag=n").await["compressedConnections"],
        0
    );
}

#[tokio::test]
async fn a_compressed_frame_over_the_size_limit_closes_the_connection() {
    let mut config = config(true, missing_dir(), missing_dir());
    config.limits.max_frame_bytes = 100;
    let address = start(config).await;
    let mut client = Deflating::connect(address, "big", false).await;
    // Deflates to far less than 100 bytes; the limit is on the message.
    client.send(Frame::text("x".repeat(101))).await;
    let (opcode, payload) = client.next().await;
    assert_eq!(opcode, OpCode::Close);
    assert_eq!(payload[..2], 1009u16.to_be_bytes());
    assert_eq!(&payload[2..], b"frame too large");
}

/// `len` bytes that deflate cannot shrink (xorshift).
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

#[tokio::test]
async fn messages_up_to_the_size_limit_pass_compressed() {
    let limit = Limits::default().max_frame_bytes;
    let address = start_with_control().await;
    let mut client = Deflating::connect(address, "edge", false).await;
    // Deflates to a few KiB.
    let text = "tabwire ".repeat(limit / 8);
    assert_eq!(text.len(), limit);
    client.send(Frame::text(text.clone())).await;
    assert_eq!(client.next().await, (OpCode::Text, text.into_bytes()));
    // Deflates to a little more than the limit on the wire, which is
    // allowed for: what counts is the message.
    let mut binary = noise(limit);
    client.send(Frame::binary(binary.clone())).await;
    assert_eq!(client.next().await, (OpCode::Binary, binary.clone()));
    binary.push(0);
    client.send(Frame::binary(binary)).await;
    let (opcode, payload) = client.next().await;
    assert_eq!(opcode, OpCode::Close);
    assert_eq!(payload[..2], 1009u16.to_be_bytes());
}
