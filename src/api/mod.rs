//! The `TabWire` class exported to JavaScript, with its TypeScript types.

mod client;
mod events;
mod listeners;
mod option_keys;
mod options;
mod send;

pub use client::TabWire;
