//! The frames the server sends in protocol mode, built as compact JSON with
//! `type` first, as `docs/PROTOCOL.md` shows them.

use super::{Message, MAX_ID_BYTES, SUBPROTOCOL};
use crate::history::{Gap, GapReason};

/// The server's greeting, the first frame of every `/ws` connection:
/// `{"type":"hello","protocol":"tabwire.v1","session":"...","time":<unix ms>,
/// "limits":{"maxFrameBytes":N,"maxIdBytes":128}}`. It tells the client
/// that the connection is in protocol mode, whatever subprotocol it offered.
pub fn hello(session: &str, unix_ms: u64, max_frame_bytes: usize) -> Message {
    Message::Text(format!(
        r#"{{"type":"hello","protocol":"{SUBPROTOCOL}","session":{},"time":{unix_ms},"limits":{{"maxFrameBytes":{max_frame_bytes},"maxIdBytes":{MAX_ID_BYTES}}}}}"#,
        json_string(session)
    ))
}

/// The acknowledgement of the message `id`: `{"type":"ack","id":"..."}`.
pub fn ack(id: &str) -> Message {
    Message::Text(format!(r#"{{"type":"ack","id":{}}}"#, json_string(id)))
}

/// The text of a message of `channel` for its subscribers:
/// `{"type":"pub","channel":"...","offset":N,"data":...}`; `data` is JSON text.
pub fn publication(channel: &str, offset: u64, data: &str) -> String {
    format!(
        r#"{{"type":"pub","channel":{},"offset":{offset},"data":{data}}}"#,
        json_string(channel)
    )
}

/// The answer to `subscribe`:
/// `{"type":"subscribed","channel":"...","offset":N,"epoch":"..."}`,
/// `offset` being the channel's newest message (0 before the first) in the
/// history named `epoch`.
pub fn subscribed(channel: &str, offset: u64, epoch: &str) -> Message {
    Message::Text(format!(
        r#"{{"type":"subscribed","channel":{},"offset":{offset},"epoch":{}}}"#,
        json_string(channel),
        json_string(epoch)
    ))
}

/// The answer to `unsubscribe`: `{"type":"unsubscribed","channel":"..."}`.
pub fn unsubscribed(channel: &str) -> Message {
    Message::Text(format!(
        r#"{{"type":"unsubscribed","channel":{}}}"#,
        json_string(channel)
    ))
}

/// A subscription ended by the server because the client's new token (a
/// later `auth` frame) does not allow its channel:
/// `{"type":"unsubscribed","channel":"...","reason":"forbidden"}`. The
/// frame a client already knows, with a reason it may ignore.
pub fn unsubscribed_forbidden(channel: &str) -> Message {
    Message::Text(format!(
        r#"{{"type":"unsubscribed","channel":{},"reason":"forbidden"}}"#,
        json_string(channel)
    ))
}

/// Messages after `since` are lost, because the history was trimmed or
/// started anew (`reason`); the replay starts at `gap.from`, in the history
/// named `epoch`:
/// `{"type":"gap","channel":"...","since":S,"from":F,"reason":"trimmed"|"reset","epoch":"..."}`.
pub fn gap(channel: &str, since: u64, gap: &Gap, epoch: &str) -> Message {
    let reason = match gap.reason {
        GapReason::Trimmed => "trimmed",
        GapReason::Reset => "reset",
    };
    Message::Text(format!(
        r#"{{"type":"gap","channel":{},"since":{since},"from":{},"reason":"{reason}","epoch":{}}}"#,
        json_string(channel),
        gap.from,
        json_string(epoch)
    ))
}

/// The answer to a publication the client's token does not allow; the
/// message is not handled and never will be:
/// `{"type":"error","code":"forbidden","id":"...","message":"..."}`.
pub fn forbidden_publication(id: &str, channel: &str) -> Message {
    let message = format!("the token does not allow publishing to {channel}");
    refused_message(id, "forbidden", &message)
}

/// The answer to a publication whose channel name is longer than the
/// server takes (`max` bytes); never handled:
/// `{"type":"error","code":"channel_too_long","id":"...","message":"..."}`.
pub fn publication_channel_too_long(id: &str, channel: &str, max: usize) -> Message {
    refused_message(id, CHANNEL_TOO_LONG, &too_long(channel, max))
}

/// The answer to a subscription the client's token does not allow:
/// `{"type":"error","code":"forbidden","channel":"...","message":"..."}`.
pub fn forbidden(channel: &str) -> Message {
    refused_subscription(
        channel,
        "forbidden",
        "the token does not allow this channel",
    )
}

/// The answer to a subscription past the `max` channels a connection may
/// listen to; the connection's other subscriptions hold:
/// `{"type":"error","code":"too_many_subscriptions","channel":"...","message":"..."}`.
pub fn too_many_subscriptions(channel: &str, max: usize) -> Message {
    let message = format!("a connection may subscribe to {max} channels at most");
    refused_subscription(channel, "too_many_subscriptions", &message)
}

/// The answer to a subscription whose channel name is longer than the
/// server takes (`max` bytes):
/// `{"type":"error","code":"channel_too_long","channel":"...","message":"..."}`.
pub fn channel_too_long(channel: &str, max: usize) -> Message {
    refused_subscription(channel, CHANNEL_TOO_LONG, &too_long(channel, max))
}

const CHANNEL_TOO_LONG: &str = "channel_too_long";

fn too_long(channel: &str, max: usize) -> String {
    format!(
        "channel: {} bytes; this server takes at most {max}",
        channel.len()
    )
}

/// An error that refuses the message `id` for good.
fn refused_message(id: &str, code: &str, message: &str) -> Message {
    Message::Text(format!(
        r#"{{"type":"error","code":"{code}","id":{},"message":{}}}"#,
        json_string(id),
        json_string(message)
    ))
}

/// An error that refuses the subscription to `channel`.
fn refused_subscription(channel: &str, code: &str, message: &str) -> Message {
    Message::Text(format!(
        r#"{{"type":"error","code":"{code}","channel":{},"message":{}}}"#,
        json_string(channel),
        json_string(message)
    ))
}

/// The answer to a malformed frame:
/// `{"type":"error","code":"bad_frame","message":"..."}`.
pub fn bad_frame(message: &str) -> Message {
    Message::Text(format!(
        r#"{{"type":"error","code":"bad_frame","message":{}}}"#,
        json_string(message)
    ))
}

/// `text` as a JSON string literal.
pub(super) fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_and_errors_are_compact_with_type_first() {
        assert_eq!(
            ack("m-1"),
            Message::Text(r#"{"type":"ack","id":"m-1"}"#.into())
        );
        assert_eq!(
            ack("a\"b\\c\n\u{e9}"),
            Message::Text("{\"type\":\"ack\",\"id\":\"a\\\"b\\\\c\\n\u{e9}\"}".into())
        );
        assert_eq!(
            bad_frame("id: \"x\""),
            Message::Text(r#"{"type":"error","code":"bad_frame","message":"id: \"x\""}"#.into())
        );
    }

    #[test]
    fn channel_frames_carry_the_channel_and_offsets() {
        assert_eq!(
            publication("nav:\"1\"", 7, r#"{"nav": 101.5}"#),
            r#"{"type":"pub","channel":"nav:\"1\"","offset":7,"data":{"nav": 101.5}}"#
        );
        assert_eq!(
            subscribed("x", 0, "e-1"),
            Message::Text(r#"{"type":"subscribed","channel":"x","offset":0,"epoch":"e-1"}"#.into())
        );
        assert_eq!(
            unsubscribed("x"),
            Message::Text(r#"{"type":"unsubscribed","channel":"x"}"#.into())
        );
        assert_eq!(
            unsubscribed_forbidden("x"),
            Message::Text(r#"{"type":"unsubscribed","channel":"x","reason":"forbidden"}"#.into())
        );
        for (reason, named) in [(GapReason::Trimmed, "trimmed"), (GapReason::Reset, "reset")] {
            let frame = format!(
                r#"{{"type":"gap","channel":"x","since":3,"from":9,"reason":"{named}","epoch":"e"}}"#
            );
            let gap_of = Gap { from: 9, reason };
            assert_eq!(gap("x", 3, &gap_of, "e"), Message::Text(frame));
        }
    }

    #[test]
    fn the_server_hello_names_the_protocol_session_time_and_limits() {
        let Message::Text(text) = hello("s-1", 1_700_000_000_000, 1_048_576) else {
            panic!("a text frame");
        };
        assert_eq!(
            text,
            r#"{"type":"hello","protocol":"tabwire.v1","session":"s-1","time":1700000000000,"limits":{"maxFrameBytes":1048576,"maxIdBytes":128}}"#
        );
    }
}
