//! Why an options object was rejected: every message names the option.

use std::fmt;

use crate::core::ConfigError;

/// A rejected options object.
#[derive(Debug)]
pub enum OptionsError {
    /// The options are not an object; what they are instead.
    NotAnObject(String),
    /// A key that no option has, with its path (`reconnect.minDelay`).
    UnknownOption(String),
    /// A value of the wrong type: its path, what the option takes and what it got.
    WrongType { option: String, expected: String, found: String },
    /// No `url`.
    MissingUrl,
    /// `url` is neither a string nor a function.
    UrlType,
    /// `heartbeat.pong` is neither a string nor a function.
    PongType,
    /// `token` is neither a string nor a function.
    TokenType,
    /// `url` is a function and no `queue.key` names the namespace.
    ProviderWithoutKey,
    /// `transports` breaks a rule, said in the text.
    Transports(String),
    Value(ConfigError),
}

impl From<ConfigError> for OptionsError {
    fn from(error: ConfigError) -> Self {
        OptionsError::Value(error)
    }
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionsError::NotAnObject(found) => write!(f, "tabwire: invalid options: expected an object, not {found}"),
            OptionsError::UnknownOption(key) => write!(f, "tabwire: unknown option \"{key}\""),
            OptionsError::WrongType { option, expected, found } => {
                write!(f, "tabwire: {option} must be {expected}, not {found}")
            }
            OptionsError::MissingUrl => {
                write!(f, "tabwire: url is required: a ws:// or wss:// URL, or a function that returns one")
            }
            OptionsError::UrlType => write!(f, "tabwire: url must be a string or a function"),
            OptionsError::PongType => write!(f, "tabwire: heartbeat.pong must be a string or a function"),
            OptionsError::TokenType => write!(f, "tabwire: token must be a string or a function"),
            OptionsError::Transports(problem) => write!(f, "tabwire: transports {problem}"),
            OptionsError::ProviderWithoutKey => write!(
                f,
                "tabwire: queue.key is required when url is a function: it names the stored outbox and the tabs that share a connection, which the URL names otherwise (two apps of one origin must not share them)"
            ),
            OptionsError::Value(error) => write!(f, "tabwire: {error}"),
        }
    }
}
