//! What every connection of the load generator shares: where it goes, how
//! it opens (the server's hello, then the client's, as docs/PROTOCOL.md
//! has it), the channels' names and the clock publications are stamped
//! with.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async_with_config, MaybeTlsStream, WebSocketStream};

/// Longest wait for any one step of opening a connection: a server that
/// cannot answer within it counts as failing, not as slow.
pub const STEP: Duration = Duration::from_secs(10);

/// A server's protocol endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub address: SocketAddr,
    /// The path, with its query (`/ws`).
    pub path: String,
}

/// The channels of one run, named after it so that runs against the same
/// server do not share any.
#[derive(Debug, Clone)]
pub struct Channels {
    pub run: String,
    pub count: usize,
}

impl Channels {
    pub fn name(&self, index: usize) -> String {
        format!("load-{}-{index}", self.run)
    }
}

/// The one clock of a run: publications carry the microseconds since its
/// start, read again where they arrive, in the same process.
#[derive(Debug, Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    pub fn start() -> Clock {
        Clock(Instant::now())
    }

    pub fn micros(&self) -> u64 {
        self.0.elapsed().as_micros() as u64
    }
}

/// A connection: tokio-tungstenite's, which offers no compression, or
/// yawc's offering permessage-deflate, as browsers do (and the server
/// agrees to by default), so that the figures can include what compression
/// costs the server.
pub enum Socket {
    Plain(Box<PlainSocket>),
    Deflate(Box<yawc::WebSocket<TcpStream>>),
}

pub type PlainSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a protocol connection as client `client`, offering
/// permessage-deflate if `deflate`: reads the server's hello, which must
/// come first, and answers with the client's.
pub async fn connect(endpoint: &Endpoint, client: &str, deflate: bool) -> Result<Socket, String> {
    let mut socket = timeout(STEP, open(endpoint, deflate))
        .await
        .map_err(|_| "connect: timed out".to_owned())??;
    let hello = socket.next_within_step().await?;
    if !hello.starts_with(r#"{"type":"hello","protocol":"tabwire.v1""#) {
        return Err(format!(
            "the server's first frame is not its hello: {hello}"
        ));
    }
    let answer = format!(r#"{{"type":"hello","protocol":"tabwire.v1","client":"{client}"}}"#);
    socket.send(answer).await?;
    Ok(socket)
}

/// The WebSocket handshake.
///
/// The plain socket's buffers are small (tungstenite's default is 128 KiB
/// each way): the frames are under 200 bytes, and at 10,000 connections the
/// default would cost this process gigabytes.
async fn open(endpoint: &Endpoint, deflate: bool) -> Result<Socket, String> {
    let url = format!("ws://{}{}", endpoint.address, endpoint.path);
    if deflate {
        let url = url.parse().map_err(|error| format!("{url}: {error}"))?;
        let stream = TcpStream::connect(endpoint.address)
            .await
            .map_err(|error| format!("connect: {error}"))?;
        let _ = stream.set_nodelay(true);
        let options = yawc::Options::default().with_balanced_compression();
        let socket = yawc::WebSocket::handshake_with_request(
            url,
            stream,
            options,
            yawc::HttpRequest::builder(),
        )
        .await
        .map_err(|error| format!("connect: {error}"))?;
        return Ok(Socket::Deflate(Box::new(socket)));
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20);
    let (socket, _) = connect_async_with_config(url, Some(config), true)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    Ok(Socket::Plain(Box::new(socket)))
}

impl Socket {
    /// Sends a text frame, within [`STEP`].
    pub async fn send(&mut self, text: String) -> Result<(), String> {
        let sent = match self {
            Socket::Plain(socket) => timeout(STEP, socket.send(Message::text(text)))
                .await
                .map(|sent| sent.map_err(|error| error.to_string())),
            Socket::Deflate(socket) => timeout(STEP, socket.send(yawc::Frame::text(text)))
                .await
                .map(|sent| sent.map_err(|error| error.to_string())),
        };
        sent.map_err(|_| "send: timed out".to_owned())?
            .map_err(|error| format!("send: {error}"))
    }

    /// The next text frame, however long it takes; `None` once the
    /// connection is closed. Other frames (pings, pongs) are skipped, a
    /// binary one is an error. Cancel-safe: a frame being read when the
    /// future is dropped is read by the next call.
    pub async fn next(&mut self) -> Result<Option<String>, String> {
        loop {
            match self {
                Socket::Plain(socket) => match socket.next().await {
                    None | Some(Ok(Message::Close(_))) => return Ok(None),
                    Some(Ok(Message::Text(text))) => return Ok(Some(text.as_str().to_owned())),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(other)) => return Err(format!("unexpected frame: {other:?}")),
                    Some(Err(error)) => return Err(format!("receive: {error}")),
                },
                Socket::Deflate(socket) => match socket.next().await {
                    None => return Ok(None),
                    Some(frame) => match frame.opcode() {
                        yawc::OpCode::Text => return Ok(Some(frame.as_str().to_owned())),
                        yawc::OpCode::Close => return Ok(None),
                        yawc::OpCode::Ping | yawc::OpCode::Pong => {}
                        other => return Err(format!("unexpected frame: {other:?}")),
                    },
                },
            }
        }
    }

    /// The next text frame, within [`STEP`]; a closed connection is an
    /// error.
    pub async fn next_within_step(&mut self) -> Result<String, String> {
        match timeout(STEP, self.next()).await {
            Err(_) => Err("no frame within 10 s".to_owned()),
            Ok(Ok(None)) => Err("closed by the server".to_owned()),
            Ok(Ok(Some(text))) => Ok(text),
            Ok(Err(why)) => Err(why),
        }
    }

    /// Closes the connection, waiting at most 100 ms.
    pub async fn close(self) {
        let wait = Duration::from_millis(100);
        match self {
            Socket::Plain(mut socket) => {
                let _ = timeout(wait, socket.as_mut().close(None)).await;
            }
            Socket::Deflate(mut socket) => {
                let _ = timeout(wait, socket.close()).await;
            }
        }
    }
}
