//! The outbox's copy in localStorage: one key per message, so that an
//! enqueue costs one write, whatever the backlog (see `core::record`).

use js_sys::{ArrayBuffer, JsString, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Storage;

use super::frame::Frame;
use super::names::random_name;
use crate::core::base64;
use crate::core::record::{self, PayloadKind};
use crate::core::transport::REMEMBER_MS;
use crate::core::{Restored, Transport};

#[wasm_bindgen]
extern "C" {
    /// The same `Storage`, with a `setItem` that takes the value as a JS
    /// string, where web-sys's would copy it through wasm first.
    #[wasm_bindgen(js_name = Storage)]
    type UntypedStorage;

    #[wasm_bindgen(method, catch, js_name = setItem)]
    fn set_item(this: &UntypedStorage, key: &str, value: &JsValue) -> Result<(), JsValue>;
}

pub struct OutboxStore {
    storage: Storage,
    /// `tabwire:<namespace>:ob:`, followed by the message id.
    prefix: String,
    /// `tabwire:<namespace>:client`: the client's name for the server.
    client_key: String,
    /// `tabwire:<namespace>:transport`: the HTTP transport the last
    /// connection settled on, and until when that holds.
    transport_key: String,
}

/// Length of a client name: 16 characters of `[0-9a-z]`, 82 bits.
const CLIENT_NAME_LENGTH: usize = 16;

/// What a scan of the store found: messages in send order, and the keys
/// under the prefix that could not be read, with the reason.
pub struct Scan {
    pub entries: Vec<Restored<Frame>>,
    pub skipped: Vec<(String, String)>,
}

impl OutboxStore {
    /// `None` where the page has no localStorage (or it is disabled).
    pub fn open(namespace: &str) -> Option<OutboxStore> {
        let storage = web_sys::window()?.local_storage().ok()??;
        Some(OutboxStore {
            storage,
            prefix: format!("tabwire:{namespace}:ob:"),
            client_key: format!("tabwire:{namespace}:client"),
            transport_key: format!("tabwire:{namespace}:transport"),
        })
    }

    /// The name this client gives the server in its hello, the scope of
    /// the server's deduplication: made once per origin and namespace, and
    /// kept, so that what a reload resends is recognised. One that cannot
    /// be kept (storage full or refused) lasts as long as the page.
    pub fn client_id(&self) -> String {
        let kept = self.storage.get_item(&self.client_key).ok().flatten();
        if let Some(name) = kept.filter(|name| is_client_name(name)) {
            return name;
        }
        let name = random_name(CLIENT_NAME_LENGTH);
        let _ = self.storage.set_item(&self.client_key, &name);
        name
    }

    /// Writes one message. Fails with the browser's error (QuotaExceededError).
    pub fn put(&self, id: &str, frame: &Frame, created_epoch_ms: f64, attempts: u32) -> Result<(), JsValue> {
        let header = JsString::from(record::header(created_epoch_ms, attempts, frame.kind()));
        let body: JsValue = match frame.kind() {
            PayloadKind::Binary => {
                let bytes = Uint8Array::new(frame.data()).to_vec();
                JsValue::from_str(&base64::encode(&bytes))
            }
            PayloadKind::Text | PayloadKind::Json | PayloadKind::Publish => frame.data().clone(),
        };
        let value = header.concat(&body);
        self.storage.unchecked_ref::<UntypedStorage>().set_item(&self.key(id), &value)
    }

    pub fn remove(&self, id: &str) {
        // Only fails where storage is disabled, and then nothing was stored.
        let _ = self.storage.remove_item(&self.key(id));
    }

    /// One pass over the keys: every message under the prefix, in id order.
    /// `to_machine_ms` turns a stored epoch time into the machine's clock.
    pub fn scan(&self, to_machine_ms: impl Fn(f64) -> f64) -> Scan {
        let mut found: Vec<(String, String)> = Vec::new();
        let length = self.storage.length().unwrap_or(0);
        for index in 0..length {
            let Ok(Some(key)) = self.storage.key(index) else { continue };
            if let Some(id) = key.strip_prefix(&self.prefix) {
                let id = id.to_owned();
                if let Ok(Some(value)) = self.storage.get_item(&key) {
                    found.push((id, value));
                }
            }
        }
        let sorted = record::sort(found);
        let entries = sorted
            .messages
            .into_iter()
            .map(|(id, stored)| Restored {
                payload: frame_of(stored.kind, &stored.body),
                created_ms: to_machine_ms(stored.created_epoch_ms),
                attempts: stored.attempts,
                id,
            })
            .collect();
        let skipped = sorted.skipped.into_iter().map(|(id, error)| (self.key(&id), error.to_string())).collect();
        Scan { entries, skipped }
    }

    fn key(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }
}

impl OutboxStore {
    /// Keeps `transport` (`<name>|<until, epoch ms>`) for the next page
    /// loads, for `transport::REMEMBER_MS`; `None` forgets it.
    pub fn remember_transport(&self, transport: Option<Transport>, now_epoch_ms: f64) {
        let _ = match transport {
            Some(transport) => {
                let until = (now_epoch_ms + REMEMBER_MS) as u64;
                self.storage.set_item(
                    &self.transport_key,
                    &format!("{}|{until}", transport.as_str()),
                )
            }
            None => self.storage.remove_item(&self.transport_key),
        };
    }

    /// The transport an earlier page load settled on, if it still holds.
    pub fn remembered_transport(&self, now_epoch_ms: f64) -> Option<Transport> {
        let kept = self.storage.get_item(&self.transport_key).ok().flatten()?;
        // Bytes and a whole number: no str slicing panic, no float parsing
        // linked into the module for this.
        let bar = kept.bytes().position(|byte| byte == b'|')?;
        let until: u64 = kept.get(bar + 1..)?.parse().ok()?;
        ((until as f64) > now_epoch_ms)
            .then(|| Transport::parse(kept.get(..bar)?))
            .flatten()
    }
}

/// A client name this version made (anything else under the key is made
/// anew).
fn is_client_name(name: &str) -> bool {
    name.len() == CLIENT_NAME_LENGTH && name.bytes().all(|byte| byte.is_ascii_digit() || byte.is_ascii_lowercase())
}

/// A client name for a page without storage: it lasts as long as the page.
pub fn page_client_id() -> String {
    random_name(CLIENT_NAME_LENGTH)
}

/// A stored body back as a frame; `record::decode` checked the base64.
fn frame_of(kind: PayloadKind, body: &str) -> Frame {
    match kind {
        PayloadKind::Text => Frame::text(JsString::from(body)),
        PayloadKind::Json => Frame::json(JsString::from(body)),
        PayloadKind::Publish => Frame::publication(JsString::from(body)),
        PayloadKind::Binary => {
            let bytes = base64::decode(body).unwrap_or_default();
            Frame::binary(Uint8Array::from(bytes.as_slice()).buffer().unchecked_into::<ArrayBuffer>())
        }
    }
}
