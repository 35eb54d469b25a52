//! A client of the HTTP transport for the tests: streaming sessions read
//! event by event off a raw TCP stream (chunked, then server-sent events),
//! polling sessions, and the requests of a session.

use super::*;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The page origin the requests come from.
pub const ORIGIN: &str = PAGE_ORIGIN;

/// A POST of the HTTP transport to `path` (with its query) from `ORIGIN`.
pub async fn post(address: SocketAddr, path: &str, body: &str) -> Reply {
    post_from(address, path, body, Some(ORIGIN)).await
}

/// The same from `origin` (`None`: no `Origin` header).
pub async fn post_from(address: SocketAddr, path: &str, body: &str, origin: Option<&str>) -> Reply {
    let headers = match origin {
        Some(origin) => format!("Origin: {origin}\r\nContent-Type: text/plain;charset=UTF-8\r\n"),
        None => "Content-Type: text/plain;charset=UTF-8\r\n".to_owned(),
    };
    request(address, "POST", path, &headers, body).await
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `None` for a frame, `binary` or `close`.
    pub kind: Option<String>,
    pub data: String,
}

/// A streaming session's answer, read as it comes.
pub struct EventStream {
    reader: BufReader<TcpStream>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Body text not yet made into events.
    pending: String,
    ended: bool,
}

impl EventStream {
    /// POSTs `path` (which opens a stream) and reads the response head.
    pub async fn open(address: SocketAddr, path: &str) -> EventStream {
        within("open a stream", async {
            let mut stream = TcpStream::connect(address).await.expect("connect");
            let request = format!(
                "POST {path} HTTP/1.1\r\nHost: {address}\r\nOrigin: {ORIGIN}\r\n\
                 Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 0\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.expect("write");
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            while !head.ends_with("\r\n\r\n") {
                let read = reader.read_line(&mut head).await.expect("read the head");
                assert!(read > 0, "the connection ended in the head: {head}");
            }
            let (status, headers) = parse_head(&head);
            EventStream {
                reader,
                status,
                headers,
                pending: String::new(),
                ended: false,
            }
        })
        .await
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The next event (comments skipped), or `None` once the body ended.
    pub async fn next(&mut self) -> Option<Event> {
        within("the next event", self.next_unbounded()).await
    }

    async fn next_unbounded(&mut self) -> Option<Event> {
        loop {
            if let Some((block, rest)) = self.pending.split_once("\n\n") {
                let event = parse_event(block);
                self.pending = rest.to_owned();
                match event {
                    Some(event) => return Some(event),
                    None => continue,
                }
            }
            if self.ended {
                return None;
            }
            self.read_chunk().await;
        }
    }

    /// Reads one chunk of the body into `pending`; a last chunk, or the
    /// connection's end, ends the body.
    async fn read_chunk(&mut self) {
        let mut size = String::new();
        if self.reader.read_line(&mut size).await.unwrap_or(0) == 0 {
            self.ended = true;
            return;
        }
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            self.ended = true;
            return;
        }
        let mut chunk = vec![0; size + 2];
        if self.reader.read_exact(&mut chunk).await.is_err() {
            self.ended = true;
            return;
        }
        chunk.truncate(size);
        self.pending
            .push_str(&String::from_utf8(chunk).expect("UTF-8 events"));
    }

    /// Asserts that no event comes for a while.
    pub async fn nothing_within_300_ms(&mut self, what: &str) {
        if let Ok(event) = timeout(Duration::from_millis(300), self.next_unbounded()).await {
            panic!("{what}: expected nothing, got {event:?}");
        }
    }
}

/// The event of one block of lines; `None` for a block without data (a
/// comment).
fn parse_event(block: &str) -> Option<Event> {
    let mut kind = None;
    let mut data: Option<String> = None;
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("event: ") {
            kind = Some(value.to_owned());
        } else if let Some(value) = line.strip_prefix("data: ") {
            data = Some(match data {
                Some(before) => format!("{before}\n{value}"),
                None => value.to_owned(),
            });
        }
    }
    data.map(|data| Event { kind, data })
}

/// A streaming session of `/ws`, its hello read.
pub struct StreamSession {
    pub address: SocketAddr,
    pub id: String,
    pub events: EventStream,
    pub hello: Value,
}

impl StreamSession {
    /// Opens one at `query` (`tag=...&...`), reads its hello.
    pub async fn open(address: SocketAddr, query: &str) -> StreamSession {
        let mut events = EventStream::open(address, &format!("/ws?{query}&transport=stream")).await;
        assert_eq!(events.status, 200);
        let hello = events.next().await.expect("the hello");
        assert_eq!(hello.kind, None, "{hello:?}");
        let hello: Value = serde_json::from_str(&hello.data).expect("JSON hello");
        assert_eq!(hello["type"], "hello", "{hello}");
        let id = hello["session"].as_str().expect("a session").to_owned();
        StreamSession {
            address,
            id,
            events,
            hello,
        }
    }

    /// Sends `frames`, one a line; must be answered 204.
    pub async fn send(&self, frames: &[&str]) {
        send_frames(self.address, &self.id, frames).await;
    }

    /// Subscribes to `channel`; checks the answer.
    pub async fn subscribe(&mut self, channel: &str) {
        self.send(&[&format!(r#"{{"type":"subscribe","channel":"{channel}"}}"#)])
            .await;
        assert_eq!(self.next_frame().await["type"], "subscribed");
    }

    /// The next frame, a text one (see [`parse_frame`]).
    pub async fn next_frame(&mut self) -> Value {
        let event = self.events.next().await.expect("a frame");
        assert_eq!(event.kind, None, "{event:?}");
        parse_frame(&event.data)
    }

    /// The close event, which must come next and end the stream.
    pub async fn expect_close(&mut self) -> Value {
        let event = self.events.next().await.expect("the close event");
        assert_eq!(event.kind.as_deref(), Some("close"), "{event:?}");
        assert_eq!(self.events.next().await, None, "the end after the close");
        serde_json::from_str(&event.data).expect("JSON close")
    }
}

/// A polling session of `/ws`.
pub struct PollSession {
    pub address: SocketAddr,
    pub id: String,
    pub cursor: u64,
}

impl PollSession {
    /// Opens one at `query`; returns it and the frames of the first answer.
    pub async fn open(address: SocketAddr, query: &str) -> (PollSession, Vec<Value>) {
        let reply = post(address, &format!("/ws?{query}&transport=poll"), "").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let answer = reply.json();
        let id = answer["session"].as_str().expect("a session").to_owned();
        let mut session = PollSession {
            address,
            id,
            cursor: 0,
        };
        let frames = session.take(&answer);
        (session, frames)
    }

    /// Polls with the last cursor; returns the whole answer.
    pub async fn poll_answer(&mut self) -> Value {
        let path = format!("/ws?session={}&op=poll&cursor={}", self.id, self.cursor);
        let reply = post(self.address, &path, "").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let answer = reply.json();
        self.take(&answer);
        answer
    }

    /// Polls once; returns the frames (none if the wait ran out).
    pub async fn poll(&mut self) -> Vec<Value> {
        let answer = self.poll_answer().await;
        assert!(answer.get("closed").is_none(), "{answer}");
        frames_of(&answer)
    }

    fn take(&mut self, answer: &Value) -> Vec<Value> {
        self.cursor = answer["cursor"].as_u64().expect("a cursor");
        frames_of(answer)
    }

    pub async fn send(&self, frames: &[&str]) {
        send_frames(self.address, &self.id, frames).await;
    }
}

/// The frames of a poll's answer: text frames as [`parse_frame`] has
/// them, binary ones as they come (`{"binary": base64}`).
pub fn frames_of(answer: &Value) -> Vec<Value> {
    answer["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|frame| frame.as_str().map_or_else(|| frame.clone(), parse_frame))
        .collect()
}

/// A text frame as JSON, or as a JSON string if it is not JSON (an echo).
pub fn parse_frame(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Sends `frames` to the session `id`; must be answered 204.
pub async fn send_frames(address: SocketAddr, id: &str, frames: &[&str]) {
    let reply = post(
        address,
        &format!("/ws?session={id}&op=send"),
        &frames.join("\n"),
    )
    .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
}

/// A `msg` frame of `id` whose text is echoed.
pub fn text_msg(id: &str, text: &str) -> String {
    format!(r#"{{"type":"msg","id":"{id}","text":"{text}"}}"#)
}

/// Waits until `tag` has `count` live connections.
pub async fn wait_for_connections(address: SocketAddr, tag: &str, count: u64) {
    within("the connections to go", async {
        loop {
            let stats = control(address, &format!("/control/stats?tag={tag}")).await;
            if stats["connections"] == count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Asserts that `reply` (to `path`) is the 404 of an unknown session.
pub fn assert_unknown_session(reply: &Reply, path: &str) {
    assert_eq!(reply.status, 404, "{path}");
    assert_eq!(reply.json(), json!({"error": "unknown session"}), "{path}");
}
