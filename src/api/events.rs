//! The events a `TabWire` emits: their names, their TypeScript payload
//! types, and the conversion of core events into those payloads.

use tsify::Tsify;
use wasm_bindgen::prelude::*;

use crate::core::{self, CloseInfo, ConnectionState, Event, Failure, Role};
use crate::web::js_object::JsObject;
use crate::web::clock;
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
  /** Calls `listener` for every message of `channel`; returns a function that unsubscribes. The server is told once per channel, whatever the number of listeners and tabs. After a reconnect the client resumes after the last offset it saw, and never delivers an offset twice. `since`: resume after this offset (one the application kept). */
  /** Calls `listener` with every JSON object frame whose type field (option `typeField`, default "type") is `type`, parsed once. A frame that goes to `onType` listeners does not go to `message` listeners; frames that are not JSON objects, have no type, or a type without listeners do. Returns a function that removes the listener. */
  onType<T = unknown>(type: string, listener: (message: T) => void): () => void;
  subscribe<T = unknown>(channel: string, listener: (message: ChannelMessage<T>) => void, options?: SubscribeOptions): () => void;
}
/** A message of a subscribed channel. */
export interface ChannelMessage<T = unknown> {
  channel: string;
  data: T;
  /** Its position in the channel, when the server numbers messages. */
  offset?: number;
}
/** Options of `subscribe()`. */
export interface SubscribeOptions {
  /** Deliver the messages after this offset first (the server replays what it still has). */
  since?: number;
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

/// A tab's part in the shared connection, as `role` events and `stats()` name it.
#[derive(Tsify)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    /// This tab has its own socket: sharing is off or not possible here.
    Solo,
    /// This tab holds the socket for every tab.
    Leader,
    /// Another tab holds the socket; this one sends and receives through it.
    Follower,
}

impl RoleName {
    /// The name the TypeScript declaration spells.
    pub fn name(&self) -> &'static str {
        match self {
            RoleName::Solo => "solo",
            RoleName::Leader => "leader",
            RoleName::Follower => "follower",
        }
    }
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        match role {
            Role::Solo => RoleName::Solo,
            Role::Leader => RoleName::Leader,
            Role::Follower => RoleName::Follower,
        }
    }
}

/// Payload of `subscribed`: the server took a subscription (after every (re)connect).
#[derive(Tsify)]
pub struct SubscribedEvent {
    channel: String,
    /// The channel's newest message when the server took it.
    offset: f64,
}

impl SubscribedEvent {
    fn into_js(self) -> JsObject {
        JsObject::new().set("channel", self.channel).set("offset", self.offset)
    }
}

/// Payload of `unsubscribed`: the server ended a subscription.
#[derive(Tsify)]
pub struct UnsubscribedEvent {
    channel: String,
}

impl UnsubscribedEvent {
    fn into_js(self) -> JsObject {
        JsObject::new().set("channel", self.channel)
    }
}

/// Payload of `subscribe_error`: the server refused a subscription (`forbidden`: the token does not allow the channel); the connection stays up.
#[derive(Tsify)]
pub struct SubscribeErrorEvent {
    channel: String,
    code: String,
    message: String,
}

impl SubscribeErrorEvent {
    fn into_js(self) -> JsObject {
        JsObject::new().set("channel", self.channel).set("code", self.code).set("message", self.message)
    }
}

/// Payload of `gap`: messages of `channel` after `since` were lost before this client could get them (the server no longer has them); what follows starts at `from`. Refetch what they carried.
#[derive(Tsify)]
pub struct GapEvent {
    channel: String,
    since: f64,
    from: f64,
}

impl GapEvent {
    fn into_js(self) -> JsObject {
        JsObject::new().set("channel", self.channel).set("since", self.since).set("from", self.from)
    }
}

/// Payload of `role`: this tab took or lost the lead.
#[derive(Tsify)]
pub struct RoleEvent {
    role: RoleName,
}

impl RoleEvent {
    fn into_js(self) -> JsObject {
        JsObject::new().set("role", self.role.name())
    }
}

/// The connection state, as `state` events and the `state` getter name it.
#[derive(Tsify)]
#[serde(rename_all = "lowercase")]
pub enum StateName {
    Idle,
    Connecting,
    Open,
    Reconnecting,
    Offline,
    Closed,
}

impl StateName {
    /// The name the TypeScript declaration spells.
    pub fn name(&self) -> &'static str {
        match self {
            StateName::Idle => "idle",
            StateName::Connecting => "connecting",
            StateName::Open => "open",
            StateName::Reconnecting => "reconnecting",
            StateName::Offline => "offline",
            StateName::Closed => "closed",
        }
    }
}

impl From<ConnectionState> for StateName {
    fn from(state: ConnectionState) -> Self {
        match state {
            ConnectionState::Idle => StateName::Idle,
            ConnectionState::Connecting => StateName::Connecting,
            ConnectionState::Open => StateName::Open,
            ConnectionState::Reconnecting => StateName::Reconnecting,
            ConnectionState::Offline => StateName::Offline,
            ConnectionState::Closed => StateName::Closed,
        }
    }
}

/// Payload of `state`: sent on every change of state.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct StateEvent {
    state: StateName,
    /// 0 for the first connection, n while working on the n-th retry.
    attempt: u32,
    /// While `reconnecting`: milliseconds until the next attempt.
    #[tsify(optional)]
    retry_in_ms: Option<f64>,
    /// While `reconnecting`: when the next attempt starts (Unix epoch ms, like `Date.now()`).
    #[tsify(optional)]
    retry_at: Option<f64>,
    /// Once `closed` by a close code or by the user: that close.
    #[tsify(optional)]
    close: Option<CloseDetails>,
}

impl StateEvent {
    fn into_js(self) -> JsObject {
        JsObject::new()
            .set("state", self.state.name())
            .set("attempt", self.attempt)
            .set_some("retryInMs", self.retry_in_ms)
            .set_some("retryAt", self.retry_at)
            .set_some("close", self.close.map(CloseDetails::into_js))
    }
}

/// Payload of `open`.
#[derive(Tsify)]
pub struct OpenEvent {
    /// How many retries this connection took (0 at the first try).
    attempt: u32,
}

impl OpenEvent {
    fn into_js(self) -> JsObject {
        JsObject::new().set("attempt", self.attempt)
    }
}

/// Payload of `message`: the frame as the browser delivered it.
#[derive(Tsify)]
pub struct InboundMessage {
    #[tsify(type = "string | ArrayBuffer")]
    data: JsValue,
}

thread_local! {
    static DATA: JsValue = JsValue::from_str("data");
}

impl InboundMessage {
    /// With the key made once: this runs for every message.
    fn into_js(self) -> JsValue {
        let payload = js_sys::Object::new();
        DATA.with(|key| js_sys::Reflect::set(&payload, key, &self.data)).ok();
        payload.into()
    }
}

/// Payload of `close`: one per socket, whoever ended it.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct CloseDetails {
    code: u16,
    reason: String,
    /// The closing handshake completed; false for a dropped connection.
    was_clean: bool,
    /// The client will connect again by itself.
    will_reconnect: bool,
}

impl CloseDetails {
    fn into_js(self) -> JsObject {
        JsObject::new()
            .set("code", self.code)
            .set("reason", self.reason)
            .set("wasClean", self.was_clean)
            .set("willReconnect", self.will_reconnect)
    }
}

/// Payload of `reconnecting`: a retry is scheduled.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct ReconnectingEvent {
    /// The number of the retry (1 for the first).
    attempt: u32,
    delay_ms: f64,
    /// Unix epoch ms.
    retry_at: f64,
}

impl ReconnectingEvent {
    fn into_js(self) -> JsObject {
        JsObject::new().set("attempt", self.attempt).set("delayMs", self.delay_ms).set("retryAt", self.retry_at)
    }
}

/// What went wrong, for the `error` event.
#[derive(Tsify)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    ConnectTimeout,
    HeartbeatTimeout,
    Socket,
    SocketRefused,
    UrlProvider,
    InvalidUrl,
    RetriesExhausted,
    QueueFull,
    /// localStorage refused a message (quota): it is kept in memory.
    StorageFailed,
    /// The server answered a protocol frame with an `error` frame.
    Server,
}

impl ErrorKind {
    /// The name the TypeScript declaration spells.
    fn name(&self) -> &'static str {
        match self {
            ErrorKind::ConnectTimeout => "connect_timeout",
            ErrorKind::HeartbeatTimeout => "heartbeat_timeout",
            ErrorKind::Socket => "socket",
            ErrorKind::SocketRefused => "socket_refused",
            ErrorKind::UrlProvider => "url_provider",
            ErrorKind::InvalidUrl => "invalid_url",
            ErrorKind::RetriesExhausted => "retries_exhausted",
            ErrorKind::QueueFull => "queue_full",
            ErrorKind::StorageFailed => "storage_failed",
            ErrorKind::Server => "server",
        }
    }
}

/// Payload of `error`.
#[derive(Tsify)]
pub struct TabWireError {
    kind: ErrorKind,
    message: String,
}

impl TabWireError {
    fn into_js(self) -> JsObject {
        JsObject::new().set("kind", self.kind.name()).set("message", self.message)
    }
}

/// Payload of `ack`: the server acknowledged a message; it left the outbox.
#[derive(Tsify)]
pub struct AckEvent {
    /// The id `send()` returned.
    id: String,
}

impl AckEvent {
    fn into_js(self) -> JsObject {
        JsObject::new().set("id", self.id)
    }
}

/// Payload of `rejected`: the server refused a message for good (`code` "forbidden": the token may not publish to its channel); it left the outbox and will not be sent again.
#[derive(Tsify)]
pub struct RejectedEvent {
    /// The id `send()` or `publish()` returned.
    id: String,
    code: String,
    message: String,
}

impl RejectedEvent {
    fn into_js(self) -> JsObject {
        JsObject::new().set("id", self.id).set("code", self.code).set("message", self.message)
    }
}

/// Payload of `expired`: messages dropped undelivered after `queue.ttlMs`.
#[derive(Tsify)]
pub struct ExpiredEvent {
    ids: Vec<String>,
}

impl ExpiredEvent {
    fn into_js(self) -> JsObject {
        let ids: js_sys::Array = self.ids.into_iter().map(JsValue::from).collect();
        JsObject::new().set("ids", ids)
    }
}

/// Payload of `warning`: something skipped without harm, such as a stored key that is not a readable tabwire message.
#[derive(Tsify)]
pub struct WarningEvent {
    key: String,
    message: String,
}

impl WarningEvent {
    fn into_js(self) -> JsObject {
        JsObject::new().set("key", self.key).set("message", self.message)
    }
}

impl From<&Failure> for ErrorKind {
    fn from(failure: &Failure) -> Self {
        match failure {
            Failure::ConnectTimeout { .. } => ErrorKind::ConnectTimeout,
            Failure::HeartbeatTimeout { .. } => ErrorKind::HeartbeatTimeout,
            Failure::Socket => ErrorKind::Socket,
            Failure::SocketRefused { .. } => ErrorKind::SocketRefused,
            Failure::UrlProvider { .. } => ErrorKind::UrlProvider,
            Failure::InvalidUrl { .. } => ErrorKind::InvalidUrl,
            Failure::RetriesExhausted { .. } => ErrorKind::RetriesExhausted,
            Failure::QueueFull(_) => ErrorKind::QueueFull,
            Failure::StorageFailed { .. } => ErrorKind::StorageFailed,
            Failure::Server { .. } => ErrorKind::Server,
        }
    }
}

impl From<CloseInfo> for CloseDetails {
    fn from(info: CloseInfo) -> Self {
        CloseDetails { code: info.code, reason: info.reason, was_clean: info.clean, will_reconnect: info.will_reconnect }
    }
}

/// The JavaScript payload of an event.
pub fn to_js(event: Event<Frame>) -> JsValue {
    let payload = match event {
        Event::Message(frame) => return InboundMessage { data: frame.into_data() }.into_js(),
        Event::Publication { channel, offset, payload } => return channel_message(&channel, offset, payload.data()),
        Event::Subscribed { channel, offset } => SubscribedEvent { channel, offset: offset as f64 }.into_js(),
        Event::Unsubscribed { channel } => UnsubscribedEvent { channel }.into_js(),
        Event::SubscribeError { channel, code, message } => SubscribeErrorEvent { channel, code, message }.into_js(),
        Event::Gap { channel, since, from } => GapEvent { channel, since: since as f64, from: from as f64 }.into_js(),
        Event::Role(role) => RoleEvent { role: role.into() }.into_js(),
        Event::Open { attempt } => OpenEvent { attempt }.into_js(),
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

/// `{ channel, data, offset? }` from a `pub` frame: its `data` field, decoded.
fn channel_message(channel: &str, offset: Option<u64>, frame: &JsValue) -> JsValue {
    let frame = crate::web::protocol::parse(frame).unwrap_or(JsValue::UNDEFINED);
    let data = JsObject::of(&frame).map_or(JsValue::UNDEFINED, |frame| frame.get("data"));
    JsObject::new().set("channel", channel).set("data", data).set_some("offset", offset.map(|offset| offset as f64)).into()
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
