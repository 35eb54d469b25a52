//! End-to-end tests of the claim rules of a JWT server: `exp` required
//! unless allowed, `nbf` and `iat` within the leeway, `aud` and `iss` when
//! the server has them, claim values of any size never stopping the server,
//! and a narrower token sent again ending the subscriptions it no longer
//! allows.

mod common;

use common::auth::*;
use common::*;

const SECRET: &str = "a secret of 16 bytes or more";

async fn start_with(jwt: JwtConfig) -> SocketAddr {
    let mut config = config(true, missing_dir(), missing_dir());
    config.jwt = Some(jwt);
    start(config).await
}

#[tokio::test]
async fn a_token_without_exp_is_refused_unless_the_server_allows_it() {
    let strict = start_with(JwtConfig::new(SECRET)).await;
    let no_exp = token_with(strict, &json!({ "exp": null })).await;
    expect_refused(strict, &no_exp, "token has no exp").await;

    let lax = start_with(JwtConfig {
        allow_no_exp: true,
        ..JwtConfig::new(SECRET)
    })
    .await;
    let no_exp = token_with(lax, &json!({ "exp": null })).await;
    let mut client = expect_taken(lax, &no_exp).await;
    send(&mut client, Message::text(PING)).await;
    assert_eq!(next(&mut client).await, Message::text(PONG));
}

#[tokio::test]
async fn nbf_and_iat_are_taken_within_the_leeway_only() {
    let address = start_with(JwtConfig::new(SECRET)).await;
    let now = unix_now();
    let soon = token_with(address, &json!({ "nbf": now + 10, "iat": now + 10 })).await;
    expect_taken(address, &soon).await;
    let later = token_with(address, &json!({ "nbf": now + 120 })).await;
    expect_refused(address, &later, "token not valid before").await;
    let future = token_with(address, &json!({ "iat": now + 120 })).await;
    expect_refused(address, &future, "token issued in the future").await;
}

#[tokio::test]
async fn aud_and_iss_must_match_the_servers() {
    let address = start_with(JwtConfig {
        audience: Some("tabwire".to_owned()),
        issuer: Some("https://auth.example".to_owned()),
        ..JwtConfig::new(SECRET)
    })
    .await;
    // The control API's tokens carry the server's aud and iss.
    expect_taken(address, &token(address, "").await).await;
    let listed = token_with(address, &json!({ "aud": ["other", "tabwire"] })).await;
    expect_taken(address, &listed).await;
    for aud in [json!("other"), json!(["other"]), json!(null)] {
        let wrong = token_with(address, &json!({ "aud": aud })).await;
        expect_refused(address, &wrong, "token aud does not name this server").await;
    }
    let wrong = token_with(address, &json!({ "iss": "https://evil.example" })).await;
    expect_refused(address, &wrong, "token iss is not the issuer").await;
}

#[tokio::test]
async fn huge_and_odd_claim_values_never_stop_the_server() {
    let address = start_with(JwtConfig::new(SECRET)).await;
    let max = json!(u64::MAX);
    let huge: Value = serde_json::from_str("1e300").expect("JSON");
    let now = unix_now();
    // Far expiries are taken, the connection staying until then.
    for exp in [max.clone(), huge.clone(), json!(now as f64 + 600.5)] {
        let far = token_with(address, &json!({ "exp": exp })).await;
        let mut client = expect_taken(address, &far).await;
        send(&mut client, Message::text(PING)).await;
        assert_eq!(next(&mut client).await, Message::text(PONG), "{exp}");
    }
    for (claims, reason) in [
        (json!({ "nbf": max }), "token not valid before"),
        (json!({ "nbf": huge }), "token not valid before"),
        (json!({ "iat": max }), "token issued in the future"),
        (json!({ "exp": -1 }), "token exp is not a number"),
        (json!({ "exp": "soon" }), "token exp is not a number"),
        (json!({ "nbf": -1e300 }), "token nbf is not a number"),
        (json!({ "iat": [1] }), "token iat is not a number"),
    ] {
        let odd = token_with(address, &claims).await;
        expect_refused(address, &odd, reason).await;
    }
    // And an ordinary client is still served.
    expect_taken(address, &token(address, "").await).await;
}

#[tokio::test]
async fn a_narrower_token_sent_again_ends_the_subscriptions_it_no_longer_allows() {
    let address = start_with(JwtConfig::new(SECRET)).await;
    let wide = token(address, "channels=nav:*,risk:*").await;
    let narrow = token(address, "channels=nav:*").await;
    let mut client = connect_protocol(address, "reauth").await;
    send(&mut client, auth(&wide)).await;
    subscribe(&mut client, "nav:1", None, 0).await;
    subscribe(&mut client, "risk:1", None, 0).await;

    send(&mut client, auth(&narrow)).await;
    assert_eq!(
        next(&mut client).await,
        Message::text(r#"{"type":"unsubscribed","channel":"risk:1","reason":"forbidden"}"#)
    );
    control(address, "/control/publish?channel=risk:1&data=1").await;
    control(address, "/control/publish?channel=nav:1&data=2").await;
    assert_eq!(
        next_pub(&mut client, "nav:1").await,
        (1, "2".to_owned()),
        "the allowed channel goes on; the other's message never came"
    );
    send(&mut client, auth(&narrow)).await;
    send(&mut client, Message::text(PING)).await;
    assert_eq!(
        next(&mut client).await,
        Message::text(PONG),
        "the same token again ends nothing"
    );
}
