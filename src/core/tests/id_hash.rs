use std::hash::Hasher;

use crate::core::id_hash::{Fnv, IdSet};

fn fnv(bytes: &[u8]) -> u64 {
    let mut hasher = Fnv::default();
    hasher.write(bytes);
    hasher.finish()
}

#[test]
fn fnv_1a_gives_the_published_values() {
    assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv(b"foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn an_id_set_holds_each_id_once() {
    let mut ids = IdSet::default();
    assert!(ids.insert("1700000000000-aaaaaaaa-00000001".to_owned()));
    assert!(ids.insert("1700000000000-aaaaaaaa-00000002".to_owned()));
    assert!(!ids.insert("1700000000000-aaaaaaaa-00000001".to_owned()));
    assert_eq!(ids.len(), 2);
}
