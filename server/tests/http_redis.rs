//! The HTTP transport on two server instances sharing a real Redis: the
//! requests of a session that reach the instance that does not own it are
//! forwarded to its owner, so a load balancer needs no stickiness; a
//! session whose owner is gone is unknown.

mod common;

use common::redis::RedisServer;
use common::transport::*;
use common::*;

async fn instance(redis: &RedisServer) -> SocketAddr {
    let mut config = config(true, missing_dir(), missing_dir());
    config.redis = Some(redis.url());
    start(config).await
}

#[tokio::test]
async fn sends_and_polls_reaching_the_other_instance_are_forwarded_to_the_owner() {
    let redis = RedisServer::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let (on_a, _) = PollSession::open(a, "tag=f1").await;
    // The same session, its requests made through b.
    let mut through_b = PollSession {
        address: b,
        id: on_a.id.clone(),
        cursor: on_a.cursor,
    };
    through_b
        .send(&[PING, r#"{"type":"subscribe","channel":"fx"}"#])
        .await;
    let frames = through_b.poll().await;
    assert_eq!(frames[0], json!({"type": "pong"}));
    assert_eq!(frames[1]["type"], "subscribed");
    // A forwarded poll waits at the owner as a local one does.
    let poll = tokio::spawn(async move { through_b.poll().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "the poll waits");
    publish(b, "fx", "5").await;
    assert_eq!(
        within("the forwarded poll", poll).await.expect("the poll"),
        [json!({"type": "pub", "channel": "fx", "offset": 1, "data": 5})]
    );
    let stats = control(a, "/control/stats?tag=f1").await;
    assert_eq!(stats["httpSessions"]["poll"], 1, "{stats}");
    assert_eq!(control(b, "/control/stats?tag=f1").await["connections"], 0);

    let close = format!("/ws?session={}&op=close", on_a.id);
    assert_eq!(post(b, &close, "").await.status, 204);
    let send = format!("/ws?session={}&op=send", on_a.id);
    assert_eq!(post(a, &send, PING).await.status, 404);
    assert_eq!(post(b, &send, PING).await.status, 404);
}

#[tokio::test]
async fn a_stream_gets_what_was_sent_through_the_other_instance() {
    let redis = RedisServer::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let mut stream = StreamSession::open(a, "tag=f2").await;
    send_frames(b, &stream.id, &[&text_msg("m1", "via b")]).await;
    assert_eq!(stream.next_frame().await, json!("via b"));
    assert_eq!(
        stream.next_frame().await,
        json!({"type": "ack", "id": "m1"})
    );
    let poll = format!("/ws?session={}&op=poll&cursor=0", stream.id);
    let reply = post(b, &poll, "").await;
    assert_eq!(reply.status, 400, "a stream is not polled: {}", reply.body);
}

#[tokio::test]
async fn a_session_whose_owner_is_gone_is_unknown() {
    let redis = RedisServer::start();
    let b = instance(&redis).await;
    for path in [
        "/ws?session=0123456789abcdef.gone&op=send",
        "/ws?session=0123456789abcdef.gone&op=poll&cursor=0",
        "/ws?session=no-instance-at-all&op=close",
    ] {
        assert_unknown_session(&post(b, path, PING).await, path);
    }
}
