//! Whether a protocol-mode connection has shown valid credentials, and what
//! they allow. With a `--jwt-secret`, a client authenticates with a JWT, as
//! the `token` query parameter of `/ws` or in an `auth` frame; it is closed
//! with 4401 when the token is invalid or expires, or missing: any frame but
//! `ping` and `hello` before `auth` closes it (malformed frames are answered
//! with their `bad_frame` error, as before authentication they cost
//! nothing), and so does no `auth` frame within `--auth-timeout-secs`, so
//! that a connection cannot be held without credentials. The token's
//! `sub`, when it has one, is the connection's dedupe scope
//! ([`crate::dedupe`]). A later `auth` frame replaces the grant, and the
//! subscriptions the new one does not allow end ([`crate::connection`]).

use std::time::{Duration, Instant};

use crate::hub::Hub;
use crate::jwt::{self, unix_now, Grant};
use crate::protocol::{Handling, ProtocolAction};

/// Close code for missing, invalid or expired credentials.
pub const AUTH_FAILED: u16 = 4401;

/// Where a connection stands with its credentials.
#[derive(Debug)]
pub enum Auth {
    /// The server takes anyone (no secret), or the connection is on `/raw`.
    Open,
    /// Waiting for an `auth` frame, until this instant (`None`: beyond
    /// what the clock can count).
    Required {
        until: Option<Instant>,
    },
    Granted(Grant),
    /// The token of the upgrade request was refused: close at once.
    Refused(String),
}

/// What may happen with one frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Gate {
    Pass,
    /// An `auth` frame, taken: the subscriptions the new grant does not
    /// allow ([`Auth::may_subscribe`]) are to end.
    Taken,
    /// A subscription the token does not allow.
    Forbidden(String),
    /// A publication the token does not allow: (message id, channel).
    ForbiddenPublication(String, String),
    /// Close with 4401 and this reason.
    Close(String),
}

/// The reason of the 4401 close of a connection whose token expired.
const TOKEN_EXPIRED: &str = "token expired";

/// The reason of the 4401 close of a connection that sent no `auth` frame
/// in time.
pub const NO_AUTH_IN_TIME: &str = "authentication required: no auth frame in time";

/// The longest wait for a token's expiry; a token that lasts longer is
/// taken as never expiring, as no connection lives that long. tokio caps
/// its sleeps the same way, and an `Instant` cannot reach much further on
/// every platform.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

impl Auth {
    /// The state of a new connection, from the upgrade's `token` parameter.
    pub fn at_upgrade(hub: &Hub, protocol: bool, token: Option<&str>) -> Auth {
        match (hub.jwt(), protocol, token) {
            (None, _, _) | (_, false, _) => Auth::Open,
            (Some(_), true, None) => Auth::Required {
                until: Instant::now().checked_add(hub.timeouts.auth),
            },
            (Some(config), true, Some(token)) => match jwt::verify(token, config, unix_now()) {
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

    /// Whether the connection may subscribe to `channel` now.
    pub fn may_subscribe(&self, channel: &str) -> bool {
        match self {
            Auth::Open => true,
            Auth::Granted(grant) => grant.may_subscribe(channel),
            Auth::Required { .. } | Auth::Refused(_) => false,
        }
    }

    /// When the connection is to be closed with 4401, and the reason: the
    /// end of the wait for an `auth` frame, or the expiry of the granted
    /// token; `None` if there is none (or a token's not within
    /// [`FAR_FUTURE`]).
    pub fn deadline(&self) -> Option<(Instant, &'static str)> {
        match self {
            Auth::Required { until } => until.map(|at| (at, NO_AUTH_IN_TIME)),
            Auth::Granted(Grant {
                expires_at: Some(exp),
                ..
            }) => expiry(*exp, unix_now(), Instant::now()).map(|at| (at, TOKEN_EXPIRED)),
            _ => None,
        }
    }

    /// Lets `action` go ahead, or not; takes the token of an `auth` frame.
    pub fn check(&mut self, hub: &Hub, action: &ProtocolAction) -> Gate {
        match (&*self, action) {
            (_, ProtocolAction::Auth(token)) => {
                let Some(config) = hub.jwt() else {
                    return Gate::Taken;
                };
                match jwt::verify(token, config, unix_now()) {
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
            (Auth::Required { .. }, ProtocolAction::Reply(_) | ProtocolAction::Hello(_)) => {
                Gate::Pass
            }
            (Auth::Required { .. }, _) => {
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

/// The instant a token expiring at `exp` (Unix seconds) runs out, when the
/// clocks read `now` (Unix seconds) and `at`: saturating, so that no `exp`
/// a signer chose can overflow; `None` beyond [`FAR_FUTURE`].
pub fn expiry(exp: u64, now: u64, at: Instant) -> Option<Instant> {
    let wait = Duration::from_secs(exp.saturating_sub(now));
    if wait > FAR_FUTURE {
        return None;
    }
    at.checked_add(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expiry_of_any_exp_is_computed_without_overflow() {
        let at = Instant::now();
        let now = 1_800_000_000;
        assert_eq!(expiry(now + 5, now, at), Some(at + Duration::from_secs(5)));
        assert_eq!(expiry(now - 5, now, at), Some(at), "already past: at once");
        assert_eq!(expiry(0, u64::MAX, at), Some(at));
        assert_eq!(expiry(u64::MAX, now, at), None, "as good as never");
        assert_eq!(expiry(u64::MAX, 0, at), None);
        let limit = FAR_FUTURE.as_secs();
        assert_eq!(expiry(now + limit, now, at), at.checked_add(FAR_FUTURE));
        assert_eq!(expiry(now + limit + 1, now, at), None);
    }
}
