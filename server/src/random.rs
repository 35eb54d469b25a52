//! Random names: channel epochs and connection sessions.
//!
//! They need to differ from every earlier one (a restarted server, a Redis
//! that lost its data, another instance), not to be secret, so the standard
//! library's randomly keyed hasher is enough: `RandomState` takes its keys
//! from the operating system once per thread and changes them for every new
//! one, and it hashes a process-wide counter and the time besides. No
//! dependency is added for it.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A new random name of 32 lower-case hexadecimal digits, which fits
/// the epoch's and the client id's form (1 to 64 of `[A-Za-z0-9_-]`).
pub fn token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let mut token = String::with_capacity(32);
    for half in 0..2u8 {
        let hash = RandomState::new().hash_one((count, nanos, half));
        token.push_str(&format!("{hash:016x}"));
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tokens_are_hexadecimal_and_all_different() {
        let tokens: HashSet<String> = (0..1000).map(|_| token()).collect();
        assert_eq!(tokens.len(), 1000);
        assert!(tokens
            .iter()
            .all(|token| token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit())));
    }
}
