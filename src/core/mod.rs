//! The whole connection behaviour as a sans-IO state machine.
//!
//! Nothing in here touches the browser, reads a clock or sleeps: the
//! [`Machine`] is fed [`Input`]s together with the current time and answers
//! with [`Effect`]s that the browser layer carries out. That keeps every
//! reconnection schedule, heartbeat deadline and close-code decision testable
//! natively, on a virtual clock, with injected randomness.

pub mod backoff;
pub mod base64;
pub mod close_codes;
pub mod config;
pub mod effect;
pub mod event;
pub mod id_hash;
pub mod input;
pub mod json_string;
pub mod machine;
pub mod mode;
pub mod number;
pub mod outbox;
pub mod positions;
pub mod record;
pub mod share;
pub mod sse;
pub mod state;
pub mod stats;
pub mod subscriptions;
pub mod transport;

/// Native only: the core's tests need no browser.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use config::{Config, ConfigError, HeartbeatConfig, Jitter, ProtocolChoice, QueueConfig, ReconnectConfig, UrlSource};
pub use effect::{Effect, Timer};
pub use event::{CloseInfo, Event, Failure, StateChange};
pub use input::Input;
pub use machine::{Machine, SendOutcome, SendRefusal, Sent};
pub use mode::Mode;
pub use positions::{GapReason, Position};
pub use outbox::{Entry, Refusal, Restored};
pub use share::{Outcome, Peer, Role, ShareConfig};
pub use state::ConnectionState;
pub use stats::Stats;
pub use transport::Transport;

/// What the core needs to know about a message payload.
///
/// The core never looks inside a payload: in the browser it is a `JsValue`
/// that stays on the JS side, in native tests a `String`.
pub trait Payload {
    /// Size for statistics: bytes of a binary frame, JS `length` of a text frame.
    fn size(&self) -> usize;

    /// Whether only a tabwire server can take it (a channel publication):
    /// a raw connection must not send it as application data.
    fn needs_protocol(&self) -> bool;
}

/// The payload of the native tests: a text that starts with `pub:` stands
/// for a channel publication.
impl Payload for String {
    fn size(&self) -> usize {
        self.len()
    }

    fn needs_protocol(&self) -> bool {
        self.starts_with("pub:")
    }
}

