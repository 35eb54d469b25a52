//! The pure decision of what the server does with one inbound WebSocket frame,
//! on `/raw` ([`decide`]) and in protocol mode on `/ws` ([`decide_protocol`]);
//! the frames the server sends in protocol mode are built in [`outbound`].
//!
//! Kept free of I/O, and of the WebSocket library, so the rules the browser
//! tests rely on (the exact ping text, what is echoed, what is recorded,
//! which frames are refused) are unit tested in one place.

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::error::Category;
use serde_json::value::RawValue;

mod outbound;

pub use self::outbound::*;
use crate::history::Since;

/// The protocol `/ws` speaks, named in the hellos. Older clients offer it as
/// a WebSocket subprotocol, and `/ws` selects it for them; the connection
/// is in protocol mode whether they do or not.
pub const SUBPROTOCOL: &str = "tabwire.v1";

/// Longest message id, in bytes of UTF-8: the server remembers ids, so their
/// size bounds its memory.
pub const MAX_ID_BYTES: usize = 128;

/// Longest client id or epoch, in characters of `[A-Za-z0-9_-]`.
pub const MAX_NAME_CHARS: usize = 64;

/// The heartbeat request the tabwire client sends. On `/raw` it is compared
/// byte for byte: a reformatted JSON object is an ordinary message and is
/// echoed. In protocol mode frames are parsed, so any formatting is a ping.
pub const PING: &str = r#"{"type":"ping"}"#;

/// The heartbeat answer to [`PING`].
pub const PONG: &str = r#"{"type":"pong"}"#;

/// A WebSocket data frame, inbound or outbound. Control frames (ping, pong,
/// close) never get here: the WebSocket library answers them itself, as the
/// protocol requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Text(String),
    Binary(Vec<u8>),
}

impl Message {
    /// The payload's size in bytes, which the limits bound.
    pub fn size(&self) -> usize {
        match self {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) => bytes.len(),
        }
    }
}

/// What to do with one inbound frame on `/raw`: send `reply`; when
/// `record` is set, count the frame and remember this description of it for
/// `/control/received`.
#[derive(Debug, PartialEq)]
pub struct Action {
    pub reply: Message,
    pub record: Option<String>,
}

/// Decides the answer to `frame`: heartbeat pings get a pong and are not
/// recorded (they are not application traffic); every other frame is echoed
/// unchanged, in the same frame type, and recorded.
pub fn decide(frame: Message) -> Action {
    match frame {
        Message::Text(text) if text == PING => Action {
            reply: Message::Text(PONG.into()),
            record: None,
        },
        Message::Text(text) => Action {
            record: Some(text.clone()),
            reply: Message::Text(text),
        },
        Message::Binary(bytes) => Action {
            record: Some(describe_binary(bytes.len())),
            reply: Message::Binary(bytes),
        },
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
    /// Start sending this connection the messages of a channel, after those
    /// it missed since `since`, if given.
    Subscribe {
        channel: String,
        since: Option<Since>,
    },
    /// Stop sending it the messages of a channel.
    Unsubscribe(String),
    /// The client's credentials (a JWT).
    Auth(String),
    /// The client's hello, naming it with this client id (its dedupe scope
    /// when its token has no `sub`).
    Hello(String),
}

/// A well-formed `msg` frame, ready to be handled.
#[derive(Debug, PartialEq)]
pub struct Delivery {
    /// The client's id of the message, to deduplicate and acknowledge.
    pub id: String,
    /// What handling it means.
    pub handling: Handling,
    /// How the message appears in `/control/received`.
    pub record: String,
}

/// What the server does with a new message.
#[derive(Debug, PartialEq)]
pub enum Handling {
    /// Send the payload back as an ordinary application frame.
    Echo(Message),
    /// Publish `data` (JSON text) to `channel`.
    Publish { channel: String, data: String },
}

/// Decides the answer to `frame` on a connection in protocol mode. Every
/// frame must be a text frame holding one JSON object with a string
/// `type`: `ping` gets a pong, `hello` names the client, `msg` is delivered,
/// `subscribe` and `unsubscribe` change the connection's channels, `auth`
/// brings credentials, and anything else gets a `bad_frame` error naming
/// what is wrong (the connection stays open). Whether a hello is the
/// connection's first is the connection's to check.
pub fn decide_protocol(frame: &Message) -> ProtocolAction {
    match frame {
        Message::Text(text) => match parse(text.as_str()) {
            Ok(Inbound::Ping) => ProtocolAction::Reply(Message::Text(PONG.into())),
            Ok(Inbound::Msg(delivery)) => ProtocolAction::Deliver(delivery),
            Ok(Inbound::Subscribe { channel, since }) => {
                ProtocolAction::Subscribe { channel, since }
            }
            Ok(Inbound::Unsubscribe(channel)) => ProtocolAction::Unsubscribe(channel),
            Ok(Inbound::Auth(token)) => ProtocolAction::Auth(token),
            Ok(Inbound::Hello(client)) => ProtocolAction::Hello(client),
            Err(problem) => ProtocolAction::Reply(bad_frame(&problem)),
        },
        Message::Binary(_) => ProtocolAction::Reply(bad_frame(
            "frame: binary WebSocket frames are not accepted in protocol mode; \
             send a msg with the bytes in base64 in its `binary` field",
        )),
    }
}

/// A well-formed inbound frame of protocol mode.
enum Inbound {
    Ping,
    Msg(Delivery),
    Subscribe {
        channel: String,
        since: Option<Since>,
    },
    Unsubscribe(String),
    Auth(String),
    Hello(String),
}

/// Longest channel name, in bytes of UTF-8.
pub const MAX_CHANNEL_BYTES: usize = 200;

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
    #[serde(default, borrow, deserialize_with = "present")]
    channel: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    since: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    token: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    publish: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    epoch: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    client: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    protocol: Option<&'a RawValue>,
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
        "subscribe" => parse_subscribe(&fields),
        "unsubscribe" => channel_name(&fields).map(Inbound::Unsubscribe),
        "auth" => string_field("token", fields.token).map(Inbound::Auth),
        "hello" => parse_hello(&fields).map(Inbound::Hello),
        other => Err(format!(
            "type: {} is not a frame a client sends (expected \"ping\", \"hello\", \
             \"msg\", \"subscribe\", \"unsubscribe\" or \"auth\")",
            json_string(other)
        )),
    }
}

/// A `subscribe`: its channel, and where it resumes. An `epoch` is checked
/// whenever given, but only means something with `since`.
fn parse_subscribe(fields: &Fields<'_>) -> Result<Inbound, String> {
    let channel = channel_name(fields)?;
    let offset = offset_field("since", fields.since)?;
    let epoch = match fields.epoch {
        None => None,
        Some(raw) => Some(name_field("epoch", Some(raw))?),
    };
    let since = offset.map(|offset| Since { offset, epoch });
    Ok(Inbound::Subscribe { channel, since })
}

/// A client `hello`: its client id. `protocol`, when given, must be the
/// one this server speaks.
fn parse_hello(fields: &Fields<'_>) -> Result<String, String> {
    if let Some(raw) = fields.protocol {
        let protocol = string_field("protocol", Some(raw))?;
        if protocol != SUBPROTOCOL {
            return Err(format!(
                "protocol: {} is not spoken here (expected \"{SUBPROTOCOL}\")",
                json_string(&protocol)
            ));
        }
    }
    name_field("client", fields.client)
}

/// A client id or an epoch: 1 to [`MAX_NAME_CHARS`] characters of
/// `[A-Za-z0-9_-]`.
fn name_field(name: &str, raw: Option<&RawValue>) -> Result<String, String> {
    let value = string_field(name, raw)?;
    check_name(name, &value)?;
    Ok(value)
}

/// Whether `value` has the form of a client id or an epoch.
pub fn check_name(name: &str, value: &str) -> Result<(), String> {
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_';
    if value.is_empty() || value.len() > MAX_NAME_CHARS || !value.bytes().all(allowed) {
        return Err(format!(
            "{name}: 1 to {MAX_NAME_CHARS} characters of A-Z, a-z, 0-9, _ and -"
        ));
    }
    Ok(())
}

/// The `channel` of a subscribe or unsubscribe frame.
fn channel_name(fields: &Fields<'_>) -> Result<String, String> {
    let channel = string_field("channel", fields.channel)?;
    check_channel(&channel)?;
    Ok(channel)
}

/// An optional offset: a whole number from 0 to 2^53 (what JavaScript
/// numbers hold exactly).
fn offset_field(name: &str, raw: Option<&RawValue>) -> Result<Option<u64>, String> {
    let Some(raw) = raw else { return Ok(None) };
    serde_json::from_str::<u64>(raw.get())
        .ok()
        .filter(|offset| *offset <= 1 << 53)
        .map(Some)
        .ok_or_else(|| format!("{name}: not a whole number from 0 to 2^53"))
}

/// A channel is named by 1 to [`MAX_CHANNEL_BYTES`] bytes.
pub fn check_channel(channel: &str) -> Result<(), String> {
    if channel.is_empty() {
        return Err("channel: empty".to_owned());
    }
    if channel.len() > MAX_CHANNEL_BYTES {
        return Err(format!(
            "channel: {} bytes; at most {MAX_CHANNEL_BYTES} are allowed",
            channel.len()
        ));
    }
    Ok(())
}

/// The `publish` of a `msg`: `{"channel": "...", "data": ...}`.
#[derive(Deserialize)]
struct Publish<'a> {
    channel: String,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// The payload of a `msg`: exactly one of `data`, `text`, `binary` and `publish`.
fn parse_msg(fields: &Fields<'_>) -> Result<Delivery, String> {
    let id = string_field("id", fields.id)?;
    if id.is_empty() {
        return Err("id: empty".to_owned());
    }
    if id.len() > MAX_ID_BYTES {
        return Err(format!(
            "id: {} bytes; at most {MAX_ID_BYTES} are allowed",
            id.len()
        ));
    }
    if let Some(publish) = fields.publish {
        if fields.data.is_some() || fields.text.is_some() || fields.binary.is_some() {
            return Err("publish: a msg with publish has no data, text or binary".to_owned());
        }
        let publish: Publish<'_> = serde_json::from_str(publish.get())
            .map_err(|_| "publish: not an object with a string channel and a data".to_owned())?;
        check_channel(&publish.channel)?;
        let record = publish.data.get().to_owned();
        let handling = Handling::Publish {
            channel: publish.channel,
            data: record.clone(),
        };
        return Ok(Delivery {
            id,
            handling,
            record,
        });
    }
    let (echo, record) = match (fields.data, fields.text, fields.binary) {
        (Some(data), None, None) => (Message::Text(data.get().into()), data.get().to_owned()),
        (None, Some(_), None) => {
            let text = string_field("text", fields.text)?;
            (Message::Text(text.clone()), text)
        }
        (None, None, Some(_)) => {
            let encoded = string_field("binary", fields.binary)?;
            let bytes = tabwire::core::base64::decode(&encoded).map_err(|problem| {
                format!("binary: not standard base64 with padding: {problem}")
            })?;
            let record = describe_binary(bytes.len());
            (Message::Binary(bytes), record)
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
                "data, text, binary: a msg needs exactly one of them (or publish), got {given}"
            ));
        }
    };
    Ok(Delivery {
        id,
        handling: Handling::Echo(echo),
        record,
    })
}

#[cfg(test)]
mod tests;
