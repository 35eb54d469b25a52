//! The downstream of a streaming session: one `fetch` whose body is a
//! stream of server-sent events, one per server frame (see `core::sse`).

use std::rc::Rc;

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, TextDecodeOptions, TextDecoder};

use super::{Session, ABNORMAL};
use crate::core::sse::{EventReader, ServerEvent};
use crate::web::socket::SocketEvent;

/// Opens the stream and reports its frames until it ends.
pub(super) async fn run(session: Rc<Session>) {
    let url = format!("{}transport=stream", session.base);
    let answer = session.post(&url, None).await;
    let Some(response) = session.failed(answer, 200) else {
        return;
    };
    let Some(body) = response.body() else {
        return session.closed(ABNORMAL, "no body".to_owned(), false);
    };
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let Ok(decoder) = TextDecoder::new() else {
        return session.closed(ABNORMAL, String::new(), false);
    };
    let options = TextDecodeOptions::new();
    options.set_stream(true);
    session.report(SocketEvent::Open);
    let mut events = EventReader::default();
    loop {
        let Ok(chunk) = JsFuture::from(reader.read()).await else {
            return session.closed(ABNORMAL, String::new(), false);
        };
        if Reflect::get(&chunk, &JsValue::from_str("done"))
            .ok()
            .and_then(|done| done.as_bool())
            == Some(true)
        {
            return session.closed(ABNORMAL, "the stream ended".to_owned(), false);
        }
        let bytes: Uint8Array = Reflect::get(&chunk, &JsValue::from_str("value"))
            .unwrap_or(JsValue::UNDEFINED)
            .unchecked_into();
        let text = decoder
            .decode_with_u8_array_and_options(&bytes.to_vec(), &options)
            .unwrap_or_default();
        for event in events.push(&text) {
            if session.ended.get() || !deliver(&session, event) {
                return;
            }
        }
    }
}

/// Hands one event on; returns whether the session goes on.
fn deliver(session: &Session, event: ServerEvent) -> bool {
    match event.kind.as_deref() {
        None => {
            session.learn_id(&event.data);
            session.report(SocketEvent::Message(JsValue::from_str(&event.data)));
        }
        Some("binary") => session.report(SocketEvent::Message(super::poll::binary(&event.data))),
        // A text frame holding a `\r` (a line break to SSE), as a JSON string.
        Some("text") => match js_sys::JSON::parse(&event.data) {
            Ok(frame) if frame.is_string() => session.report(SocketEvent::Message(frame)),
            _ => {
                session.closed(ABNORMAL, "event: text without a JSON string".to_owned(), false);
                return false;
            }
        },
        Some("close") => {
            let (code, reason) =
                super::poll::close_of(&JsValue::from(js_sys::JSON::parse(&event.data).ok()));
            session.closed(code, reason, true);
            return false;
        }
        Some(_) => {}
    }
    true
}
