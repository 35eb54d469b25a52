//! The browser layer against the reference server, in headless Chromium.
//! Run by `scripts/test.sh`, which starts the server and sets its address.

#![cfg(target_arch = "wasm32")]

mod support;

use js_sys::{ArrayBuffer, Uint8Array};
use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Fast reconnection and no heartbeat unless a test wants one.
const QUICK: &str = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":false}"#;

/// The `status` of a send receipt.
fn sent(result: Result<tsify::Ts<impl tsify::Tsify>, JsError>) -> String {
    let receipt = result.unwrap_or_else(|e| panic!("{:?}", JsValue::from(e)));
    text(&receipt.js_value(), "status")
}

#[wasm_bindgen_test]
async fn connects_and_echoes_text_json_and_binary() {
    let client = client(options(fresh("echo").await, QUICK));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    assert_eq!(events.states(), ["connecting", "open"]);
    assert_eq!(sent(client.send("hello".into())), "sent");
    assert_eq!(sent(client.send(object(&[("type", "approve".into()), ("id", 7.into())]))), "sent");
    assert_eq!(sent(client.send(Uint8Array::from(&[1u8, 2, 3, 255][..]).into())), "sent");
    events.wait("three echoes", 5_000, |e| e.count("message") == 3).await;
    let messages = events.messages();
    assert_eq!(messages[0].as_string().as_deref(), Some("hello"));
    assert_eq!(messages[1].as_string().as_deref(), Some(r#"{"type":"approve","id":7}"#));
    let binary = messages[2].dyn_ref::<ArrayBuffer>().expect("binary frames arrive as ArrayBuffer");
    assert_eq!(Uint8Array::new(binary).to_vec(), [1, 2, 3, 255]);
    let stats = client.stats().js_value();
    assert_eq!((number(&stats, "messagesOut"), number(&stats, "messagesIn")), (3.0, 3.0));
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn reconnects_after_a_drop_and_delivers_what_was_queued_in_order() {
    let client = client(options(fresh("drop").await, QUICK));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    control("drop", "tag=drop").await;
    events.wait("the drop noticed", 5_000, |e| e.count("close") == 1).await;
    let close = &events.of("close")[0];
    assert_eq!(number(close, "code"), 1006.0);
    for index in 1..=5 {
        assert_eq!(sent(client.send(format!("m{index}").into())), "queued");
    }
    events.wait("the reconnection", 5_000, |e| e.count("open") == 2).await;
    events.wait("five echoes", 5_000, |e| e.count("message") == 5).await;
    assert_eq!(events.text_messages(), ["m1", "m2", "m3", "m4", "m5"]);
    assert_eq!(received("drop").await, ["m1", "m2", "m3", "m4", "m5"]);
    assert!(events.states().contains(&"reconnecting".to_owned()));
    assert_eq!(live_connections("drop").await, 1.0);
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_stalled_server_is_declared_dead_by_the_heartbeat() {
    let json = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":{"intervalMs":200,"timeoutMs":300}}"#;
    let client = client(options(fresh("stall").await, json));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    // A first ping answered: the round trip is measured.
    sleep(350).await;
    let stats = client.stats().js_value();
    assert!(number(&stats, "lastRttMs") >= 0.0, "a pong was measured");
    control("stall", "tag=stall").await;
    events.wait("a heartbeat timeout", 5_000, |e| e.error_kinds().contains(&"heartbeat_timeout".to_owned())).await;
    let close = events.of("close").pop().expect("the dead socket was closed");
    assert_eq!((number(&close, "code"), close_flag(&close, "willReconnect")), (4000.0, true));
    events.wait("a new connection", 5_000, |e| e.count("open") == 2).await;
    assert_eq!(client.state().js_value().as_string().as_deref(), Some("open"));
    control("resume", "tag=stall").await;
    client.close(None, None).unwrap();
}

fn close_flag(close: &JsValue, key: &str) -> bool {
    js_sys::Reflect::get(close, &key.into()).ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

#[wasm_bindgen_test]
async fn a_fatal_close_code_stops_the_client() {
    let client = client(options(fresh("fatal").await, QUICK));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    control("close", "tag=fatal&code=4001&reason=banned").await;
    events.wait("closed", 5_000, |e| e.last_state() == "closed").await;
    let state = events.of("state").pop().unwrap();
    let close = js_sys::Reflect::get(&state, &"close".into()).unwrap();
    assert_eq!((number(&close, "code"), text(&close, "reason")), (4001.0, "banned".to_owned()));
    sleep(500).await;
    assert_eq!(events.count("open"), 1);
    assert_eq!(number(&control("stats", "tag=fatal").await, "connectionsTotal"), 1.0);
}

#[wasm_bindgen_test]
async fn a_user_close_never_reconnects() {
    let client = client(options(fresh("userclose").await, QUICK));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    client.close(Some(1000.0), Some("done".into())).unwrap();
    assert_eq!(events.last_state(), "closed");
    let close = events.of("close").pop().unwrap();
    assert_eq!((number(&close, "code"), close_flag(&close, "willReconnect")), (1000.0, false));
    sleep(500).await;
    assert_eq!(events.count("open"), 1);
    assert_eq!(live_connections("userclose").await, 0.0);
    assert_eq!(number(&control("stats", "tag=userclose").await, "connectionsTotal"), 1.0);
}

#[wasm_bindgen_test]
async fn hundreds_of_reconnect_cycles_leave_no_errors_and_one_socket() {
    let (console_before, page_before) = (console_errors(), page_errors());
    let client = client(options(fresh("cycles").await, r#"{"reconnect":{"minDelayMs":0,"maxDelayMs":0},"heartbeat":false}"#));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    for cycle in 1..=200 {
        control("drop", "tag=cycles").await;
        events.wait("reopen after a server drop", 5_000, |e| e.count("open") == cycle + 1).await;
    }
    for cycle in 1..=50 {
        client.reconnect();
        events.wait("reopen after reconnect()", 5_000, |e| e.count("open") == 201 + cycle).await;
    }
    assert_eq!(events.count("close"), 250);
    let stats = client.stats().js_value();
    assert_eq!(number(&stats, "reconnects"), 250.0);
    sleep(100).await;
    assert_eq!(live_connections("cycles").await, 1.0, "every replaced socket was closed");
    assert_eq!(console_errors() - console_before, 0, "nothing was logged as an error");
    assert_eq!(page_errors() - page_before, 0, "nothing was thrown uncaught");
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn listeners_may_throw_and_call_back_into_the_client() {
    let client = std::rc::Rc::new(client(options(fresh("reentrant").await, QUICK)));
    let events = Recorder::attach(&client);
    let thrower = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| wasm_bindgen::throw_str("listener failure"));
    client.on("message".into(), thrower.into_js_value()).unwrap();
    let inner = client.clone();
    let replier = Closure::<dyn FnMut(JsValue)>::new(move |payload: JsValue| {
        let data = js_sys::Reflect::get(&payload, &"data".into()).unwrap().as_string().unwrap_or_default();
        if data == "ask" {
            inner.send("answer".into()).unwrap();
        } else if data == "answer" {
            inner.close(None, Some("from a listener".into())).unwrap();
        }
    });
    client.on("message".into(), replier.into_js_value()).unwrap();
    let errors_before = console_errors();
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    client.send("ask".into()).unwrap();
    events.wait("closed from a listener", 5_000, |e| e.last_state() == "closed").await;
    assert_eq!(events.text_messages(), ["ask", "answer"]);
    assert_eq!(console_errors() - errors_before, 2, "each throw was reported, once");
}

#[wasm_bindgen_test]
async fn unsubscribing_stops_a_listener() {
    let client = client(options(fresh("unsubscribe").await, QUICK));
    let events = Recorder::attach(&client);
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = calls.clone();
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| counter.set(counter.get() + 1));
    let off = client.on("message".into(), listener.into_js_value()).unwrap();
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    client.send("one".into()).unwrap();
    events.wait("first echo", 5_000, |e| e.count("message") == 1).await;
    off.call0(&JsValue::UNDEFINED).unwrap();
    off.call0(&JsValue::UNDEFINED).unwrap();
    client.send("two".into()).unwrap();
    events.wait("second echo", 5_000, |e| e.count("message") == 2).await;
    assert_eq!(calls.get(), 1);
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn the_url_provider_is_asked_again_after_an_auth_failure() {
    let calls = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = calls.clone();
    let provider = Closure::<dyn FnMut(JsValue) -> js_sys::Promise>::new(move |context: JsValue| {
        let auth_failed = js_sys::Reflect::get(&context, &"authFailed".into()).unwrap().as_bool().unwrap_or(false);
        seen.borrow_mut().push(auth_failed);
        let token = if auth_failed { "fresh" } else { "stale" };
        js_sys::Promise::resolve(&JsValue::from(format!("{}&token={token}", ws_url("auth"))))
    });
    let options = options(fresh("auth").await, QUICK);
    js_sys::Reflect::set(&options, &"url".into(), &provider.into_js_value()).unwrap();
    let client = client(options);
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    control("close", "tag=auth&code=4401&reason=expired").await;
    events.wait("reopen", 5_000, |e| e.count("open") == 2).await;
    assert_eq!(*calls.borrow(), [false, true]);
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_connection_refused_by_the_server_is_retried() {
    control("refuse", "ms=300").await;
    let client = client(options(fresh("refused").await, QUICK));
    let events = Recorder::attach(&client);
    events.wait("open after refusals", 5_000, |e| e.count("open") == 1).await;
    assert!(events.count("reconnecting") >= 1, "at least one refused attempt");
    assert!(events.error_kinds().contains(&"socket".to_owned()));
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
fn bad_options_throw_a_message_naming_the_option() {
    let bad = |json: &str| construction_error(options("bad", json));
    assert_eq!(
        bad(r#"{"reconnect":{"minDelayMs":5000,"maxDelayMs":1000}}"#),
        "tabwire: reconnect.minDelayMs (5000) must not exceed reconnect.maxDelayMs (1000)"
    );
    assert_eq!(bad(r#"{"reconect":{}}"#), "tabwire: unknown option \"reconect\"");
    assert_eq!(bad(r#"{"reconnect":{"minDelay":1}}"#), "tabwire: unknown option \"reconnect.minDelay\"");
    assert_eq!(bad(r#"{"heartbeat":{"interval":1}}"#), "tabwire: unknown option \"heartbeat.interval\"");
    assert!(bad(r#"{"heartbeat":{"intervalMs":0}}"#).contains("heartbeat.intervalMs must be above 0 ms"));
    assert!(bad(r#"{"reconnect":{"jitter":"sometimes"}}"#).contains("sometimes"));
    assert_eq!(bad(r#"{"reconnect":{"minDelayMs":"5"}}"#), "tabwire: reconnect.minDelayMs must be a number, not \"5\"");
    assert_eq!(bad(r#"{"queue":{"maxMessages":1.5}}"#), "tabwire: queue.maxMessages (1.5) must be a whole number from 0 to 4294967295");
    assert!(bad(r#"{"closeCodes":{"fatal":[[4100,4000]]}}"#).contains("closeCodes.fatal range [4100, 4000]"));
    let http = object(&[("url", "http://127.0.0.1/".into())]);
    assert_eq!(construction_error(http), "tabwire: url \"http://127.0.0.1/\" must start with ws:// or wss://");
    assert_eq!(construction_error(object(&[("url", 5.into())])), "tabwire: url must be a string or a function");
    assert!(construction_error(JsValue::NULL).starts_with("tabwire: invalid options"));
}

#[wasm_bindgen_test]
fn bad_calls_throw_and_change_nothing() {
    let client = client(options("badcalls", r#"{"autoConnect":false,"queue":{"maxMessages":1}}"#));
    let message = |error: JsError| String::from(JsValue::from(error).unchecked_into::<js_sys::Error>().message());
    assert!(message(client.on("clsoe".into(), JsValue::NULL).unwrap_err()).contains("unknown event \"clsoe\""));
    assert!(message(client.send(JsValue::UNDEFINED).unwrap_err()).contains("not undefined"));
    let throws_a_number = js_sys::Function::new_no_args("return { toJSON() { throw 42; } }").call0(&JsValue::NULL).unwrap();
    assert!(message(client.send(throws_a_number).unwrap_err()).ends_with("could not serialise the value as JSON: 42"));
    assert!(message(client.close(Some(1001.0), None).unwrap_err()).contains("close code 1001"));
    assert_eq!(sent(client.send("kept".into())), "queued");
    let refused = client.send("refused".into()).unwrap().js_value();
    assert_eq!((text(&refused, "status"), text(&refused, "reason")), ("refused".to_owned(), "too_many_messages".to_owned()));
    assert!(text(&refused, "message").contains("the outbox is full (1 messages"));
    let stats = client.stats().js_value();
    assert_eq!((text(&stats, "state"), number(&stats, "queued")), ("idle".to_owned(), 1.0));
}
