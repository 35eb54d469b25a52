//! tabwire: a browser WebSocket client that never silently loses a message.
//!
//! - [`core`]: the behaviour, as a sans-IO state machine tested natively.
//! - [`web`]: thin adapters that connect the machine to browser APIs.
//! - [`api`]: the `TabWire` class exported to JavaScript and TypeScript.

pub mod core;
pub mod web;
pub mod api;

pub use api::TabWire;
