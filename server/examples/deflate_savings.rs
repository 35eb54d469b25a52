//! What permessage-deflate saves on the demo streams, measured on the wire.
//!
//!     cargo run --release -p tabwire-server --example deflate_savings [-- --minutes N]
//!
//! Starts the reference server in this process, and for each group of demo
//! channels subscribes a client through a byte-counting TCP relay, once
//! without compression (tokio-tungstenite) and once offering
//! permessage-deflate as browsers do (yawc), while another client publishes
//! N minutes of the demo feed (default 10) as fast as the server takes it.
//! Prints the bytes the server sent each subscriber, handshake included.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tabwire_server::demo::{Feed, APPROVALS, FUNDS, RISK, TICK};
use tabwire_server::{serve, Limits, Rate, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use yawc::{Frame, HttpRequest, OpCode, Options, WebSocket};

const SUBPROTOCOL: &str = "tabwire.v1";
/// Upper bound of any one wait: a stuck run fails instead of hanging.
const STEP: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() {
    let minutes = minutes_argument();
    let ticks = (minutes * 60_000 / TICK.as_millis() as u64).max(1);
    let server = start_server().await;
    let navs: Vec<String> = FUNDS
        .iter()
        .map(|(code, ..)| format!("nav:{code}"))
        .collect();
    let groups: [(&str, Vec<String>); 4] = [
        ("fund NAVs (nav:*)", navs.clone()),
        ("approval requests", vec![APPROVALS.to_owned()]),
        ("risk alerts", vec![RISK.to_owned()]),
        (
            "all demo streams",
            navs.into_iter()
                .chain([APPROVALS.to_owned(), RISK.to_owned()])
                .collect(),
        ),
    ];
    println!("{minutes} minutes of the demo feed ({ticks} ticks), one subscriber per row");
    println!(
        "{:<20} {:>9} {:>12} {:>14} {:>14} {:>7}",
        "streams", "messages", "frame bytes", "wire, plain", "wire, deflate", "saved"
    );
    let mut failed = false;
    for (name, channels) in &groups {
        let plain = measure(server, channels, ticks, false).await;
        let deflated = measure(server, channels, ticks, true).await;
        let saved = 1.0 - deflated.wire as f64 / plain.wire as f64;
        println!(
            "{name:<20} {:>9} {:>12} {:>14} {:>14} {:>6.1}%",
            plain.messages,
            plain.frame_bytes,
            plain.wire,
            deflated.wire,
            saved * 100.0
        );
        failed |= plain.messages != deflated.messages || deflated.wire >= plain.wire;
    }
    if failed {
        eprintln!("deflate_savings: the two subscribers differ, or compression saved nothing");
        std::process::exit(1);
    }
}

fn minutes_argument() -> u64 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => 10,
        [flag, value] if flag == "--minutes" => value
            .parse()
            .ok()
            .filter(|minutes| (1..=60).contains(minutes))
            .unwrap_or_else(|| usage()),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: deflate_savings [--minutes N]   (N from 1 to 60)");
    std::process::exit(2)
}

/// The reference server with room for the whole feed in a burst.
async fn start_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let missing = std::env::temp_dir().join("tabwire-deflate-savings-no-files");
    let config = ServerConfig {
        www: missing.clone(),
        pkg: missing,
        limits: Limits {
            per_user: Rate::UNLIMITED,
            per_ip: Rate::UNLIMITED,
            ..Limits::default()
        },
        ..ServerConfig::default()
    };
    tokio::spawn(async move { serve(config, listener).await.expect("serve") });
    address
}

/// What one subscriber got.
struct Received {
    messages: usize,
    /// The `pub` frames' text, as the application sees it.
    frame_bytes: usize,
    /// Everything the server sent on the connection.
    wire: u64,
}

/// Subscribes to `channels` through a counting relay, publishes `ticks`
/// of a fresh feed (the same for every call) and waits for all of it.
async fn measure(server: SocketAddr, channels: &[String], ticks: u64, deflate: bool) -> Received {
    let (relay, counted) = relay(server).await;
    let mut subscriber = Subscriber::connect(relay, deflate).await;
    // The server's hello comes first on /ws (counted on the wire too).
    subscriber.next().await;
    for channel in channels {
        let frame = format!(r#"{{"type":"subscribe","channel":"{channel}"}}"#);
        subscriber.send(frame).await;
        subscriber.next().await;
    }
    let expected = publish_feed(server, channels, ticks).await;
    let mut frame_bytes = 0;
    for _ in 0..expected {
        frame_bytes += subscriber.next().await.len();
    }
    subscriber.close().await;
    let wire = tokio::time::timeout(STEP, counted)
        .await
        .expect("the relay to end")
        .expect("the relay task");
    Received {
        messages: expected,
        frame_bytes,
        wire,
    }
}

/// A loopback port that forwards to `server`, once, and resolves to the
/// number of bytes the server sent through it when the connection ends
/// (however it ends: a reset still counts what came before).
async fn relay(server: SocketAddr) -> (SocketAddr, JoinHandle<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let (client, _) = listener.accept().await.expect("accept");
        let upstream = TcpStream::connect(server).await.expect("connect");
        let (mut client_read, mut client_write) = client.into_split();
        let (mut upstream_read, mut upstream_write) = upstream.into_split();
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut client_read, &mut upstream_write).await;
            let _ = upstream_write.shutdown().await;
        });
        let mut counted = 0;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match upstream_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => {
                    counted += read as u64;
                    if client_write.write_all(&buffer[..read]).await.is_err() {
                        break;
                    }
                }
            }
        }
        counted
    });
    (address, task)
}

/// A number of its own for each run: the server publishes a message id
/// once, so every run needs ids of its own.
fn next_run() -> u64 {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    RUNS.fetch_add(1, Ordering::Relaxed)
}

/// Publishes the feed's messages of `channels` through a protocol-mode
/// connection and waits for every ack; returns how many.
async fn publish_feed(server: SocketAddr, channels: &[String], ticks: u64) -> usize {
    let mut request = format!("ws://{server}/ws")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    let (mut publisher, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect the publisher");
    // The server's hello, before the acks.
    tokio::time::timeout(STEP, publisher.next())
        .await
        .expect("the hello")
        .expect("the connection")
        .expect("a hello frame");
    let run = next_run();
    let mut feed = Feed::new(7);
    let mut sent = 0;
    for tick in 0..ticks {
        let at = 1_764_000_000_000 + tick * TICK.as_millis() as u64;
        for (channel, data) in feed.tick(at) {
            if channels.contains(&channel) {
                sent += 1;
                let id = format!("{:013}-deflate0-{sent:08}", 1_764_000_000_000 + run);
                let frame = format!(
                    r#"{{"type":"msg","id":"{id}","publish":{{"channel":"{channel}","data":{data}}}}}"#
                );
                publisher.send(Message::text(frame)).await.expect("publish");
            }
        }
    }
    for _ in 0..sent {
        tokio::time::timeout(STEP, publisher.next())
            .await
            .expect("an ack")
            .expect("the connection")
            .expect("an ack frame");
    }
    sent
}

/// A subscriber without compression (tokio-tungstenite offers none) or
/// offering permessage-deflate (yawc).
enum Subscriber {
    Plain(Box<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>>),
    Deflate(Box<WebSocket<TcpStream>>),
}

impl Subscriber {
    async fn connect(relay: SocketAddr, deflate: bool) -> Subscriber {
        let url = format!("ws://{relay}/ws");
        if !deflate {
            let mut request = url.into_client_request().expect("request");
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static(SUBPROTOCOL),
            );
            let (socket, _) = tokio_tungstenite::connect_async(request)
                .await
                .expect("connect");
            return Subscriber::Plain(Box::new(socket));
        }
        let stream = TcpStream::connect(relay).await.expect("connect");
        let request = HttpRequest::builder().header("Sec-WebSocket-Protocol", SUBPROTOCOL);
        let options = Options::default().with_balanced_compression();
        let socket =
            WebSocket::handshake_with_request(url.parse().expect("URL"), stream, options, request)
                .await
                .expect("handshake");
        Subscriber::Deflate(Box::new(socket))
    }

    async fn send(&mut self, text: String) {
        match self {
            Subscriber::Plain(socket) => socket.send(Message::text(text)).await.expect("send"),
            Subscriber::Deflate(socket) => socket.send(Frame::text(text)).await.expect("send"),
        }
    }

    /// The next text frame.
    async fn next(&mut self) -> String {
        let received = tokio::time::timeout(STEP, async {
            match self {
                Subscriber::Plain(socket) => match socket.next().await {
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    other => panic!("expected a text frame, got {other:?}"),
                },
                Subscriber::Deflate(socket) => {
                    let frame = socket.next_frame().await.expect("a frame");
                    assert_eq!(frame.opcode(), OpCode::Text);
                    frame.as_str().to_owned()
                }
            }
        });
        received.await.expect("a frame in time")
    }

    async fn close(self) {
        match self {
            Subscriber::Plain(mut socket) => {
                let _ = socket.as_mut().close(None).await;
            }
            Subscriber::Deflate(mut socket) => {
                let _ = socket.close().await;
            }
        }
    }
}
