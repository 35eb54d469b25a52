//! End-to-end tests of the HTTP transport of `/ws`: streaming and polling
//! sessions carry the frames of the protocol as a WebSocket does (the
//! hello first, auth, acknowledged and deduplicated messages, channels),
//! and their requests are checked (unknown sessions, origins, sizes).
//! The control API's hold on sessions is in `http_control.rs`.

mod common;

use common::transport::*;
use common::*;

const SECRET: &str = "a secret of 16 bytes or more";

#[tokio::test]
async fn a_stream_opens_with_the_hello_naming_the_session() {
    let address = start_with_control().await;
    let session = StreamSession::open(address, "tag=h1").await;
    let events = &session.events;
    assert_eq!(
        events.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(
        events.header("cache-control"),
        Some("no-cache, no-transform")
    );
    assert_eq!(events.header("x-accel-buffering"), Some("no"));
    assert_eq!(events.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(session.hello["protocol"], SUBPROTOCOL);
    let (instance, rest) = session.id.split_once('.').expect("<instance>.<random>");
    assert!(!instance.is_empty() && !rest.is_empty(), "{}", session.id);
}

#[tokio::test]
async fn an_auth_frame_then_a_message_is_echoed_and_acknowledged_on_the_stream() {
    let mut config = config(true, missing_dir(), missing_dir());
    config.jwt = Some(JwtConfig::new(SECRET));
    let address = start(config).await;
    let token = control(address, "/control/token?channels=nav:*").await["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let mut session = StreamSession::open(address, "tag=h2").await;
    let auth = format!(r#"{{"type":"auth","token":"{token}"}}"#);
    session.send(&[&auth, &text_msg("m1", "hi")]).await;
    assert_eq!(session.next_frame().await, json!("hi"));
    assert_eq!(
        session.next_frame().await,
        json!({"type": "ack", "id": "m1"})
    );

    // Without the auth frame, the session is closed as a socket would be.
    let mut refused = StreamSession::open(address, "tag=h2").await;
    refused.send(&[&text_msg("m2", "no")]).await;
    assert_eq!(refused.expect_close().await["code"], 4401);
}

#[tokio::test]
async fn a_message_resent_in_another_session_is_acknowledged_but_handled_once() {
    let address = start_with_control().await;
    let hello = r#"{"type":"hello","protocol":"tabwire.v1","client":"c-1"}"#;
    let mut first = StreamSession::open(address, "tag=h3").await;
    first.send(&[hello, &text_msg("m1", "once")]).await;
    assert_eq!(first.next_frame().await, json!("once"));
    assert_eq!(first.next_frame().await, json!({"type": "ack", "id": "m1"}));
    let (mut second, _) = PollSession::open(address, "tag=h3").await;
    second.send(&[hello, &text_msg("m1", "once")]).await;
    assert_eq!(second.poll().await, [json!({"type": "ack", "id": "m1"})]);
    let stats = control(address, "/control/stats?tag=h3").await;
    assert_eq!(stats["duplicates"], 1, "{stats}");
    assert_eq!(
        control(address, "/control/received?tag=h3").await["frames"],
        json!(["once"])
    );
}

#[tokio::test]
async fn a_subscription_gets_subscribed_then_the_channel_messages() {
    let address = start_with_control().await;
    let mut session = StreamSession::open(address, "tag=h4").await;
    session
        .send(&[r#"{"type":"subscribe","channel":"nav:1"}"#])
        .await;
    let subscribed = session.next_frame().await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    assert_eq!(subscribed["offset"], 0, "{subscribed}");
    publish(address, "nav:1", "101").await;
    assert_eq!(
        session.next_frame().await,
        json!({"type": "pub", "channel": "nav:1", "offset": 1, "data": 101})
    );
}

#[tokio::test]
async fn polls_take_the_frames_after_their_cursor_and_forget_the_others() {
    let address = start_with_control().await;
    let (mut session, frames) = PollSession::open(address, "tag=h5").await;
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["type"], "hello");
    assert_eq!(frames[0]["session"], session.id);
    assert_eq!(session.cursor, 1);
    session.send(&[PING, PING]).await;
    let pong = json!({"type": "pong"});
    assert_eq!(session.poll().await, [pong.clone(), pong.clone()]);
    assert_eq!(session.cursor, 3);
    // The same poll again (its answer was lost, say) gets the same frames.
    let again = format!("/ws?session={}&op=poll&cursor=1", session.id);
    let reply = post(address, &again, "").await;
    assert_eq!(reply.json(), json!({"cursor": 3, "frames": [PONG, PONG]}));
    session.send(&[PING]).await;
    assert_eq!(session.poll().await, [pong]);
    // Frames up to 3 are forgotten now.
    let reply = post(address, &again, "").await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.json()["error"]
        .as_str()
        .expect("why")
        .starts_with("cursor:"));
}

#[tokio::test]
async fn a_poll_waits_for_a_message_published_meanwhile() {
    let address = start_with_control().await;
    let (mut session, _) = PollSession::open(address, "tag=h6").await;
    session
        .send(&[r#"{"type":"subscribe","channel":"risk"}"#])
        .await;
    assert_eq!(session.poll().await[0]["type"], "subscribed");
    let poll = tokio::spawn(async move { session.poll().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "the poll waits");
    publish(address, "risk", "7").await;
    let frames = within("the poll", poll).await.expect("the poll");
    assert_eq!(
        frames,
        [json!({"type": "pub", "channel": "risk", "offset": 1, "data": 7})]
    );
}

#[tokio::test]
async fn the_close_op_ends_the_session() {
    let address = start_with_control().await;
    let mut stream = StreamSession::open(address, "tag=h7").await;
    let (polled, _) = PollSession::open(address, "tag=h7").await;
    for id in [&stream.id, &polled.id] {
        let reply = post(address, &format!("/ws?session={id}&op=close"), "").await;
        assert_eq!(reply.status, 204, "{}", reply.body);
        let reply = post(address, &format!("/ws?session={id}&op=send"), PING).await;
        assert_eq!(reply.status, 404);
    }
    // The client ended it: its stream just stops.
    assert_eq!(stream.events.next().await, None);
    let reply = post(
        address,
        &format!("/ws?session={}&op=poll&cursor=1", polled.id),
        "",
    )
    .await;
    assert_eq!(reply.status, 404);
    wait_for_connections(address, "h7", 0).await;
}

#[tokio::test]
async fn requests_of_unknown_sessions_and_malformed_ones_are_refused() {
    let address = start_with_control().await;
    for path in [
        "/ws?session=nobody&op=send",
        "/ws?session=a.b&op=poll&cursor=0",
        "/ws?session=a.b&op=close",
    ] {
        let reply = post(address, path, PING).await;
        assert_unknown_session(&reply, path);
        assert_eq!(reply.header("access-control-allow-origin"), Some(ORIGIN));
    }
    for path in [
        "/ws",
        "/ws?transport=carrier-pigeon",
        "/ws?session=a.b",
        "/ws?op=send",
        "/ws?session=a.b&op=poll",
        "/ws?session=a.b&op=poll&cursor=-1",
        "/ws?session=a.b&op=dance",
    ] {
        let reply = post(address, path, "").await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert!(reply.json()["error"].is_string(), "{path}");
    }
    // `/raw` has no HTTP transport.
    assert_eq!(post(address, "/raw?transport=stream", "").await.status, 405);
}

#[tokio::test]
async fn only_allowed_origins_may_use_it_and_they_are_named_in_every_answer() {
    let mut config = config(true, missing_dir(), missing_dir());
    config.allowed_origins = vec![ORIGIN.to_owned()];
    let address = start(config).await;
    let reply = post_from(
        address,
        "/ws?transport=poll",
        "",
        Some("http://elsewhere.test"),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.header("access-control-allow-origin"), None);
    let own = format!("http://{address}");
    let reply = post_from(address, "/ws?transport=poll", "", Some(&own)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(own.as_str())
    );
    // A program that sends no Origin.
    assert_eq!(
        post_from(address, "/ws?transport=poll", "", None)
            .await
            .status,
        200
    );
    let reply = post(address, "/ws?transport=poll", "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(reply.header("vary"), Some("Origin"));
    let headers = format!("Origin: {ORIGIN}\r\nAccess-Control-Request-Method: POST\r\n");
    let preflight = request(address, "OPTIONS", "/ws", &headers, "").await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(ORIGIN)
    );
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("POST")
    );
}

#[tokio::test]
async fn a_frame_over_the_limit_closes_the_session_and_a_body_over_16_is_refused() {
    let mut config = config(true, missing_dir(), missing_dir());
    config.limits.max_frame_bytes = 100;
    let address = start(config).await;
    let mut session = StreamSession::open(address, "tag=h8").await;
    assert_eq!(session.hello["limits"]["maxFrameBytes"], 100);
    let large = text_msg("m1", &"x".repeat(100));
    session.send(&[PING, &large, PING]).await;
    assert_eq!(session.next_frame().await, json!({"type": "pong"}));
    assert_eq!(
        session.expect_close().await,
        json!({"code": 1009, "reason": "frame too large"})
    );

    let (polled, _) = PollSession::open(address, "tag=h8").await;
    let body = vec![PING; 1000].join("\n");
    let path = format!("/ws?session={}&op=send", polled.id);
    let reply = post(address, &path, &body).await;
    assert_eq!(reply.status, 413, "{}", reply.body);
}

#[tokio::test]
async fn binary_frames_come_down_in_base64() {
    let address = start_with_control().await;
    let mut session = StreamSession::open(address, "tag=h9").await;
    session
        .send(&[r#"{"type":"msg","id":"b1","binary":"AQID"}"#])
        .await;
    let event = session.events.next().await.expect("the echo");
    assert_eq!(event.kind.as_deref(), Some("binary"));
    assert_eq!(event.data, "AQID");
    let (mut polled, _) = PollSession::open(address, "tag=h9").await;
    polled
        .send(&[r#"{"type":"msg","id":"b2","binary":"AQID"}"#])
        .await;
    assert_eq!(
        polled.poll().await,
        [
            json!({"binary": "AQID"}),
            json!({"type": "ack", "id": "b2"})
        ]
    );
}
