//! The resolved, validated configuration of a client, and the rules that
//! option values must follow.
//!
//! Options arrive from JavaScript as loosely typed numbers and strings; the
//! checks here turn each bad value into a [`ConfigError`] that names the
//! option and the rule, so the constructor can throw a useful message.

use std::fmt;

use super::close_codes::{CloseCodePolicy, CodeRange};
use super::number::Number;
use super::share::ShareConfig;
use super::transport::Transport;

/// Where the URL of each connection attempt comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum UrlSource {
    Fixed(String),
    /// A user function, called on every attempt (it may refresh a token).
    Provider,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Random in `[0, delay]` (the default; spreads a reconnect storm best).
    Full,
    /// `delay / 2` plus a random half.
    Equal,
    None,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReconnectConfig {
    pub min_delay_ms: f64,
    pub max_delay_ms: f64,
    pub factor: f64,
    pub jitter: Jitter,
    /// `None`: retry for ever.
    pub max_retries: Option<u32>,
    /// The retry counter resets only after a connection stayed open this long,
    /// so a server that accepts and drops at once still meets a growing delay.
    pub min_uptime_ms: f64,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        ReconnectConfig {
            min_delay_ms: 500.0,
            max_delay_ms: 30_000.0,
            factor: 2.0,
            jitter: Jitter::Full,
            max_retries: None,
            min_uptime_ms: 5_000.0,
        }
    }
}

/// Timing of the heartbeat. The ping text and pong matcher are payload
/// matters and stay with the browser layer.
#[derive(Clone, Debug, PartialEq)]
pub struct HeartbeatConfig {
    pub interval_ms: f64,
    pub timeout_ms: f64,
    /// Ping raw connections too. Off unless the application gave its ping:
    /// a server that does not speak tabwire never answers the default
    /// `{"type":"ping"}`, and a strict one closes on an unknown frame.
    pub in_raw: bool,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        HeartbeatConfig { interval_ms: 25_000.0, timeout_ms: 10_000.0, in_raw: false }
    }
}

/// Which protocol the application expects of its server (option `protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolChoice {
    /// Tabwire if the server greets with its hello, raw otherwise.
    Auto,
    /// Only tabwire: a server that does not greet is an error, retried.
    Tabwire,
    /// Never tabwire: frames pass through from the moment the socket opens.
    Raw,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueueConfig {
    /// How many undelivered messages the outbox keeps.
    pub max_messages: usize,
    /// How large they may be together (JS string length, or bytes).
    pub max_bytes: usize,
    /// Written to storage, one key per message, to survive a reload.
    pub durable: bool,
    /// Messages older than this are dropped with an `expired` event;
    /// `None`: kept until delivered.
    pub ttl_ms: Option<f64>,
}

impl QueueConfig {
    /// A day: the reference server remembers the ids it handled for as
    /// long (its dedupe window), so a message resent within its life is
    /// handled once.
    pub const DEFAULT_TTL_MS: f64 = 86_400_000.0;
}

impl Default for QueueConfig {
    /// 1 MiB of characters: a fifth of what Chromium gives an origin.
    fn default() -> Self {
        QueueConfig { max_messages: 1000, max_bytes: 1 << 20, durable: true, ttl_ms: Some(Self::DEFAULT_TTL_MS) }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub url: UrlSource,
    pub reconnect: ReconnectConfig,
    pub connect_timeout_ms: f64,
    /// `None`: no heartbeat.
    pub heartbeat: Option<HeartbeatConfig>,
    pub close_codes: CloseCodePolicy,
    pub queue: QueueConfig,
    /// Connect as soon as the client is created (otherwise wait in `idle`).
    pub auto_connect: bool,
    /// Share one connection with the other tabs; `None`: this tab is solo.
    pub share: Option<ShareConfig>,
    pub protocol: ProtocolChoice,
    /// How long an open socket waits for the server's hello before it is
    /// taken for a raw one (`Auto`) or given up (`Tabwire`).
    pub hello_timeout_ms: f64,
    /// The transports allowed, in the order tried (never empty).
    pub transports: Vec<Transport>,
}

impl Config {
    pub const DEFAULT_CONNECT_TIMEOUT_MS: f64 = 10_000.0;
    /// A tabwire server greets as soon as the socket is up (its hello
    /// follows the handshake's answer on the same TCP stream); a second
    /// covers a slow link. A raw server that does not speak first costs
    /// what was queued before the open this wait, once per connection.
    pub const DEFAULT_HELLO_TIMEOUT_MS: f64 = 1_000.0;

    /// A configuration with every default and the given URL source.
    pub fn new(url: UrlSource) -> Self {
        Config {
            url,
            reconnect: ReconnectConfig::default(),
            connect_timeout_ms: Self::DEFAULT_CONNECT_TIMEOUT_MS,
            heartbeat: Some(HeartbeatConfig::default()),
            close_codes: CloseCodePolicy::default(),
            queue: QueueConfig::default(),
            auto_connect: true,
            share: None,
            protocol: ProtocolChoice::Auto,
            hello_timeout_ms: Self::DEFAULT_HELLO_TIMEOUT_MS,
            transports: vec![Transport::WebSocket, Transport::Sse, Transport::Polling],
        }
    }

    /// Rules that involve more than one option.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.reconnect.min_delay_ms > self.reconnect.max_delay_ms {
            return Err(ConfigError::MinDelayAboveMax {
                min: self.reconnect.min_delay_ms,
                max: self.reconnect.max_delay_ms,
            });
        }
        if let UrlSource::Fixed(url) = &self.url {
            check_url(url)?;
        }
        Ok(())
    }
}

/// A rejected option value: one variant per rule, carrying the bad input.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigError {
    /// A duration that is negative, infinite or not a number.
    NotADuration { option: &'static str, value: f64 },
    /// A duration that must be above zero.
    ZeroDuration { option: &'static str },
    /// A count that is negative, fractional or too large.
    NotACount { option: &'static str, value: f64 },
    FactorBelowOne { value: f64 },
    MinDelayAboveMax { min: f64, max: f64 },
    /// A close code outside what a server can send (1000-4999).
    NotACloseCode { option: &'static str, value: f64 },
    /// A close code range whose first code is above its last.
    EmptyCodeRange { option: &'static str, first: u16, last: u16 },
    InvalidUrl { url: String, reason: &'static str },
    InvalidProtocol { protocol: String },
    DuplicateProtocol { protocol: String },
    EmptyPing,
    EmptyTypeField,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NotADuration { option, value } => {
                write!(f, "{option} ({}) must be a finite number of milliseconds, at least 0", Number(*value))
            }
            ConfigError::ZeroDuration { option } => write!(f, "{option} must be above 0 ms"),
            ConfigError::NotACount { option, value } => {
                write!(f, "{option} ({}) must be a whole number from 0 to {}", Number(*value), u32::MAX)
            }
            ConfigError::FactorBelowOne { value } => {
                write!(f, "reconnect.factor ({}) must be a finite number of at least 1", Number(*value))
            }
            ConfigError::MinDelayAboveMax { min, max } => write!(
                f,
                "reconnect.minDelayMs ({}) must not exceed reconnect.maxDelayMs ({})",
                Number(*min),
                Number(*max)
            ),
            ConfigError::NotACloseCode { option, value } => {
                write!(f, "{option} ({}) must be a close code from 1000 to 4999", Number(*value))
            }
            ConfigError::EmptyCodeRange { option, first, last } => {
                write!(f, "{option} range [{first}, {last}] has its first code above its last")
            }
            ConfigError::InvalidUrl { url, reason } => write!(f, "url \"{url}\" {reason}"),
            ConfigError::InvalidProtocol { protocol } => write!(
                f,
                "protocols entry \"{protocol}\" is not a valid subprotocol token (RFC 6455)"
            ),
            ConfigError::DuplicateProtocol { protocol } => {
                write!(f, "protocols lists \"{protocol}\" twice")
            }
            ConfigError::EmptyPing => write!(f, "heartbeat.ping must not be empty"),
            ConfigError::EmptyTypeField => write!(f, "typeField must not be empty"),
        }
    }
}

/// A duration option: finite and at least zero.
pub fn check_duration(option: &'static str, value: f64) -> Result<f64, ConfigError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(ConfigError::NotADuration { option, value })
    }
}

/// A duration option that must be above zero (a zero timeout would fire at once).
pub fn check_positive_duration(option: &'static str, value: f64) -> Result<f64, ConfigError> {
    match check_duration(option, value)? {
        0.0 => Err(ConfigError::ZeroDuration { option }),
        value => Ok(value),
    }
}

/// A count option: a whole number that fits in 32 bits.
pub fn check_count(option: &'static str, value: f64) -> Result<u32, ConfigError> {
    if value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value) {
        Ok(value as u32)
    } else {
        Err(ConfigError::NotACount { option, value })
    }
}

pub fn check_factor(value: f64) -> Result<f64, ConfigError> {
    if value.is_finite() && value >= 1.0 {
        Ok(value)
    } else {
        Err(ConfigError::FactorBelowOne { value })
    }
}

pub fn check_close_code(option: &'static str, value: f64) -> Result<u16, ConfigError> {
    if value.fract() == 0.0 && (1000.0..=4999.0).contains(&value) {
        Ok(value as u16)
    } else {
        Err(ConfigError::NotACloseCode { option, value })
    }
}

pub fn check_code_range(option: &'static str, first: f64, last: f64) -> Result<CodeRange, ConfigError> {
    let first = check_close_code(option, first)?;
    let last = check_close_code(option, last)?;
    if first > last {
        return Err(ConfigError::EmptyCodeRange { option, first, last });
    }
    Ok(CodeRange { first, last })
}

/// A WebSocket URL: `ws://` or `wss://` and a host.
pub fn check_url(url: &str) -> Result<(), ConfigError> {
    match url_problem(url) {
        None => Ok(()),
        Some(reason) => Err(ConfigError::InvalidUrl { url: url.to_owned(), reason }),
    }
}

/// Why `url` cannot be a WebSocket URL, if it cannot.
pub fn url_problem(url: &str) -> Option<&'static str> {
    // `get` and bytes, never `url[..]` or `contains(char)`: both can reach
    // core's panic for a slice off a char boundary, whose message links
    // char's Debug and the Unicode tables (about 5 KB gzipped).
    let after_scheme = ["wss://", "ws://"].iter().find_map(|scheme| {
        let head = url.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme).then(|| url.get(scheme.len()..)).flatten()
    });
    let Some(rest) = after_scheme else { return Some("must start with ws:// or wss://") };
    if rest.split(['/', '?', '#']).next().unwrap_or_default().is_empty() {
        return Some("has no host");
    }
    if url.bytes().any(|b| b == b'#') {
        return Some("must not contain a fragment (#)");
    }
    None
}

/// Subprotocols: RFC 6455 tokens, no duplicates (the browser would throw).
pub fn check_protocols(protocols: &[String]) -> Result<(), ConfigError> {
    const SEPARATORS: &[u8] = b"()<>@,;:\\\"/[]?={} \t";
    for (index, protocol) in protocols.iter().enumerate() {
        let is_token = !protocol.is_empty()
            && protocol.bytes().all(|b| (0x21..=0x7e).contains(&b) && !SEPARATORS.contains(&b));
        if !is_token {
            return Err(ConfigError::InvalidProtocol { protocol: protocol.clone() });
        }
        if protocols[..index].contains(protocol) {
            return Err(ConfigError::DuplicateProtocol { protocol: protocol.clone() });
        }
    }
    Ok(())
}
