//! End-to-end tests of the control API on HTTP sessions, which are
//! connections like WebSockets: dropped (a lost connection), closed (the
//! close event), stalled (sends wait, frames are held), counted in the
//! stats; refusing upgrades leaves them working; the frames waiting for a
//! poll are bounded.

mod common;

use common::transport::*;
use common::*;

#[tokio::test]
async fn a_dropped_stream_ends_without_its_close_event_and_a_poll_reads_1006() {
    let address = start_with_control().await;
    let mut stream = StreamSession::open(address, "tag=d1").await;
    let (mut polled, _) = PollSession::open(address, "tag=d1").await;
    let dropped = control(address, "/control/drop?tag=d1").await;
    assert_eq!(dropped["dropped"], 2);
    assert_eq!(stream.events.next().await, None, "no close event");
    let answer = polled.poll_answer().await;
    assert_eq!(answer["closed"], json!({"code": 1006, "reason": ""}));
    // Its end was told: the session is gone.
    let reply = post(
        address,
        &format!("/ws?session={}&op=poll&cursor={}", polled.id, polled.cursor),
        "",
    )
    .await;
    assert_eq!(reply.status, 404);
    let reply = post(address, &format!("/ws?session={}&op=send", stream.id), PING).await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn a_closed_session_gets_the_close_event_or_the_closed_answer() {
    let address = start_with_control().await;
    let mut stream = StreamSession::open(address, "tag=c1").await;
    let (mut polled, _) = PollSession::open(address, "tag=c1").await;
    let closed = control(address, "/control/close?tag=c1&code=4000&reason=bye").await;
    assert_eq!(closed["closed"], 2);
    let close = json!({"code": 4000, "reason": "bye"});
    assert_eq!(stream.expect_close().await, close);
    assert_eq!(polled.poll_answer().await["closed"], close);
    wait_for_connections(address, "c1", 0).await;
}

#[tokio::test]
async fn a_stalled_session_holds_its_sends_and_frames_until_resumed() {
    let address = start_with_control().await;
    let mut session = StreamSession::open(address, "tag=s1").await;
    session.subscribe("fx").await;
    assert_eq!(
        control(address, "/control/stall?tag=s1").await["stalled"],
        1
    );
    let (address_, id) = (session.address, session.id.clone());
    let send = tokio::spawn(async move {
        send_frames(address_, &id, &[PING, &text_msg("m1", "after")]).await;
    });
    publish(address, "fx", "1").await;
    session.events.nothing_within_300_ms("stalled").await;
    assert!(!send.is_finished(), "the send waits while stalled");
    assert_eq!(
        control(address, "/control/resume?tag=s1").await["resumed"],
        1
    );
    within("the send", send).await.expect("the send");
    assert_eq!(
        session.next_frame().await,
        json!({"type": "pub", "channel": "fx", "offset": 1, "data": 1})
    );
    assert_eq!(session.next_frame().await, json!({"type": "pong"}));
    assert_eq!(session.next_frame().await, json!("after"));
    assert_eq!(
        session.next_frame().await,
        json!({"type": "ack", "id": "m1"})
    );
}

#[tokio::test]
async fn refusing_upgrades_leaves_the_http_transport_working() {
    let address = start_with_control().await;
    control(address, "/control/refuse?ms=10000").await;
    let head = upgrade_head(address, "/ws?tag=r1", SUBPROTOCOL).await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    let mut session = StreamSession::open(address, "tag=r1").await;
    session.send(&[PING]).await;
    assert_eq!(session.next_frame().await, json!({"type": "pong"}));
    let (mut polled, _) = PollSession::open(address, "tag=r1").await;
    polled.send(&[PING]).await;
    assert_eq!(polled.poll().await, [json!({"type": "pong"})]);

    // With http=1, new sessions are refused too; open ones go on.
    control(address, "/control/refuse?ms=10000&http=1").await;
    let refused = post(address, "/ws?tag=r1&transport=poll", "").await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    polled.send(&[PING]).await;
    assert_eq!(polled.poll().await, [json!({"type": "pong"})]);
    control(address, "/control/refuse?ms=0").await;
    let (_reopened, _) = PollSession::open(address, "tag=r1").await;
}

#[tokio::test]
async fn the_stats_count_sessions_among_the_connections_and_by_transport() {
    let address = start_with_control().await;
    let stream = StreamSession::open(address, "tag=st").await;
    let _polls = [
        PollSession::open(address, "tag=st").await,
        PollSession::open(address, "tag=st").await,
    ];
    let _socket = connect_protocol(address, "st").await;
    let stats = control(address, "/control/stats?tag=st").await;
    assert_eq!(stats["connections"], 4, "{stats}");
    assert_eq!(stats["protocolConnections"], 4, "{stats}");
    assert_eq!(stats["httpSessions"], json!({"stream": 1, "poll": 2}));
    drop(stream);
    within("the stream's session to end", async {
        loop {
            let stats = control(address, "/control/stats?tag=st").await;
            if stats["httpSessions"]["stream"] == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// The frames waiting for a poll are bounded (1,000): a burst longer than
/// that waits in the session for polls to take it, and a client that polls
/// gets all of it, in order, the session going on.
#[tokio::test]
async fn frames_waiting_for_a_poll_beyond_the_bound_wait_for_the_polls() {
    let address = start_with_control().await;
    let (mut polled, _) = PollSession::open(address, "tag=b1").await;
    // The firehose answers once the frames are queued: some only are
    // before the polls take the first ones.
    let poured = tokio::spawn(control(
        address,
        "/control/firehose?tag=b1&count=1500&bytes=8",
    ));
    let mut frames = Vec::new();
    while frames.len() < 1500 {
        let answer = polled.poll_answer().await;
        assert!(answer.get("closed").is_none(), "{answer}");
        let taken = frames_of(&answer);
        assert!(taken.len() <= 1000, "at most the bound in one answer");
        frames.extend(taken);
    }
    let expected: Vec<Value> = (0..1500).map(|n| json!(format!("{n:08}"))).collect();
    assert_eq!(frames, expected, "every frame once, in order");
    let poured = poured.await.expect("the firehose");
    assert_eq!(poured["connections"], 1, "{poured}");
    let stats = control(address, "/control/stats?tag=b1").await;
    assert_eq!(stats["connections"], 1, "{stats}");
}
