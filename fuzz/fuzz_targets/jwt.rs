//! Any token a client may present to a server with a JWT secret, and any
//! claims text signed with that secret (so that arbitrary claim values,
//! however large or odd, reach the exp/nbf/iat/aud/iss checks and the
//! expiry deadline): refused or granted, never a panic, never a grant the
//! rules forbid.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| tabwire_server::fuzzing::token(input));
