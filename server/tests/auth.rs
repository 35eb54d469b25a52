//! End-to-end tests of authentication with JWTs (`--jwt-secret`).

mod common;

use common::auth::*;
use common::*;

const SECRET: &str = "a secret of 16 bytes or more";

async fn start_with_secret() -> SocketAddr {
    let mut config = config(true, missing_dir(), missing_dir());
    config.jwt = Some(JwtConfig::new(SECRET));
    start(config).await
}

#[tokio::test]
async fn nothing_but_pings_and_the_hello_before_the_auth_frame() {
    let address = start_with_secret().await;
    // connect_protocol sends the client's hello: it is allowed.
    let mut client = connect_protocol(address, "auth").await;
    send(&mut client, Message::text(PING)).await;
    assert_eq!(next(&mut client).await, Message::text(PONG));
    send(
        &mut client,
        Message::text(r#"{"type":"msg","id":"m1","data":1}"#),
    )
    .await;
    expect_auth_close(&mut client, "authentication required").await;
}

#[tokio::test]
async fn a_valid_token_allows_messages_and_its_channels_only() {
    let address = start_with_secret().await;
    let token = token(address, "channels=nav:*").await;
    let mut client = connect_protocol(address, "auth").await;
    send(&mut client, auth(&token)).await;
    send(
        &mut client,
        Message::text(r#"{"type":"msg","id":"m1","data":1}"#),
    )
    .await;
    assert_eq!(next(&mut client).await, Message::text("1"));
    assert_eq!(next(&mut client).await, ack("m1"));
    send(
        &mut client,
        Message::text(r#"{"type":"subscribe","channel":"nav:F1"}"#),
    )
    .await;
    expect_subscribed(&mut client, "nav:F1", 0).await;
    send(
        &mut client,
        Message::text(r#"{"type":"subscribe","channel":"risk:1"}"#),
    )
    .await;
    let refusal = next(&mut client).await;
    let refusal = refusal.to_text().unwrap();
    assert!(
        refusal.contains(r#""code":"forbidden""#) && refusal.contains(r#""channel":"risk:1""#),
        "{refusal}"
    );
    send(&mut client, Message::text(PING)).await;
    assert_eq!(
        next(&mut client).await,
        Message::text(PONG),
        "the connection stays"
    );
}

#[tokio::test]
async fn a_token_in_the_query_works_and_a_bad_one_closes_at_once() {
    let address = start_with_secret().await;
    let token = token(address, "").await;
    let (mut client, _) =
        connect_offering_at(address, &format!("/ws?tag=q&token={token}"), SUBPROTOCOL).await;
    expect_hello(&mut client).await;
    send(
        &mut client,
        Message::text(r#"{"type":"msg","id":"m1","data":1}"#),
    )
    .await;
    assert_eq!(next(&mut client).await, Message::text("1"));
    let mut client = connect_to(address, "/ws?tag=q&token=not.a.token").await;
    expect_hello(&mut client).await;
    expect_auth_close(&mut client, "malformed token").await;
}

#[tokio::test]
async fn an_expired_token_is_refused_and_a_live_one_closes_when_it_expires() {
    let address = start_with_secret().await;
    let expired = token(address, "ttl=-5").await;
    let mut client = connect_protocol(address, "auth").await;
    send(&mut client, auth(&expired)).await;
    expect_auth_close(&mut client, "token expired at").await;

    let short = token(address, "ttl=1").await;
    let mut client = connect_protocol(address, "auth").await;
    send(&mut client, auth(&short)).await;
    expect_auth_close(&mut client, "token expired").await;
}

#[tokio::test]
async fn a_publication_outside_the_tokens_publish_claim_is_refused_by_id() {
    let address = start_with_secret().await;
    let reader = token(address, "channels=approvals:*").await;
    let writer = token(address, "channels=approvals:*&publish=approvals:desk-*").await;
    let mut watcher = connect_protocol(address, "auth").await;
    send(&mut watcher, auth(&reader)).await;
    subscribe(&mut watcher, "approvals:desk-3", None, 0).await;

    let mut client = connect_protocol(address, "auth").await;
    send(&mut client, auth(&reader)).await;
    send(&mut client, publish_frame("w-1", "approvals:desk-3", "7")).await;
    assert_eq!(
        next(&mut client).await,
        Message::text(
            r#"{"type":"error","code":"forbidden","id":"w-1","message":"the token does not allow publishing to approvals:desk-3"}"#
        ),
        "refused, not acknowledged"
    );
    send(&mut client, auth(&writer)).await;
    send(&mut client, publish_frame("w-2", "approvals:desk-3", "8")).await;
    assert_eq!(next(&mut client).await, ack("w-2"), "the connection stayed");
    assert_eq!(
        next_pub(&mut watcher, "approvals:desk-3").await,
        (1, "8".to_owned())
    );
    send(&mut client, publish_frame("w-3", "approvals:other", "9")).await;
    let refused = next(&mut client).await;
    assert!(
        refused.to_text().expect("text").contains(r#""id":"w-3""#),
        "{refused:?}"
    );
}

#[tokio::test]
async fn with_a_token_the_dedupe_scope_is_its_sub() {
    let address = start_with_secret().await;
    let ann = token(address, "sub=ann").await;
    let bob = token(address, "sub=bob").await;
    let msg = Message::text(r#"{"type":"msg","id":"m-1","text":"x"}"#);
    // Two client ids (two browsers, say) of one user share one window.
    let mut laptop = connect_as(address, "sub", "laptop").await;
    send(&mut laptop, auth(&ann)).await;
    send(&mut laptop, msg.clone()).await;
    assert_eq!(next(&mut laptop).await, Message::text("x"));
    assert_eq!(next(&mut laptop).await, ack("m-1"));
    let mut phone = connect_as(address, "sub", "phone").await;
    send(&mut phone, auth(&ann)).await;
    send(&mut phone, msg.clone()).await;
    assert_eq!(next(&mut phone).await, ack("m-1"), "a repeat of ann's");
    // The same client id under another sub is another scope.
    let mut shared = connect_as(address, "sub", "laptop").await;
    send(&mut shared, auth(&bob)).await;
    send(&mut shared, msg).await;
    assert_eq!(next(&mut shared).await, Message::text("x"), "new for bob");
    assert_eq!(next(&mut shared).await, ack("m-1"));
    assert_eq!(
        control(address, "/control/stats?tag=sub").await["duplicates"],
        1
    );
}
