//! Client tokens: JWTs signed with HS256 and a secret the server knows.
//!
//! A token's claims name what the client may do: `exp` (Unix seconds) ends
//! it, `channels` lists the channels it may subscribe to and `publish` those
//! it may publish to, as exact names or prefixes ending in `*` (`nav:*`;
//! `*` alone is every channel).

use std::fmt;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use tabwire::core::base64;

type HmacSha256 = Hmac<Sha256>;

/// What a valid token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub subject: Option<String>,
    /// Unix seconds; `None`: the token does not expire.
    pub expires_at: Option<u64>,
    /// Channel patterns it may subscribe to.
    pub channels: Vec<String>,
    /// Channel patterns it may publish to.
    pub publish: Vec<String>,
}

impl Grant {
    pub fn may_subscribe(&self, channel: &str) -> bool {
        matches_any(&self.channels, channel)
    }

    pub fn may_publish(&self, channel: &str) -> bool {
        matches_any(&self.publish, channel)
    }
}

/// Whether one of `patterns` (exact names, or prefixes ending in `*`)
/// covers `channel`.
fn matches_any(patterns: &[String], channel: &str) -> bool {
    patterns
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => channel.starts_with(prefix),
            None => pattern == channel,
        })
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    Malformed(&'static str),
    /// A header `alg` other than HS256.
    Algorithm(String),
    BadSignature,
    Expired {
        expired_at: u64,
    },
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Malformed(what) => write!(f, "malformed token: {what}"),
            TokenError::Algorithm(alg) => {
                write!(f, "token algorithm {alg:?}; only HS256 is accepted")
            }
            TokenError::BadSignature => write!(f, "token signature does not match"),
            TokenError::Expired { expired_at } => write!(f, "token expired at {expired_at}"),
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    exp: Option<u64>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    publish: Vec<String>,
}

/// Checks `token` against `secret` at `now` (Unix seconds).
pub fn verify(token: &str, secret: &[u8], now: u64) -> Result<Grant, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("not three parts"));
    };
    let header: Header = decode_json(header).ok_or(TokenError::Malformed("header"))?;
    if header.alg != "HS256" {
        return Err(TokenError::Algorithm(header.alg));
    }
    let signature = decode(signature).ok_or(TokenError::Malformed("signature"))?;
    let signed = token.rsplit_once('.').map_or("", |(signed, _)| signed);
    let mut mac = mac(secret);
    mac.update(signed.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    let claims: Claims = decode_json(claims).ok_or(TokenError::Malformed("claims"))?;
    if let Some(exp) = claims.exp {
        if exp <= now {
            return Err(TokenError::Expired { expired_at: exp });
        }
    }
    Ok(Grant {
        subject: claims.sub,
        expires_at: claims.exp,
        channels: claims.channels,
        publish: claims.publish,
    })
}

/// A token for `claims` (a JSON object) signed with `secret`.
pub fn sign(claims: &serde_json::Value, secret: &[u8]) -> String {
    let head = format!(
        "{}.{}",
        encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        encode(claims.to_string().as_bytes())
    );
    let mut mac = mac(secret);
    mac.update(head.as_bytes());
    format!("{head}.{}", encode(&mac.finalize().into_bytes()))
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    HmacSha256::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"))
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Option<T> {
    serde_json::from_slice(&decode(part)?).ok()
}

/// base64url without padding, through the strict standard decoder.
fn decode(part: &str) -> Option<Vec<u8>> {
    let mut standard: String = part
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !standard.len().is_multiple_of(4) {
        standard.push('=');
    }
    base64::decode(&standard).ok()
}

fn encode(bytes: &[u8]) -> String {
    base64::encode(bytes)
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"test secret";

    #[test]
    fn a_signed_token_verifies_and_grants_its_channels() {
        let token = sign(
            &json!({ "sub": "ann", "exp": 2_000, "channels": ["nav:*", "risk:desk-1"] }),
            SECRET,
        );
        let grant = verify(&token, SECRET, 1_000).expect("valid");
        assert_eq!(grant.subject.as_deref(), Some("ann"));
        assert_eq!(grant.expires_at, Some(2_000));
        assert!(grant.may_subscribe("nav:FUND-1") && grant.may_subscribe("risk:desk-1"));
        assert!(!grant.may_subscribe("risk:desk-2") && !grant.may_subscribe("navy"));
        let everything =
            verify(&sign(&json!({ "channels": ["*"] }), SECRET), SECRET, 1_000).expect("valid");
        assert!(everything.may_subscribe("anything") && everything.expires_at.is_none());
        assert!(!grant.may_publish("nav:FUND-1"), "reading is not writing");
        let writer = verify(
            &sign(&json!({ "publish": ["approvals:*"] }), SECRET),
            SECRET,
            1_000,
        )
        .expect("valid");
        assert!(writer.may_publish("approvals:desk-3") && !writer.may_publish("nav:1"));
        assert!(
            !writer.may_subscribe("approvals:desk-3"),
            "writing is not reading"
        );
    }

    #[test]
    fn a_known_token_from_elsewhere_verifies() {
        // HS256 of {"alg":"HS256","typ":"JWT"}.{"sub":"1234567890","name":"John Doe","iat":1516239022}
        // with the secret "your-256-bit-secret", as jwt.io shows it.
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        let grant = verify(token, b"your-256-bit-secret", 0).expect("valid");
        assert_eq!(grant.subject.as_deref(), Some("1234567890"));
    }

    #[test]
    fn bad_tokens_are_refused_with_the_reason() {
        let token = sign(&json!({ "exp": 100 }), SECRET);
        assert_eq!(
            verify(&token, SECRET, 100),
            Err(TokenError::Expired { expired_at: 100 })
        );
        assert_eq!(
            verify(&token, b"other secret", 0),
            Err(TokenError::BadSignature)
        );
        let tampered = token.replacen('.', ".e", 1);
        assert!(verify(&tampered, SECRET, 0).is_err());
        assert_eq!(
            verify("a.b", SECRET, 0),
            Err(TokenError::Malformed("not three parts"))
        );
        let none = format!("{}.{}.", encode(br#"{"alg":"none"}"#), encode(b"{}"));
        assert_eq!(
            verify(&none, SECRET, 0),
            Err(TokenError::Algorithm("none".into()))
        );
    }
}
