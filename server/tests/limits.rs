//! End-to-end tests of the per-connection limits and the origin allow-list.

mod common;

use common::*;

async fn start_with(limits: Limits, allowed_origins: Vec<String>) -> SocketAddr {
    let mut config = config(true, missing_dir(), missing_dir());
    config.limits = limits;
    config.allowed_origins = allowed_origins;
    start(config).await
}

fn msg(id: usize) -> Message {
    Message::text(format!(r#"{{"type":"msg","id":"m{id}","data":{id}}}"#))
}

#[tokio::test]
async fn over_the_rate_a_frame_is_refused_and_a_flood_is_closed() {
    let limits = Limits {
        per_second: 0.001,
        burst: 3,
        max_frame_bytes: 1000,
    };
    let address = start_with(limits, Vec::new()).await;
    // Without a client hello, which would take a frame of the burst.
    let mut client = connect_anonymous(address, "rate").await;
    for id in 0..3 {
        send(&mut client, msg(id)).await;
        assert_eq!(next(&mut client).await, Message::text(id.to_string()));
        assert_eq!(next(&mut client).await, ack(&format!("m{id}")));
    }
    for id in 3..6 {
        send(&mut client, msg(id)).await;
        let refusal = next(&mut client).await;
        assert!(
            refusal
                .to_text()
                .unwrap()
                .contains(r#""code":"rate_limited""#),
            "{refusal:?}"
        );
    }
    send(&mut client, msg(6)).await;
    expect_close(&mut client, 1008, "rate limit exceeded").await;
    assert_eq!(
        control(address, "/control/received?tag=rate").await,
        json!({ "frames": ["0", "1", "2"] }),
        "refused frames are not handled"
    );
}

#[tokio::test]
async fn a_frame_over_the_size_limit_closes_the_connection() {
    let limits = Limits {
        max_frame_bytes: 100,
        ..Limits::default()
    };
    let address = start_with(limits, Vec::new()).await;
    let mut client = connect(address, "size").await;
    send(&mut client, Message::text("x".repeat(100))).await;
    assert_eq!(next(&mut client).await, Message::text("x".repeat(100)));
    send(&mut client, Message::text("x".repeat(101))).await;
    expect_close(&mut client, 1009, "frame too large").await;
}

#[tokio::test]
async fn only_allowed_origins_may_connect() {
    let address = start_with(Limits::default(), vec!["http://good.example".to_owned()]).await;
    for path in ["/ws", "/raw"] {
        let allowed = upgrade_head_with(address, path, "Origin: http://good.example\r\n").await;
        assert!(allowed.starts_with("HTTP/1.1 101"), "{path}: {allowed}");
        for headers in ["Origin: http://evil.example\r\n", ""] {
            let refused = upgrade_head_with(address, path, headers).await;
            assert!(
                refused.starts_with("HTTP/1.1 403"),
                "{path} {headers:?}: {refused}"
            );
        }
    }
}
