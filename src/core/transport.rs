//! Which transport carries the connection: the WebSocket, or, where a proxy
//! or a firewall breaks it, HTTP (a stream of server-sent events, or long
//! polls), with the same frames. The rules of moving between them are here,
//! apart from the machine, so that each is tested alone:
//!
//! - to HTTP after 3 WebSocket attempts in a row that never opened, but only
//!   if an HTTP attempt then opens (if it fails too, the server itself is
//!   down: back to the WebSocket, HTTP tried again every 3rd failure);
//! - to HTTP after 3 WebSocket connections in a row that died within 10 s
//!   without a close handshake (a proxy that lets sockets open and kills
//!   them; the server's own closes do not count);
//! - from a stream to polls when the stream's first event does not come
//!   (a proxy that buffers responses);
//! - back to the WebSocket when a background probe socket opened, greeted
//!   and stayed up for 10 s; the probes come every 5 s at first, then ever
//!   more rarely (up to 5 min), and a WebSocket that dies young after an
//!   upgrade doubles the interval, so a proxy never makes the client flap;
//! - a fall back is kept for the next page loads only once the WebSocket
//!   failed a probe made at once: a server that came back just as HTTP was
//!   tried (it was down, not blocked) is not taken for a blocked one.

/// A way of carrying the frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    /// A `fetch` whose body streams server-sent events; sends are POSTs.
    Sse,
    /// Long polls; sends are POSTs.
    Polling,
}

impl Transport {
    /// The name used on the JavaScript side.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::Sse => "sse",
            Transport::Polling => "polling",
        }
    }

    pub fn parse(name: &str) -> Option<Transport> {
        [Transport::WebSocket, Transport::Sse, Transport::Polling]
            .into_iter()
            .find(|transport| transport.as_str() == name)
    }

    pub fn is_http(self) -> bool {
        self != Transport::WebSocket
    }
}

/// WebSocket failures in a row (never opened, or dead young) before HTTP.
const FALLBACK_AFTER: u32 = 3;
/// A connection that dies younger than this counts as killed.
pub const SHORT_LIVED_MS: f64 = 10_000.0;
/// The first probe of the WebSocket after falling back, and the longest wait between probes.
pub const FIRST_PROBE_MS: f64 = 5_000.0;
const MAX_PROBE_MS: f64 = 300_000.0;
/// How long a probe socket must stay up (a proxy may kill it after a few seconds).
pub const PROBE_HOLD_MS: f64 = SHORT_LIVED_MS;
/// How long a fall back is remembered across page loads.
pub const REMEMBER_MS: f64 = 3_600_000.0;

/// What an attempt's end changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    Stay,
    /// The next attempt tries HTTP (`trial`) on this transport.
    Try(Transport),
    /// An HTTP trial failed too: the server is down, back to the WebSocket.
    BackToWebSocket,
}

#[derive(Debug)]
pub struct Transports {
    /// In the order the application prefers them.
    allowed: Vec<Transport>,
    current: Transport,
    /// WebSocket attempts in a row that never opened.
    unopened: u32,
    /// WebSocket connections in a row that died within `SHORT_LIVED_MS`.
    short_lived: u32,
    /// The current HTTP transport is on trial: it has not opened yet.
    trial: bool,
    /// The wait before the next probe of the WebSocket.
    probe_ms: f64,
    /// Settled on HTTP, but no probe has failed yet: the WebSocket may
    /// only have been down with its server.
    unconfirmed: bool,
}

impl Transports {
    /// `allowed` is not empty (the options say so).
    pub fn new(allowed: Vec<Transport>) -> Self {
        let current = allowed.first().copied().unwrap_or(Transport::WebSocket);
        Transports {
            allowed,
            current,
            unopened: 0,
            short_lived: 0,
            trial: false,
            probe_ms: FIRST_PROBE_MS,
            unconfirmed: false,
        }
    }

    pub fn current(&self) -> Transport {
        self.current
    }

    fn allows(&self, transport: Transport) -> bool {
        self.allowed.contains(&transport)
    }

    /// The HTTP transport to fall back to, if any is allowed.
    fn http(&self) -> Option<Transport> {
        self.allowed
            .iter()
            .copied()
            .find(|transport| transport.is_http())
    }

    /// Whether the WebSocket is to be probed (the connection is on HTTP and
    /// the WebSocket is allowed).
    pub fn probing(&self) -> bool {
        self.current.is_http() && !self.trial && self.allows(Transport::WebSocket)
    }

    /// The wait before the next probe: none while the fall back is
    /// unconfirmed.
    pub fn probe_ms(&self) -> f64 {
        if self.unconfirmed {
            0.0
        } else {
            self.probe_ms
        }
    }

    /// An attempt ended: it never opened (`uptime_ms` is `None`), or its
    /// connection lived that long; `closed_cleanly`: with a close
    /// handshake, which the server took part in (a restart, a broker it
    /// lost), so no proxy killed it.
    pub fn attempt_ended(&mut self, uptime_ms: Option<f64>, closed_cleanly: bool) -> Move {
        if self.current.is_http() {
            if self.trial && uptime_ms.is_none() {
                self.trial = false;
                self.unopened = 0;
                self.current = Transport::WebSocket;
                return Move::BackToWebSocket;
            }
            return Move::Stay;
        }
        match uptime_ms {
            None => self.unopened += 1,
            Some(_) if closed_cleanly => self.unopened = 0,
            Some(uptime) if uptime < SHORT_LIVED_MS => {
                self.unopened = 0;
                self.short_lived += 1;
            }
            Some(_) => {
                self.unopened = 0;
                self.short_lived = 0;
            }
        }
        match self.http() {
            Some(http) if self.unopened >= FALLBACK_AFTER || self.short_lived >= FALLBACK_AFTER => {
                self.current = http;
                self.trial = true;
                Move::Try(http)
            }
            _ => Move::Stay,
        }
    }

    /// The connection opened (its server greeted): an HTTP transport on
    /// trial it is, until a probe says otherwise.
    pub fn opened(&mut self) {
        if self.trial {
            self.trial = false;
            self.unopened = 0;
            self.short_lived = 0;
            self.unconfirmed = true;
        }
    }

    /// A stream opened but its first event did not come: a proxy buffers
    /// it. Returns the transport to try next, polling, if allowed.
    pub fn buffered(&mut self) -> Option<Transport> {
        if self.current == Transport::Sse && self.allows(Transport::Polling) {
            self.current = Transport::Polling;
            return Some(Transport::Polling);
        }
        None
    }

    /// A page load starts where an earlier one settled, if still allowed.
    pub fn resume(&mut self, remembered: Transport) {
        if self.allows(remembered) && remembered.is_http() {
            self.current = remembered;
        }
    }

    /// A probe socket passed: the next attempt is a WebSocket.
    pub fn upgrade(&mut self) {
        self.current = Transport::WebSocket;
        self.trial = false;
        self.unopened = 0;
        self.unconfirmed = false;
        // A WebSocket that dies young now counts at once towards falling
        // back again; the next fall back probes less often.
        self.short_lived = FALLBACK_AFTER - 1;
        self.probe_ms = (self.probe_ms * 2.0).min(MAX_PROBE_MS);
    }

    /// A probe socket failed: the next one comes later. Returns the
    /// transport to keep for the next page loads when this failure is the
    /// one that confirms the fall back.
    pub fn probe_failed(&mut self) -> Option<Transport> {
        if std::mem::take(&mut self.unconfirmed) {
            return Some(self.current);
        }
        self.probe_ms = (self.probe_ms * 2.0).min(MAX_PROBE_MS);
        None
    }
}
