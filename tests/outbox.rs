//! The durable outbox in a real browser: real localStorage, the reference
//! server acknowledging by id. Run by `scripts/test.sh`.

#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::Storage;

wasm_bindgen_test_configure!(run_in_browser);

const QUICK: &str = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":false}"#;

fn storage() -> Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// The stored keys of the outbox named `key`, sorted.
fn stored_keys(key: &str) -> Vec<String> {
    let storage = storage();
    let prefix = format!("tabwire:{key}:ob:");
    let mut keys: Vec<String> = (0..storage.length().unwrap())
        .filter_map(|index| storage.key(index).ok().flatten())
        .filter(|k| k.starts_with(&prefix))
        .collect();
    keys.sort();
    keys
}

fn ack_ids(events: &Recorder) -> Vec<String> {
    events.of("ack").iter().map(|ack| text(ack, "id")).collect()
}

#[wasm_bindgen_test]
async fn the_server_acknowledges_each_message_and_its_key_goes() {
    let client = client(options(fresh("acked").await, QUICK));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    let ids: Vec<String> = ["a", "b", "c"].iter().map(|m| receipt(&client, m)).map(|(s, id)| {
        assert_eq!(s, "sent");
        id
    }).collect();
    assert_eq!(stored_keys("acked").len(), 3, "kept until acknowledged");
    events.wait("three acks", 5_000, |e| e.count("ack") == 3).await;
    assert_eq!(ack_ids(&events), ids);
    assert!(stored_keys("acked").is_empty());
    assert!(client.outbox().is_empty());
    assert_eq!(events.text_messages(), ["a", "b", "c"], "the server's echoes");
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn messages_sent_while_disconnected_are_stored_and_delivered_in_order() {
    let client = client(options(fresh("offline").await, QUICK));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    control("refuse", "ms=400").await;
    control("drop", "tag=offline").await;
    events.wait("the drop", 5_000, |e| e.count("close") == 1).await;
    for index in 0..5 {
        assert_eq!(receipt(&client, &format!("m{index}")).0, "queued");
    }
    assert_eq!(stored_keys("offline").len(), 5);
    events.wait("five acks", 5_000, |e| e.count("ack") == 5).await;
    assert_eq!(received("offline").await, ["m0", "m1", "m2", "m3", "m4"]);
    assert!(stored_keys("offline").is_empty());
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_new_client_restores_what_an_earlier_one_left_and_sends_it_first() {
    let tag = fresh("restore").await;
    let first = client(options(tag, r#"{"autoConnect":false,"heartbeat":false}"#));
    let left: Vec<String> = ["x", "y", "z"].iter().map(|m| receipt(&first, m).1).collect();
    drop(first);
    assert_eq!(stored_keys("restore").len(), 3);
    // The new client takes the lead of the namespace, and with it the
    // stored outbox, before its socket opens.
    let second = client(options(tag, QUICK));
    let events = Recorder::attach(&second);
    assert_eq!(receipt(&second, "after").0, "queued");
    events.wait("four acks", 5_000, |e| e.count("ack") == 4).await;
    assert_eq!(ack_ids(&events)[..3], left, "the restored messages went first, in order");
    assert_eq!(received("restore").await, ["x", "y", "z", "after"]);
    assert!(stored_keys("restore").is_empty());
    second.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_full_storage_loses_nothing() {
    let tag = fresh("quota").await;
    let storage = storage();
    // Fill the origin's quota with 1 MiB values, then with smaller ones.
    let mut filler = 0;
    for size in [1 << 20, 1 << 14, 1 << 8, 1] {
        let value = "q".repeat(size);
        while storage.set_item(&format!("filler-{filler}"), &value).is_ok() {
            filler += 1;
        }
    }
    let client = client(options(tag, r#"{"autoConnect":false,"heartbeat":false}"#));
    let events = Recorder::attach(&client);
    let (status, id) = receipt(&client, "precious");
    assert_eq!(status, "queued");
    events.wait("the storage error", 2_000, |e| e.error_kinds().contains(&"storage_failed".to_owned())).await;
    let entry = client.outbox()[0].js_value();
    assert_eq!(text(&entry, "id"), id);
    assert_eq!(js_sys::Reflect::get(&entry, &"stored".into()).unwrap().as_bool(), Some(false));
    for index in 0..filler {
        storage.remove_item(&format!("filler-{index}")).unwrap();
    }
    client.reconnect();
    events.wait("the ack", 5_000, |e| e.count("ack") == 1).await;
    assert_eq!(received("quota").await, ["precious"]);
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn unreadable_keys_under_the_namespace_are_skipped_with_warnings() {
    let tag = fresh("corrupt").await;
    let storage = storage();
    storage.set_item("tabwire:corrupt:ob:not-an-id", "x").unwrap();
    storage.set_item("tabwire:corrupt:ob:1763790000000-abcdefgh-00000001", "tw1|nonsense").unwrap();
    // Created a moment ago: an older one would have outlived queue.ttlMs.
    let good = format!("tw1|{}|0|t|good", js_sys::Date::now() - 1_000.0);
    storage.set_item("tabwire:corrupt:ob:1763790000000-abcdefgh-00000002", &good).unwrap();
    let client = client(options(tag, QUICK));
    let events = Recorder::attach(&client);
    events.wait("the ack of the good one", 5_000, |e| e.count("ack") == 1).await;
    let warned: Vec<String> = events.of("warning").iter().map(|w| text(w, "key")).collect();
    assert_eq!(warned, ["tabwire:corrupt:ob:1763790000000-abcdefgh-00000001", "tabwire:corrupt:ob:not-an-id"]);
    assert_eq!(received("corrupt").await, ["good"]);
    assert_eq!(stored_keys("corrupt").len(), 2, "what is not ours is left alone");
    for key in stored_keys("corrupt") {
        storage.remove_item(&key).unwrap();
    }
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn raw_mode_stores_only_what_waits() {
    let json = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":false,"protocol":"raw"}"#;
    let client = client(raw_options(fresh("raw").await, json));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    assert_eq!(receipt(&client, "direct").0, "sent");
    assert!(stored_keys("raw").is_empty(), "sent at once: never stored");
    control("refuse", "ms=300").await;
    control("drop", "tag=raw").await;
    events.wait("the drop", 5_000, |e| e.count("close") == 1).await;
    assert_eq!(receipt(&client, "later").0, "queued");
    assert_eq!(stored_keys("raw").len(), 1);
    events.wait("the reconnection", 5_000, |e| e.count("open") == 2).await;
    assert!(stored_keys("raw").is_empty(), "gone once the socket took it");
    events.wait("the echo", 5_000, |e| e.count("message") == 2).await;
    assert_eq!(events.count("ack"), 0, "a raw server acknowledges nothing");
    assert_eq!(received("raw").await, ["direct", "later"]);
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn old_messages_expire_and_clear_outbox_empties_storage() {
    let json = r#"{"autoConnect":false,"heartbeat":false,"queue":{"ttlMs":150}}"#;
    let client = client(options(fresh("ttl").await, json));
    let events = Recorder::attach(&client);
    let ids: Vec<String> = ["a", "b"].iter().map(|m| receipt(&client, m).1).collect();
    events.wait("expiry", 2_000, |e| e.count("expired") == 1).await;
    let expired = js_sys::Reflect::get(&events.of("expired")[0], &"ids".into()).unwrap();
    let expired: Vec<String> = js_sys::Array::from(&expired).iter().filter_map(|id| id.as_string()).collect();
    assert_eq!(expired, ids);
    assert!(stored_keys("ttl").is_empty());
    receipt(&client, "c");
    receipt(&client, "d");
    assert_eq!(stored_keys("ttl").len(), 2);
    assert_eq!(client.clear_outbox(), 2);
    assert!(stored_keys("ttl").is_empty());
    drop(client);
}

#[wasm_bindgen_test]
fn a_full_outbox_refuses_or_throws_as_configured() {
    let refusing = client(options("full", r#"{"autoConnect":false,"queue":{"maxMessages":1,"storage":"memory"}}"#));
    receipt(&refusing, "one");
    assert_eq!(receipt(&refusing, "two").0, "refused");
    let throwing =
        client(options("full2", r#"{"autoConnect":false,"queue":{"maxMessages":1,"storage":"memory","whenFull":"throw"}}"#));
    receipt(&throwing, "one");
    let error = throwing.send("two".into()).unwrap_err();
    let message = String::from(JsValue::from(error).unchecked_into::<js_sys::Error>().message());
    assert!(message.starts_with("tabwire: the outbox is full"), "{message}");
    assert_eq!(throwing.outbox().len(), 1);
    assert!(stored_keys("full").is_empty(), "memory mode writes nothing");
}
