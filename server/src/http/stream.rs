//! Streaming sessions: the answer to the request that opens the session is
//! a stream of server-sent events, one per server frame, for as long as the
//! session lives:
//!
//! - a text frame: `data: <frame>`, one `data:` line per line of the frame
//!   (SSE joins them with `\n`); one holding a `\r`, which SSE would take
//!   for a line break: `event: text` and the frame as a JSON string;
//! - a binary frame: `event: binary` and its standard base64;
//! - the server's close: `event: close` and `{"code", "reason"}`, then the
//!   end of the body. A body that ends without it is a lost connection;
//! - a comment every [`KEEP_ALIVE`], so that proxies do not time out a
//!   quiet stream.
//!
//! The client aborting the request ends the session.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tabwire::core::base64;
use tokio::sync::mpsc;
use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};

use super::outlet::Downstream;
use super::Endpoint;
use crate::connection::{self, Params};
use crate::hub::Carrier;
use crate::limits::PeerSlot;
use crate::protocol::Message;

/// How often a quiet stream gets a comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Events queued for the stream before the loop waits for the client to
/// read: the stream's share of what a socket's TCP buffers would hold.
const QUEUED_EVENTS: usize = 256;

/// What the serving loop sends down a stream.
#[derive(Debug)]
pub enum Event {
    Frame(Message),
    /// The last event: the server ends the session.
    Close {
        code: u16,
        reason: String,
    },
}

/// `POST /ws?transport=stream`: opens a streaming session, counted in
/// `slot`; the answer is its stream, the server's hello (naming the
/// session) first.
pub fn open(endpoint: &Endpoint, params: Params, slot: PeerSlot) -> Response {
    let (events, receiver) = mpsc::channel(QUEUED_EVENTS);
    let (id, outlet) = endpoint.sessions.open(Downstream::Stream(events));
    connection::spawn_session(&endpoint.hub, outlet, id, params, Carrier::Stream, slot);
    let mut keep_alive = interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let body = futures_util::stream::unfold(Some((receiver, keep_alive)), next_chunk);
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

type Source = (mpsc::Receiver<Event>, Interval);

/// The next piece of the body: an event, or a keep-alive comment; the body
/// ends after the close event, or when the loop let go of the session.
async fn next_chunk(source: Option<Source>) -> Option<(Result<Bytes, Infallible>, Option<Source>)> {
    let (mut events, mut keep_alive) = source?;
    let (text, more) = tokio::select! {
        biased;
        event = events.recv() => match event? {
            Event::Frame(frame) => (encode(&frame), true),
            Event::Close { code, reason } => {
                let close = json!({ "code": code, "reason": reason });
                (format!("event: close\ndata: {close}\n\n"), false)
            }
        },
        _ = keep_alive.tick() => (":\n\n".to_owned(), true),
    };
    let source = more.then_some((events, keep_alive));
    Some((Ok(Bytes::from(text)), source))
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

    fn keep_alive() -> Interval {
        interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE)
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_stream_gets_a_comment_every_15_s_and_ends_after_the_close() {
        let (events, receiver) = mpsc::channel(4);
        let body = tokio::spawn(chunks((receiver, keep_alive())));
        tokio::time::sleep(KEEP_ALIVE * 2 + Duration::from_secs(1)).await;
        events
            .send(Event::Frame(Message::Text("{}".to_owned())))
            .await
            .expect("the body reads");
        let close = Event::Close {
            code: 4000,
            reason: "bye".to_owned(),
        };
        events.send(close).await.expect("the body reads");
        assert_eq!(
            body.await.expect("the body"),
            [
                ":\n\n",
                ":\n\n",
                "data: {}\n\n",
                "event: close\ndata: {\"code\":4000,\"reason\":\"bye\"}\n\n"
            ]
        );
        assert!(events.is_closed(), "the body let go of the session");
    }

    #[tokio::test]
    async fn a_stream_the_loop_let_go_of_ends_without_a_close() {
        let (events, receiver) = mpsc::channel(4);
        events
            .send(Event::Frame(Message::Text("last".to_owned())))
            .await
            .expect("the body reads");
        drop(events);
        assert_eq!(chunks((receiver, keep_alive())).await, ["data: last\n\n"]);
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
