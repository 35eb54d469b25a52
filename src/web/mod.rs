//! Thin browser adapters: each turns browser events into core inputs, or
//! carries out core effects. None of them decides anything.

pub mod broadcast;
pub mod clock;
pub mod driver;
pub mod frame;
pub mod http;
pub mod js_error;
pub mod js_object;
pub mod link;
pub mod listener;
pub mod locks;
pub mod names;
pub mod peer_codec;
pub mod probe;
pub mod protocol;
pub mod sharing;
pub mod signals;
pub mod socket;
pub mod storage;
pub mod timers;
pub mod url_provider;
pub mod wire;

pub use driver::{Driver, EventSink, WeakDriver};
pub use frame::Frame;
pub use storage::OutboxStore;
pub use wire::{PongMatcher, TokenPlace, TokenSource, WireConfig};
