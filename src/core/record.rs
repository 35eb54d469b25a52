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

const FORMAT: &str = "tw1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    Text,
    Json,
    Binary,
}

impl PayloadKind {
    fn code(self) -> char {
        match self {
            PayloadKind::Text => 't',
            PayloadKind::Json => 'j',
            PayloadKind::Binary => 'b',
        }
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
    BadBase64,
    /// The key under the namespace does not hold a message id.
    BadKey { key: String },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::UnknownFormat => write!(f, "the value is not a {FORMAT} outbox record"),
            RecordError::BadField { field, value } => write!(f, "the {field} field \"{value}\" is not valid"),
            RecordError::BadBase64 => write!(f, "the binary body is not valid base64"),
            RecordError::BadKey { key } => write!(f, "the key \"{key}\" does not end in a message id"),
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
    let kind = match kind {
        "t" => PayloadKind::Text,
        "j" => PayloadKind::Json,
        "b" => PayloadKind::Binary,
        other => return Err(bad("kind", other)),
    };
    if kind == PayloadKind::Binary {
        base64::decode(&body)?;
    }
    Ok(StoredValue { created_epoch_ms, attempts, kind, body })
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

/// Standard base64 with padding (RFC 4648), for binary bodies.
pub mod base64 {
    use super::RecordError;

    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    pub fn decode(text: &str) -> Result<Vec<u8>, RecordError> {
        let bytes = text.as_bytes();
        if bytes.len() % 4 != 0 {
            return Err(RecordError::BadBase64);
        }
        let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
        for (index, chunk) in bytes.chunks(4).enumerate() {
            let last = index == bytes.len() / 4 - 1;
            let padding = chunk.iter().rev().take_while(|&&b| b == b'=').count();
            if padding > 2 || (padding > 0 && !last) {
                return Err(RecordError::BadBase64);
            }
            let mut n = 0u32;
            for &b in &chunk[..4 - padding] {
                let value = ALPHABET.iter().position(|&a| a == b).ok_or(RecordError::BadBase64)?;
                n = n << 6 | value as u32;
            }
            n <<= 6 * padding as u32;
            let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&decoded[..3 - padding]);
        }
        Ok(out)
    }
}
