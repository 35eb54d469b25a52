//! The `TabWire` class exported to JavaScript, with its TypeScript types.

mod client;
mod event_payloads;
mod events;
mod listeners;
mod names;
mod option_reader;
mod options;
mod options_error;
mod resolve;
mod send;

pub use client::TabWire;
