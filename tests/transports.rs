//! The HTTP transport against the reference server, forced by the
//! `transports` option: a stream of server-sent events, and long polls.
//! Each carries the same protocol as the socket: the greeting, messages
//! acknowledged and echoed in order, channels resumed after a lost session,
//! the heartbeat; `open` and `stats()` say which transport it is. The
//! fallback from a blocked WebSocket, behind real proxies, is tested end to
//! end (tests/e2e/http-transport.test.mjs). Run by `scripts/test.sh`.

#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Quick retries, no heartbeat, and one forced transport.
fn forced(transport: &str) -> String {
    format!(r#"{{"reconnect":{{"minDelayMs":20,"maxDelayMs":100}},"heartbeat":false,"transports":["{transport}"]}}"#)
}

fn transport_of(payload: &JsValue) -> String {
    text(payload, "transport")
}

/// Sends five messages on `transport`, has the session dropped and sends
/// five more at once (into the dying session, or queued: the client may
/// not know yet): the server handles all ten once, in order, and each is
/// acknowledged.
async fn messages_arrive_once_in_order_across_a_lost_session(tag: &str, transport: &str) {
    let client = client(options(fresh(tag).await, &forced(transport)));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    assert_eq!(transport_of(&events.of("open")[0]), transport);
    assert_eq!(text(&events.of("open")[0], "protocol"), "tabwire.v1");
    assert_eq!(transport_of(&client.stats().js_value()), transport);
    for index in 0..5 {
        receipt(&client, &format!("m{index}"));
    }
    events.wait("five acks", 5_000, |e| e.count("ack") == 5).await;
    control("drop", &format!("tag={tag}")).await;
    for index in 5..10 {
        receipt(&client, &format!("m{index}"));
    }
    events.wait("the new session", 5_000, |e| e.count("open") == 2).await;
    events.wait("ten acks", 5_000, |e| e.count("ack") == 10).await;
    let expected: Vec<String> = (0..10).map(|index| format!("m{index}")).collect();
    assert_eq!(received(tag).await, expected, "handled once each, in order");
    let echoes = events.text_messages();
    assert!(expected.starts_with(&echoes[..5]) && echoes.windows(2).all(|pair| pair[0] < pair[1]), "echoes in order, none twice: {echoes:?}");
    assert_eq!(client.outbox().len(), 0);
    assert_eq!(live_connections(tag).await, 1.0, "one session, the old one ended");
    client.close(None, None).unwrap();
    assert_eq!(transport_of(&client.stats().js_value()), "", "no open connection, no transport");
}

#[wasm_bindgen_test]
async fn a_stream_of_server_sent_events_carries_messages_once_in_order_across_a_lost_session() {
    messages_arrive_once_in_order_across_a_lost_session("http-sse", "sse").await;
}

#[wasm_bindgen_test]
async fn long_polls_carry_messages_once_in_order_across_a_lost_session() {
    messages_arrive_once_in_order_across_a_lost_session("http-poll", "polling").await;
}

/// Publications while a session is down arrive after the next one opens,
/// from the channel's offset: none missed, none repeated, no gap.
async fn a_channel_resumes_from_its_offset(tag: &str, transport: &str) {
    let tag = fresh(tag).await;
    let channel = &format!("nav:{tag}-{}", js_sys::Date::now());
    let client = client(options(tag, &forced(transport)));
    let events = Recorder::attach(&client);
    let (seen, listener) = collector();
    let _unsubscribe = client.subscribe(channel.into(), listener, JsValue::UNDEFINED).unwrap();
    events.wait("the subscription", 5_000, |e| e.count("subscribed") == 1).await;
    for index in 0..5 {
        control("publish", &format!("channel={channel}&data={index}")).await;
    }
    until("five live messages", 5_000, async || seen.borrow().len() == 5).await;
    control("drop", &format!("tag={tag}")).await;
    events.wait("the drop noticed", 5_000, |e| e.count("close") == 1).await;
    for index in 5..25 {
        control("publish", &format!("channel={channel}&data={index}")).await;
    }
    events.wait("the second subscription", 10_000, |e| e.count("subscribed") == 2).await;
    until("25 messages", 5_000, async || seen.borrow().len() >= 25).await;
    sleep(200).await;
    let expected: Vec<String> = (0..25).map(|index| index.to_string()).collect();
    assert_eq!(*seen.borrow(), expected, "each once, in order");
    assert_eq!(events.count("gap"), 0);
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn over_a_stream_a_channel_resumes_from_its_offset() {
    a_channel_resumes_from_its_offset("http-sse-channel", "sse").await;
}

#[wasm_bindgen_test]
async fn over_polls_a_channel_resumes_from_its_offset() {
    a_channel_resumes_from_its_offset("http-poll-channel", "polling").await;
}

/// A stalled server sends nothing, not even keep-alives: the heartbeat
/// notices over HTTP as it does on a socket, and a new session follows.
#[wasm_bindgen_test]
async fn the_heartbeat_notices_a_stalled_http_session() {
    let json = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":{"intervalMs":300,"timeoutMs":400},"transports":["sse"]}"#;
    let tag = fresh("http-stall").await;
    let client = client(options(tag, json));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    sleep(500).await;
    assert!(number(&client.stats().js_value(), "lastRttMs") >= 0.0, "a pong came back over HTTP");
    control("stall", &format!("tag={tag}")).await;
    events.wait("the heartbeat's verdict", 5_000, |e| e.error_kinds().contains(&"heartbeat_timeout".to_owned())).await;
    events.wait("a new session", 5_000, |e| e.count("open") == 2).await;
    assert_eq!(transport_of(&events.of("open")[1]), "sse");
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn on_default_options_a_reachable_websocket_is_used() {
    let client = client(options(fresh("http-default").await, r#"{"heartbeat":false}"#));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    assert_eq!(transport_of(&events.of("open")[0]), "websocket");
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_bad_transports_option_names_the_rule() {
    let cases = [
        (r#"{"transports":[]}"#, "tabwire: transports is empty"),
        (r#"{"transports":["sse","sse"]}"#, "lists \"sse\" twice"),
        (r#"{"transports":["http"]}"#, "\"websocket\", \"sse\" or \"polling\""),
        (r#"{"transports":"sse"}"#, "an array of transports"),
        (r#"{"protocol":"raw","transports":["websocket","polling"]}"#, "carries the tabwire protocol only"),
    ];
    for (json, expected) in cases {
        let message = construction_error(options("http-options", json));
        assert!(message.contains(expected), "{json}: {message}");
    }
}
