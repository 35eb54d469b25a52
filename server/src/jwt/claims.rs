//! What a signed token's claims allow, and when: `exp`, `nbf` and `iat`
//! against the server's clock, `aud` and `iss` against its configuration,
//! then `sub`, `channels` and `publish` as the [`Grant`].
//!
//! Every claim value is the signer's, and a signer may be careless: a time
//! claim is taken whatever number it holds (u64::MAX, 1e300, a fraction),
//! clamped into `u64` seconds, and compared with saturating arithmetic, so
//! no value can overflow here or in the deadline computed from it
//! ([`crate::auth`]); anything else in a time claim (a string, a negative
//! number) is refused with [`TokenError::NotADate`].

use serde::Deserialize;
use serde_json::Value;

use super::{JwtConfig, TokenError};

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

/// The claims as signed. Time claims, `aud` and `iss` are read as any JSON
/// value, so that an odd one gets its own refusal rather than "malformed";
/// `null` counts as absent.
#[derive(Deserialize)]
pub(super) struct Claims {
    sub: Option<String>,
    exp: Option<Value>,
    nbf: Option<Value>,
    iat: Option<Value>,
    aud: Option<Value>,
    iss: Option<Value>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    publish: Vec<String>,
}

/// Checks `claims` against `config` at `now` (Unix seconds). `exp` has no
/// leeway: the connection is closed at `exp`, so a token taken a little
/// after it would be closed at once.
pub(super) fn check(claims: Claims, config: &JwtConfig, now: u64) -> Result<Grant, TokenError> {
    let expires_at = numeric_date("exp", claims.exp.as_ref())?;
    let not_before = numeric_date("nbf", claims.nbf.as_ref())?;
    let issued_at = numeric_date("iat", claims.iat.as_ref())?;
    let horizon = now.saturating_add(config.leeway_secs);
    match expires_at {
        None if !config.allow_no_exp => return Err(TokenError::NoExpiry),
        Some(exp) if exp <= now => return Err(TokenError::Expired { expired_at: exp }),
        _ => {}
    }
    if let Some(nbf) = not_before.filter(|&nbf| nbf > horizon) {
        return Err(TokenError::NotYetValid { not_before: nbf });
    }
    if let Some(iat) = issued_at.filter(|&iat| iat > horizon) {
        return Err(TokenError::IssuedInFuture { issued_at: iat });
    }
    if let Some(issuer) = &config.issuer {
        if claims.iss.as_ref().and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(TokenError::Issuer);
        }
    }
    if let Some(audience) = &config.audience {
        if !names(claims.aud.as_ref(), audience) {
            return Err(TokenError::Audience);
        }
    }
    Ok(Grant {
        subject: claims.sub,
        expires_at,
        channels: claims.channels,
        publish: claims.publish,
    })
}

/// A NumericDate (RFC 7519 §2): seconds since 1970, a JSON number that may
/// have a fraction. The fraction is dropped (the leeway dwarfs it); past
/// `u64::MAX` it is `u64::MAX` (a float's conversion saturates). A negative
/// number or any other value is refused: no issuer means one.
fn numeric_date(claim: &'static str, value: Option<&Value>) -> Result<Option<u64>, TokenError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if let Some(seconds) = value.as_u64() {
        return Ok(Some(seconds));
    }
    match value.as_f64() {
        // `as` saturates: 1e300 becomes u64::MAX. No NaN or infinity
        // comes out of JSON.
        Some(seconds) if seconds >= 0.0 => Ok(Some(seconds as u64)),
        _ => Err(TokenError::NotADate(claim)),
    }
}

/// Whether `aud`, a string or an array of strings (RFC 7519 §4.1.3), names
/// `audience`.
fn names(aud: Option<&Value>, audience: &str) -> bool {
    match aud {
        Some(Value::String(one)) => one == audience,
        Some(Value::Array(many)) => many.iter().any(|one| one.as_str() == Some(audience)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{sign, verify};
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"test secret";
    const NOW: u64 = 1_800_000_000;

    fn check_with(config: &JwtConfig, claims: Value) -> Result<Grant, TokenError> {
        verify(&sign(&claims, SECRET), config, NOW)
    }

    fn check(claims: Value) -> Result<Grant, TokenError> {
        check_with(&JwtConfig::new(SECRET), claims)
    }

    #[test]
    fn exp_is_required_unless_allowed() {
        assert_eq!(check(json!({})), Err(TokenError::NoExpiry));
        assert_eq!(check(json!({ "exp": null })), Err(TokenError::NoExpiry));
        let lax = JwtConfig {
            allow_no_exp: true,
            ..JwtConfig::new(SECRET)
        };
        assert_eq!(check_with(&lax, json!({})).map(|g| g.expires_at), Ok(None));
        assert_eq!(
            check_with(&lax, json!({ "exp": NOW })),
            Err(TokenError::Expired { expired_at: NOW }),
            "allowing no exp still honours one"
        );
    }

    #[test]
    fn exp_has_no_leeway() {
        assert_eq!(
            check(json!({ "exp": NOW })),
            Err(TokenError::Expired { expired_at: NOW })
        );
        assert!(check(json!({ "exp": NOW + 1 })).is_ok());
    }

    #[test]
    fn nbf_and_iat_are_taken_up_to_the_leeway_ahead() {
        let exp = NOW + 3600;
        let ahead = |secs: u64| NOW + secs;
        assert!(check(json!({ "exp": exp, "nbf": ahead(30), "iat": ahead(30) })).is_ok());
        assert_eq!(
            check(json!({ "exp": exp, "nbf": ahead(31) })),
            Err(TokenError::NotYetValid {
                not_before: ahead(31)
            })
        );
        assert_eq!(
            check(json!({ "exp": exp, "iat": ahead(31) })),
            Err(TokenError::IssuedInFuture {
                issued_at: ahead(31)
            })
        );
        let strict = JwtConfig {
            leeway_secs: 0,
            ..JwtConfig::new(SECRET)
        };
        assert!(check_with(&strict, json!({ "exp": exp, "nbf": NOW, "iat": NOW })).is_ok());
        assert!(check_with(&strict, json!({ "exp": exp, "nbf": ahead(1) })).is_err());
    }

    #[test]
    fn huge_and_odd_time_claims_are_clamped_or_refused_never_a_panic() {
        let far = json!({ "exp": u64::MAX });
        assert_eq!(check(far).map(|g| g.expires_at), Ok(Some(u64::MAX)));
        let beyond: Value = serde_json::from_str(r#"{"exp":1e300}"#).expect("JSON");
        assert_eq!(check(beyond).map(|g| g.expires_at), Ok(Some(u64::MAX)));
        let past_u64: Value =
            serde_json::from_str(r#"{"exp":18446744073709551616}"#).expect("JSON");
        assert_eq!(check(past_u64).map(|g| g.expires_at), Ok(Some(u64::MAX)));
        let fraction = json!({ "exp": NOW as f64 + 10.75 });
        assert_eq!(check(fraction).map(|g| g.expires_at), Ok(Some(NOW + 10)));
        assert_eq!(
            check(json!({ "exp": NOW + 60, "nbf": u64::MAX })),
            Err(TokenError::NotYetValid {
                not_before: u64::MAX
            })
        );
        assert_eq!(
            check(json!({ "exp": NOW + 60, "iat": 1e300 })),
            Err(TokenError::IssuedInFuture {
                issued_at: u64::MAX
            })
        );
        for claim in ["exp", "nbf", "iat"] {
            for odd in [
                json!(-1),
                json!(-1e300),
                json!("soon"),
                json!([1]),
                json!({}),
                json!(true),
            ] {
                let mut claims = json!({ "exp": NOW + 60 });
                claims[claim] = odd.clone();
                assert_eq!(
                    check(claims),
                    Err(TokenError::NotADate(claim)),
                    "{claim}: {odd}"
                );
            }
        }
        let lenient = JwtConfig {
            leeway_secs: u64::MAX,
            ..JwtConfig::new(SECRET)
        };
        assert!(
            check_with(&lenient, json!({ "exp": u64::MAX, "nbf": u64::MAX })).is_ok(),
            "the horizon saturates"
        );
    }

    #[test]
    fn aud_and_iss_must_match_when_the_server_has_them() {
        let exp = NOW + 60;
        let config = JwtConfig {
            audience: Some("tabwire".into()),
            issuer: Some("https://auth.example".into()),
            ..JwtConfig::new(SECRET)
        };
        let iss = "https://auth.example";
        assert!(check_with(&config, json!({ "exp": exp, "aud": "tabwire", "iss": iss })).is_ok());
        assert!(
            check_with(
                &config,
                json!({ "exp": exp, "aud": ["other", "tabwire"], "iss": iss })
            )
            .is_ok(),
            "an array naming it"
        );
        for aud in [
            json!("other"),
            json!(["other"]),
            json!([]),
            json!(null),
            json!(7),
        ] {
            assert_eq!(
                check_with(&config, json!({ "exp": exp, "aud": aud, "iss": iss })),
                Err(TokenError::Audience),
                "{aud}"
            );
        }
        for bad_iss in [
            json!("https://evil.example"),
            json!(null),
            json!(["https://auth.example"]),
        ] {
            assert_eq!(
                check_with(
                    &config,
                    json!({ "exp": exp, "aud": "tabwire", "iss": bad_iss })
                ),
                Err(TokenError::Issuer),
                "{bad_iss}"
            );
        }
        assert!(
            check(json!({ "exp": exp, "aud": 7, "iss": false })).is_ok(),
            "ignored when the server has neither"
        );
    }
}
