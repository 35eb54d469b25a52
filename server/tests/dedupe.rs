//! End-to-end tests of deduplication per client: the dedupe scope of a
//! message is its connection's token `sub`, else the client id of its
//! hello, else the connection (see also `auth.rs` for `sub`).

mod common;

use common::*;

fn msg(id: &str, text: &str) -> Message {
    Message::text(format!(r#"{{"type":"msg","id":"{id}","text":"{text}"}}"#))
}

/// Sends the message `id` and checks it is handled: echoed, then acked.
async fn handled(client: &mut Client, id: &str, text: &str) {
    send(client, msg(id, text)).await;
    assert_eq!(next(client).await, Message::text(text), "{id} handled");
    assert_eq!(next(client).await, ack(id));
}

/// Sends the message `id` and checks it is taken as a repeat: only acked.
async fn repeated(client: &mut Client, id: &str, text: &str) {
    send(client, msg(id, text)).await;
    assert_eq!(next(client).await, ack(id), "{id} only acknowledged");
}

#[tokio::test]
async fn two_clients_whose_message_ids_collide_are_both_handled() {
    let address = start_with_control().await;
    let mut ann = connect_as(address, "dc", "ann").await;
    let mut bob = connect_as(address, "dc", "bob").await;
    handled(&mut ann, "m-1", "from ann").await;
    // Not swallowed as ann's repeat.
    handled(&mut bob, "m-1", "from bob").await;

    // Publications alike: each client's is published.
    let mut watcher = connect_protocol(address, "dc").await;
    subscribe(&mut watcher, "x", None, 0).await;
    send(&mut ann, publish_frame("p-1", "x", "1")).await;
    assert_eq!(next(&mut ann).await, ack("p-1"));
    send(&mut bob, publish_frame("p-1", "x", "2")).await;
    assert_eq!(next(&mut bob).await, ack("p-1"));
    assert_eq!(next_pub(&mut watcher, "x").await, (1, "1".to_owned()));
    assert_eq!(next_pub(&mut watcher, "x").await, (2, "2".to_owned()));

    let stats = control(address, "/control/stats?tag=dc").await;
    assert_eq!(stats["duplicates"], 0, "{stats}");
    assert_eq!(
        control(address, "/control/received?tag=dc").await,
        json!({ "frames": ["from ann", "from bob", "1", "2"] })
    );
}

#[tokio::test]
async fn the_same_client_resending_over_a_new_connection_is_deduplicated() {
    let address = start_with_control().await;
    let mut first = connect_as(address, "dr", "tab-7").await;
    handled(&mut first, "m-1", "once").await;
    let mut watcher = connect_protocol(address, "dr").await;
    subscribe(&mut watcher, "x", None, 0).await;
    send(&mut first, publish_frame("p-1", "x", "1")).await;
    assert_eq!(next(&mut first).await, ack("p-1"));
    drop(first);

    // The acks were lost, say: the client reloads and resends both.
    let mut second = connect_as(address, "dr", "tab-7").await;
    repeated(&mut second, "m-1", "once").await;
    send(&mut second, publish_frame("p-1", "x", "1")).await;
    assert_eq!(next(&mut second).await, ack("p-1"));
    assert_eq!(next_pub(&mut watcher, "x").await, (1, "1".to_owned()));
    nothing_within_300_ms(&mut watcher, "published once").await;
    assert_eq!(
        control(address, "/control/stats?tag=dr").await["duplicates"],
        2
    );
}

#[tokio::test]
async fn a_client_without_hello_is_deduplicated_per_connection_only() {
    let address = start_with_control().await;
    let mut first = connect_anonymous(address, "dn").await;
    handled(&mut first, "m-1", "one").await;
    repeated(&mut first, "m-1", "one").await;
    // Nothing tells the next connection is the same client.
    let mut second = connect_anonymous(address, "dn").await;
    handled(&mut second, "m-1", "one").await;
    assert_eq!(
        control(address, "/control/stats?tag=dn").await["duplicates"],
        1
    );
}

#[tokio::test]
async fn the_window_holds_the_configured_count_of_ids_per_client() {
    let mut config = config(true, missing_dir(), missing_dir());
    config.dedupe.ids_per_scope = 2;
    let address = start(config).await;
    let mut client = connect_as(address, "dw", "tab").await;
    for id in ["1", "2", "3"] {
        handled(&mut client, id, id).await;
    }
    repeated(&mut client, "3", "3").await;
    // Forgotten: handled again (at least once beyond the window).
    handled(&mut client, "1", "1").await;
}
