//! Any text frame a client may send the reference server, in raw and in
//! protocol mode: decided without a panic, answered with JSON, and a
//! message or subscription it takes is well-formed.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| tabwire_server::fuzzing::frame(text));
