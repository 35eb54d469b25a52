//! Streaming sessions: the answer to the request that opens the session is
//! a stream of server-sent events, one per server frame, for as long as the
//! session lives:
//!
//! - a text frame: `data: <frame>`, one `data:` line per line of the frame
//!   (SSE joins them with `\n`); one holding a `\r`, which SSE would take
//!   for a line break: `event: text` and the frame as a JSON string;
//! - a binary frame: `event: binary` and its standard base64;
//! - the server's close: `event: close` and `{"code", "reason"}`, then the
//!   end of the body (ahead of the events still queued when the client
//!   does not read them: a slow consumer). A body that ends without it is
//!   a lost connection;
//! - a comment every [`KEEP_ALIVE`], so that proxies do not time out a
//!   quiet stream.
//!
//! The client aborting the request ends the session.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tabwire::core::base64;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};

use super::outlet::Downstream;
use super::Endpoint;
use crate::connection::{self, Gone, Params};
use crate::hub::Carrier;
use crate::limits::PeerSlot;
use crate::protocol::Message;

/// How often a quiet stream gets a comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Events queued for the stream before the loop waits for the client to
/// read: the stream's share of what a socket's TCP buffers would hold.
const QUEUED_EVENTS: usize = 256;

/// Bytes of frames queued likewise (a larger frame alone fits), as the
/// frames waiting for a poll are bounded.
const QUEUED_BYTES: u32 = 1 << 20;

/// What the serving loop sends down a stream.
#[derive(Debug)]
enum Event {
    /// A frame, holding its bytes of the stream's room until streamed.
    Frame(Message, OwnedSemaphorePermit),
    /// The last event: the server ends the session.
    Close { code: u16, reason: String },
}

/// The serving loop's end of a stream: its events on their way to the
/// answer that streams them.
#[derive(Debug)]
pub struct Events {
    /// In order, bounded.
    queued: mpsc::Sender<Event>,
    /// A close that could not wait behind the events queued (the client
    /// does not read them): the stream takes it first.
    urgent: mpsc::Sender<Event>,
    /// The bytes of frames the stream may hold ([`QUEUED_BYTES`]).
    room: Arc<Semaphore>,
}

impl Events {
    /// A new stream's events, and the source of its body.
    fn new() -> (Events, Source) {
        let (queued, events) = mpsc::channel(QUEUED_EVENTS);
        let (urgent, urgent_events) = mpsc::channel(1);
        let mut keep_alive = interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
        keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let room = Arc::new(Semaphore::new(QUEUED_BYTES as usize));
        let source = Source {
            events,
            urgent: urgent_events,
            keep_alive,
        };
        (
            Events {
                queued,
                urgent,
                room,
            },
            source,
        )
    }

    /// Queues `frame` once the stream has room for it; `Gone` once the
    /// stream has ended.
    pub async fn send(&self, frame: Message) -> Result<(), Gone> {
        let bytes =
            u32::try_from(frame.size()).map_or(QUEUED_BYTES, |bytes| bytes.min(QUEUED_BYTES));
        let room = Arc::clone(&self.room)
            .acquire_many_owned(bytes)
            .await
            .map_err(|_| Gone)?;
        self.queued
            .send(Event::Frame(frame, room))
            .await
            .map_err(|_| Gone)
    }

    /// Queues the close after the frames queued or, when there is no room
    /// left for it (the client does not read them), ahead of them: it
    /// resumes from its offsets and sends again what was not acknowledged,
    /// so they are not needed. Returns whether it went.
    pub fn close(&self, code: u16, reason: String) -> bool {
        match self.queued.try_send(Event::Close { code, reason }) {
            Ok(()) => true,
            Err(TrySendError::Full(close)) => self.urgent.try_send(close).is_ok(),
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Resolves once the stream has ended: its client went away.
    pub async fn closed(&self) {
        self.queued.closed().await;
    }
}

/// `POST /ws?transport=stream`: opens a streaming session, counted in
/// `slot`; the answer is its stream, the server's hello (naming the
/// session) first.
pub fn open(endpoint: &Endpoint, params: Params, slot: PeerSlot) -> Response {
    let (events, source) = Events::new();
    let (id, outlet) = endpoint.sessions.open(Downstream::Stream(events));
    connection::spawn_session(&endpoint.hub, outlet, id, params, Carrier::Stream, slot);
    let body = futures_util::stream::unfold(Some(source), next_chunk);
    let headers = [
        (
            CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream; charset=utf-8"),
        ),
        (
            CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-transform"),
        ),
        (
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        ),
    ];
    (headers, Body::from_stream(body)).into_response()
}

/// What a stream's body is made of.
struct Source {
    events: mpsc::Receiver<Event>,
    /// A close that goes ahead of the events queued.
    urgent: mpsc::Receiver<Event>,
    keep_alive: Interval,
}

/// The next piece of the body: an event, or a keep-alive comment; the body
/// ends after the close event, or when the loop let go of the session.
async fn next_chunk(source: Option<Source>) -> Option<(Result<Bytes, Infallible>, Option<Source>)> {
    let mut source = source?;
    let (text, more) = tokio::select! {
        biased;
        Some(event) = source.urgent.recv() => chunk(event),
        event = source.events.recv() => chunk(event?),
        _ = source.keep_alive.tick() => (":\n\n".to_owned(), true),
    };
    Some((Ok(Bytes::from(text)), more.then_some(source)))
}

/// The text of one event, and whether more may follow.
fn chunk(event: Event) -> (String, bool) {
    match event {
        // The frame's room is made as it goes into the body.
        Event::Frame(frame, _room) => (encode(&frame), true),
        Event::Close { code, reason } => {
            let close = json!({ "code": code, "reason": reason });
            (format!("event: close\ndata: {close}\n\n"), false)
        }
    }
}

/// One frame as a server-sent event. SSE splits lines at `\r` as at
/// `\n` and joins them with `\n`, so a text frame holding a `\r` would
/// not arrive as it was: it goes as `event: text` with the frame as a JSON
/// string, one line. The others go as `data:` lines, one per line.
fn encode(frame: &Message) -> String {
    match frame {
        Message::Text(text) if text.contains('\r') => {
            let quoted = serde_json::Value::String(text.clone());
            format!("event: text\ndata: {quoted}\n\n")
        }
        Message::Text(text) => {
            let mut event = String::with_capacity(text.len() + 8);
            for line in text.split('\n') {
                event.push_str("data: ");
                event.push_str(line);
                event.push('\n');
            }
            event.push('\n');
            event
        }
        Message::Binary(bytes) => format!("event: binary\ndata: {}\n\n", base64::encode(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body's chunks until it ends, as text.
    async fn chunks(source: Source) -> Vec<String> {
        let mut chunks = Vec::new();
        let mut next = Some(source);
        while let Some((chunk, rest)) = next_chunk(next).await {
            let Ok(chunk) = chunk;
            chunks.push(String::from_utf8_lossy(&chunk).into_owned());
            next = rest;
        }
        chunks
    }

    fn text(frame: &str) -> Message {
        Message::Text(frame.to_owned())
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_stream_gets_a_comment_every_15_s_and_ends_after_the_close() {
        let (events, source) = Events::new();
        let body = tokio::spawn(chunks(source));
        tokio::time::sleep(KEEP_ALIVE * 2 + Duration::from_secs(1)).await;
        events.send(text("{}")).await.expect("the body reads");
        assert!(events.close(4000, "bye".to_owned()));
        assert_eq!(
            body.await.expect("the body"),
            [
                ":\n\n",
                ":\n\n",
                "data: {}\n\n",
                "event: close\ndata: {\"code\":4000,\"reason\":\"bye\"}\n\n"
            ]
        );
        assert!(events.queued.is_closed(), "the body let go of the session");
    }

    #[tokio::test]
    async fn a_stream_the_loop_let_go_of_ends_without_a_close() {
        let (events, source) = Events::new();
        events.send(text("last")).await.expect("the body reads");
        drop(events);
        assert_eq!(chunks(source).await, ["data: last\n\n"]);
    }

    #[tokio::test]
    async fn frames_wait_for_room_and_a_close_goes_ahead_of_them_when_there_is_none() {
        let (events, source) = Events::new();
        let large = Message::Text("x".repeat(QUEUED_BYTES as usize * 2));
        events.send(large).await.expect("alone, it fits");
        let small = events.send(text("{}"));
        assert!(
            tokio::time::timeout(Duration::from_millis(50), small)
                .await
                .is_err(),
            "no room left until the body takes the frame"
        );
        for _ in 1..QUEUED_EVENTS {
            assert!(events
                .queued
                .try_send(Event::Close {
                    code: 1000,
                    reason: String::new()
                })
                .is_ok());
        }
        assert!(
            events.close(3008, "slow consumer".to_owned()),
            "ahead of them"
        );
        assert_eq!(
            chunks(source).await,
            ["event: close\ndata: {\"code\":3008,\"reason\":\"slow consumer\"}\n\n"]
        );
    }

    #[test]
    fn frames_become_events() {
        let text = |frame: &str| encode(&Message::Text(frame.to_owned()));
        assert_eq!(text(r#"{"type":"pong"}"#), "data: {\"type\":\"pong\"}\n\n");
        assert_eq!(text("a\nb"), "data: a\ndata: b\n\n");
        assert_eq!(text(""), "data: \n\n");
        // `\r\n` and `\r` would be line breaks to SSE: the frame goes as JSON.
        assert_eq!(text("a\r\nb\rc"), "event: text\ndata: \"a\\r\\nb\\rc\"\n\n");
        assert_eq!(
            encode(&Message::Binary(vec![1, 2, 3])),
            "event: binary\ndata: AQID\n\n"
        );
    }
}
