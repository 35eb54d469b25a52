//! What a close code sent by the server means for the client.

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
    /// 4401 (by analogy with HTTP 401) asks for fresh credentials.
    fn default() -> Self {
        CloseCodePolicy {
            fatal: vec![CodeRange::single(1008), CodeRange { first: 4000, last: 4099 }],
            auth_failure: vec![CodeRange::single(4401)],
        }
    }
}
