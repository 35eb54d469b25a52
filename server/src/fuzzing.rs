//! Entry points for the fuzz targets (`fuzz/`): the pure decoders of what a
//! client sends, with the promises each makes checked. Not an API.

use crate::jwt;
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

/// Verifies a client token against a fixed secret; never panics.
pub fn token(token: &str) {
    let _ = jwt::verify(token, b"a secret for fuzzing, 16+ bytes", 1_800_000_000);
}
