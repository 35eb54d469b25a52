//! `/control/token`: JWTs the server takes, for tests (a real deployment's
//! auth service issues them).
//!
//! `token?channels=a,b*&publish=c*&ttl=SECS&sub=NAME&claims=JSON` signs,
//! with the server's secret:
//! - `sub` (default `test`), `channels` and `publish` (comma-separated);
//! - `iat`: now, and `exp`: now + `ttl` (default 3600 s; `ttl=-5` makes one
//!   that expired 5 s ago);
//! - `aud` and `iss`: the server's `--jwt-audience` and `--jwt-issuer`, when
//!   it has them, so that its tokens pass;
//! - then `claims`, a JSON object whose members replace those (`null`
//!   removes one): tests of odd tokens (`{"exp":null}`, `{"nbf":1e300}`,
//!   `{"aud":["x","y"]}`) take them from here rather than signing their own.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Map, Value};

use super::{params, BadRequest, Params, Reply};
use crate::hub::Hub;
use crate::jwt::{sign, unix_now, JwtConfig};

pub(super) async fn token(
    State(hub): State<Arc<Hub>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Reply {
    let params = params(query)?;
    let config = hub
        .jwt()
        .ok_or_else(|| BadRequest("the server has no JWT secret".to_owned()))?;
    let claims = claims(&params, config, unix_now())?;
    Ok(Json(
        json!({ "token": sign(&Value::Object(claims), &config.secret) }),
    ))
}

/// The claims `params` ask for at `now` (see the module).
fn claims(params: &Params, config: &JwtConfig, now: u64) -> Result<Map<String, Value>, BadRequest> {
    let ttl: i64 = match params.get("ttl") {
        None => 3600,
        Some(raw) => raw
            .parse()
            .map_err(|_| BadRequest(format!("ttl: not a whole number of seconds: {raw:?}")))?,
    };
    let list = |name: &str| -> Vec<&str> {
        params
            .get(name)
            .map(|list| list.split(',').filter(|c| !c.is_empty()).collect())
            .unwrap_or_default()
    };
    let mut claims = Map::new();
    claims.insert(
        "sub".into(),
        json!(params.get("sub").map_or("test", String::as_str)),
    );
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now.saturating_add_signed(ttl)));
    claims.insert("channels".into(), json!(list("channels")));
    claims.insert("publish".into(), json!(list("publish")));
    if let Some(audience) = &config.audience {
        claims.insert("aud".into(), json!(audience));
    }
    if let Some(issuer) = &config.issuer {
        claims.insert("iss".into(), json!(issuer));
    }
    if let Some(raw) = params.get("claims") {
        let Ok(Value::Object(overrides)) = serde_json::from_str(raw) else {
            return Err(BadRequest(format!("claims: not a JSON object: {raw:?}")));
        };
        for (name, value) in overrides {
            match value {
                Value::Null => claims.remove(&name),
                value => claims.insert(name, value),
            };
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::verify;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn minted_tokens_pass_the_servers_own_checks() {
        let config = JwtConfig {
            audience: Some("tabwire".into()),
            issuer: Some("https://auth.example".into()),
            leeway_secs: 0,
            ..JwtConfig::new("0123456789abcdef")
        };
        let now = 1_800_000_000;
        let claims = claims(
            &params(&[("channels", "nav:*,a"), ("sub", "ann")]),
            &config,
            now,
        )
        .expect("claims");
        assert_eq!(claims["iat"], json!(now));
        assert_eq!(claims["exp"], json!(now + 3600));
        assert_eq!(claims["aud"], json!("tabwire"));
        let token = sign(&Value::Object(claims), &config.secret);
        let grant = verify(&token, &config, now).expect("valid");
        assert!(grant.may_subscribe("nav:1") && grant.may_subscribe("a"));
        assert_eq!(grant.subject.as_deref(), Some("ann"));
    }

    #[test]
    fn claims_replace_or_remove_members() {
        let config = JwtConfig::new("0123456789abcdef");
        let claims = claims(
            &params(&[("claims", r#"{"exp":null,"nbf":1e300,"aud":["x"]}"#)]),
            &config,
            5,
        )
        .expect("claims");
        assert!(!claims.contains_key("exp"));
        assert_eq!(claims["nbf"], json!(1e300));
        assert_eq!(claims["aud"], json!(["x"]));
        for bad in ["[1]", "not json"] {
            assert!(claims_error(&config, bad).starts_with("claims:"), "{bad}");
        }
    }

    fn claims_error(config: &JwtConfig, raw: &str) -> String {
        match claims(&params(&[("claims", raw)]), config, 5) {
            Ok(claims) => panic!("{raw} gave {claims:?}"),
            Err(BadRequest(message)) => message,
        }
    }
}
