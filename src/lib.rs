//! tabwire: a browser WebSocket client that never silently loses a message.
//!
//! - [`core`]: the behaviour, as a sans-IO state machine tested natively.
//! - [`web`]: thin adapters that connect the machine to browser APIs.
//! - [`api`]: the `TabWire` class exported to JavaScript and TypeScript.

pub mod core;
pub mod web;
pub mod api;

pub use api::TabWire;

/// Talc instead of Rust's default dlmalloc: a few kilobytes smaller, and a
/// general-purpose allocator all the same (freed blocks are merged and
/// reused, so a page that runs for days does not grow). Sound here because
/// this wasm is single-threaded (no `atomics`).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
