//! How many connections each IP address holds, and the server as a whole:
//! a connection claims a [`PeerSlot`] before its upgrade is answered (or
//! its HTTP session opened) and gives it back when it ends. The count of
//! an address is dropped when it falls to zero, so the table holds the
//! addresses of live connections only.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Limits;
use crate::handshake::tokens;
use crate::metrics::Refused;

/// What a connection over a cap is told to wait (`Retry-After`, seconds):
/// connections end at their own pace, so this is a pause, not a promise.
const FULL_RETRY_AFTER_SECS: &str = "5";

/// The header a proxy adds the address of its client to.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The connections held, per address and in all.
#[derive(Debug)]
pub struct Peers {
    max_per_ip: u32,
    max: u32,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    per_ip: HashMap<IpAddr, u32>,
    total: u32,
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// Its address holds `--max-connections-per-ip` connections.
    Address,
    /// The server holds `--max-connections`.
    Server,
}

impl Full {
    /// 429 for an address over its share; 503 for a server that is full.
    pub fn status(self) -> StatusCode {
        match self {
            Full::Address => StatusCode::TOO_MANY_REQUESTS,
            Full::Server => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// How the refusal is counted in the metrics.
    pub fn refusal(self) -> Refused {
        match self {
            Full::Address => Refused::AddressFull,
            Full::Server => Refused::ServerFull,
        }
    }

    pub fn why(self) -> &'static str {
        match self {
            Full::Address => "too many connections from this address",
            Full::Server => "too many connections",
        }
    }

    /// The refusal: [`Full::status`], `Retry-After` and `body` (a line of
    /// text for an upgrade, the HTTP transport's JSON error for a session).
    pub fn response(self, body: impl IntoResponse) -> Response {
        let retry_after = [(RETRY_AFTER, HeaderValue::from_static(FULL_RETRY_AFTER_SECS))];
        (self.status(), retry_after, body).into_response()
    }
}

/// A connection's claim on its address's share, given back when dropped.
#[derive(Debug)]
pub struct PeerSlot {
    peers: Arc<Peers>,
    ip: IpAddr,
}

impl PeerSlot {
    /// The address the connection counts under (see [`address`]).
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut held = self.peers.held();
        held.total = held.total.saturating_sub(1);
        if let Some(count) = held.per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                held.per_ip.remove(&self.ip);
            }
        }
    }
}

impl Peers {
    pub fn new(limits: &Limits) -> Self {
        Peers {
            max_per_ip: limits.max_connections_per_ip,
            max: limits.max_connections,
            held: Mutex::new(Held::default()),
        }
    }

    /// A panic elsewhere while holding the lock leaves the counts usable.
    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims a connection for `ip`, if its address and the server are
    /// under their caps.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<PeerSlot, Full> {
        let mut held = self.held();
        if held.total >= self.max {
            return Err(Full::Server);
        }
        if held
            .per_ip
            .get(&ip)
            .is_some_and(|count| *count >= self.max_per_ip)
        {
            return Err(Full::Address);
        }
        *held.per_ip.entry(ip).or_insert(0) += 1;
        held.total += 1;
        Ok(PeerSlot {
            peers: Arc::clone(self),
            ip,
        })
    }
}

/// The address a client counts under: the TCP peer's, or with
/// `trust_forwarded_for` the last `X-Forwarded-For` entry (the one the
/// proxy in front added; those before it are the client's to make up) if
/// it is an address. An IPv4 address mapped into IPv6 is the IPv4 address;
/// another IPv6 address counts by its /64, the network one subscriber
/// usually gets whole.
pub fn address(peer: SocketAddr, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| tokens(headers, X_FORWARDED_FOR).last())
        .flatten()
        .and_then(|entry| std::str::from_utf8(entry).ok())
        .and_then(|entry| {
            entry.parse::<IpAddr>().ok().or_else(|| {
                entry
                    .parse::<SocketAddr>()
                    .ok()
                    .map(|with_port| with_port.ip())
            })
        });
    match forwarded.unwrap_or(peer.ip()) {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests;
