//! Helpers of the authentication tests: tokens from the control API, the
//! `auth` frame, and the 4401 close that refuses a token.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::*;

/// A token from the test control API (`query` as `/control/token` takes it).
pub async fn token(address: SocketAddr, query: &str) -> String {
    let answer = control(address, &format!("/control/token?{query}")).await;
    answer["token"].as_str().expect("a token").to_owned()
}

/// A token whose claims `claims` (a JSON object) replaces or removes.
pub async fn token_with(address: SocketAddr, claims: &Value) -> String {
    token(
        address,
        &format!("claims={}", percent_encode(&claims.to_string())),
    )
    .await
}

/// Everything but letters and digits as `%XX`, for a query value.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

pub fn auth(token: &str) -> Message {
    Message::text(format!(r#"{{"type":"auth","token":"{token}"}}"#))
}

/// The next frame is a close with 4401 and a reason starting so.
pub async fn expect_auth_close(client: &mut Client, reason_starts: &str) {
    match next(client).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::from(4401));
            assert!(
                frame.reason.as_str().starts_with(reason_starts),
                "{:?}",
                frame.reason
            );
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

/// Sends `token` on a new connection and expects it taken: a message is
/// echoed and acknowledged. Each message has an id of its own, as tokens
/// of one `sub` share their dedupe scope.
pub async fn expect_taken(address: SocketAddr, token: &str) -> Client {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let id = format!("taken-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let mut client = connect_protocol(address, "auth").await;
    send(&mut client, auth(token)).await;
    let msg = format!(r#"{{"type":"msg","id":"{id}","data":1}}"#);
    send(&mut client, Message::text(msg)).await;
    assert_eq!(next(&mut client).await, Message::text("1"), "token taken");
    assert_eq!(next(&mut client).await, ack(&id));
    client
}

/// Sends `token` on a new connection and expects it refused with 4401.
pub async fn expect_refused(address: SocketAddr, token: &str, reason_starts: &str) {
    let mut client = connect_protocol(address, "auth").await;
    send(&mut client, auth(token)).await;
    expect_auth_close(&mut client, reason_starts).await;
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}
