//! The strict base64 of stored binary bodies (client) and of `binary`
//! message fields (server): decoding anything never panics, and whatever
//! decodes encodes back to the same text (one spelling per byte string).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tabwire::core::base64;

fuzz_target!(|text: &str| {
    if let Ok(bytes) = base64::decode(text) {
        assert_eq!(base64::encode(&bytes), text, "a second spelling of {bytes:?} was accepted");
    }
});
