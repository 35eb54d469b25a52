//! A page load restoring its outbox from whatever localStorage holds under
//! its namespace: keys that are message ids or not, values that are
//! records, broken records or anything else. Nothing panics, every readable
//! message is sent once, in id order, before anything newer, and nothing
//! unreadable is sent.

#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tabwire::core::record::{self, PayloadKind};
use tabwire::core::{Config, Effect, Input, Machine, Restored, UrlSource};

/// A key under the namespace: mostly well-formed ids, so that the fuzzer
/// reaches the records, sometimes anything.
#[derive(Arbitrary, Debug)]
enum Key {
    Id { load: u16, tab: u8, sequence: u16 },
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Value {
    Record { created: i64, attempts: u32, kind: u8, body: String },
    Raw(String),
}

impl Key {
    fn text(&self) -> String {
        match self {
            Key::Id { load, tab, sequence } => {
                format!("{:013}-tab{:05}-{:08}", 1_700_000_000_000u64 + u64::from(*load), tab, sequence)
            }
            Key::Raw(text) => text.clone(),
        }
    }
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Record { created, attempts, kind, body } => {
                let kinds = [PayloadKind::Text, PayloadKind::Json, PayloadKind::Binary, PayloadKind::Publish];
                let kind = kinds[usize::from(*kind) % kinds.len()];
                record::header(*created as f64, *attempts, kind) + body
            }
            Value::Raw(text) => text.clone(),
        }
    }
}

fuzz_target!(|stored: Vec<(Key, Value)>| {
    // localStorage holds one value per key: the last write wins.
    let found: BTreeMap<String, String> = stored.iter().map(|(key, value)| (key.text(), value.text())).collect();
    let sorted = record::sort(found.into_iter().collect());
    let expected: Vec<String> = sorted.messages.iter().map(|(id, _)| id.clone()).collect();
    let entries = sorted
        .messages
        .into_iter()
        .map(|(id, value)| Restored { id, payload: value.body, created_ms: 0.0, attempts: value.attempts })
        .collect();

    let mut config = Config::new(UrlSource::Fixed("ws://127.0.0.1:9/ws".to_owned()));
    config.queue.max_messages = usize::MAX;
    config.queue.max_bytes = usize::MAX;
    let mut machine: Machine<String> =
        Machine::new(config, "fuzz0001".to_owned(), "1800000000000-fuzz0001-".to_owned(), Box::new(|| 0.5));
    machine.handle(1.0, Input::Restore { entries, skipped: Vec::new() });
    machine.handle(1.0, Input::Start { online: true });
    let newer = machine.send(1.0, "newer".to_owned()).expect("room for one more").id;

    let mut sent = Vec::new();
    let mut generation = None;
    for _ in 0..2 {
        while let Some(effect) = machine.poll() {
            match effect {
                Effect::OpenSocket { generation: opened, .. } => generation = Some(opened),
                Effect::SendMessage { id: Some(id), .. } => sent.push(id),
                _ => {}
            }
        }
        if let Some(generation) = generation.take() {
            machine.handle(2.0, Input::Opened { generation, subprotocol: String::new() });
            let (protocol, payload) = ("tabwire.v1".to_owned(), String::new());
            machine.handle(2.0, Input::Hello { generation, protocol, payload });
        }
    }
    let mut wanted = expected;
    wanted.push(newer);
    assert_eq!(sent, wanted, "every readable message once, in id order, then the newer one");
});
