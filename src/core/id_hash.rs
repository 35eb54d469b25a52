//! Hash tables keyed by message ids, with a hasher made for them.
//!
//! The ids are tabwire's own (`<page load>-<tab>-<sequence>`, from this
//! origin's tabs), so there is no one to defend against with std's SipHash
//! and its random keys; FNV-1a spreads them as well in a few instructions,
//! and leaves SipHash's code out of the binary.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

pub type IdMap<V> = HashMap<String, V, BuildHasherDefault<Fnv>>;
pub type IdSet = HashSet<String, BuildHasherDefault<Fnv>>;

/// 64-bit FNV-1a.
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
