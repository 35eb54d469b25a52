//! Sharing one connection among clients of one namespace, in a real
//! browser: Web Locks, BroadcastChannel, the reference server counting
//! connections and subscriptions. Clients of one page share exactly as tabs
//! do (the several-tab cases are in tests/e2e/share.test.mjs). Run by
//! `scripts/test.sh`.

#![cfg(target_arch = "wasm32")]

mod support;

use js_sys::Reflect;
use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const QUICK: &str = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":false}"#;

/// Two clients of `tag`: the first leads, the second follows, both see the
/// shared connection open.
async fn pair(tag: &str) -> (tabwire::TabWire, Recorder, tabwire::TabWire, Recorder) {
    let leader = client(options(tag, QUICK));
    let leader_events = Recorder::attach(&leader);
    leader_events.wait("the leader's socket", 5_000, |e| e.count("open") == 1).await;
    let follower = client(options(tag, QUICK));
    let follower_events = Recorder::attach(&follower);
    follower_events.wait("the follower to see it open", 5_000, |e| e.last_state() == "open").await;
    assert_eq!((role(&leader), role(&follower)), ("leader".to_owned(), "follower".to_owned()));
    (leader, leader_events, follower, follower_events)
}

#[wasm_bindgen_test]
async fn clients_of_one_namespace_share_one_socket() {
    let tag = fresh("share-one").await;
    let (leader, leader_events, follower, follower_events) = pair(tag).await;
    assert_eq!(live_connections(tag).await, 1.0);
    until("both to count two tabs", 5_000, async || tabs(&leader) == 2.0 && tabs(&follower) == 2.0).await;
    let (_, id) = receipt(&follower, "from the follower");
    follower_events.wait("the follower's ack", 5_000, |e| e.count("ack") == 1).await;
    assert_eq!(text(&follower_events.of("ack")[0], "id"), id);
    assert_eq!(leader_events.count("ack"), 0, "the ack is the follower's");
    assert_eq!(received(tag).await, ["from the follower"]);
    assert!(follower.outbox().is_empty());
    // The server echoes; the echo reaches both clients.
    leader_events.wait("the echo in the leader", 5_000, |e| !e.text_messages().is_empty()).await;
    follower_events.wait("the echo in the follower", 5_000, |e| e.text_messages() == leader_events.text_messages()).await;
    assert_eq!(live_connections(tag).await, 1.0);
    follower.close(None, None).unwrap();
    leader.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_closing_leader_hands_the_socket_over() {
    let tag = fresh("share-handover").await;
    let (leader, _, follower, follower_events) = pair(tag).await;
    // Its first `open`: the leader's connection, which it joined.
    assert_eq!(follower_events.count("open"), 1);
    leader.close(None, None).unwrap();
    follower_events.wait("the follower to lead", 5_000, |e| e.count("open") == 2).await;
    assert_eq!(role(&follower), "leader");
    assert_eq!(tabs(&follower), 1.0, "alone now");
    until("one connection again", 5_000, async || live_connections(tag).await == 1.0).await;
    receipt(&follower, "after the hand-over");
    follower_events.wait("its ack", 5_000, |e| e.count("ack") == 1).await;
    assert_eq!(received(tag).await, ["after the hand-over"]);
    follower.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn channels_are_subscribed_once_for_all_clients() {
    let tag = fresh("share-channels").await;
    let (leader, _, follower, _) = pair(tag).await;
    let subscriptions = async || {
        let stats = control("stats", &format!("tag={tag}")).await;
        number(&Reflect::get(&stats, &"subscriptions".into()).unwrap_or_default(), "x")
    };
    let ((in_leader, leader_listener), (in_follower, follower_listener)) = (collector(), collector());
    let off_leader = leader.subscribe("x".into(), leader_listener, JsValue::UNDEFINED).unwrap();
    let off_follower = follower.subscribe("x".into(), follower_listener, JsValue::UNDEFINED).unwrap();
    until("the subscription", 5_000, async || subscriptions().await == 1.0).await;
    control("publish", r#"channel=x&data={"nav":101.5}"#).await;
    until("both listeners", 5_000, async || in_leader.borrow().len() == 1 && in_follower.borrow().len() == 1).await;
    assert_eq!(*in_follower.borrow(), [r#"{"nav":101.5}"#]);
    off_leader.call0(&JsValue::UNDEFINED).unwrap();
    sleep(200).await;
    assert_eq!(subscriptions().await, 1.0, "the follower still listens");
    off_follower.call0(&JsValue::UNDEFINED).unwrap();
    until("the unsubscribe", 5_000, async || subscriptions().await.is_nan()).await;
    follower.close(None, None).unwrap();
    leader.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn foreign_messages_on_the_channel_are_ignored_with_a_warning() {
    let tag = fresh("share-foreign").await;
    let client = client(options(tag, QUICK));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    let channel = web_sys::BroadcastChannel::new(&format!("tabwire:{tag}")).unwrap();
    let malformed = object(&[("tabwire", 1.into()), ("kind", "relay".into())]);
    for message in [JsValue::from("hello"), object(&[("tabwire", 2.into())]), malformed] {
        channel.post_message(&message).unwrap();
    }
    events.wait("three warnings", 5_000, |e| e.count("warning") == 3).await;
    let reasons: Vec<String> = events.of("warning").iter().map(|w| text(w, "message")).collect();
    assert!(reasons[0].contains("not tabwire's"), "{reasons:?}");
    assert!(reasons[1].contains("version 2"), "{reasons:?}");
    assert!(reasons[2].contains("malformed"), "{reasons:?}");
    receipt(&client, "still fine");
    events.wait("the ack", 5_000, |e| e.count("ack") == 1).await;
    channel.close();
    client.close(None, None).unwrap();
}

/// A plain listener on a channel, keeping what it hears as JSON.
struct Overheard {
    channel: web_sys::BroadcastChannel,
    heard: std::rc::Rc<std::cell::RefCell<Vec<String>>>,
    _listener: Closure<dyn FnMut(web_sys::MessageEvent)>,
}

impl Overheard {
    fn on(name: &str) -> Overheard {
        let channel = web_sys::BroadcastChannel::new(name).unwrap();
        let heard = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let sink = heard.clone();
        let listener = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            sink.borrow_mut().push(String::from(js_sys::JSON::stringify(&event.data()).unwrap()));
        });
        channel.set_onmessage(Some(listener.as_ref().unchecked_ref()));
        Overheard { channel, heard, _listener: listener }
    }

    fn count(&self) -> usize {
        self.heard.borrow().len()
    }
}

#[wasm_bindgen_test]
async fn messages_posted_soon_go_together_and_in_order() {
    use tabwire::web::broadcast::Broadcast;
    let name = "tabwire:broadcast-batching";
    let overheard = Overheard::on(name);
    let batch: tabwire::web::broadcast::Batcher = |messages| object(&[("batch", messages.into())]);
    let broadcast = Broadcast::open(name, batch, |_| {}).unwrap();
    // A burst: three posted soon in one task go out as one batch; a post now
    // goes after what waits.
    for n in 1..=3 {
        broadcast.post_soon(&n.into());
    }
    until("the batch", 5_000, async || overheard.count() == 1).await;
    broadcast.post_soon(&4.into());
    broadcast.post(&5.into()).unwrap();
    // A lone one goes as itself; dropping the channel posts what waits.
    broadcast.post_soon(&6.into());
    until("the lone one", 5_000, async || overheard.count() == 4).await;
    broadcast.post_soon(&7.into());
    drop(broadcast);
    until("the last one", 5_000, async || overheard.count() == 5).await;
    assert_eq!(*overheard.heard.borrow(), [r#"{"batch":[1,2,3]}"#, "4", "5", "6", "7"]);
    overheard.channel.close();
}

#[wasm_bindgen_test]
async fn with_share_off_every_client_is_solo() {
    let tag = fresh("share-off").await;
    let solo = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":false,"share":false}"#;
    let (first, second) = (client(options(tag, solo)), client(options(tag, solo)));
    let (first_events, second_events) = (Recorder::attach(&first), Recorder::attach(&second));
    first_events.wait("open", 5_000, |e| e.count("open") == 1).await;
    second_events.wait("open", 5_000, |e| e.count("open") == 1).await;
    assert_eq!((role(&first), role(&second)), ("solo".to_owned(), "solo".to_owned()));
    assert_eq!(live_connections(tag).await, 2.0);
    first.close(None, None).unwrap();
    second.close(None, None).unwrap();
}
