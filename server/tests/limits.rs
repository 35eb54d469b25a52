//! End-to-end tests of the frame size limit and the origin allow-list (the
//! rate limits and connection caps: rate_limits.rs).

mod common;

use common::*;

async fn start_with(limits: Limits, allowed_origins: Vec<String>) -> SocketAddr {
    let mut config = config(true, missing_dir(), missing_dir());
    config.limits = limits;
    config.allowed_origins = allowed_origins;
    start(config).await
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
