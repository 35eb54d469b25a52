//! Where the events of `tracing` go: stderr (stdout carries the one line
//! scripts read), as text or JSON lines, down to the level asked for.

use tracing_subscriber::fmt;

use crate::args::{LogFormat, Logs};

/// Writes the events at `logs.level` or above, from now on.
pub fn init(logs: Logs) {
    let subscriber = fmt()
        .with_writer(std::io::stderr)
        .with_max_level(logs.level);
    // Fails only if a subscriber is already set, which nothing else does.
    let _ = match logs.format {
        LogFormat::Text => subscriber.try_init(),
        LogFormat::Json => subscriber.json().try_init(),
    };
}
