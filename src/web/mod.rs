//! Thin browser adapters: each turns browser events into core inputs, or
//! carries out core effects. None of them decides anything.

pub mod clock;
pub mod driver;
pub mod frame;
pub mod js_error;
pub mod listener;
pub mod protocol;
pub mod signals;
pub mod socket;
pub mod storage;
pub mod timers;
pub mod url_provider;
pub mod wire;

pub use driver::{Driver, EventSink};
pub use frame::Frame;
pub use storage::OutboxStore;
pub use wire::{PongMatcher, WireConfig};
