//! What a close code sent by the server means for the client.

/// Close code of a server that refuses a client over its rate limit (by
/// analogy with HTTP 429): not fatal; its reason may say how long to stay
/// away (see [`retry_after_ms`]).
pub const RATE_LIMITED: u16 = 4429;

/// The longest wait a [`RATE_LIMITED`] close can impose, so that a server
/// (or whatever forged its close) cannot park the client for ever.
pub const MAX_RETRY_AFTER_MS: f64 = 300_000.0;

/// What a [`RATE_LIMITED`] reason says before the wait, in milliseconds.
const RETRY_AFTER: &str = "retry after ";
/// What follows the number.
const MILLISECONDS: &str = " ms";

/// The reason of a [`RATE_LIMITED`] close that asks for a wait of `ms`
/// milliseconds, after `what` (such as `rate limited per user`): what
/// [`retry_after_ms`] reads.
pub fn retry_after_reason(what: &str, ms: u64) -> String {
    format!("{what}; {RETRY_AFTER}{ms}{MILLISECONDS}")
}

/// How long a server close asks the client to wait before it connects
/// again: for [`RATE_LIMITED`] only, the first `retry after <digits> ms` of
/// the reason, capped at [`MAX_RETRY_AFTER_MS`]. Any other code, or a
/// reason without that phrase, asks for nothing beyond the backoff.
pub fn retry_after_ms(code: u16, reason: &str) -> Option<f64> {
    if code != RATE_LIMITED {
        return None;
    }
    // Bytes, not `str` searching: the pattern searcher would cost the wasm
    // several kilobytes for this one phrase.
    let bytes = reason.as_bytes();
    (0..bytes.len()).find_map(|at| {
        let rest = bytes[at..].strip_prefix(RETRY_AFTER.as_bytes())?;
        let digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
        if digits == 0 || !rest[digits..].starts_with(MILLISECONDS.as_bytes()) {
            return None;
        }
        // Summed by hand, which keeps float parsing out of the wasm; too
        // many digits give a huge number (or infinity), which the cap takes.
        let ms = rest[..digits].iter().fold(0.0, |ms, digit| ms * 10.0 + f64::from(digit - b'0'));
        Some(ms.min(MAX_RETRY_AFTER_MS))
    })
}

/// An inclusive range of close codes; a single code is a range of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeRange {
    pub first: u16,
    pub last: u16,
}

impl CodeRange {
    pub fn single(code: u16) -> Self {
        CodeRange { first: code, last: code }
    }

    fn contains(&self, code: u16) -> bool {
        (self.first..=self.last).contains(&code)
    }
}

/// Which server close codes stop the client and which ask for new credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct CloseCodePolicy {
    /// Codes after which reconnecting would be wrong (policy violation, banned, ...).
    pub fatal: Vec<CodeRange>,
    /// Codes that mean "your credentials are stale": the URL provider is
    /// asked again, told that authentication failed, before the next attempt.
    pub auth_failure: Vec<CodeRange>,
}

/// The decision for one server close code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseAction {
    Stop,
    ReconnectWithFreshCredentials,
    Reconnect,
}

impl CloseCodePolicy {
    pub fn classify(&self, code: u16) -> CloseAction {
        if self.fatal.iter().any(|range| range.contains(code)) {
            CloseAction::Stop
        } else if self.auth_failure.iter().any(|range| range.contains(code)) {
            CloseAction::ReconnectWithFreshCredentials
        } else {
            CloseAction::Reconnect
        }
    }
}

impl Default for CloseCodePolicy {
    /// 1008 (policy violation) and the 4000-4099 application range are fatal;
    /// 4401 (by analogy with HTTP 401) asks for fresh credentials. 4429
    /// ([`RATE_LIMITED`]) is neither: the client reconnects, waiting as
    /// long as its reason asks.
    fn default() -> Self {
        CloseCodePolicy {
            fatal: vec![CodeRange::single(1008), CodeRange { first: 4000, last: 4099 }],
            auth_failure: vec![CodeRange::single(4401)],
        }
    }
}
