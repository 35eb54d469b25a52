//! Tokens in a real browser, against a reference server started with
//! `--jwt-secret` (its address in TABWIRE_TEST_AUTH_SERVER): the provider
//! is asked again after the server closes an expired token's connection,
//! a forbidden channel is refused without a disconnect, and a publication
//! the token does not allow is rejected and leaves the outbox. Run by
//! `scripts/test.sh`.

#![cfg(target_arch = "wasm32")]

mod support;

use js_sys::{Array, Function, Reflect};
use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function token_provider(url, calls) {
  return async (context) => {
    calls.push(context.authFailed);
    const response = await fetch(url, { method: "POST" });
    return (await response.json()).token;
  };
}
export function fetch_token(url) {
  return fetch(url, { method: "POST" }).then((response) => response.json()).then((body) => body.token);
}
"#)]
extern "C" {
    /// A token provider that mints a token at `url` on every call and
    /// records each call's `authFailed` in `calls`.
    fn token_provider(url: &str, calls: &Array) -> Function;
    fn fetch_token(url: &str) -> js_sys::Promise;
}

fn auth_server() -> &'static str {
    match option_env!("TABWIRE_TEST_AUTH_SERVER") {
        Some(address) => address,
        None => panic!("set TABWIRE_TEST_AUTH_SERVER=127.0.0.1:PORT of a tabwire-server --jwt-secret (scripts/test.sh does)"),
    }
}

fn token_url(query: &str) -> String {
    format!("http://{}/control/token?{query}", auth_server())
}

/// Options for the auth server under `tag`, with `token` and any other
/// options of `json`.
fn auth_options(tag: &str, json: &str, token: JsValue) -> JsValue {
    let options = options(tag, json);
    Reflect::set(&options, &"url".into(), &format!("ws://{}/ws?tag={tag}", auth_server()).into()).unwrap();
    Reflect::set(&options, &"token".into(), &token).unwrap();
    options
}

const QUICK: &str = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":false}"#;

#[wasm_bindgen_test]
async fn an_expired_token_is_replaced_by_the_provider_and_a_forbidden_channel_keeps_the_connection() {
    let calls = Array::new();
    let provider = token_provider(&token_url("channels=nav:*&ttl=2"), &calls);
    let client = client(auth_options("auth-expiry", QUICK, provider.into()));
    let events = Recorder::attach(&client);
    events.wait("open", 5_000, |e| e.count("open") == 1).await;
    let (_, listener) = collector();
    let _nav = client.subscribe("nav:F1".into(), listener.clone(), JsValue::UNDEFINED).unwrap();
    let _risk = client.subscribe("risk:1".into(), listener, JsValue::UNDEFINED).unwrap();
    events.wait("the refusal", 5_000, |e| e.count("subscribe_error") == 1).await;
    let refusal = &events.of("subscribe_error")[0];
    assert_eq!((text(refusal, "channel"), text(refusal, "code")), ("risk:1".to_owned(), "forbidden".to_owned()));
    assert!(events.of("subscribed").iter().any(|s| text(s, "channel") == "nav:F1"));
    assert_eq!(events.count("close"), 0, "a forbidden channel does not disconnect");

    // The token lives 2 s: the server closes with 4401, the provider is
    // asked again with authFailed, and the client connects again.
    events.wait("the second connection", 8_000, |e| e.count("open") == 2).await;
    let close = &events.of("close")[0];
    assert_eq!(number(close, "code"), 4401.0);
    let flags: Vec<bool> = calls.iter().map(|flag| flag.as_bool().unwrap_or(false)).collect();
    assert_eq!(flags, [false, true]);
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_token_in_the_query_authenticates_the_socket() {
    let token = JsFuture::from(fetch_token(&token_url(""))).await.unwrap();
    let json = r#"{"reconnect":{"minDelayMs":20,"maxDelayMs":100},"heartbeat":false,"tokenIn":"query"}"#;
    let client = client(auth_options("auth-query", json, token));
    let events = Recorder::attach(&client);
    receipt(&client, "hello");
    events.wait("the ack", 5_000, |e| e.count("ack") == 1).await;
    assert_eq!(events.count("close"), 0);
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_publication_the_token_does_not_allow_is_rejected_and_leaves_the_outbox() {
    let token = JsFuture::from(fetch_token(&token_url("publish=approvals:desk-*"))).await.unwrap();
    let client = client(auth_options("auth-publish", QUICK, token));
    let events = Recorder::attach(&client);
    let publish = |channel: &str| {
        let receipt = client.publish(channel.into(), 7.into()).unwrap_or_else(|e| panic!("{:?}", JsValue::from(e)));
        text(&receipt.js_value(), "id")
    };
    let forbidden = publish("approvals:other");
    let allowed = publish("approvals:desk-3");
    events.wait("the ack and the refusal", 5_000, |e| e.count("ack") == 1 && e.count("rejected") == 1).await;
    let rejected = &events.of("rejected")[0];
    assert_eq!((text(rejected, "id"), text(rejected, "code")), (forbidden, "forbidden".to_owned()));
    assert!(text(rejected, "message").contains("approvals:other"), "{:?}", rejected);
    assert_eq!(text(&events.of("ack")[0], "id"), allowed);
    assert!(client.outbox().is_empty(), "nothing left to resend");
    assert_eq!(events.count("close"), 0, "the connection stays");
    client.close(None, None).unwrap();
}

#[wasm_bindgen_test]
fn a_token_of_the_wrong_type_is_refused() {
    let error = construction_error(auth_options("auth-bad", QUICK, 42.into()));
    assert!(error.contains("token must be a string or a function"), "{error}");
}
