//! The HTTP transport: the tabwire frames of a connection carried by plain
//! HTTP requests, for networks whose proxies break WebSockets (see
//! docs/PROTOCOL.md, "HTTP transport"). Downstream, a `fetch` whose body
//! streams server-sent events ([`stream`]), or long polls ([`poll`]);
//! upstream, POSTs of the frames, one batch at a time so they keep their
//! order. It reports the same [`SocketEvent`]s as a WebSocket, so the rest
//! of the client does not know which one carries the connection.

mod poll;
mod stream;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, RequestInit, Response};

use super::socket::SocketEvent;
use crate::core::Transport;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, in a page or a worker alike.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(input: &str, init: &RequestInit) -> Promise;
}

/// Close code of a session the server no longer knows (it ended, or its
/// instance is gone): the client opens a new one.
const UNKNOWN_SESSION: u16 = 4404;
/// Close code of a connection lost without a word, as browsers report it.
const ABNORMAL: u16 = 1006;

/// One HTTP session. Dropping it (or `close`) ends it: the stream or poll
/// is aborted, the server told, and nothing more is reported.
pub struct HttpSession {
    session: Rc<Session>,
}

struct Session {
    /// The connection's URL with an http(s) scheme, ending in `?` or `&`
    /// so that tabwire's parameters can follow.
    base: String,
    on_event: Rc<dyn Fn(SocketEvent)>,
    /// The session's id, from the server's hello.
    id: RefCell<Option<String>>,
    /// Frames waiting for the next send.
    outgoing: RefCell<Vec<String>>,
    sending: Cell<bool>,
    ended: Cell<bool>,
    abort: AbortController,
}

impl HttpSession {
    /// Opens a session of `transport` (`Sse` or `Polling`) at the HTTP form
    /// of `url`; `on_event` hears everything it reports until it ends.
    pub fn open(
        url: &str,
        transport: Transport,
        on_event: Rc<dyn Fn(SocketEvent)>,
    ) -> Result<HttpSession, JsValue> {
        let session = Rc::new(Session {
            base: http_base(url),
            on_event,
            id: RefCell::new(None),
            outgoing: RefCell::new(Vec::new()),
            sending: Cell::new(false),
            ended: Cell::new(false),
            abort: AbortController::new()?,
        });
        match transport {
            Transport::Polling => wasm_bindgen_futures::spawn_local(poll::run(session.clone())),
            _ => wasm_bindgen_futures::spawn_local(stream::run(session.clone())),
        }
        Ok(HttpSession { session })
    }

    /// Queues a frame (tabwire frames are text) for the next send.
    pub fn send(&self, data: &JsValue) -> Result<(), JsValue> {
        let frame = data
            .as_string()
            .ok_or_else(|| JsValue::from_str("the HTTP transport carries text frames only"))?;
        self.session.outgoing.borrow_mut().push(frame);
        if !self.session.sending.replace(true) {
            wasm_bindgen_futures::spawn_local(flush(self.session.clone()));
        }
        Ok(())
    }

    /// Ends the session; the caller knows, and hears nothing more of it.
    pub fn close(self) {}
}

impl Drop for HttpSession {
    fn drop(&mut self) {
        self.session.end();
    }
}

impl Session {
    /// Reports `event`, unless the session ended.
    fn report(&self, event: SocketEvent) {
        if !self.ended.get() {
            (self.on_event)(event);
        }
    }

    /// The session is over, whoever ended it: reported once, then silent.
    fn closed(&self, code: u16, reason: String, clean: bool) {
        if !self.ended.get() {
            if !clean {
                (self.on_event)(SocketEvent::Error);
            }
            self.report(SocketEvent::Close {
                code,
                reason,
                clean,
            });
            self.end();
        }
    }

    /// Stops everything and tells the server, if it named the session.
    fn end(&self) {
        if self.ended.replace(true) {
            return;
        }
        self.abort.abort();
        if let Some(url) = self.op_url("close") {
            // Nobody waits for the answer; a server that missed it ends
            // the session when its stream or polls stop. The promise is
            // still taken, so that a failure (the server unreachable) is
            // not an unhandled rejection in the page.
            let close = global_fetch(&url, &post_init(None, None));
            wasm_bindgen_futures::spawn_local(async move {
                let _ = JsFuture::from(close).await;
            });
        }
    }

    /// Keeps the session's id from the first frame that names it (the
    /// server's hello).
    fn learn_id(&self, frame: &str) {
        if self.id.borrow().is_some() {
            return;
        }
        let parsed = js_sys::JSON::parse(frame).ok();
        let id = parsed
            .and_then(|hello| Reflect::get(&hello, &JsValue::from_str("session")).ok())
            .and_then(|id| id.as_string());
        *self.id.borrow_mut() = id;
    }

    /// The URL of an operation of the session, once its id is known.
    fn op_url(&self, op: &str) -> Option<String> {
        let id = self.id.borrow();
        let id = id.as_deref()?;
        Some(format!(
            "{}session={}&op={op}",
            self.base,
            String::from(js_sys::encode_uri_component(id))
        ))
    }

    /// POSTs `body` to `url` with the session's abort signal.
    async fn post(&self, url: &str, body: Option<&str>) -> Result<Response, JsValue> {
        let response =
            JsFuture::from(global_fetch(url, &post_init(body, Some(&self.abort)))).await?;
        response.dyn_into::<Response>()
    }

    /// Reports the end of a session whose request failed or was answered
    /// with something else than `expected`: an unknown session is said so.
    fn failed(&self, answer: Result<Response, JsValue>, expected: u16) -> Option<Response> {
        match answer {
            Ok(response) if response.status() == expected => return Some(response),
            Ok(response) if response.status() == 404 => {
                self.closed(UNKNOWN_SESSION, "unknown session".to_owned(), true);
            }
            Ok(response) => self.closed(ABNORMAL, format!("HTTP {}", response.status()), false),
            Err(_) => self.closed(ABNORMAL, String::new(), false),
        }
        None
    }
}

/// Sends what waits, one batch after the other, until nothing does.
async fn flush(session: Rc<Session>) {
    loop {
        let batch = std::mem::take(&mut *session.outgoing.borrow_mut());
        if batch.is_empty() || session.ended.get() {
            session.sending.set(false);
            return;
        }
        let Some(url) = session.op_url("send") else {
            // Nothing is sent before the server's hello named the session.
            session.outgoing.borrow_mut().splice(0..0, batch);
            session.sending.set(false);
            return;
        };
        let answer = session.post(&url, Some(&batch.join("\n"))).await;
        if session.failed(answer, 204).is_none() {
            return;
        }
    }
}

/// A POST with a text body (a CORS simple request: no preflight).
fn post_init(body: Option<&str>, abort: Option<&AbortController>) -> RequestInit {
    let init = RequestInit::new();
    init.set_method("POST");
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
    }
    if let Some(abort) = abort {
        init.set_signal(Some(&abort.signal()));
    }
    init
}

/// `ws://host/path?query` as `http://host/path?query&` (or `...?`), ready
/// for tabwire's parameters.
fn http_base(url: &str) -> String {
    let rest = ["wss:", "ws:"].iter().find_map(|scheme| {
        let head = url.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme).then(|| {
            (
                if scheme.len() == 4 { "https:" } else { "http:" },
                url.get(scheme.len()..),
            )
        })
    });
    let (scheme, rest) = match rest {
        Some((scheme, Some(rest))) => (scheme, rest),
        _ => ("", url),
    };
    let separator = if rest.bytes().any(|byte| byte == b'?') {
        '&'
    } else {
        '?'
    };
    format!("{scheme}{rest}{separator}")
}
