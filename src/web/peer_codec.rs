//! The messages tabs exchange, as the JavaScript objects posted on the
//! `BroadcastChannel`: `{ tabwire: 1, kind: "...", ... }`.
//!
//! Anything else that arrives on the channel (another library's message, a
//! tab running another version of tabwire, a malformed object) is refused
//! with a reason, which the driver reports as a `warning`.

use wasm_bindgen::{JsCast, JsValue};

use super::clock;
use super::frame::Frame;
use super::js_object::JsObject;
use crate::core::record::PayloadKind;
use crate::core::outbox::is_message_id;
use crate::core::positions::is_epoch;
use crate::core::{CloseInfo, ConnectionState, Event, GapReason, Mode, Outcome, Peer, Position, StateChange, Transport};

/// The version of these messages; a tab only understands its own.
pub const VERSION: u32 = 1;

/// The JS object for `peer`. Times go out as Unix epoch ms: every tab's
/// machine clock starts at its own page load.
pub fn encode(peer: Peer<Frame>) -> JsValue {
    let message = JsObject::new().set("tabwire", VERSION);
    let message = match peer {
        Peer::Announce { epoch, tab, state, tabs, open } => message
            .set("kind", "announce")
            .set("epoch", epoch as f64)
            .set("tab", tab)
            .set("state", state.as_str())
            .set("tabs", tabs)
            .set_some("protocol", open.map(|(mode, _)| mode.as_str()))
            .set_some("transport", open.map(|(_, transport)| transport.as_str())),
        Peer::Hello { tab, channels, positions } => {
            let list: js_sys::Array = channels.iter().map(|channel| JsValue::from_str(channel)).collect();
            let positions: js_sys::Array = positions
                .into_iter()
                .map(|(channel, Position { offset, epoch })| {
                    let epoch = epoch.map_or(JsValue::UNDEFINED, JsValue::from);
                    js_sys::Array::of3(&channel.into(), &(offset as f64).into(), &epoch)
                })
                .collect();
            message.set("kind", "hello").set("tab", tab).set("channels", list).set("offsets", positions)
        }
        Peer::Bye { tab } => message.set("kind", "bye").set("tab", tab),
        Peer::Relay { id, payload, created_ms } => message
            .set("kind", "relay")
            .set("id", id)
            .set("as", payload.kind().code())
            .set("data", payload.into_data())
            .set("created", clock::to_epoch_ms(created_ms)),
        Peer::Event { epoch, event } => encode_event(message.set("kind", "event").set("epoch", epoch as f64), event),
        Peer::Done { epoch, id, outcome } => {
            let acknowledged = outcome == Outcome::Acknowledged;
            let message = message.set("kind", "done").set("epoch", epoch as f64).set("id", id).set("acknowledged", acknowledged);
            match outcome {
                Outcome::Rejected { code, message: text } => message.set("rejected", code).set("reason", text),
                _ => message,
            }
        }
    };
    message.into()
}

/// The connection events a leader passes on (see `Event::concerns_every_tab`).
/// A channel's epoch goes as `numbering`: `epoch` is the leader's.
fn encode_event(message: JsObject, event: Event<Frame>) -> JsObject {
    match event {
        Event::State(change) => message
            .set("event", "state")
            .set("state", change.state.as_str())
            .set("attempt", change.attempt)
            .set_some("retryAt", change.retry_at_ms.map(clock::to_epoch_ms))
            .set_some("close", change.close.map(close_fields)),
        Event::Open {
            attempt,
            mode,
            transport,
        } => message
            .set("event", "open")
            .set("attempt", attempt)
            .set("protocol", mode.as_str())
            .set("transport", transport.as_str()),
        Event::Message(frame) => message
            .set("event", "message")
            .set("data", frame.into_data()),
        // Each tab knows the epoch of its own position.
        Event::Publication { channel, offset, epoch, payload } => message
            .set("event", "publication")
            .set("channel", channel)
            .set("data", payload.into_data())
            .set_some("offset", offset.map(|offset| offset as f64))
            .set_some("numbering", epoch),
        Event::Subscribed { channel, offset, epoch } => {
            message.set("event", "subscribed").set("channel", channel).set("offset", offset as f64).set_some("numbering", epoch)
        }
        Event::Unsubscribed { channel } => message.set("event", "unsubscribed").set("channel", channel),
        Event::SubscribeError { channel, code, message: text } => {
            message.set("event", "subscribeError").set("channel", channel).set("code", code).set("message", text)
        }
        Event::Gap { channel, since, from, reason, epoch } => message
            .set("event", "gap")
            .set("channel", channel)
            .set("since", since as f64)
            .set("from", from as f64)
            .set("reason", reason.as_str())
            .set_some("numbering", epoch),
        Event::Close(close) => message.set("event", "close").set("close", close_fields(close)),
        Event::Reconnecting { attempt, delay_ms, retry_at_ms } => message
            .set("event", "reconnecting")
            .set("attempt", attempt)
            .set("delayMs", delay_ms)
            .set("retryAt", clock::to_epoch_ms(retry_at_ms)),
        // Not passed between tabs.
        Event::Error(_)
        | Event::Ack { .. }
        | Event::Rejected { .. }
        | Event::Expired { .. }
        | Event::Warning { .. }
        | Event::Role(_) => message,
    }
}

fn close_fields(close: CloseInfo) -> JsObject {
    JsObject::new()
        .set("code", close.code)
        .set("reason", close.reason)
        .set("clean", close.clean)
        .set("willReconnect", close.will_reconnect)
}

/// Messages posted together, in order: `{ tabwire: 1, kind: "batch",
/// messages: [...] }`, each of them a whole message as `encode` builds it.
pub fn batch(messages: js_sys::Array) -> JsValue {
    JsObject::new().set("tabwire", VERSION).set("kind", "batch").set("messages", messages).into()
}

/// Reads one post of the channel back: hands `each` the messages of a
/// batch, in order, or the one message it is; each decoded or refused with
/// its reason.
pub fn decode_post(value: &JsValue, mut each: impl FnMut(Result<Peer<Frame>, String>)) {
    let batch = Fields::of(value).filter(|message| {
        message.get("tabwire").as_f64() == Some(f64::from(VERSION)) && message.get("kind").as_string().as_deref() == Some("batch")
    });
    let Some(batch) = batch else {
        return each(decode(value));
    };
    let messages = batch.get("messages");
    if !js_sys::Array::is_array(&messages) {
        return each(Err(bad("messages", "not an array")));
    }
    for message in messages.unchecked_into::<js_sys::Array>().iter() {
        each(decode(&message));
    }
}

/// Reads a message of the channel back, or says why it is not one.
pub fn decode(value: &JsValue) -> Result<Peer<Frame>, String> {
    let message = Fields::of(value).ok_or("a message that is not tabwire's (not an object)")?;
    let version = message.get("tabwire");
    if version.is_undefined() {
        return Err("a message that is not tabwire's (no \"tabwire\" field)".to_owned());
    }
    if version.as_f64() != Some(f64::from(VERSION)) {
        let version: String = js_sys::JSON::stringify(&version).map(String::from).unwrap_or_default();
        return Err(format!("a message of tabwire protocol version {version}; this tab speaks {VERSION}"));
    }
    let kind = message.string("kind")?;
    let peer = match kind.as_str() {
        "announce" => Peer::Announce {
            epoch: message.count("epoch")?,
            tab: message.string("tab")?,
            state: message.state("state")?,
            // A leader built before tabs were counted leaves the field out.
            tabs: message.optional_count("tabs")?.unwrap_or(0) as u32,
            // A leader built before the announce said what is open leaves it out.
            open: match message.get("protocol").as_string() {
                None => None,
                Some(_) => Some((mode_of(&message)?, transport_of(&message)?)),
            },
        },
        "hello" => Peer::Hello {
            tab: message.string("tab")?,
            channels: message.strings("channels")?,
            positions: message.positions("offsets")?,
        },
        "bye" => Peer::Bye { tab: message.string("tab")? },
        "relay" => {
            let code = message.string("as")?;
            let kind = PayloadKind::from_code(&code).ok_or_else(|| bad("as", &code))?;
            let payload = Frame::of_kind(kind, message.get("data")).ok_or_else(|| bad("data", "not of its kind"))?;
            Peer::Relay { id: message.id("id")?, payload, created_ms: clock::from_epoch_ms(message.number("created")?) }
        }
        "event" => Peer::Event { epoch: message.count("epoch")?, event: decode_event(&message)? },
        "done" => Peer::Done { epoch: message.count("epoch")?, id: message.id("id")?, outcome: outcome(&message)? },
        "batch" => return Err("a batch inside a batch".to_owned()),
        other => return Err(format!("a tabwire message of unknown kind \"{other}\"")),
    };
    Ok(peer)
}

/// How a `done` message says the message ended: `acknowledged`, and for a
/// message the server refused, `rejected` (its code) and `reason`.
fn outcome(message: &Fields) -> Result<Outcome, String> {
    if message.get("rejected").is_string() {
        return Ok(Outcome::Rejected { code: message.string("rejected")?, message: message.string("reason")? });
    }
    match message.get("acknowledged").as_bool() {
        Some(true) => Ok(Outcome::Acknowledged),
        Some(false) => Ok(Outcome::Taken),
        None => Err(bad("acknowledged", "not a boolean")),
    }
}

fn decode_event(message: &Fields) -> Result<Event<Frame>, String> {
    let name = message.string("event")?;
    Ok(match name.as_str() {
        "state" => {
            let close = message.get("close");
            Event::State(StateChange {
                state: message.state("state")?,
                attempt: message.count("attempt")? as u32,
                retry_at_ms: message.get("retryAt").as_f64().map(clock::from_epoch_ms),
                close: if close.is_undefined() { None } else { Some(decode_close(&close)?) },
            })
        }
        "open" => Event::Open {
            attempt: message.count("attempt")? as u32,
            mode: mode_of(message)?,
            transport: transport_of(message)?,
        },
        "message" => Event::Message(inbound(message.get("data"))?),
        "publication" => Event::Publication {
            channel: message.string("channel")?,
            offset: message.optional_count("offset")?,
            epoch: message.optional_epoch("numbering")?,
            payload: inbound(message.get("data"))?,
        },
        "subscribed" => Event::Subscribed {
            channel: message.string("channel")?,
            offset: message.count("offset")?,
            epoch: message.optional_epoch("numbering")?,
        },
        "unsubscribed" => Event::Unsubscribed { channel: message.string("channel")? },
        "subscribeError" => Event::SubscribeError {
            channel: message.string("channel")?,
            code: message.string("code")?,
            message: message.string("message")?,
        },
        "gap" => Event::Gap {
            channel: message.string("channel")?,
            since: message.count("since")?,
            from: message.count("from")?,
            reason: match message.get("reason").as_string() {
                None => GapReason::Trimmed,
                Some(name) => GapReason::parse(&name).ok_or_else(|| bad("reason", "not a gap reason"))?,
            },
            epoch: message.optional_epoch("numbering")?,
        },
        "close" => Event::Close(decode_close(&message.get("close"))?),
        "reconnecting" => Event::Reconnecting {
            attempt: message.count("attempt")? as u32,
            delay_ms: message.number("delayMs")?,
            retry_at_ms: clock::from_epoch_ms(message.number("retryAt")?),
        },
        other => return Err(format!("a tabwire event of unknown name \"{other}\"")),
    })
}

fn decode_close(value: &JsValue) -> Result<CloseInfo, String> {
    let close = Fields::of(value).ok_or_else(|| bad("close", "not an object"))?;
    let flag = |name: &str| close.get(name).as_bool().ok_or_else(|| bad(name, "not a boolean"));
    Ok(CloseInfo {
        code: u16::try_from(close.count("code")?).map_err(|_| bad("code", "not a close code"))?,
        reason: close.string("reason")?,
        clean: flag("clean")?,
        will_reconnect: flag("willReconnect")?,
    })
}

/// Frame data as a socket delivers it: a string or an ArrayBuffer.
fn inbound(data: JsValue) -> Result<Frame, String> {
    if data.is_string() || data.is_instance_of::<js_sys::ArrayBuffer>() {
        Ok(Frame::inbound(data))
    } else {
        Err(bad("data", "neither a string nor an ArrayBuffer"))
    }
}

/// The `protocol` of an `open` or an `announce`; a leader of before modes
/// were named spoke tabwire when it could.
fn mode_of(message: &Fields) -> Result<Mode, String> {
    match message.get("protocol").as_string() {
        None => Ok(Mode::Tabwire),
        Some(name) => Mode::parse(&name).ok_or_else(|| bad("protocol", "not a protocol mode")),
    }
}

/// The `transport` of an `open` or an `announce`; a leader of before HTTP
/// transports had a WebSocket.
fn transport_of(message: &Fields) -> Result<Transport, String> {
    match message.get("transport").as_string() {
        None => Ok(Transport::WebSocket),
        Some(name) => Transport::parse(&name).ok_or_else(|| bad("transport", "not a transport")),
    }
}

fn bad(field: &str, problem: &str) -> String {
    format!("a malformed tabwire message: \"{field}\" is {problem}")
}

/// A message of the channel, read field by field.
struct Fields(JsObject);

impl Fields {
    fn of(value: &JsValue) -> Option<Fields> {
        JsObject::of(value).map(Fields)
    }

    fn get(&self, name: &str) -> JsValue {
        self.0.get(name)
    }

    fn string(&self, name: &str) -> Result<String, String> {
        self.get(name).as_string().ok_or_else(|| bad(name, "not a string"))
    }

    fn number(&self, name: &str) -> Result<f64, String> {
        self.get(name).as_f64().filter(|n| n.is_finite()).ok_or_else(|| bad(name, "not a number"))
    }

    /// A whole number from 0 to 2^53.
    fn count(&self, name: &str) -> Result<u64, String> {
        let value = self.number(name)?;
        if value >= 0.0 && value.fract() == 0.0 && value <= 9_007_199_254_740_992.0 {
            Ok(value as u64)
        } else {
            Err(bad(name, "not a whole number"))
        }
    }

    /// A whole number, or `None` if absent.
    fn optional_count(&self, name: &str) -> Result<Option<u64>, String> {
        if self.get(name).is_undefined() {
            return Ok(None);
        }
        self.count(name).map(Some)
    }

    fn state(&self, name: &str) -> Result<ConnectionState, String> {
        let state = self.string(name)?;
        ConnectionState::parse(&state).ok_or_else(|| bad(name, "not a connection state"))
    }

    /// `[[channel, offset, epoch?], ...]`.
    fn positions(&self, name: &str) -> Result<Vec<(String, Position)>, String> {
        let list = self.get(name);
        if !js_sys::Array::is_array(&list) {
            return Err(bad(name, "not an array"));
        }
        list.unchecked_into::<js_sys::Array>()
            .iter()
            .map(|entry| {
                let entry = Fields::of(&entry).ok_or_else(|| bad(name, "not a list of positions"))?;
                Ok((entry.string("0")?, Position { offset: entry.count("1")?, epoch: entry.optional_epoch("2")? }))
            })
            .collect()
    }

    /// A channel epoch, or `None` if absent.
    fn optional_epoch(&self, name: &str) -> Result<Option<String>, String> {
        let value = self.get(name);
        if value.is_undefined() {
            return Ok(None);
        }
        value.as_string().filter(|epoch| is_epoch(epoch)).map(Some).ok_or_else(|| bad(name, "not an epoch"))
    }

    /// A message id: it goes into the frames this tab writes, so only what
    /// an id of tabwire's can be is taken (see [`is_message_id`]).
    fn id(&self, name: &str) -> Result<String, String> {
        let id = self.string(name)?;
        if is_message_id(&id) {
            Ok(id)
        } else {
            Err(bad(name, "not a message id"))
        }
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, String> {
        let list = self.get(name);
        if !js_sys::Array::is_array(&list) {
            return Err(bad(name, "not an array"));
        }
        list.unchecked_into::<js_sys::Array>()
            .iter()
            .map(|item| item.as_string().ok_or_else(|| bad(name, "not a list of strings")))
            .collect()
    }
}
