//! A graceful shutdown (`serve_until`, what SIGTERM and Ctrl-C start):
//! every WebSocket and HTTP session is closed with 1012 `server restart`,
//! new ones are refused meanwhile, a polling session's close waits for its
//! next poll, the server returns within its bound, and once that bound has
//! passed, what is left is cut.

mod common;

use common::stoppable::{expect_restart, Stoppable};
use common::transport::*;
use common::*;
use tokio_tungstenite::tungstenite;

fn bounded(bound: Duration) -> ServerConfig {
    let mut config = config(true, missing_dir(), missing_dir());
    config.timeouts.shutdown = bound;
    config
}

/// The close event of a graceful shutdown, as HTTP sessions get it.
fn restart() -> Value {
    json!({ "code": 1012, "reason": "server restart" })
}

#[tokio::test]
async fn every_websocket_and_http_session_is_closed_with_1012_and_new_ones_are_refused() {
    let mut server = Stoppable::start(bounded(Duration::from_secs(10))).await;
    let address = server.address;
    let mut subscriber = connect_protocol(address, "s").await;
    subscribe(&mut subscriber, "news", None, 0).await;
    let mut idle = connect_protocol(address, "s").await;
    let mut raw = connect(address, "s").await;
    let mut stream = StreamSession::open(address, "tag=s").await;
    let (mut poll, _) = PollSession::open(address, "tag=s").await;

    server.signal();
    for client in [&mut subscriber, &mut idle, &mut raw] {
        expect_restart(client).await;
    }
    assert_eq!(stream.expect_close().await, restart());

    // The server waits for the polling session to take its close: it is
    // shutting down, and turns newcomers away.
    let refused = connect_async(format!("ws://{address}/ws?tag=late")).await;
    match refused {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected a 503, got {other:?}"),
    }
    let reply = post(address, "/ws?tag=late&transport=stream", "").await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    let answer = poll.poll_answer().await;
    assert_eq!(answer["closed"], restart(), "{answer}");

    let took = server.stop().await;
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        TcpStream::connect(address).await.is_err(),
        "nothing listens once stopped"
    );
}

#[tokio::test]
async fn past_its_bound_a_shutdown_cuts_what_is_left() {
    let bound = Duration::from_secs(1);
    let server = Stoppable::start(bounded(bound)).await;
    // Its close waits for a poll that never comes (a client only gives up
    // on a session after 30 s without one).
    let (_forgotten, _) = PollSession::open(server.address, "tag=s").await;
    let took = server.stop().await;
    assert!(took >= bound, "it waited for the poll: {took:?}");
    assert!(took < Duration::from_secs(10), "then cut it: {took:?}");
}
