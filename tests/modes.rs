//! What a connection speaks, decided by the server: the reference server's
//! `/ws` greets with the tabwire hello, its `/raw` echo server does not.
//! The mode is in `open` and `stats()`; channels and publications on a raw
//! connection are refused or wait, never sent as application data; a raw
//! connection is not pinged unless the application gave a ping; each app
//! of an origin keeps its own namespace. Run by `scripts/test.sh`.

#![cfg(target_arch = "wasm32")]

mod support;

use js_sys::Reflect;
use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const QUICK: &str = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":false}"#;

fn protocol_of(payload: &JsValue) -> String {
    text(payload, "protocol")
}

#[wasm_bindgen_test]
async fn a_greeting_server_makes_a_tabwire_connection_and_says_so() {
    let client = client(options(fresh("mode-tabwire").await, QUICK));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    assert_eq!(protocol_of(&events.of("open")[0]), "tabwire.v1");
    assert_eq!(protocol_of(&client.stats().js_value()), "tabwire.v1");
    let (_, id) = receipt(&client, "acknowledged");
    events.wait("its ack", 5_000, |e| e.count("ack") == 1).await;
    assert_eq!(text(&events.of("ack")[0], "id"), id);
    client.close(None, None).unwrap();
    assert_eq!(protocol_of(&client.stats().js_value()), "", "no open connection, no protocol");
}

#[wasm_bindgen_test]
async fn a_server_that_does_not_greet_makes_a_raw_connection_after_the_hello_wait() {
    let json = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":false,"helloTimeoutMs":300}"#;
    let client = client(raw_options(fresh("mode-raw").await, json));
    let events = Recorder::attach(&client);
    assert_eq!(receipt(&client, "waited").0, "queued");
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    assert_eq!(protocol_of(&events.of("open")[0]), "raw");
    assert_eq!(protocol_of(&client.stats().js_value()), "raw");
    events.wait("the echo", 5_000, |e| e.count("message") == 1).await;
    assert_eq!(events.text_messages(), ["waited"]);
    assert_eq!(received("mode-raw").await, ["waited"], "as it was sent: no envelope");
    assert!(events.of("warning").is_empty());
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn on_a_raw_connection_channels_and_publications_are_refused_never_sent() {
    let json = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":false,"protocol":"raw"}"#;
    let client = client(raw_options(fresh("mode-refuse").await, json));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    let (_, listener) = collector();
    let _unsubscribe = client.subscribe("nav:raw".into(), listener, JsValue::UNDEFINED).unwrap();
    assert_eq!(events.error_kinds(), ["protocol_required"]);
    let message = text(&events.of("error")[0], "message");
    assert!(message.contains("subscribe(\"nav:raw\")") && message.contains("raw"), "{message}");
    let refused = client.publish("nav:raw".into(), 7.into()).unwrap().js_value();
    assert_eq!((text(&refused, "status"), text(&refused, "reason")), ("refused".to_owned(), "protocol_required".to_owned()));
    assert_eq!(events.error_kinds(), ["protocol_required", "protocol_required"]);
    assert_eq!(client.outbox().len(), 0);
    // The socket still works for the application's own frames.
    receipt(&client, "plain");
    events.wait("the echo", 5_000, |e| e.count("message") == 1).await;
    assert_eq!(received("mode-refuse").await, ["plain"], "nothing of the channel reached the server");
    client.close(None, None).unwrap();
}

/// A raw server that stalls (sends nothing, reads nothing) for several
/// heartbeat periods keeps its one socket: a raw connection is not pinged
/// unless the application gave a ping, so there is nothing to time out.
#[wasm_bindgen_test]
async fn a_silent_raw_server_keeps_its_socket_for_several_heartbeat_periods() {
    let json = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":{"intervalMs":200,"timeoutMs":300},"protocol":"raw"}"#;
    let tag = fresh("mode-silent").await;
    let client = client(raw_options(tag, json));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    control("stall", &format!("tag={tag}")).await;
    sleep(1_500).await;
    control("resume", &format!("tag={tag}")).await;
    receipt(&client, "still here");
    events.wait("the echo after the stall", 5_000, |e| e.count("message") == 1).await;
    assert_eq!(events.count("close"), 0);
    assert!(events.error_kinds().is_empty(), "{:?}", events.error_kinds());
    assert_eq!(number(&control("stats", &format!("tag={tag}")).await, "connectionsTotal"), 1.0);
    client.close(None, None).unwrap();
}

/// With the application's own ping, a raw connection is pinged, and a
/// stalled server is noticed.
#[wasm_bindgen_test]
async fn a_raw_connection_is_pinged_with_the_applications_ping() {
    let json = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":{"intervalMs":200,"timeoutMs":300,"ping":"{\"type\":\"ping\"}"},"protocol":"raw"}"#;
    let tag = fresh("mode-pinged").await;
    let client = client(raw_options(tag, json));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    until("a measured round trip", 5_000, async || number(&client.stats().js_value(), "lastRttMs") >= 0.0).await;
    control("stall", &format!("tag={tag}")).await;
    events.wait("a heartbeat timeout", 5_000, |e| e.error_kinds().contains(&"heartbeat_timeout".to_owned())).await;
    control("resume", &format!("tag={tag}")).await;
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
fn a_url_function_needs_a_queue_key() {
    let provider = Closure::<dyn Fn() -> String>::new(|| raw_url("never"));
    let options = object(&[("url", provider.as_ref().clone()), ("autoConnect", false.into())]);
    let message = construction_error(options);
    assert!(message.starts_with("tabwire: queue.key is required when url is a function"), "{message}");
    let queue = object(&[("key", "app-one".into())]);
    let options = object(&[("url", provider.as_ref().clone()), ("autoConnect", false.into()), ("queue", queue)]);
    drop(client(options));
}

/// Two apps on one origin, each with its URL function and its key: each
/// has its own connection, outbox and leader.
#[wasm_bindgen_test]
async fn two_apps_on_one_origin_keep_their_own_namespace() {
    let tags = [fresh("app-one").await.to_owned(), fresh("app-two").await.to_owned()];
    let apps: Vec<_> = tags
        .iter()
        .map(|tag| {
            let url = ws_url(tag);
            let provider = Closure::<dyn Fn() -> String>::new(move || url.clone()).into_js_value();
            let options = options(tag, QUICK);
            Reflect::set(&options, &"url".into(), &provider).unwrap();
            let app = client(options);
            let events = Recorder::attach(&app);
            (app, events)
        })
        .collect();
    for (app, events) in &apps {
        events.wait("open", 5_000, |e| e.count("open") == 1).await;
        assert_eq!(role(app), "leader", "each app leads its own namespace");
    }
    receipt(&apps[0].0, "for one");
    receipt(&apps[1].0, "for two");
    for (index, (_, events)) in apps.iter().enumerate() {
        events.wait("the ack", 5_000, |e| e.count("ack") == 1).await;
        assert_eq!(received(&tags[index]).await, [["for one", "for two"][index]]);
        assert_eq!(live_connections(&tags[index]).await, 1.0);
    }
    for (app, _) in apps {
        app.close(None, None).unwrap();
    }
}
