//! Any token a client may present to a server started with --jwt-secret:
//! refused or granted, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|token: &str| tabwire_server::fuzzing::token(token));
