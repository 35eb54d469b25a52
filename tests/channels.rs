//! Channels in a real browser against the reference server: a client that
//! was disconnected resumes after the last offset it saw, and its listener
//! gets every message once, in order. Run by `scripts/test.sh`.

#![cfg(target_arch = "wasm32")]

mod support;

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
    let channel = "prices-resume";
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

#[wasm_bindgen_test]
async fn an_application_offset_resumes_the_first_subscription() {
    let tag = fresh("since").await;
    let channel = "prices-since";
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
