//! Entry points for the fuzz targets (`fuzz/`): the pure decoders of what a
//! client sends, with the promises each makes checked. Not an API.

use crate::jwt;
use crate::protocol::{check_channel, decide, decide_protocol, Message, ProtocolAction};

/// Decides a text frame in both modes. Panics if a promise breaks: an
/// answer that is not JSON, a message without an id, a channel that the
/// channel rules refuse.
pub fn frame(text: &str) {
    let _ = decide(Message::Text(text.to_owned()));
    match decide_protocol(&Message::Text(text.to_owned())) {
        ProtocolAction::Reply(Message::Text(reply)) => {
            let parsed = serde_json::from_str::<serde_json::Value>(&reply);
            assert!(parsed.is_ok(), "an answer that is not JSON: {reply}");
        }
        ProtocolAction::Reply(Message::Binary(_)) => panic!("a binary answer to a text frame"),
        ProtocolAction::Deliver(delivery) => {
            assert!(!delivery.id.is_empty(), "a message without an id")
        }
        ProtocolAction::Subscribe { channel, .. } | ProtocolAction::Unsubscribe(channel) => {
            assert_eq!(
                check_channel(&channel),
                Ok(()),
                "a channel the rules refuse"
            );
        }
        ProtocolAction::Auth(_) => {}
    }
}

/// Verifies a client token against a fixed secret; never panics.
pub fn token(token: &str) {
    let _ = jwt::verify(token, b"a secret for fuzzing, 16+ bytes", 1_800_000_000);
}
