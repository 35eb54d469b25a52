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
async fn only_the_servers_own_origin_and_the_listed_ones_may_connect() {
    let listed = start_with(Limits::default(), vec!["http://good.example".to_owned()]).await;
    let unlisted = start_with(Limits::default(), Vec::new()).await;
    for path in ["/ws", "/raw"] {
        for address in [listed, unlisted] {
            let own = format!("Origin: http://{address}\r\n");
            // A program that sends no Origin, and a page this server serves.
            for headers in ["", own.as_str(), "Sec-Fetch-Site: same-origin\r\n"] {
                let allowed = upgrade_head_with(address, path, headers).await;
                assert!(
                    allowed.starts_with("HTTP/1.1 101"),
                    "{path} {headers:?}: {allowed}"
                );
            }
            let elsewhere = [
                "Origin: http://evil.example\r\n",
                "Sec-Fetch-Site: cross-site\r\n",
            ];
            for headers in elsewhere {
                let refused = upgrade_head_with(address, path, headers).await;
                assert!(
                    refused.starts_with("HTTP/1.1 403"),
                    "{path} {headers:?}: {refused}"
                );
            }
        }
        let good = "Origin: http://good.example\r\n";
        assert!(upgrade_head_with(listed, path, good)
            .await
            .starts_with("HTTP/1.1 101"));
        assert!(upgrade_head_with(unlisted, path, good)
            .await
            .starts_with("HTTP/1.1 403"));
    }
}
