//! Channels and routing in a real browser against the reference server: a
//! client that was disconnected resumes after the last offset it saw, and
//! its listener gets every message once, in order, also when it comes back
//! through another server instance sharing the channels in Redis; JSON
//! frames go to the listeners of their type. Run by `scripts/test.sh`.

#![cfg(target_arch = "wasm32")]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const QUICK: &str = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":false}"#;

async fn publish(channel: &str, data: usize) {
    control("publish", &format!("channel={channel}&data={data}")).await;
}

#[wasm_bindgen_test]
async fn what_is_published_while_disconnected_arrives_once_in_order_after_the_reconnect() {
    let tag = fresh("resume").await;
    let channel = &format!("prices-resume-{}", js_sys::Date::now());
    let client = client(options(tag, QUICK));
    let events = Recorder::attach(&client);
    let (seen, listener) = collector();
    let _unsubscribe = client.subscribe(channel.into(), listener, JsValue::UNDEFINED).unwrap();
    events.wait("the subscription", 5_000, |e| e.count("subscribed") == 1).await;
    for index in 0..5 {
        publish(channel, index).await;
    }
    until("five live messages", 5_000, async || seen.borrow().len() == 5).await;

    control("refuse", "ms=60000").await;
    control("drop", &format!("tag={tag}")).await;
    events.wait("the drop", 5_000, |e| e.count("close") == 1).await;
    for index in 5..105 {
        publish(channel, index).await;
    }
    control("refuse", "ms=0").await;
    events.wait("the second subscription", 10_000, |e| e.count("subscribed") == 2).await;
    until("105 messages", 5_000, async || seen.borrow().len() >= 105).await;
    sleep(200).await;
    let expected: Vec<String> = (0..105).map(|index| index.to_string()).collect();
    assert_eq!(*seen.borrow(), expected, "each once, in order");
    assert_eq!(events.count("gap"), 0);
    client.close(None, None).unwrap();
}

/// Two reference servers sharing channels through one Redis
/// (TABWIRE_TEST_REDIS_SERVERS="host:port,host:port", set by the test script).
fn redis_servers() -> (&'static str, &'static str) {
    option_env!("TABWIRE_TEST_REDIS_SERVERS")
        .and_then(|both| both.split_once(','))
        .unwrap_or_else(|| panic!("set TABWIRE_TEST_REDIS_SERVERS to two servers started with --redis (scripts/test.sh does)"))
}

#[wasm_bindgen_test]
async fn a_client_that_comes_back_through_another_instance_misses_nothing_and_repeats_nothing() {
    let (a, b) = redis_servers();
    let tag = "moving";
    let channel = &format!("nav:moving-{}", js_sys::Date::now());
    // The first connection goes to instance A, every later one to B.
    let urls = [format!("ws://{a}/ws?tag={tag}"), format!("ws://{b}/ws?tag={tag}")];
    let provider = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |context: JsValue| {
        let attempt = number(&context, "attempt");
        JsValue::from(&urls[usize::from(attempt > 0.0)])
    });
    let options = options(tag, QUICK);
    js_sys::Reflect::set(&options, &"url".into(), &provider.into_js_value()).unwrap();
    let client = client(options);
    let events = Recorder::attach(&client);
    let (seen, listener) = collector();
    let _unsubscribe = client.subscribe(channel.into(), listener, JsValue::UNDEFINED).unwrap();
    events.wait("the subscription on A", 5_000, |e| e.count("subscribed") == 1).await;
    for index in 0..5 {
        control_at(b, "publish", &format!("channel={channel}&data={index}")).await;
    }
    until("five messages published through B", 5_000, async || seen.borrow().len() == 5).await;

    control_at(a, "drop", &format!("tag={tag}")).await;
    events.wait("the drop", 5_000, |e| e.count("close") == 1).await;
    for index in 5..105 {
        let through = if index % 2 == 0 { a } else { b };
        control_at(through, "publish", &format!("channel={channel}&data={index}")).await;
    }
    events.wait("the subscription on B", 10_000, |e| e.count("subscribed") == 2).await;
    until("105 messages", 5_000, async || seen.borrow().len() >= 105).await;
    control_at(a, "publish", &format!("channel={channel}&data=105")).await;
    until("the live one after", 5_000, async || seen.borrow().len() >= 106).await;
    sleep(200).await;
    let expected: Vec<String> = (0..=105).map(|index| index.to_string()).collect();
    assert_eq!(*seen.borrow(), expected, "each once, in order");
    assert_eq!(events.count("gap"), 0);
    let stats = control_at(b, "stats", &format!("tag={tag}")).await;
    assert_eq!(number(&stats, "connections"), 1.0, "the client came back through B");
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn an_application_offset_resumes_the_first_subscription() {
    let tag = fresh("since").await;
    // Channels outlive a test run on a reused server: a fresh one each run.
    let channel = &format!("prices-since-{}", js_sys::Date::now());
    for index in 0..4 {
        publish(channel, index).await;
    }
    let client = client(options(tag, QUICK));
    let events = Recorder::attach(&client);
    let (seen, listener) = collector();
    // Offsets start at 1: since 2 means from the third message on.
    let options = object(&[("since", 2.into())]);
    let _unsubscribe = client.subscribe(channel.into(), listener, options).unwrap();
    until("the two missed messages", 5_000, async || seen.borrow().len() == 2).await;
    assert_eq!(*seen.borrow(), ["2", "3"]);
    let subscribed = &events.of("subscribed")[0];
    assert_eq!(number(subscribed, "offset"), 4.0);
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
fn bad_subscribe_options_throw() {
    let client = client(options("badsince", r#"{"autoConnect":false}"#));
    let (_, listener) = collector();
    let Err(error) = client.subscribe("x".into(), listener, object(&[("since", (-1).into())])) else {
        panic!("a negative offset was accepted");
    };
    let message = String::from(JsValue::from(error).unchecked_into::<js_sys::Error>().message());
    assert!(message.contains("since"), "{message}");
}

/// Sends each frame and waits until each echo went to `message` or `typed`.
async fn echo_all(client: &tabwire::TabWire, events: &Recorder, typed: &Rc<RefCell<Vec<String>>>, frames: &[&str]) {
    let arrived = || events.count("message") + typed.borrow().len();
    let total = arrived() + frames.len();
    for frame in frames {
        client.send((*frame).into()).unwrap();
    }
    until("every echo", 5_000, async || arrived() == total).await;
}

#[wasm_bindgen_test]
async fn json_frames_go_to_the_listeners_of_their_type_and_the_rest_to_message() {
    let tag = fresh("routing").await;
    let client = client(options(tag, QUICK));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    let (navs, nav_listener) = collector_of(|message| text(message, "fund"));
    let _off = client.on_type("nav".into(), nav_listener).unwrap();
    let frames = [r#"{"type":"nav","fund":"F1"}"#, r#"{"type":"risk"}"#, "plain", r#"{"type":"nav""#, r#"{"kind":"nav"}"#, r#"{"type":"nav","fund":"F2"}"#];
    echo_all(&client, &events, &navs, &frames).await;
    assert_eq!(*navs.borrow(), ["F1", "F2"]);
    assert_eq!(events.text_messages(), [frames[1], frames[2], frames[3], frames[4]], "the rest, untouched and in order");
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn the_type_field_is_an_option() {
    let tag = fresh("typefield").await;
    let json = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":false,"typeField":"kind"}"#;
    let client = client(options(tag, json));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    let (navs, nav_listener) = collector_of(|message| text(message, "kind"));
    let off = client.on_type("nav".into(), nav_listener).unwrap();
    echo_all(&client, &events, &navs, &[r#"{"kind":"nav"}"#, r#"{"type":"nav"}"#]).await;
    assert_eq!(*navs.borrow(), ["nav"]);
    assert_eq!(events.text_messages(), [r#"{"type":"nav"}"#]);
    off.call0(&JsValue::UNDEFINED).unwrap();
    echo_all(&client, &events, &navs, &[r#"{"kind":"nav"}"#]).await;
    assert_eq!(events.count("message"), 2, "without listeners, a typed frame goes to message");
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn publish_goes_through_the_outbox_and_is_acknowledged() {
    let tag = fresh("publish").await;
    let channel = &format!("desk-{}", js_sys::Date::now());
    let client = client(options(tag, QUICK));
    let events = Recorder::attach(&client);
    let (seen, listener) = collector();
    let _unsubscribe = client.subscribe(channel.into(), listener, JsValue::UNDEFINED).unwrap();
    events.wait("the subscription", 5_000, |e| e.count("subscribed") == 1).await;
    client.publish(channel.clone(), object(&[("approve", 7.into())])).unwrap();
    until("the message back through the channel", 5_000, async || seen.borrow().len() == 1).await;
    events.wait("its ack", 5_000, |e| e.count("ack") == 1).await;

    // While the server is unreachable, a publication waits in the outbox.
    control("refuse", "ms=60000").await;
    control("drop", &format!("tag={tag}")).await;
    events.wait("the drop", 5_000, |e| e.count("close") == 1).await;
    let receipt = client.publish(channel.clone(), "later".into()).unwrap().js_value();
    assert_eq!(text(&receipt, "status"), "queued");
    control("refuse", "ms=0").await;
    until("the queued publication", 10_000, async || seen.borrow().len() == 2).await;
    assert_eq!(*seen.borrow(), [r#"{"approve":7}"#, r#""later""#]);
    events.wait("both acks", 5_000, |e| e.count("ack") == 2).await;
    client.close(None, None).unwrap();
}
