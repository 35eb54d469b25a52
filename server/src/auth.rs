//! Whether a protocol-mode connection has shown valid credentials, and what
//! they allow. With a `--jwt-secret`, a client authenticates with a JWT, as
//! the `token` query parameter of `/ws` or in an `auth` frame; it is closed
//! with 4401 when the token is invalid or expires, or missing: any frame but
//! `ping` and `hello` before `auth` closes it (malformed frames are answered
//! with their `bad_frame` error, as before authentication they cost
//! nothing). The token's `sub`, when it has one, is the connection's dedupe
//! scope ([`crate::dedupe`]).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::hub::Hub;
use crate::jwt::{self, Grant};
use crate::protocol::{Handling, ProtocolAction};

/// Close code for missing, invalid or expired credentials.
pub const AUTH_FAILED: u16 = 4401;

/// Where a connection stands with its credentials.
#[derive(Debug)]
pub enum Auth {
    /// The server takes anyone (no secret), or the connection is on `/raw`.
    Open,
    /// Waiting for an `auth` frame.
    Required,
    Granted(Grant),
    /// The token of the upgrade request was refused: close at once.
    Refused(String),
}

/// What may happen with one frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Gate {
    Pass,
    /// An `auth` frame, taken: nothing to answer.
    Taken,
    /// A subscription the token does not allow.
    Forbidden(String),
    /// A publication the token does not allow: (message id, channel).
    ForbiddenPublication(String, String),
    /// Close with 4401 and this reason.
    Close(String),
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl Auth {
    /// The state of a new connection, from the upgrade's `token` parameter.
    pub fn at_upgrade(hub: &Hub, protocol: bool, token: Option<&str>) -> Auth {
        match (hub.jwt_secret(), protocol, token) {
            (None, _, _) | (_, false, _) => Auth::Open,
            (Some(_), true, None) => Auth::Required,
            (Some(secret), true, Some(token)) => match jwt::verify(token, secret, unix_now()) {
                Ok(grant) => Auth::Granted(grant),
                Err(error) => Auth::Refused(error.to_string()),
            },
        }
    }

    /// The `sub` of the granted token, if it has one.
    pub fn subject(&self) -> Option<&str> {
        match self {
            Auth::Granted(grant) => grant.subject.as_deref(),
            _ => None,
        }
    }

    /// When the granted token expires.
    pub fn deadline(&self) -> Option<Instant> {
        let Auth::Granted(Grant {
            expires_at: Some(exp),
            ..
        }) = self
        else {
            return None;
        };
        Some(Instant::now() + Duration::from_secs(exp.saturating_sub(unix_now())))
    }

    /// Lets `action` go ahead, or not; takes the token of an `auth` frame.
    pub fn check(&mut self, hub: &Hub, action: &ProtocolAction) -> Gate {
        match (&*self, action) {
            (_, ProtocolAction::Auth(token)) => {
                let Some(secret) = hub.jwt_secret() else {
                    return Gate::Taken;
                };
                match jwt::verify(token, secret, unix_now()) {
                    Ok(grant) => {
                        *self = Auth::Granted(grant);
                        Gate::Taken
                    }
                    Err(error) => Gate::Close(error.to_string()),
                }
            }
            (Auth::Refused(reason), _) => Gate::Close(reason.clone()),
            // Pings, the client's hello and answers to malformed frames need
            // no credentials.
            (Auth::Required, ProtocolAction::Reply(_) | ProtocolAction::Hello(_)) => Gate::Pass,
            (Auth::Required, _) => {
                Gate::Close("authentication required: send an auth frame first".to_owned())
            }
            (Auth::Granted(grant), ProtocolAction::Subscribe { channel, .. })
                if !grant.may_subscribe(channel) =>
            {
                Gate::Forbidden(channel.clone())
            }
            (Auth::Granted(grant), ProtocolAction::Deliver(delivery)) => match &delivery.handling {
                Handling::Publish { channel, .. } if !grant.may_publish(channel) => {
                    Gate::ForbiddenPublication(delivery.id.clone(), channel.clone())
                }
                _ => Gate::Pass,
            },
            _ => Gate::Pass,
        }
    }
}
