//! How an outbox entry is stored: one localStorage key per message.
//!
//! Key: `<namespace>:ob:<id>`, where the id is `<page load time, 13
//! digits>-<tab, 8 characters>-<sequence, 8 digits>`, so keys sort in the
//! order messages were sent, page load by page load. Value:
//! `tw1|<created, epoch ms>|<attempts>|<kind>|<body>`, where kind is `t`
//! (text), `j` (JSON text) or `b` (binary, body in base64). The body comes
//! last and unescaped, so the browser layer can append a JS string to the
//! header without copying it through wasm.

use std::fmt;

use super::base64;

const FORMAT: &str = "tw1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    Text,
    Json,
    Binary,
    /// A message for a channel: JSON `{"channel": ..., "data": ...}`.
    Publish,
}

impl PayloadKind {
    /// One letter naming the kind, in storage and between tabs.
    pub fn code(self) -> &'static str {
        match self {
            PayloadKind::Text => "t",
            PayloadKind::Json => "j",
            PayloadKind::Binary => "b",
            PayloadKind::Publish => "p",
        }
    }

    pub fn from_code(code: &str) -> Option<PayloadKind> {
        [PayloadKind::Text, PayloadKind::Json, PayloadKind::Binary, PayloadKind::Publish]
            .into_iter()
            .find(|kind| kind.code() == code)
    }
}

/// A decoded value; `body` is text, JSON text or base64, as `kind` says.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredValue {
    pub created_epoch_ms: f64,
    pub attempts: u32,
    pub kind: PayloadKind,
    pub body: String,
}

/// Why a stored value could not be read back.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordError {
    /// Not a tabwire record, or one of a format this version does not know.
    UnknownFormat,
    BadField { field: &'static str, value: String },
    BadBase64 { reason: String },
    /// The key under the namespace does not end in a message id.
    BadId { id: String },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::UnknownFormat => write!(f, "the value is not a {FORMAT} outbox record"),
            RecordError::BadField { field, value } => write!(f, "the {field} field \"{value}\" is not valid"),
            RecordError::BadBase64 { reason } => write!(f, "the binary body is not valid base64: {reason}"),
            RecordError::BadId { id } => write!(f, "the key ends in \"{id}\", which is not a message id"),
        }
    }
}

/// Everything of a value before the body.
pub fn header(created_epoch_ms: f64, attempts: u32, kind: PayloadKind) -> String {
    format!("{FORMAT}|{}|{attempts}|{}|", created_epoch_ms.floor() as i64, kind.code())
}

pub fn decode(value: &str) -> Result<StoredValue, RecordError> {
    let mut fields = value.splitn(5, '|');
    if fields.next() != Some(FORMAT) {
        return Err(RecordError::UnknownFormat);
    }
    let mut next = |field: &'static str| fields.next().ok_or(RecordError::BadField { field, value: String::new() });
    let created = next("created")?;
    let attempts = next("attempts")?;
    let kind = next("kind")?;
    let body = next("body")?.to_owned();
    let bad = |field: &'static str, value: &str| RecordError::BadField { field, value: value.to_owned() };
    let created_epoch_ms = created.parse::<i64>().map_err(|_| bad("created", created))? as f64;
    let attempts = attempts.parse::<u32>().map_err(|_| bad("attempts", attempts))?;
    let kind = PayloadKind::from_code(kind).ok_or_else(|| bad("kind", kind))?;
    if kind == PayloadKind::Binary {
        base64::decode(&body).map_err(|reason| RecordError::BadBase64 { reason })?;
    }
    Ok(StoredValue { created_epoch_ms, attempts, kind, body })
}

/// What a pass over the stored (id, value) pairs of a namespace found.
#[derive(Debug, Default, PartialEq)]
pub struct Sorted {
    /// The readable messages, in id order (send order, page load by page load).
    pub messages: Vec<(String, StoredValue)>,
    /// The ids that are not readable messages, with the reason; their
    /// keys are left alone.
    pub skipped: Vec<(String, RecordError)>,
}

/// Sorts what localStorage holds under a namespace (message id, value),
/// in any order, into readable messages in send order and the rest.
pub fn sort(mut found: Vec<(String, String)>) -> Sorted {
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut sorted = Sorted { messages: Vec::with_capacity(found.len()), skipped: Vec::new() };
    for (id, value) in found {
        if !is_message_id(&id) {
            sorted.skipped.push((id.clone(), RecordError::BadId { id }));
            continue;
        }
        match decode(&value) {
            Ok(stored) => sorted.messages.push((id, stored)),
            Err(error) => sorted.skipped.push((id, error)),
        }
    }
    sorted
}

/// `<13 digits>-<8 of [0-9a-z]>-<8 digits>`: what this version generates.
pub fn is_message_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    let digits = |part: &str, width: usize| part.len() == width && part.bytes().all(|b| b.is_ascii_digit());
    parts.len() == 3
        && digits(parts[0], 13)
        && parts[1].len() == 8
        && parts[1].bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        && digits(parts[2], 8)
}

/// The id prefix of one page load: `<time, 13 digits>-<tab id>-`.
pub fn id_prefix(load_epoch_ms: f64, tab: &str) -> String {
    format!("{:013}-{tab}-", load_epoch_ms.floor() as i64)
}
