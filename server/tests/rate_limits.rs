//! End-to-end tests of the rate limits per user and per IP address, kept
//! across connections, and of the connection caps: a client over a rate is
//! closed with 4429 and the wait, and nothing from the refused frame on is
//! handled; an address over its connection cap gets HTTP 429.

mod common;

use std::ops::Range;

use common::transport::{parse_frame, post, wait_for_connections, StreamSession};
use common::*;
use tabwire::core::close_codes::{retry_after_ms, RATE_LIMITED};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A burst of 4 messages, then one a second.
const SLOW: Rate = Rate {
    messages_per_second: 1,
    message_burst: 4,
    ..Rate::UNLIMITED
};

/// A burst of 100 bytes, then one a second.
const FEW_BYTES: Rate = Rate {
    bytes_per_second: 1,
    byte_burst: 100,
    ..Rate::UNLIMITED
};

/// A server whose users get `per_user` and whose addresses `per_ip`.
async fn start_with(limits: Limits) -> SocketAddr {
    let mut config = config(true, missing_dir(), missing_dir());
    config.limits = Limits {
        max_frame_bytes: 100,
        ..limits
    };
    start(config).await
}

fn rates(per_user: Rate, per_ip: Rate) -> Limits {
    Limits {
        per_user,
        per_ip,
        ..Limits::default()
    }
}

/// A `msg` of id `m<id>` whose data, `<id>`, is echoed: 33 bytes for an
/// id of one digit, 35 for two.
fn msg(id: usize) -> Message {
    Message::text(format!(r#"{{"type":"msg","id":"m{id}","data":{id}}}"#))
}

/// Sends `msg(id)` and expects its echo and its ack.
async fn expect_handled(client: &mut Client, id: usize) {
    send(client, msg(id)).await;
    assert_eq!(next(client).await, Message::text(id.to_string()));
    assert_eq!(next(client).await, ack(&format!("m{id}")));
}

/// Sends the messages of `ids` back to back, as a client flushing its
/// outbox does, and reads what comes back until the close, which must be
/// a 4429 whose reason starts with `starts`. Returns the ids handled
/// (echoed and acknowledged), which must be the first ones, in order, and
/// not all of them; and the wait the reason asks for, as the client reads
/// it. (However slowly the test runs, the limits of these tests refill
/// too slowly to let all of `ids` through.)
async fn flood(client: &mut Client, ids: Range<usize>, starts: &str) -> (Vec<usize>, f64) {
    for id in ids.clone() {
        send(client, msg(id)).await;
    }
    let mut handled = Vec::new();
    loop {
        match next(client).await {
            Message::Text(echo) => {
                let id: usize = echo.as_str().parse().expect("an echo");
                assert_eq!(next(client).await, ack(&format!("m{id}")));
                handled.push(id);
            }
            Message::Close(Some(frame)) => {
                assert_eq!(frame.code, CloseCode::from(RATE_LIMITED));
                let reason = frame.reason.as_str();
                assert!(reason.starts_with(starts), "{reason}");
                let wait = retry_after_ms(RATE_LIMITED, reason).expect("a wait the client reads");
                assert!(handled.len() < ids.len(), "refused before the end");
                let first: Vec<usize> = ids.take(handled.len()).collect();
                assert_eq!(handled, first, "the first ones, in order");
                return (handled, wait);
            }
            other => panic!("expected an echo or the close, got {other:?}"),
        }
    }
}

/// What `tag`'s connections had handled, as `/control/received` lists it.
async fn received(address: SocketAddr, tag: &str) -> Value {
    control(address, &format!("/control/received?tag={tag}")).await
}

/// The echoes of `ids`, as `/control/received` lists them.
fn frames(ids: &[usize]) -> Value {
    json!({ "frames": ids.iter().map(usize::to_string).collect::<Vec<_>>() })
}

#[tokio::test]
async fn a_user_over_its_rate_is_refused_on_every_connection_and_others_are_not() {
    let address = start_with(rates(SLOW, Rate::UNLIMITED)).await;
    // The hellos count for the connections, before they name the client.
    let mut first = connect_as(address, "alice", "alice").await;
    let mut second = connect_as(address, "alice-2", "alice").await;
    let (handled, wait) = flood(&mut first, 0..20, "rate limited per user; ").await;
    assert!(handled.len() >= 4, "the burst passes: {handled:?}");
    // Four messages at one a second: the burst is whole again in 4 s.
    assert_eq!(wait, 4_000.0);
    assert_eq!(
        received(address, "alice").await,
        frames(&handled),
        "neither the refused frame nor any after it is handled"
    );
    // Another connection of the same user, open all along, is over too.
    let (handled, _) = flood(&mut second, 100..120, "rate limited per user; ").await;
    assert_eq!(received(address, "alice-2").await, frames(&handled));
    // And so is a new one.
    let mut third = connect_as(address, "alice-3", "alice").await;
    let (handled, _) = flood(&mut third, 200..220, "rate limited per user; ").await;
    assert_eq!(received(address, "alice-3").await, frames(&handled));
    // Another user, from the same address, is not disturbed.
    let mut bob = connect_as(address, "bob", "bob").await;
    for id in 0..4 {
        expect_handled(&mut bob, id).await;
    }
}

#[tokio::test]
async fn the_bytes_a_user_sends_are_limited_as_well() {
    let address = start_with(rates(FEW_BYTES, Rate::UNLIMITED)).await;
    let mut client = connect_as(address, "bytes", "bytes").await;
    // 3 x 33 bytes of the 100 of the burst, then 35 more (a byte a second
    // refills none of it in time).
    let (handled, wait) = flood(&mut client, 0..20, "rate limited per user; ").await;
    assert_eq!(handled, [0, 1, 2]);
    // 100 bytes at 1 a second.
    assert_eq!(wait, 100_000.0);
    assert_eq!(received(address, "bytes").await, frames(&handled));
}

#[tokio::test]
async fn an_address_over_its_rate_is_refused_whoever_the_user() {
    let address = start_with(rates(Rate::UNLIMITED, SLOW)).await;
    let mut alice = connect_anonymous(address, "ip").await;
    let mut bob = connect_anonymous(address, "ip").await;
    expect_handled(&mut alice, 0).await;
    expect_handled(&mut alice, 1).await;
    flood(&mut bob, 2..20, "rate limited per IP; ").await;
    flood(&mut alice, 100..120, "rate limited per IP; ").await;
}

#[tokio::test]
async fn an_http_session_over_its_rate_ends_with_the_same_close() {
    let address = start_with(rates(SLOW, Rate::UNLIMITED)).await;
    let mut session = StreamSession::open(address, "tag=http").await;
    let frames_sent: Vec<String> = (0..20)
        .map(|id| format!(r#"{{"type":"msg","id":"m{id}","data":{id}}}"#))
        .collect();
    let frames_sent: Vec<&str> = frames_sent.iter().map(String::as_str).collect();
    session.send(&frames_sent).await;
    let mut handled = Vec::new();
    let close = loop {
        let event = session.events.next().await.expect("an event");
        if event.kind.as_deref() == Some("close") {
            break serde_json::from_str::<Value>(&event.data).expect("JSON close");
        }
        let id = handled.len();
        assert_eq!(parse_frame(&event.data), json!(id));
        assert_eq!(session.next_frame().await["id"], format!("m{id}"));
        handled.push(id);
    };
    assert_eq!(close["code"], RATE_LIMITED);
    let reason = close["reason"].as_str().expect("a reason");
    assert_eq!(retry_after_ms(RATE_LIMITED, reason), Some(4_000.0));
    assert!((4..20).contains(&handled.len()), "{handled:?}");
    assert_eq!(received(address, "http").await, frames(&handled));
}

/// A server that holds `max_connections_per_ip` connections an address
/// and `max_connections` in all.
async fn start_capped(max_connections_per_ip: u32, max_connections: u32) -> SocketAddr {
    start_with(Limits {
        max_connections_per_ip,
        max_connections,
        ..Limits::default()
    })
    .await
}

/// The status line and the `Retry-After` of an upgrade of `/ws`.
async fn upgrade_status(address: SocketAddr) -> (u16, Option<String>) {
    let head = upgrade_head_with(address, "/ws?tag=cap", "").await;
    let (status, headers) = parse_head(head.trim_end());
    let retry_after = headers
        .into_iter()
        .find_map(|(name, value)| (name == "retry-after").then_some(value));
    (status, retry_after)
}

#[tokio::test]
async fn an_address_over_its_connection_cap_gets_429_until_one_ends() {
    let address = start_capped(2, 100).await;
    let first = connect_to(address, "/raw?tag=cap").await;
    let _second = connect_anonymous(address, "cap").await;
    assert_eq!(upgrade_status(address).await, (429, Some("5".to_owned())));
    let session = post(address, "/ws?tag=cap&transport=poll", "").await;
    assert_eq!(
        session.status, 429,
        "an HTTP session counts as a connection"
    );
    assert_eq!(session.header("retry-after"), Some("5"));
    assert_eq!(
        session.json(),
        json!({ "error": "too many connections from this address" })
    );
    drop(first);
    wait_for_connections(address, "cap", 1).await;
    let _third = connect_anonymous(address, "cap").await;
}

#[tokio::test]
async fn a_full_server_gets_503() {
    let address = start_capped(10, 1).await;
    let _only = connect_anonymous(address, "cap").await;
    assert_eq!(upgrade_status(address).await, (503, Some("5".to_owned())));
}
