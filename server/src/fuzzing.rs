//! Entry points for the fuzz targets (`fuzz/`): the pure decoders of what a
//! client sends, with the promises each makes checked. Not an API.

use std::time::Instant;

use crate::auth;
use crate::jwt::{self, JwtConfig};
use crate::protocol::{
    check_channel, check_name, decide, decide_protocol, Message, ProtocolAction, MAX_ID_BYTES,
};

/// Decides a text frame in both modes. Panics if a promise breaks: an
/// answer that is not JSON, a message without an id or with one over 128
/// bytes, a channel that the channel rules refuse, a client id (hello) or
/// an epoch (subscribe) not of their form.
pub fn frame(text: &str) {
    let _ = decide(Message::Text(text.to_owned()));
    match decide_protocol(&Message::Text(text.to_owned())) {
        ProtocolAction::Reply(Message::Text(reply)) => {
            let parsed = serde_json::from_str::<serde_json::Value>(&reply);
            assert!(parsed.is_ok(), "an answer that is not JSON: {reply}");
        }
        ProtocolAction::Reply(Message::Binary(_)) => panic!("a binary answer to a text frame"),
        ProtocolAction::Deliver(delivery) => {
            assert!(!delivery.id.is_empty(), "a message without an id");
            assert!(delivery.id.len() <= MAX_ID_BYTES, "an id over the limit");
        }
        ProtocolAction::Subscribe { channel, since } => {
            assert_eq!(
                check_channel(&channel),
                Ok(()),
                "a channel the rules refuse"
            );
            if let Some(epoch) = since.and_then(|since| since.epoch) {
                assert_eq!(check_name("epoch", &epoch), Ok(()), "a malformed epoch");
            }
        }
        ProtocolAction::Unsubscribe(channel) => {
            assert_eq!(
                check_channel(&channel),
                Ok(()),
                "a channel the rules refuse"
            );
        }
        ProtocolAction::Hello(client) => {
            assert_eq!(
                check_name("client", &client),
                Ok(()),
                "a malformed client id"
            );
        }
        ProtocolAction::Auth(_) => {}
    }
}

/// Takes `input` two ways, under every claim rule (exp required or not, a
/// leeway of 0, 30 s or u64::MAX, an audience and issuer or none): as a
/// whole token against a fixed secret, and as the claims part of a token
/// signed with that secret, so that arbitrary claim values reach the claim
/// checks and the expiry deadline computed from them. Panics if a promise
/// breaks: a granted token expired, or without `exp` where one is required.
pub fn token(input: &str) {
    let signed = jwt::sign_bytes(input.as_bytes(), FUZZ_SECRET);
    for config in configs() {
        let _ = jwt::verify(input, &config, NOW);
        if let Ok(grant) = jwt::verify(&signed, &config, NOW) {
            match grant.expires_at {
                Some(exp) => {
                    assert!(exp > NOW, "granted an expired token");
                    let _ = auth::expiry(exp, NOW, Instant::now());
                }
                None => assert!(config.allow_no_exp, "granted a token without exp"),
            }
        }
    }
}

const FUZZ_SECRET: &[u8] = b"a secret for fuzzing, 16+ bytes";
const NOW: u64 = 1_800_000_000;

fn configs() -> [JwtConfig; 3] {
    let strict = JwtConfig::new(FUZZ_SECRET);
    [
        JwtConfig {
            leeway_secs: 0,
            audience: Some("tabwire".to_owned()),
            issuer: Some("https://auth.example".to_owned()),
            ..strict.clone()
        },
        JwtConfig {
            allow_no_exp: true,
            leeway_secs: u64::MAX,
            ..strict.clone()
        },
        strict,
    ]
}
