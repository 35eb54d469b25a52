//! Client tokens: JWTs (RFC 7519) signed with HS256 and a secret the server
//! knows. This module reads a token's form and checks its signature; what
//! its claims allow, and when, is [`claims`].
//!
//! Hand-written rather than the `jsonwebtoken` crate, on purpose:
//! - **Dependencies.** HS256 is HMAC-SHA-256 and base64url, and the server
//!   already has `hmac`, `sha2` and a base64 codec. `jsonwebtoken` 9 brings
//!   13 more crates (`ring` with its C and assembly build, `time`,
//!   `num-bigint`, `pem`, `simple_asn1`...) for RSA and EC keys this server
//!   never takes.
//! - **Constant time.** The MAC is compared by `hmac`'s `verify_slice`,
//!   which compares with `subtle::ConstantTimeEq` (only the length, which is
//!   public, is compared early), as `jsonwebtoken` does.
//! - **Algorithm confusion.** Only `alg: "HS256"` is taken; `none`, the RS
//!   and ES families and a header's `jwk`, `jku` or `kid` are never read, so
//!   no header can pick the key or the algorithm. The secret is never a
//!   public key, so an RS256 public key cannot be used as an HMAC secret.
//! - **Claims.** The checks wanted here differ from `jsonwebtoken`'s
//!   `Validation` anyway: no leeway on `exp` (the connection is closed
//!   then), an `iat` in the future refused, and every claim value, however
//!   large or odd, refused or clamped without overflow ([`claims`]).

mod claims;

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use tabwire::core::base64;

pub use self::claims::Grant;

type HmacSha256 = Hmac<Sha256>;

/// Leeway of `nbf` and `iat` when `--jwt-leeway-secs` is not given.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;

/// How client tokens are checked: the secret they are signed with, and the
/// rules for their claims.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// The HS256 key.
    pub secret: Vec<u8>,
    /// Seconds an `nbf` or `iat` may lie ahead of this server's clock (the
    /// issuer's clock may run ahead). Not applied to `exp`.
    pub leeway_secs: u64,
    /// Take tokens without `exp`, which would never expire: for development
    /// only.
    pub allow_no_exp: bool,
    /// When set, a token's `aud` (a string, or an array of strings) must
    /// name it.
    pub audience: Option<String>,
    /// When set, a token's `iss` must be it.
    pub issuer: Option<String>,
}

impl JwtConfig {
    /// Tokens signed with `secret`, with `exp` required, the default leeway
    /// and any audience and issuer.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        JwtConfig {
            secret: secret.into(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            allow_no_exp: false,
            audience: None,
            issuer: None,
        }
    }
}

impl fmt::Debug for JwtConfig {
    /// Everything but the secret, which must not reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &format_args!("<{} bytes>", self.secret.len()))
            .field("leeway_secs", &self.leeway_secs)
            .field("allow_no_exp", &self.allow_no_exp)
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// Why a token is refused. Shown to the client as the close reason, so
/// each message stays well under the 123 bytes a close frame allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    Malformed(&'static str),
    /// A header `alg` other than HS256.
    Algorithm(String),
    BadSignature,
    /// A time claim that is not a NumericDate (a number of seconds >= 0).
    NotADate(&'static str),
    /// No `exp`, and the server requires one.
    NoExpiry,
    Expired {
        expired_at: u64,
    },
    /// An `nbf` ahead of the server's clock by more than the leeway.
    NotYetValid {
        not_before: u64,
    },
    /// An `iat` ahead of the server's clock by more than the leeway.
    IssuedInFuture {
        issued_at: u64,
    },
    /// The server has an audience and `aud` does not name it.
    Audience,
    /// The server has an issuer and `iss` is not it.
    Issuer,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Malformed(what) => write!(f, "malformed token: {what}"),
            TokenError::Algorithm(alg) => {
                // Cut: the header is the client's, and the reason must fit
                // a close frame.
                let alg: String = alg.chars().take(20).collect();
                write!(f, "token algorithm {alg:?}; only HS256 is accepted")
            }
            TokenError::BadSignature => write!(f, "token signature does not match"),
            TokenError::NotADate(claim) => {
                write!(f, "token {claim} is not a number of seconds since 1970")
            }
            TokenError::NoExpiry => write!(f, "token has no exp; this server requires one"),
            TokenError::Expired { expired_at } => write!(f, "token expired at {expired_at}"),
            TokenError::NotYetValid { not_before } => {
                write!(f, "token not valid before {not_before}")
            }
            TokenError::IssuedInFuture { issued_at } => {
                write!(f, "token issued in the future ({issued_at})")
            }
            TokenError::Audience => write!(f, "token aud does not name this server"),
            TokenError::Issuer => write!(f, "token iss is not the issuer this server trusts"),
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Checks `token` against `config` at `now` (Unix seconds): its form, its
/// signature, then its claims.
pub fn verify(token: &str, config: &JwtConfig, now: u64) -> Result<Grant, TokenError> {
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
    let mut mac = mac(&config.secret);
    mac.update(signed.as_bytes());
    // Constant time: see the module.
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    let claims = decode_json(claims).ok_or(TokenError::Malformed("claims"))?;
    claims::check(claims, config, now)
}

/// The current time in Unix seconds, as tokens count it.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A token for `claims` (a JSON object) signed with `secret`.
pub fn sign(claims: &serde_json::Value, secret: &[u8]) -> String {
    sign_bytes(claims.to_string().as_bytes(), secret)
}

/// A token whose claims part is `claims` as it is, JSON or not (the fuzz
/// target signs arbitrary text, so that the claim checks see it).
pub fn sign_bytes(claims: &[u8], secret: &[u8]) -> String {
    let head = format!(
        "{}.{}",
        encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        encode(claims)
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

    fn config() -> JwtConfig {
        JwtConfig {
            allow_no_exp: true,
            ..JwtConfig::new(SECRET)
        }
    }

    #[test]
    fn a_signed_token_verifies_and_grants_its_channels() {
        let token = sign(
            &json!({ "sub": "ann", "exp": 2_000, "channels": ["nav:*", "risk:desk-1"] }),
            SECRET,
        );
        let grant = verify(&token, &config(), 1_000).expect("valid");
        assert_eq!(grant.subject.as_deref(), Some("ann"));
        assert_eq!(grant.expires_at, Some(2_000));
        assert!(grant.may_subscribe("nav:FUND-1") && grant.may_subscribe("risk:desk-1"));
        assert!(!grant.may_subscribe("risk:desk-2") && !grant.may_subscribe("navy"));
        let everything = verify(
            &sign(&json!({ "channels": ["*"] }), SECRET),
            &config(),
            1_000,
        )
        .expect("valid");
        assert!(everything.may_subscribe("anything") && everything.expires_at.is_none());
        assert!(!grant.may_publish("nav:FUND-1"), "reading is not writing");
        let writer = verify(
            &sign(&json!({ "publish": ["approvals:*"] }), SECRET),
            &config(),
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
        let config = JwtConfig {
            allow_no_exp: true,
            ..JwtConfig::new("your-256-bit-secret")
        };
        let grant = verify(token, &config, 1_516_239_022).expect("valid");
        assert_eq!(grant.subject.as_deref(), Some("1234567890"));
        assert_eq!(
            verify(token, &JwtConfig::new("your-256-bit-secret"), 1_516_239_022),
            Err(TokenError::NoExpiry),
            "exp is required by default"
        );
    }

    #[test]
    fn bad_tokens_are_refused_with_the_reason() {
        let token = sign(&json!({ "exp": 100 }), SECRET);
        assert_eq!(
            verify(&token, &config(), 100),
            Err(TokenError::Expired { expired_at: 100 })
        );
        assert_eq!(
            verify(&token, &JwtConfig::new("other secret"), 0),
            Err(TokenError::BadSignature)
        );
        let tampered = token.replacen('.', ".e", 1);
        assert!(verify(&tampered, &config(), 0).is_err());
        assert_eq!(
            verify("a.b", &config(), 0),
            Err(TokenError::Malformed("not three parts"))
        );
        let none = format!("{}.{}.", encode(br#"{"alg":"none"}"#), encode(b"{}"));
        assert_eq!(
            verify(&none, &config(), 0),
            Err(TokenError::Algorithm("none".into()))
        );
    }

    #[test]
    fn every_refusal_fits_a_close_frame() {
        let long_alg = TokenError::Algorithm("x".repeat(1_000));
        let errors = [
            long_alg,
            TokenError::NotADate("exp"),
            TokenError::NoExpiry,
            TokenError::Expired {
                expired_at: u64::MAX,
            },
            TokenError::NotYetValid {
                not_before: u64::MAX,
            },
            TokenError::IssuedInFuture {
                issued_at: u64::MAX,
            },
            TokenError::Audience,
            TokenError::Issuer,
        ];
        for error in errors {
            assert!(error.to_string().len() <= 123, "{error}");
        }
    }

    #[test]
    fn the_secret_stays_out_of_debug_output() {
        let shown = format!("{:?}", JwtConfig::new("0123456789abcdef-secret"));
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(shown.contains("<23 bytes>"), "{shown}");
    }
}
