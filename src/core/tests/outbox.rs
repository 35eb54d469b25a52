use proptest::prelude::*;

use super::harness::{config, Harness};
use crate::core::{Config, Event, Failure, Input, Machine, Refusal, Restored, SendOutcome, SendRefusal, Timer};

fn protocol_harness(config: Config) -> Harness {
    let mut harness = Harness::new(config);
    harness.server_greets = true;
    harness.input(Input::Start { online: true });
    harness
}

fn sent_ids(harness: &mut Harness, texts: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for text in texts {
        ids.push(harness.machine.send(harness.now, (*text).to_owned()).expect("accepted").id);
        harness.drain_effects();
    }
    ids
}

/// What a reload does: a new page load restores the stored messages.
fn reload(old: &Harness, config: Config, load: u32) -> Harness {
    reload_at(old, config, load, old.now)
}

fn reload_at(old: &Harness, config: Config, load: u32, now: f64) -> Harness {
    let prefix = format!("{:013}-harness{load}-", load + 1);
    let mut harness = Harness::with_machine(Machine::new(config, format!("harness{load}"), prefix, Box::new(|| 0.5)));
    harness.now = now;
    harness.server_greets = old.server_greets;
    harness.stored = old.stored.clone();
    let entries = old.restorable();
    harness.input(Input::Restore { entries, skipped: Vec::new() });
    harness
}

#[test]
fn messages_sent_while_down_are_stored_one_key_each_then_removed_once_sent() {
    let mut harness = Harness::new(config());
    harness.input(Input::Start { online: false });
    let ids = sent_ids(&mut harness, &["a", "b", "c"]);
    assert_eq!(ids, ["0000000000001-harness0-00000001", "0000000000001-harness0-00000002", "0000000000001-harness0-00000003"]);
    assert_eq!(harness.stored.keys().cloned().collect::<Vec<_>>(), ids);
    harness.input(Input::Online);
    harness.open();
    assert_eq!(harness.sent, ["a", "b", "c"]);
    assert!(harness.sent_ids.is_empty(), "raw mode sends the frames as they are");
    assert!(harness.stored.is_empty(), "raw mode: gone once the socket took them");
}

#[test]
fn raw_sends_while_open_are_never_stored() {
    let mut harness = Harness::connected(config());
    harness.send("now").unwrap();
    assert_eq!(harness.sent, ["now"]);
    assert!(harness.stored.is_empty());
    assert_eq!(harness.machine.queued(), 0);
}

#[test]
fn with_the_protocol_a_message_leaves_only_on_its_ack() {
    let mut harness = protocol_harness(config());
    harness.open();
    let ids = sent_ids(&mut harness, &["a", "b"]);
    assert_eq!(harness.sent_ids, ids);
    assert_eq!(harness.stored.len(), 2);
    harness.ack(&ids[0]);
    assert!(harness.events.contains(&Event::Ack { id: ids[0].clone() }));
    assert_eq!(harness.stored.keys().cloned().collect::<Vec<_>>(), [ids[1].clone()]);
    assert_eq!(harness.machine.queued(), 1);
    harness.ack("unknown");
    harness.ack(&ids[0]);
    assert_eq!(harness.events.iter().filter(|e| matches!(e, Event::Ack { .. })).count(), 1);
}

#[test]
fn unacknowledged_messages_are_resent_first_after_a_reconnect() {
    let mut harness = protocol_harness(config());
    harness.open();
    let first = sent_ids(&mut harness, &["a", "b", "c"]);
    harness.ack(&first[0]);
    harness.drop_connection();
    let later = sent_ids(&mut harness, &["d"]);
    harness.fire_retry();
    harness.open();
    assert_eq!(harness.sent, ["a", "b", "c", "b", "c", "d"]);
    assert_eq!(harness.sent_ids[3..], [first[1].clone(), first[2].clone(), later[0].clone()]);
    let entry = harness.machine.outbox().find(|e| e.id == first[1]).unwrap();
    assert_eq!(entry.attempts, 2);
    assert_eq!(harness.stored[&first[1]].2, 2, "the stored attempt count follows");
}

#[test]
fn a_reload_restores_earlier_messages_before_newer_ones() {
    let mut first = Harness::new(config());
    first.input(Input::Start { online: false });
    sent_ids(&mut first, &["a", "b"]);
    let mut second = reload(&first, config(), 1);
    second.input(Input::Start { online: false });
    sent_ids(&mut second, &["c"]);
    assert_eq!(second.machine.queued(), 3);
    second.input(Input::Online);
    second.open();
    assert_eq!(second.sent, ["a", "b", "c"]);
    assert!(second.stored.is_empty());
}

#[test]
fn unreadable_stored_keys_are_skipped_with_a_warning() {
    let mut harness = Harness::new(config());
    let skipped = vec![("tabwire:x:ob:garbage".to_owned(), "the key does not end in a message id".to_owned())];
    let entry = Restored { id: "0000000000000-aaaaaaaa-00000001".to_owned(), payload: "kept".to_owned(), created_ms: -5.0, attempts: 1 };
    harness.input(Input::Restore { entries: vec![entry.clone(), entry], skipped });
    harness.input(Input::Start { online: true });
    harness.open();
    assert_eq!(harness.sent, ["kept"], "a duplicate id is restored once");
    assert!(harness.events.iter().any(|e| matches!(e, Event::Warning { key, .. } if key == "tabwire:x:ob:garbage")));
}

#[test]
fn a_byte_limit_refuses_what_does_not_fit() {
    let mut config = config();
    config.queue.max_bytes = 10;
    let mut harness = Harness::new(config);
    harness.input(Input::Start { online: false });
    assert_eq!(harness.send("12345678"), Ok(SendOutcome::Queued));
    let refusal = Refusal::TooManyBytes { max_bytes: 10, size: 3 };
    assert_eq!(harness.send("abc"), Err(SendRefusal::QueueFull(refusal)));
    assert_eq!(harness.send("ab"), Ok(SendOutcome::Queued));
    assert!(harness.events.contains(&Event::Error(Failure::QueueFull(refusal))));
}

#[test]
fn restored_messages_are_all_kept_even_beyond_the_limits() {
    let mut first = Harness::new(config());
    first.input(Input::Start { online: false });
    sent_ids(&mut first, &["a", "b", "c"]);
    let mut small = config();
    small.queue.max_messages = 2;
    let mut second = reload(&first, small, 1);
    second.input(Input::Start { online: false });
    assert_eq!(second.machine.queued(), 3);
    assert!(second.send("d").is_err());
    second.input(Input::Online);
    second.open();
    assert_eq!(second.sent, ["a", "b", "c"]);
}

#[test]
fn a_storage_failure_keeps_the_message_in_memory() {
    let mut harness = Harness::new(config());
    harness.input(Input::Start { online: false });
    let ids = sent_ids(&mut harness, &["big"]);
    harness.stored.clear(); // the quota refused it
    harness.input(Input::PersistFailed { id: ids[0].clone(), message: "QuotaExceededError".to_owned() });
    assert_eq!(harness.failures(), ["storage_failed"]);
    let entry = harness.machine.outbox().next().unwrap();
    assert!(!entry.stored);
    harness.input(Input::Online);
    harness.open();
    assert_eq!(harness.sent, ["big"]);
}

#[test]
fn memory_mode_stores_nothing() {
    let mut config = config();
    config.queue.durable = false;
    let mut harness = Harness::new(config);
    harness.input(Input::Start { online: false });
    sent_ids(&mut harness, &["a"]);
    assert!(harness.stored.is_empty());
    assert_eq!(harness.machine.queued(), 1);
}

#[test]
fn messages_expire_after_the_ttl_with_one_event_listing_them() {
    let mut config = config();
    config.queue.ttl_ms = Some(1_000.0);
    let mut harness = Harness::new(config);
    harness.input(Input::Start { online: false });
    let early = sent_ids(&mut harness, &["a", "b"]);
    harness.advance(600.0);
    let late = sent_ids(&mut harness, &["c"]);
    assert_eq!(harness.timer(Timer::Expiry), Some(1_000.0));
    harness.advance(400.0);
    assert!(harness.events.contains(&Event::Expired { ids: early }));
    assert_eq!(harness.stored.keys().cloned().collect::<Vec<_>>(), late);
    assert_eq!(harness.timer(Timer::Expiry), Some(1_600.0));
    harness.advance(600.0);
    assert_eq!(harness.machine.queued(), 0);
    assert_eq!(harness.timer(Timer::Expiry), None);
}

#[test]
fn restored_messages_past_the_ttl_expire_at_once() {
    let mut first = Harness::new(config());
    first.input(Input::Start { online: false });
    let ids = sent_ids(&mut first, &["old"]);
    let mut config = config();
    config.queue.ttl_ms = Some(1_000.0);
    let second = reload_at(&first, config, 1, 5_000.0);
    assert!(second.events.contains(&Event::Expired { ids }));
    assert!(second.stored.is_empty());
    assert_eq!(second.machine.queued(), 0);
}

#[test]
fn clearing_the_outbox_forgets_every_stored_message() {
    let mut harness = Harness::new(config());
    harness.input(Input::Start { online: false });
    sent_ids(&mut harness, &["a", "b"]);
    assert_eq!(harness.machine.clear_outbox(), 2);
    harness.drain_effects();
    assert!(harness.stored.is_empty());
    harness.input(Input::Online);
    harness.open();
    assert!(harness.sent.is_empty());
}

#[test]
fn a_user_close_keeps_what_was_in_flight_for_the_next_connection() {
    let mut harness = protocol_harness(config());
    harness.open();
    let ids = sent_ids(&mut harness, &["a"]);
    harness.input(Input::Close { code: 1000, reason: String::new() });
    harness.input(Input::Reconnect);
    harness.open();
    assert_eq!(harness.sent_ids, [ids[0].clone(), ids[0].clone()]);
}

/// One step of a random session against an acknowledging server.
#[derive(Clone, Debug)]
enum Step {
    Send,
    AckOldest,
    AckAll,
    Drop,
    Reconnect,
    Reload,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Send),
        2 => Just(Step::AckOldest),
        1 => Just(Step::AckAll),
        2 => Just(Step::Drop),
        2 => Just(Step::Reconnect),
        1 => Just(Step::Reload),
    ]
}

proptest! {
    /// Whatever happens (drops, reconnects, reloads, acks in any amount),
    /// once the connection is back and everything is acknowledged, the
    /// server has seen every message, first seen in the order they were sent.
    #[test]
    fn no_message_is_lost_or_reordered(steps in proptest::collection::vec(step(), 1..60)) {
        let mut config = config();
        config.queue.max_messages = 10_000;
        let mut harness = protocol_harness(config.clone());
        let mut accepted: Vec<String> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let mut loads = 0;
        let record = |harness: &Harness, seen: &mut Vec<String>| {
            for id in &harness.sent_ids {
                if !seen.contains(id) {
                    seen.push(id.clone());
                }
            }
        };
        for step in steps {
            match step {
                Step::Send => accepted.push(harness.machine.send(harness.now, format!("m{}", accepted.len())).unwrap().id),
                Step::AckOldest => {
                    let oldest = harness.machine.outbox().find(|e| e.in_flight).map(|e| e.id.clone());
                    if let Some(id) = oldest {
                        harness.ack(&id);
                    }
                }
                Step::AckAll => {
                    let ids: Vec<String> = harness.machine.outbox().filter(|e| e.in_flight).map(|e| e.id.clone()).collect();
                    for id in ids {
                        harness.ack(&id);
                    }
                }
                Step::Drop => {
                    if harness.socket.is_some() {
                        harness.drop_connection();
                    }
                }
                Step::Reconnect => {
                    if harness.socket.is_none() {
                        harness.input(Input::Reconnect);
                    }
                    harness.open();
                }
                Step::Reload => {
                    record(&harness, &mut seen);
                    loads += 1;
                    harness = reload(&harness, config.clone(), loads);
                    harness.input(Input::Start { online: true });
                }
            }
            harness.drain_effects();
        }
        if harness.socket.is_none() {
            harness.input(Input::Reconnect);
        }
        harness.open();
        let ids: Vec<String> = harness.machine.outbox().map(|e| e.id.clone()).collect();
        for id in ids {
            harness.ack(&id);
        }
        record(&harness, &mut seen);
        prop_assert_eq!(&seen, &accepted);
        prop_assert!(harness.stored.is_empty());
        prop_assert_eq!(harness.machine.queued(), 0);
    }
}
