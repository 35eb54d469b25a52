//! The downstream of a polling session: long polls, each answered with the
//! frames after the last cursor (as JSON: text frames as strings, binary
//! ones as `{"binary": base64}`), or with the session's close.

use std::rc::Rc;

use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{Session, ABNORMAL};
use crate::core::base64;
use crate::web::socket::SocketEvent;

/// Opens the session and polls until it ends.
pub(super) async fn run(session: Rc<Session>) {
    let url = format!("{}transport=poll", session.base);
    let Some(mut answer) = answer_of(&session, session.post(&url, None).await).await else {
        return;
    };
    let id = field(&answer, "session").as_string();
    *session.id.borrow_mut() = id;
    session.report(SocketEvent::Open);
    loop {
        // A whole number: formatted as an integer (no float formatting in the build).
        let cursor = field(&answer, "cursor")
            .as_f64()
            .map_or(0, |cursor| cursor as u64);
        let frames = field(&answer, "frames");
        for frame in Array::from(&frames).iter() {
            let data = match frame.as_string() {
                Some(text) => JsValue::from_str(&text),
                None => binary(&field(&frame, "binary").as_string().unwrap_or_default()),
            };
            session.report(SocketEvent::Message(data));
        }
        let closed = field(&answer, "closed");
        if !closed.is_undefined() {
            let (code, reason) = close_of(&closed);
            return session.closed(code, reason, true);
        }
        if session.ended.get() {
            return;
        }
        let Some(url) = session.op_url(&format!("poll&cursor={cursor}")) else {
            return session.closed(ABNORMAL, "no session".to_owned(), false);
        };
        let Some(next) = answer_of(&session, session.post(&url, None).await).await else {
            return;
        };
        answer = next;
    }
}

/// The JSON body of a `200` answer, or `None` once the session is closed.
async fn answer_of(
    session: &Session,
    answer: Result<web_sys::Response, JsValue>,
) -> Option<JsValue> {
    let response = session.failed(answer, 200)?;
    let json = response.json().ok()?;
    match JsFuture::from(json).await {
        Ok(body) => Some(body),
        Err(_) => {
            session.closed(ABNORMAL, "not JSON".to_owned(), false);
            None
        }
    }
}

fn field(object: &JsValue, name: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// A binary frame from its base64 (an empty one if it is not base64).
pub(super) fn binary(encoded: &str) -> JsValue {
    let bytes = base64::decode(encoded).unwrap_or_default();
    Uint8Array::from(bytes.as_slice()).buffer().into()
}

/// The code and reason of a `{"code", "reason"}` close.
pub(super) fn close_of(close: &JsValue) -> (u16, String) {
    let code = field(close, "code")
        .as_f64()
        .filter(|code| (1000.0..=4999.0).contains(code))
        .map_or(ABNORMAL, |code| code as u16);
    (code, field(close, "reason").as_string().unwrap_or_default())
}
