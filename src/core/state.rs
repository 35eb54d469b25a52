//! The connection states a user can observe.

/// Where the connection stands. Every change is reported as a `state` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Created with `autoConnect: false` and not started yet.
    Idle,
    /// A socket (or the URL provider) is working on a connection.
    Connecting,
    /// The socket is open; sends go straight out.
    Open,
    /// Waiting for the backoff delay before the next attempt.
    Reconnecting,
    /// The browser reports no network; waiting for `online`.
    Offline,
    /// Stopped for good: closed by the user, by a fatal close code, or out of retries.
    Closed,
}

impl ConnectionState {
    /// The name used on the JavaScript side.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Idle => "idle",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Open => "open",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Offline => "offline",
            ConnectionState::Closed => "closed",
        }
    }

    /// The state of a name from [`ConnectionState::as_str`].
    pub fn parse(name: &str) -> Option<ConnectionState> {
        [
            ConnectionState::Idle,
            ConnectionState::Connecting,
            ConnectionState::Open,
            ConnectionState::Reconnecting,
            ConnectionState::Offline,
            ConnectionState::Closed,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }
}
