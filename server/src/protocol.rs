//! The pure decision of what the server does with one inbound WebSocket frame.
//!
//! Kept free of I/O so the rules the browser tests rely on (the exact ping
//! text, what is echoed, what is recorded) are unit tested in one place.

use axum::extract::ws::Message;

/// The heartbeat request the tabwire client sends. Compared byte for byte: a
/// reformatted JSON object is an ordinary message and is echoed.
pub const PING: &str = r#"{"type":"ping"}"#;

/// The heartbeat answer to [`PING`].
pub const PONG: &str = r#"{"type":"pong"}"#;

/// What to do with one inbound frame.
#[derive(Debug, PartialEq)]
pub enum Action {
    /// Send `reply`; when `record` is set, count the frame and remember this
    /// description of it for `/control/received`.
    Reply {
        reply: Message,
        record: Option<String>,
    },
    /// Nothing to do here: WebSocket ping, pong and close frames are answered
    /// by the WebSocket library itself as the protocol requires.
    Nothing,
}

/// Decides the answer to `frame`: heartbeat pings get a pong and are not
/// recorded (they are not application traffic); every other data frame is
/// echoed unchanged, in the same frame type, and recorded.
pub fn decide(frame: &Message) -> Action {
    match frame {
        Message::Text(text) if text.as_str() == PING => Action::Reply {
            reply: Message::Text(PONG.into()),
            record: None,
        },
        Message::Text(text) => Action::Reply {
            reply: frame.clone(),
            record: Some(text.as_str().to_owned()),
        },
        Message::Binary(bytes) => Action::Reply {
            reply: frame.clone(),
            record: Some(describe_binary(bytes.len())),
        },
        Message::Ping(_) | Message::Pong(_) | Message::Close(_) => Action::Nothing,
    }
}

/// How a binary frame appears in the recorded frames: its payload is not
/// kept, only its size, so the control API stays JSON text.
pub fn describe_binary(len: usize) -> String {
    format!("<binary {len} bytes>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ws::CloseFrame;

    #[test]
    fn heartbeat_ping_gets_pong_and_is_not_recorded() {
        assert_eq!(
            decide(&Message::Text(PING.into())),
            Action::Reply {
                reply: Message::Text(PONG.into()),
                record: None
            }
        );
    }

    #[test]
    fn ping_must_match_exactly() {
        let spaced = r#"{"type": "ping"}"#;
        assert_eq!(
            decide(&Message::Text(spaced.into())),
            Action::Reply {
                reply: Message::Text(spaced.into()),
                record: Some(spaced.to_owned())
            }
        );
    }

    #[test]
    fn pong_text_from_client_is_echoed() {
        assert_eq!(
            decide(&Message::Text(PONG.into())),
            Action::Reply {
                reply: Message::Text(PONG.into()),
                record: Some(PONG.to_owned())
            }
        );
    }

    #[test]
    fn text_is_echoed_and_recorded() {
        assert_eq!(
            decide(&Message::Text("hello".into())),
            Action::Reply {
                reply: Message::Text("hello".into()),
                record: Some("hello".to_owned())
            }
        );
    }

    #[test]
    fn empty_text_is_echoed_and_recorded() {
        assert_eq!(
            decide(&Message::Text("".into())),
            Action::Reply {
                reply: Message::Text("".into()),
                record: Some(String::new())
            }
        );
    }

    #[test]
    fn binary_is_echoed_as_binary_and_recorded_by_size() {
        let frame = Message::Binary(vec![1u8, 2, 3].into());
        assert_eq!(
            decide(&frame),
            Action::Reply {
                reply: Message::Binary(vec![1u8, 2, 3].into()),
                record: Some("<binary 3 bytes>".to_owned())
            }
        );
    }

    #[test]
    fn binary_ping_text_is_not_a_heartbeat() {
        let frame = Message::Binary(PING.as_bytes().to_vec().into());
        assert_eq!(
            decide(&frame),
            Action::Reply {
                reply: frame.clone(),
                record: Some(format!("<binary {} bytes>", PING.len()))
            }
        );
    }

    #[test]
    fn control_frames_are_left_to_the_library() {
        assert_eq!(decide(&Message::Ping(vec![1u8].into())), Action::Nothing);
        assert_eq!(decide(&Message::Pong(vec![1u8].into())), Action::Nothing);
        assert_eq!(decide(&Message::Close(None)), Action::Nothing);
        let frame = CloseFrame {
            code: 1000,
            reason: "done".into(),
        };
        assert_eq!(decide(&Message::Close(Some(frame))), Action::Nothing);
    }
}
