//! The pure decision of what the server does with one inbound WebSocket frame,
//! in raw mode ([`decide`]) and in protocol mode ([`decide_protocol`]).
//!
//! Kept free of I/O so the rules the browser tests rely on (the exact ping
//! text, what is echoed, what is recorded, which frames are refused) are unit
//! tested in one place.

use axum::extract::ws::Message;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::error::Category;
use serde_json::value::RawValue;

/// The WebSocket subprotocol the tabwire client offers; a connection that
/// selects it is in protocol mode, any other in raw mode.
pub const SUBPROTOCOL: &str = "tabwire.v1";

/// The heartbeat request the tabwire client sends. In raw mode it is compared
/// byte for byte: a reformatted JSON object is an ordinary message and is
/// echoed. In protocol mode frames are parsed, so any formatting is a ping.
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

/// What to do with one inbound frame in protocol mode.
#[derive(Debug, PartialEq)]
pub enum ProtocolAction {
    /// Send this frame (a pong, or an error for a malformed frame); nothing
    /// is recorded.
    Reply(Message),
    /// An application message: handle it unless its id was handled already,
    /// then acknowledge it.
    Deliver(Delivery),
    /// Nothing to do: WebSocket control frames are left to the library.
    Nothing,
}

/// A well-formed `msg` frame, ready to be handled.
#[derive(Debug, PartialEq)]
pub struct Delivery {
    /// The client's id of the message, to deduplicate and acknowledge.
    pub id: String,
    /// The payload as an ordinary application frame, sent back when handled.
    pub echo: Message,
    /// How the message appears in `/control/received`.
    pub record: String,
}

/// Decides the answer to `frame` on a connection in protocol mode. Every
/// data frame must be a text frame holding one JSON object with a string
/// `type`: `ping` gets a pong, `msg` is delivered, and anything else gets a
/// `bad_frame` error naming what is wrong (the connection stays open).
pub fn decide_protocol(frame: &Message) -> ProtocolAction {
    match frame {
        Message::Text(text) => match parse(text.as_str()) {
            Ok(Inbound::Ping) => ProtocolAction::Reply(Message::Text(PONG.into())),
            Ok(Inbound::Msg(delivery)) => ProtocolAction::Deliver(delivery),
            Err(problem) => ProtocolAction::Reply(bad_frame(&problem)),
        },
        Message::Binary(_) => ProtocolAction::Reply(bad_frame(
            "frame: binary WebSocket frames are not accepted in protocol mode; \
             send a msg with the bytes in base64 in its `binary` field",
        )),
        Message::Ping(_) | Message::Pong(_) | Message::Close(_) => ProtocolAction::Nothing,
    }
}

/// The acknowledgement of the message `id`: `{"type":"ack","id":"..."}`.
pub fn ack(id: &str) -> Message {
    Message::Text(format!(r#"{{"type":"ack","id":{}}}"#, json_string(id)).into())
}

/// The answer to a malformed frame:
/// `{"type":"error","code":"bad_frame","message":"..."}`.
pub fn bad_frame(message: &str) -> Message {
    Message::Text(
        format!(
            r#"{{"type":"error","code":"bad_frame","message":{}}}"#,
            json_string(message)
        )
        .into(),
    )
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// A well-formed inbound frame of protocol mode.
enum Inbound {
    Ping,
    Msg(Delivery),
}

/// The fields of an inbound frame that matter, each kept as raw JSON so a
/// present `null` is told apart from an absent field and `data` keeps its
/// exact text. Other fields are ignored; a repeated field is an error.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(rename = "type", default, borrow, deserialize_with = "present")]
    kind: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    data: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    text: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    binary: Option<&'a RawValue>,
}

/// Deserializes a field that is present, whatever its value (even `null`).
fn present<'de, D>(deserializer: D) -> Result<Option<&'de RawValue>, D::Error>
where
    D: Deserializer<'de>,
{
    <&RawValue>::deserialize(deserializer).map(Some)
}

/// The string a field holds, or a message naming the field.
fn string_field(name: &str, raw: Option<&RawValue>) -> Result<String, String> {
    let raw = raw.ok_or_else(|| format!("{name}: missing"))?;
    serde_json::from_str(raw.get())
        .map_err(|_| format!("{name}: not a string but {}", json_kind(raw)))
}

/// What kind of JSON value `raw` is, to name it in an error without quoting
/// it (it may be large).
fn json_kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    }
}

/// Parses one text frame, or says what is wrong with it.
fn parse(text: &str) -> Result<Inbound, String> {
    // Checked first: serde would also take a JSON array for the struct.
    if !text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => "frame: not a JSON object".to_owned(),
            Err(error) => format!("frame: not JSON: {error}"),
        });
    }
    let fields: Fields<'_> =
        serde_json::from_str(text).map_err(|error| match error.classify() {
            // Within an object, the only data error left is a repeated field.
            Category::Data => format!("frame: {error}"),
            Category::Io | Category::Syntax | Category::Eof => format!("frame: not JSON: {error}"),
        })?;
    let kind = string_field("type", fields.kind)?;
    match kind.as_str() {
        "ping" => Ok(Inbound::Ping),
        "msg" => parse_msg(&fields).map(Inbound::Msg),
        other => Err(format!(
            "type: {} is not a frame a client sends (expected \"ping\" or \"msg\")",
            json_string(other)
        )),
    }
}

/// The payload of a `msg`: exactly one of `data`, `text` and `binary`.
fn parse_msg(fields: &Fields<'_>) -> Result<Delivery, String> {
    let id = string_field("id", fields.id)?;
    if id.is_empty() {
        return Err("id: empty".to_owned());
    }
    let (echo, record) = match (fields.data, fields.text, fields.binary) {
        (Some(data), None, None) => (Message::Text(data.get().into()), data.get().to_owned()),
        (None, Some(_), None) => {
            let text = string_field("text", fields.text)?;
            (Message::Text(text.as_str().into()), text)
        }
        (None, None, Some(_)) => {
            let encoded = string_field("binary", fields.binary)?;
            let bytes = tabwire::core::base64::decode(&encoded).map_err(|problem| {
                format!("binary: not standard base64 with padding: {problem}")
            })?;
            let record = describe_binary(bytes.len());
            (Message::Binary(bytes.into()), record)
        }
        (data, text, binary) => {
            let given: Vec<&str> = [("data", data), ("text", text), ("binary", binary)]
                .into_iter()
                .filter_map(|(name, raw)| raw.map(|_| name))
                .collect();
            let given = if given.is_empty() {
                "none".to_owned()
            } else {
                given.join(" and ")
            };
            return Err(format!(
                "data, text, binary: a msg needs exactly one of them, got {given}"
            ));
        }
    };
    Ok(Delivery { id, echo, record })
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

    // Protocol mode.

    fn protocol(frame: &str) -> ProtocolAction {
        decide_protocol(&Message::Text(frame.into()))
    }

    fn delivery(id: &str, echo: Message, record: &str) -> ProtocolAction {
        ProtocolAction::Deliver(Delivery {
            id: id.to_owned(),
            echo,
            record: record.to_owned(),
        })
    }

    /// The error message of the `bad_frame` answer to `frame`.
    fn refusal(frame: &Message) -> String {
        let ProtocolAction::Reply(Message::Text(reply)) = decide_protocol(frame) else {
            panic!("{frame:?} was not refused");
        };
        let reply: serde_json::Value = serde_json::from_str(reply.as_str()).expect("JSON error");
        assert_eq!(reply["type"], "error", "{frame:?} got {reply}");
        assert_eq!(reply["code"], "bad_frame", "{reply}");
        match reply["message"].as_str() {
            Some(message) => message.to_owned(),
            None => panic!("no message in {reply}"),
        }
    }

    fn refusal_of(frame: &str) -> String {
        refusal(&Message::Text(frame.into()))
    }

    #[test]
    fn protocol_ping_in_any_formatting_gets_pong() {
        for ping in [
            PING,
            r#" { "type" : "ping" } "#,
            "{\n\"type\":\"ping\"}",
            r#"{"type":"ping","t":1}"#,
        ] {
            assert_eq!(
                protocol(ping),
                ProtocolAction::Reply(Message::Text(PONG.into())),
                "{ping}"
            );
        }
    }

    #[test]
    fn msg_with_data_keeps_the_raw_json() {
        let frame = r#"{"type":"msg","id":"1","data": {"b":1, "a":2} }"#;
        assert_eq!(
            protocol(frame),
            delivery(
                "1",
                Message::Text(r#"{"b":1, "a":2}"#.into()),
                r#"{"b":1, "a":2}"#
            )
        );
        // Any JSON value is data, null included; fields may come in any order.
        for (frame, data) in [
            (r#"{"data":null,"id":"x","type":"msg"}"#, "null"),
            (r#"{"type":"msg","id":"x","data":"s"}"#, r#""s""#),
            (r#"{"type":"msg","id":"x","data":[1, 2.50]}"#, "[1, 2.50]"),
            (r#"{"type":"msg","id":"x","data":false}"#, "false"),
            (r#"{"type":"msg","id":"x","data":"\u00e9"}"#, r#""\u00e9""#),
        ] {
            assert_eq!(
                protocol(frame),
                delivery("x", Message::Text(data.into()), data),
                "{frame}"
            );
        }
    }

    #[test]
    fn msg_with_text_is_unescaped() {
        assert_eq!(
            protocol(r#"{"type":"msg","id":"t-1","text":"hi \"there\"\n"}"#),
            delivery(
                "t-1",
                Message::Text("hi \"there\"\n".into()),
                "hi \"there\"\n"
            )
        );
        assert_eq!(
            protocol(r#"{"type":"msg","id":"e","text":""}"#),
            delivery("e", Message::Text("".into()), "")
        );
        // A text payload that looks like a ping is still a message.
        assert_eq!(
            protocol(r#"{"type":"msg","id":"p","text":"{\"type\":\"ping\"}"}"#),
            delivery("p", Message::Text(PING.into()), PING)
        );
    }

    #[test]
    fn msg_with_binary_is_decoded() {
        assert_eq!(
            protocol(r#"{"type":"msg","id":"b","binary":"AQID/w=="}"#),
            delivery(
                "b",
                Message::Binary(vec![1u8, 2, 3, 255].into()),
                "<binary 4 bytes>"
            )
        );
        assert_eq!(
            protocol(r#"{"type":"msg","id":"b0","binary":""}"#),
            delivery("b0", Message::Binary(Vec::new().into()), "<binary 0 bytes>")
        );
    }

    #[test]
    fn ids_are_unescaped_and_unknown_fields_ignored() {
        assert_eq!(
            protocol(r#"{"type":"msg","id":"a\"b\u00e9","text":"x","ts":5}"#),
            delivery("a\"b\u{e9}", Message::Text("x".into()), "x")
        );
    }

    #[test]
    fn not_json_or_not_an_object_is_refused() {
        for frame in [
            "",
            "hello",
            "{",
            "[",
            r#"{"type":"ping"} x"#,
            r#"{"type":"ping",}"#,
            "\u{a0}{}",
        ] {
            assert!(
                refusal_of(frame).starts_with("frame: not JSON"),
                "{frame:?}"
            );
        }
        for frame in [
            "5",
            "null",
            r#""ping""#,
            r#"["ping"]"#,
            r#"["msg","1",null,"x"]"#,
            " true ",
        ] {
            assert_eq!(refusal_of(frame), "frame: not a JSON object", "{frame:?}");
        }
    }

    #[test]
    fn type_must_be_a_known_string() {
        assert_eq!(refusal_of("{}"), "type: missing");
        assert_eq!(refusal_of(r#"{"id":"1","text":"x"}"#), "type: missing");
        assert!(refusal_of(r#"{"type":null}"#).starts_with("type: not a string"));
        assert!(refusal_of(r#"{"type":1}"#).starts_with("type: not a string"));
        for kind in ["pong", "ack", "error", "Ping", "", "message"] {
            let message = refusal_of(&format!(r#"{{"type":"{kind}","id":"1","text":"x"}}"#));
            assert!(
                message.starts_with(&format!("type: \"{kind}\" ")),
                "{message}"
            );
        }
    }

    #[test]
    fn msg_needs_a_non_empty_string_id() {
        assert_eq!(refusal_of(r#"{"type":"msg","text":"x"}"#), "id: missing");
        assert_eq!(
            refusal_of(r#"{"type":"msg","id":"","text":"x"}"#),
            "id: empty"
        );
        for (id, kind) in [
            ("null", "null"),
            ("1", "a number"),
            ("-2.5e3", "a number"),
            ("true", "a boolean"),
            ("[\"a\"]", "an array"),
            ("{}", "an object"),
        ] {
            let message = refusal_of(&format!(r#"{{"type":"msg","id":{id},"text":"x"}}"#));
            assert_eq!(message, format!("id: not a string but {kind}"), "{id}");
        }
    }

    #[test]
    fn msg_needs_exactly_one_payload() {
        assert_eq!(
            refusal_of(r#"{"type":"msg","id":"1"}"#),
            "data, text, binary: a msg needs exactly one of them, got none"
        );
        assert_eq!(
            refusal_of(r#"{"type":"msg","id":"1","data":1,"text":"x"}"#),
            "data, text, binary: a msg needs exactly one of them, got data and text"
        );
        assert_eq!(
            refusal_of(r#"{"type":"msg","id":"1","data":null,"text":"x","binary":""}"#),
            "data, text, binary: a msg needs exactly one of them, got data and text and binary"
        );
    }

    #[test]
    fn text_and_binary_must_be_strings() {
        assert!(refusal_of(r#"{"type":"msg","id":"1","text":5}"#).starts_with("text: not a string"));
        assert!(
            refusal_of(r#"{"type":"msg","id":"1","text":null}"#).starts_with("text: not a string")
        );
        assert!(refusal_of(r#"{"type":"msg","id":"1","binary":[1]}"#)
            .starts_with("binary: not a string"));
    }

    #[test]
    fn binary_must_be_padded_standard_base64() {
        for bad in ["AQI", "AQ-_", "AQID/w", "AQ==AQ==", "AQ ID"] {
            let message = refusal_of(&format!(r#"{{"type":"msg","id":"1","binary":"{bad}"}}"#));
            assert!(
                message.starts_with("binary: not standard base64"),
                "{bad}: {message}"
            );
        }
    }

    #[test]
    fn repeated_fields_are_refused() {
        let message = refusal_of(r#"{"type":"msg","id":"1","id":"2","text":"x"}"#);
        assert!(message.contains("duplicate field `id`"), "{message}");
        let message = refusal_of(r#"{"type":"msg","type":"msg","id":"1","text":"x"}"#);
        assert!(message.contains("duplicate field `type`"), "{message}");
    }

    #[test]
    fn binary_frames_are_refused_in_protocol_mode() {
        let message = refusal(&Message::Binary(PING.as_bytes().to_vec().into()));
        assert!(message.contains("binary WebSocket frames"), "{message}");
        assert!(refusal(&Message::Binary(Vec::new().into())).starts_with("frame:"));
    }

    #[test]
    fn protocol_control_frames_are_left_to_the_library() {
        assert_eq!(
            decide_protocol(&Message::Ping(vec![1u8].into())),
            ProtocolAction::Nothing
        );
        assert_eq!(
            decide_protocol(&Message::Pong(vec![1u8].into())),
            ProtocolAction::Nothing
        );
        assert_eq!(
            decide_protocol(&Message::Close(None)),
            ProtocolAction::Nothing
        );
    }

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
}
