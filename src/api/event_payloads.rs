//! The payloads of the events a `TabWire` emits: their TypeScript types,
//! and the JavaScript objects built for the listeners.

use tsify::Tsify;
use wasm_bindgen::prelude::*;

use super::names::{ErrorKind, GapReasonName, ProtocolName, RoleName, StateName, TransportName};
use crate::core::CloseInfo;
use crate::web::js_object::JsObject;

/// Payload of `subscribed`: the server took a subscription (after every (re)connect).
#[derive(Tsify)]
pub struct SubscribedEvent {
    pub(super) channel: String,
    /// The channel's newest message when the server took it.
    pub(super) offset: f64,
    /// The numbering `offset` belongs to (servers that number channels in epochs).
    #[tsify(optional)]
    pub(super) epoch: Option<String>,
}

impl SubscribedEvent {
    pub(super) fn into_js(self) -> JsObject {
        JsObject::new().set("channel", self.channel).set("offset", self.offset).set_some("epoch", self.epoch)
    }
}

/// Payload of `unsubscribed`: the server ended a subscription.
#[derive(Tsify)]
pub struct UnsubscribedEvent {
    pub(super) channel: String,
}

impl UnsubscribedEvent {
    pub(super) fn into_js(self) -> JsObject {
        JsObject::new().set("channel", self.channel)
    }
}

/// Payload of `subscribe_error`: the server refused a subscription (`forbidden`: the token does not allow the channel); the connection stays up.
#[derive(Tsify)]
pub struct SubscribeErrorEvent {
    pub(super) channel: String,
    pub(super) code: String,
    pub(super) message: String,
}

impl SubscribeErrorEvent {
    pub(super) fn into_js(self) -> JsObject {
        JsObject::new().set("channel", self.channel).set("code", self.code).set("message", self.message)
    }
}

/// Payload of `gap`: messages of `channel` after `since` were lost before this client could get them (the server no longer has them, or its numbering started again); what follows starts at `from`, in the numbering `epoch`. Refetch what they carried.
#[derive(Tsify)]
pub struct GapEvent {
    pub(super) channel: String,
    /// The last offset this tab had delivered (in its numbering before a reset).
    pub(super) since: f64,
    pub(super) from: f64,
    pub(super) reason: GapReasonName,
    #[tsify(optional)]
    pub(super) epoch: Option<String>,
}

impl GapEvent {
    pub(super) fn into_js(self) -> JsObject {
        JsObject::new()
            .set("channel", self.channel)
            .set("since", self.since)
            .set("from", self.from)
            .set("reason", self.reason.name())
            .set_some("epoch", self.epoch)
    }
}

/// Payload of `role`: this tab took or lost the lead.
#[derive(Tsify)]
pub struct RoleEvent {
    pub(super) role: RoleName,
}

impl RoleEvent {
    pub(super) fn into_js(self) -> JsObject {
        JsObject::new().set("role", self.role.name())
    }
}

/// Payload of `state`: sent on every change of state.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct StateEvent {
    pub(super) state: StateName,
    /// 0 for the first connection, n while working on the n-th retry.
    pub(super) attempt: u32,
    /// While `reconnecting`: milliseconds until the next attempt.
    #[tsify(optional)]
    pub(super) retry_in_ms: Option<f64>,
    /// While `reconnecting`: when the next attempt starts (Unix epoch ms, like `Date.now()`).
    #[tsify(optional)]
    pub(super) retry_at: Option<f64>,
    /// Once `closed` by a close code or by the user: that close.
    #[tsify(optional)]
    pub(super) close: Option<CloseDetails>,
}

impl StateEvent {
    pub(super) fn into_js(self) -> JsObject {
        JsObject::new()
            .set("state", self.state.name())
            .set("attempt", self.attempt)
            .set_some("retryInMs", self.retry_in_ms)
            .set_some("retryAt", self.retry_at)
            .set_some("close", self.close.map(CloseDetails::into_js))
    }
}

/// Payload of `open`: the connection is up, and what it speaks is known.
#[derive(Tsify)]
pub struct OpenEvent {
    /// How many retries this connection took (0 at the first try).
    pub(super) attempt: u32,
    /// `"tabwire.v1"`: the server greeted with the tabwire hello; `"raw"`: any other server.
    pub(super) protocol: ProtocolName,
    /// What carries the connection: the WebSocket, or HTTP where it is blocked.
    pub(super) transport: TransportName,
}

impl OpenEvent {
    pub(super) fn into_js(self) -> JsObject {
        JsObject::new()
            .set("attempt", self.attempt)
            .set("protocol", self.protocol.name())
            .set("transport", self.transport.name())
    }
}

/// Payload of `message`: the frame as the browser delivered it.
#[derive(Tsify)]
pub struct InboundMessage {
    #[tsify(type = "string | ArrayBuffer")]
    pub(super) data: JsValue,
}

thread_local! {
    static DATA: JsValue = JsValue::from_str("data");
}

impl InboundMessage {
    /// With the key made once: this runs for every message.
    pub(super) fn into_js(self) -> JsValue {
        let payload = js_sys::Object::new();
        DATA.with(|key| js_sys::Reflect::set(&payload, key, &self.data)).ok();
        payload.into()
    }
}

/// Payload of `close`: one per socket, whoever ended it.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct CloseDetails {
    pub(super) code: u16,
    pub(super) reason: String,
    /// The closing handshake completed; false for a dropped connection.
    pub(super) was_clean: bool,
    /// The client will connect again by itself.
    pub(super) will_reconnect: bool,
}

impl CloseDetails {
    pub(super) fn into_js(self) -> JsObject {
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
    pub(super) attempt: u32,
    pub(super) delay_ms: f64,
    /// Unix epoch ms.
    pub(super) retry_at: f64,
}

impl ReconnectingEvent {
    pub(super) fn into_js(self) -> JsObject {
        JsObject::new().set("attempt", self.attempt).set("delayMs", self.delay_ms).set("retryAt", self.retry_at)
    }
}

/// Payload of `error`.
#[derive(Tsify)]
pub struct TabWireError {
    pub(super) kind: ErrorKind,
    pub(super) message: String,
}

impl TabWireError {
    pub(super) fn into_js(self) -> JsObject {
        JsObject::new().set("kind", self.kind.name()).set("message", self.message)
    }
}

/// Payload of `ack`: the server acknowledged a message; it left the outbox.
#[derive(Tsify)]
pub struct AckEvent {
    /// The id `send()` returned.
    pub(super) id: String,
}

impl AckEvent {
    pub(super) fn into_js(self) -> JsObject {
        JsObject::new().set("id", self.id)
    }
}

/// Payload of `rejected`: the server refused a message for good (`code` "forbidden": the token may not publish to its channel); it left the outbox and will not be sent again.
#[derive(Tsify)]
pub struct RejectedEvent {
    /// The id `send()` or `publish()` returned.
    pub(super) id: String,
    pub(super) code: String,
    pub(super) message: String,
}

impl RejectedEvent {
    pub(super) fn into_js(self) -> JsObject {
        JsObject::new().set("id", self.id).set("code", self.code).set("message", self.message)
    }
}

/// Payload of `expired`: messages dropped undelivered after `queue.ttlMs`.
#[derive(Tsify)]
pub struct ExpiredEvent {
    pub(super) ids: Vec<String>,
}

impl ExpiredEvent {
    pub(super) fn into_js(self) -> JsObject {
        let ids: js_sys::Array = self.ids.into_iter().map(JsValue::from).collect();
        JsObject::new().set("ids", ids)
    }
}

/// Payload of `warning`: something skipped without harm, such as a stored key that is not a readable tabwire message.
#[derive(Tsify)]
pub struct WarningEvent {
    pub(super) key: String,
    pub(super) message: String,
}

impl WarningEvent {
    pub(super) fn into_js(self) -> JsObject {
        JsObject::new().set("key", self.key).set("message", self.message)
    }
}

impl From<CloseInfo> for CloseDetails {
    fn from(info: CloseInfo) -> Self {
        CloseDetails { code: info.code, reason: info.reason, was_clean: info.clean, will_reconnect: info.will_reconnect }
    }
}
