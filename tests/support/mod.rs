//! Shared helpers of the browser tests: the reference server's address and
//! control API, a client factory, and an event recorder with async waits.

#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use js_sys::{Object, Reflect, JSON};
use tabwire::TabWire;
use tsify::Ts;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// `host:port` of the reference server started (with `--test-control`) by
/// the test script; compiled in, as tests cannot read the environment.
pub fn server() -> &'static str {
    // Read at run time of the test, so that building without it still works.
    match option_env!("TABWIRE_TEST_SERVER") {
        Some(address) => address,
        None => panic!("set TABWIRE_TEST_SERVER=127.0.0.1:PORT (scripts/test.sh does) and start tabwire-server --test-control"),
    }
}

pub fn ws_url(tag: &str) -> String {
    format!("ws://{}/ws?tag={tag}", server())
}

/// The reference server's raw endpoint: an echo server that does not
/// speak tabwire (it never greets).
pub fn raw_url(tag: &str) -> String {
    format!("ws://{}/raw?tag={tag}", server())
}

/// Options for the raw endpoint, as `options` makes them for `/ws`.
pub fn raw_options(tag: &str, json: &str) -> JsValue {
    let options = options(tag, json);
    Reflect::set(&options, &"url".into(), &raw_url(tag).into()).expect("options is an object");
    options
}

#[wasm_bindgen(inline_js = r#"
export function fetch_json(url) {
  return fetch(url, { method: "POST" }).then((response) => {
    if (!response.ok) throw new Error(url + " answered " + response.status);
    return response.json();
  });
}
let consoleErrors = 0;
const original = console.error;
console.error = (...args) => { consoleErrors += 1; original.apply(console, args); };
let pageErrors = 0;
globalThis.addEventListener("error", () => { pageErrors += 1; });
globalThis.addEventListener("unhandledrejection", () => { pageErrors += 1; });
export function console_errors() { return consoleErrors; }
export function page_errors() { return pageErrors; }
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn fetch_json(url: &str) -> Result<js_sys::Promise, JsValue>;
    /// Calls of `console.error` since the page loaded.
    pub fn console_errors() -> u32;
    /// Uncaught exceptions and unhandled rejections since the page loaded.
    pub fn page_errors() -> u32;
}

/// Calls `/control/{action}?{query}` on the reference server.
pub async fn control(action: &str, query: &str) -> JsValue {
    control_at(server(), action, query).await
}

/// Calls `/control/{action}?{query}` on the server at `address`.
pub async fn control_at(address: &str, action: &str, query: &str) -> JsValue {
    let url = format!("http://{address}/control/{action}?{query}");
    let promise = fetch_json(&url).unwrap_or_else(|error| panic!("{url}: {error:?}"));
    JsFuture::from(promise).await.unwrap_or_else(|error| panic!("{url}: {error:?}"))
}

pub fn number(value: &JsValue, key: &str) -> f64 {
    Reflect::get(value, &key.into()).ok().and_then(|v| v.as_f64()).unwrap_or(f64::NAN)
}

pub fn text(value: &JsValue, key: &str) -> String {
    Reflect::get(value, &key.into()).ok().and_then(|v| v.as_string()).unwrap_or_default()
}

/// Forgets what the server recorded for `tag` (an earlier run may have used it).
pub async fn fresh(tag: &str) -> &str {
    control("reset", &format!("tag={tag}")).await;
    tag
}

/// Live connections of `tag` on the server.
pub async fn live_connections(tag: &str) -> f64 {
    number(&control("stats", &format!("tag={tag}")).await, "connections")
}

/// The text frames the server received from `tag`, in order.
pub async fn received(tag: &str) -> Vec<String> {
    let answer = control("received", &format!("tag={tag}")).await;
    let frames = Reflect::get(&answer, &"frames".into()).unwrap_or(JsValue::UNDEFINED);
    js_sys::Array::from(&frames).iter().filter_map(|frame| frame.as_string()).collect()
}

/// Options from JSON text, with `url` set to the server under `tag`, and
/// the outbox stored under `tag` too (tests share one origin's storage).
pub fn options(tag: &str, json: &str) -> JsValue {
    let options = JSON::parse(json).expect("valid JSON options");
    Reflect::set(&options, &"url".into(), &ws_url(tag).into()).expect("options is an object");
    let queue = Reflect::get(&options, &"queue".into()).ok().filter(|q| q.is_object()).unwrap_or_else(|| Object::new().into());
    if Reflect::get(&queue, &"key".into()).map_or(true, |key| key.is_undefined()) {
        Reflect::set(&queue, &"key".into(), &tag.into()).expect("queue is an object");
    }
    Reflect::set(&options, &"queue".into(), &queue).expect("options is an object");
    options
}

pub fn client(options: JsValue) -> TabWire {
    TabWire::new(Ts::new_unchecked(options)).unwrap_or_else(|error| panic!("{:?}", JsValue::from(error)))
}

/// Sends `data`; returns the receipt's status and id.
pub fn receipt(client: &TabWire, data: &str) -> (String, String) {
    let receipt = client.send(data.into()).unwrap_or_else(|e| panic!("{:?}", JsValue::from(e))).js_value();
    (text(&receipt, "status"), text(&receipt, "id"))
}

/// The `role` of `stats()`.
pub fn role(client: &TabWire) -> String {
    text(&client.stats().js_value(), "role")
}

/// The `tabs` of `stats()`.
pub fn tabs(client: &TabWire) -> f64 {
    number(&client.stats().js_value(), "tabs")
}

/// Waits until `condition` holds, failing the test after `timeout_ms`.
pub async fn until(what: &str, timeout_ms: u32, mut condition: impl AsyncFnMut() -> bool) {
    let mut waited = 0;
    while !condition().await {
        assert!(waited < timeout_ms, "timed out after {timeout_ms} ms waiting for {what}");
        TimeoutFuture::new(20).await;
        waited += 20;
    }
}

/// A listener that keeps what `describe` makes of each payload.
pub fn collector_of(describe: impl Fn(&JsValue) -> String + 'static) -> (Rc<RefCell<Vec<String>>>, JsValue) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let keep = seen.clone();
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |payload: JsValue| keep.borrow_mut().push(describe(&payload)));
    (seen, listener.into_js_value())
}

/// A channel listener that keeps each message's `data` as JSON text.
pub fn collector() -> (Rc<RefCell<Vec<String>>>, JsValue) {
    collector_of(|message| {
        let data = Reflect::get(message, &"data".into()).unwrap_or_default();
        JSON::stringify(&data).map(String::from).unwrap_or_default()
    })
}

/// The message of the `Error` a constructor call threw.
pub fn construction_error(options: JsValue) -> String {
    let options_text = JSON::stringify(&options).ok().and_then(|text| text.as_string());
    match TabWire::new(Ts::new_unchecked(options)) {
        Ok(_) => panic!("the options were accepted: {:?}", options_text),
        Err(error) => String::from(JsValue::from(error).unchecked_into::<js_sys::Error>().message()),
    }
}

pub const EVENTS: [&str; 15] = [
    "open",
    "message",
    "close",
    "state",
    "reconnecting",
    "error",
    "ack",
    "rejected",
    "expired",
    "warning",
    "role",
    "subscribed",
    "unsubscribed",
    "gap",
    "subscribe_error",
];

/// Every event a client emitted, in order, as (name, payload).
#[derive(Clone, Default)]
pub struct Recorder {
    events: Rc<RefCell<Vec<(String, JsValue)>>>,
}

impl Recorder {
    pub fn attach(client: &TabWire) -> Recorder {
        let recorder = Recorder::default();
        for name in EVENTS {
            let events = recorder.events.clone();
            let listener = Closure::<dyn FnMut(JsValue)>::new(move |payload| {
                events.borrow_mut().push((name.to_owned(), payload));
            });
            client.on(name.into(), listener.into_js_value()).expect("a known event");
        }
        recorder
    }

    pub fn count(&self, name: &str) -> usize {
        self.events.borrow().iter().filter(|(event, _)| event == name).count()
    }

    pub fn of(&self, name: &str) -> Vec<JsValue> {
        self.events.borrow().iter().filter(|(event, _)| event == name).map(|(_, p)| p.clone()).collect()
    }

    pub fn states(&self) -> Vec<String> {
        self.of("state").iter().map(|payload| text(payload, "state")).collect()
    }

    pub fn messages(&self) -> Vec<JsValue> {
        self.of("message").iter().map(|payload| Reflect::get(payload, &"data".into()).unwrap_or_default()).collect()
    }

    pub fn text_messages(&self) -> Vec<String> {
        self.messages().iter().filter_map(JsValue::as_string).collect()
    }

    pub fn error_kinds(&self) -> Vec<String> {
        self.of("error").iter().map(|payload| text(payload, "kind")).collect()
    }

    pub fn last_state(&self) -> String {
        self.states().pop().unwrap_or_default()
    }

    /// Waits until `condition` holds, failing the test after `timeout_ms`.
    pub async fn wait(&self, what: &str, timeout_ms: u32, condition: impl Fn(&Recorder) -> bool) {
        let mut waited = 0;
        while !condition(self) {
            assert!(waited < timeout_ms, "timed out after {timeout_ms} ms waiting for {what}; states {:?}", self.states());
            TimeoutFuture::new(10).await;
            waited += 10;
        }
    }
}

pub async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

pub fn object(entries: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in entries {
        Reflect::set(&object, &(*key).into(), value).expect("object");
    }
    object.into()
}
