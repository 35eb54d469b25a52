//! The events a `TabWire` emits: their names, the TypeScript event map,
//! and the conversion of core events into their payloads
//! ([`super::event_payloads`]).

use wasm_bindgen::prelude::*;

use super::event_payloads::{
    AckEvent, CloseDetails, ExpiredEvent, GapEvent, InboundMessage, OpenEvent, ReconnectingEvent, RejectedEvent,
    RoleEvent, StateEvent, SubscribeErrorEvent, SubscribedEvent, TabWireError, UnsubscribedEvent, WarningEvent,
};
use super::names::ErrorKind;
use crate::core::{self, Event};
use crate::web::clock;
use crate::web::js_object::JsObject;
use crate::web::Frame;

#[wasm_bindgen(typescript_custom_section)]
const EVENT_MAP: &'static str = r#"
/** Every event of a TabWire and the payload its listeners receive. */
export interface TabWireEventMap {
  open: OpenEvent;
  message: InboundMessage;
  close: CloseDetails;
  state: StateEvent;
  reconnecting: ReconnectingEvent;
  error: TabWireError;
  ack: AckEvent;
  rejected: RejectedEvent;
  expired: ExpiredEvent;
  warning: WarningEvent;
  role: RoleEvent;
  subscribed: SubscribedEvent;
  unsubscribed: UnsubscribedEvent;
  gap: GapEvent;
  subscribe_error: SubscribeErrorEvent;
}
export type TabWireEventName = keyof TabWireEventMap;
export interface TabWire {
  /** Calls `listener` for every `type` event; returns a function that removes it. */
  on<K extends TabWireEventName>(type: K, listener: (event: TabWireEventMap[K]) => void): () => void;
  /** Calls `listener` with every JSON object frame whose type field (option `typeField`, default "type") is `type`, parsed once. A frame that goes to `onType` listeners does not go to `message` listeners; frames that are not JSON objects, have no type, or a type without listeners do. Returns a function that removes the listener. */
  onType<T = unknown>(type: string, listener: (message: T) => void): () => void;
  /** Calls `listener` for every message of `channel` (tabwire protocol); returns a function that unsubscribes. The server is told once per channel, whatever the number of listeners and tabs. After a reconnect the client resumes after the last offset it saw, and never delivers an offset twice; a `gap` event says when messages were lost. `since` and `epoch`: resume after this position (one the application kept from a `ChannelMessage`). On a raw connection the subscription waits, with an `error` of kind `protocol_required`. */
  subscribe<T = unknown>(channel: string, listener: (message: ChannelMessage<T>) => void, options?: SubscribeOptions): () => void;
}
/** A message of a subscribed channel. */
export interface ChannelMessage<T = unknown> {
  channel: string;
  data: T;
  /** Its position in the channel, when the server numbers messages. */
  offset?: number;
  /** The numbering `offset` belongs to; keep it with the offset to resume from it later. */
  epoch?: string;
}
/** Options of `subscribe()`. */
export interface SubscribeOptions {
  /** Deliver the messages after this offset first (the server replays what it still has). */
  since?: number;
  /** The epoch of `since` (from the `ChannelMessage` it came from): if the channel's numbering started again meanwhile, a `gap` with reason `"reset"` says so, rather than a silent skip. */
  epoch?: string;
}
"#;

/// The names accepted by `on`, in the order of the event map.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EventKind {
    Open,
    Message,
    Close,
    State,
    Reconnecting,
    Error,
    Ack,
    Rejected,
    Expired,
    Warning,
    Role,
    Subscribed,
    Unsubscribed,
    Gap,
    SubscribeError,
}

impl EventKind {
    pub const NAMES: &'static str =
        "open, message, close, state, reconnecting, error, ack, rejected, expired, warning, role, subscribed, unsubscribed, gap, subscribe_error";

    pub fn parse(name: &str) -> Option<EventKind> {
        Some(match name {
            "open" => EventKind::Open,
            "message" => EventKind::Message,
            "close" => EventKind::Close,
            "state" => EventKind::State,
            "reconnecting" => EventKind::Reconnecting,
            "error" => EventKind::Error,
            "ack" => EventKind::Ack,
            "rejected" => EventKind::Rejected,
            "expired" => EventKind::Expired,
            "warning" => EventKind::Warning,
            "role" => EventKind::Role,
            "subscribed" => EventKind::Subscribed,
            "unsubscribed" => EventKind::Unsubscribed,
            "gap" => EventKind::Gap,
            "subscribe_error" => EventKind::SubscribeError,
            _ => return None,
        })
    }

    /// The kind of listeners an event goes to; `None` for a channel
    /// message, which goes to the channel's listeners.
    pub fn of<P>(event: &Event<P>) -> Option<EventKind> {
        Some(match event {
            Event::Open { .. } => EventKind::Open,
            Event::Message(_) => EventKind::Message,
            Event::Publication { .. } => return None,
            Event::Close(_) => EventKind::Close,
            Event::State(_) => EventKind::State,
            Event::Reconnecting { .. } => EventKind::Reconnecting,
            Event::Error(_) => EventKind::Error,
            Event::Ack { .. } => EventKind::Ack,
            Event::Rejected { .. } => EventKind::Rejected,
            Event::Expired { .. } => EventKind::Expired,
            Event::Warning { .. } => EventKind::Warning,
            Event::Role(_) => EventKind::Role,
            Event::Subscribed { .. } => EventKind::Subscribed,
            Event::Unsubscribed { .. } => EventKind::Unsubscribed,
            Event::Gap { .. } => EventKind::Gap,
            Event::SubscribeError { .. } => EventKind::SubscribeError,
        })
    }
}

/// The JavaScript payload of an event.
pub fn to_js(event: Event<Frame>) -> JsValue {
    let payload = match event {
        Event::Message(frame) => return InboundMessage { data: frame.into_data() }.into_js(),
        Event::Publication { channel, offset, epoch, payload } => {
            return channel_message(&channel, offset, epoch, payload.data())
        }
        Event::Subscribed { channel, offset, epoch } => SubscribedEvent { channel, offset: offset as f64, epoch }.into_js(),
        Event::Unsubscribed { channel } => UnsubscribedEvent { channel }.into_js(),
        Event::SubscribeError { channel, code, message } => SubscribeErrorEvent { channel, code, message }.into_js(),
        Event::Gap { channel, since, from, reason, epoch } => {
            GapEvent { channel, since: since as f64, from: from as f64, reason: reason.into(), epoch }.into_js()
        }
        Event::Role(role) => RoleEvent { role: role.into() }.into_js(),
        Event::Open {
            attempt,
            mode,
            transport,
        } => OpenEvent {
            attempt,
            protocol: mode.into(),
            transport: transport.into(),
        }
        .into_js(),
        Event::Close(info) => CloseDetails::from(info).into_js(),
        Event::State(change) => state_event(change).into_js(),
        Event::Reconnecting { attempt, delay_ms, retry_at_ms } => {
            ReconnectingEvent { attempt, delay_ms, retry_at: clock::to_epoch_ms(retry_at_ms) }.into_js()
        }
        Event::Error(failure) => TabWireError { kind: ErrorKind::from(&failure), message: failure.to_string() }.into_js(),
        Event::Ack { id } => AckEvent { id }.into_js(),
        Event::Rejected { id, code, message } => RejectedEvent { id, code, message }.into_js(),
        Event::Expired { ids } => ExpiredEvent { ids }.into_js(),
        Event::Warning { key, reason } => WarningEvent { key, message: reason }.into_js(),
    };
    payload.into()
}

/// `{ channel, data, offset?, epoch? }` from a `pub` frame: its `data`
/// field, decoded.
fn channel_message(channel: &str, offset: Option<u64>, epoch: Option<String>, frame: &JsValue) -> JsValue {
    let frame = crate::web::protocol::parse(frame).unwrap_or(JsValue::UNDEFINED);
    let data = JsObject::of(&frame).map_or(JsValue::UNDEFINED, |frame| frame.get("data"));
    JsObject::new()
        .set("channel", channel)
        .set("data", data)
        .set_some("offset", offset.map(|offset| offset as f64))
        .set_some("epoch", epoch)
        .into()
}

fn state_event(change: core::StateChange) -> StateEvent {
    StateEvent {
        state: change.state.into(),
        attempt: change.attempt,
        retry_in_ms: change.retry_at_ms.map(|at| (at - clock::now()).max(0.0)),
        retry_at: change.retry_at_ms.map(clock::to_epoch_ms),
        close: change.close.map(CloseDetails::from),
    }
}
