use super::delivery::Delivered;
use super::records::{Stats, MAX_RECORDED_PER_TAG};
use super::*;
use crate::dedupe::{DedupeScope, Sender};
use crate::history::Since;
use crate::protocol::{Delivery, Handling};

mod channels;

fn hub() -> Arc<Hub> {
    Arc::new(Hub::new(true))
}

/// A WebSocket, compressed or not.
fn socket(compressed: bool) -> Carrier {
    Carrier::WebSocket { compressed }
}

/// The dedupe scope of client `client` in tag `tag`.
fn client(tag: &str, client: &str) -> DedupeScope {
    DedupeScope {
        tag: tag.to_owned(),
        sender: Sender::Client(client.to_owned()),
    }
}

#[test]
fn stats_and_received_follow_tags() {
    let hub = hub();
    let (a, _a_rx) = hub.register("a".into(), false, socket(false));
    let (_b, _b_rx) = hub.register("b".into(), false, socket(false));
    hub.record("a", "one".into());
    hub.record("b", "two".into());
    hub.record("a", "three".into());
    assert_eq!(
        hub.stats(Scope::Tag("a")),
        Stats {
            connections: 1,
            frames_received: 2,
            connections_total: 1,
            duplicates: 0,
            protocol_connections: 0,
            ..Stats::default()
        }
    );
    assert_eq!(hub.received(Scope::Tag("a")), ["one", "three"]);
    assert_eq!(hub.received(Scope::All), ["one", "two", "three"]);
    drop(a);
    assert_eq!(hub.stats(Scope::Tag("a")).connections, 0);
    assert_eq!(hub.stats(Scope::Tag("a")).connections_total, 1);
    assert_eq!(hub.stats(Scope::All).connections, 1);
}

#[test]
fn stats_count_the_live_compressed_connections_in_scope() {
    let hub = hub();
    let (a, _a_rx) = hub.register("a".into(), true, socket(true));
    let (_b, _b_rx) = hub.register("a".into(), false, socket(false));
    let (_c, _c_rx) = hub.register("c".into(), false, socket(true));
    assert_eq!(hub.stats(Scope::Tag("a")).compressed_connections, 1);
    assert_eq!(hub.stats(Scope::All).compressed_connections, 2);
    drop(a);
    assert_eq!(hub.stats(Scope::Tag("a")).compressed_connections, 0);
}

#[test]
fn stats_count_the_http_sessions_by_transport_among_the_connections() {
    let hub = hub();
    let (stream, _s_rx) = hub.register("a".into(), true, Carrier::Stream);
    let (_poll, _p_rx) = hub.register("a".into(), true, Carrier::Poll);
    let (_ws, _w_rx) = hub.register("a".into(), true, socket(true));
    let stats = hub.stats(Scope::Tag("a"));
    assert_eq!((stats.connections, stats.protocol_connections), (3, 3));
    assert_eq!((stats.stream_sessions, stats.poll_sessions), (1, 1));
    assert_eq!(stats.compressed_connections, 1);
    drop(stream);
    assert_eq!(hub.stats(Scope::All).stream_sessions, 0);
}

#[test]
fn reset_forgets_only_the_scope() {
    let hub = hub();
    let (_a, _a_rx) = hub.register("a".into(), false, socket(false));
    hub.record("a", "one".into());
    hub.record("b", "two".into());
    hub.reset(Scope::Tag("a"));
    assert_eq!(
        hub.stats(Scope::Tag("a")),
        Stats {
            connections: 1,
            frames_received: 0,
            connections_total: 0,
            duplicates: 0,
            protocol_connections: 0,
            ..Stats::default()
        }
    );
    assert_eq!(hub.received(Scope::All), ["two"]);
    hub.reset(Scope::All);
    assert!(hub.received(Scope::All).is_empty());
}

#[test]
fn records_are_capped_per_tag() {
    let hub = hub();
    for i in 0..MAX_RECORDED_PER_TAG + 2 {
        hub.record("a", i.to_string());
    }
    let frames = hub.received(Scope::Tag("a"));
    assert_eq!(frames.len(), MAX_RECORDED_PER_TAG);
    assert_eq!(frames[0], "2");
    let total = u64::try_from(MAX_RECORDED_PER_TAG + 2).unwrap_or(u64::MAX);
    assert_eq!(hub.stats(Scope::Tag("a")).frames_received, total);
}

#[test]
fn nothing_is_recorded_without_the_control_api() {
    let hub = Arc::new(Hub::new(false));
    hub.record("a", "one".into());
    assert!(hub.received(Scope::All).is_empty());
    assert_eq!(hub.stats(Scope::All).frames_received, 0);
}

#[test]
fn commands_reach_only_the_scope_and_drop_unlists() {
    let hub = hub();
    let (_a, mut a_rx) = hub.register("a".into(), false, socket(false));
    let (_b, mut b_rx) = hub.register("b".into(), false, socket(false));
    assert_eq!(hub.command(Scope::Tag("a"), &Order::Stall).len(), 1);
    assert!(matches!(
        a_rx.try_recv(),
        Ok(Command {
            order: Order::Stall,
            ..
        })
    ));
    assert!(b_rx.try_recv().is_err());
    assert_eq!(hub.command(Scope::Tag("a"), &Order::Drop).len(), 1);
    assert_eq!(hub.stats(Scope::Tag("a")).connections, 0);
    assert_eq!(hub.command(Scope::Tag("a"), &Order::Drop).len(), 0);
    assert_eq!(hub.command(Scope::All, &Order::Resume).len(), 1);
}

#[test]
fn refusal_expires() {
    let hub = hub();
    assert!(!hub.refusing());
    hub.refuse_for(Duration::from_secs(60), false);
    assert!(hub.refusing());
    assert!(!hub.refusing_http(), "upgrades only");
    hub.refuse_for(Duration::ZERO, true);
    assert!(!hub.refusing());
    assert!(!hub.refusing_http());
    hub.refuse_for(Duration::from_millis(20), true);
    assert!(hub.refusing() && hub.refusing_http());
    std::thread::sleep(Duration::from_millis(40));
    assert!(!hub.refusing() && !hub.refusing_http());
}

#[test]
fn deliver_handles_each_id_once_per_scope() {
    let hub = hub();
    let (_p, _p_rx) = hub.register("a".into(), true, socket(false));
    let (_r, _r_rx) = hub.register("a".into(), false, socket(false));
    let new = Delivered {
        handled: true,
        ack: true,
    };
    let duplicate = Delivered {
        handled: false,
        ack: true,
    };
    let (a, b) = (client("a", "c"), client("b", "c"));
    assert_eq!(hub.handle_once(&a, "1", "one"), new);
    assert_eq!(hub.handle_once(&a, "1", "one again"), duplicate);
    assert_eq!(hub.handle_once(&a, "2", "two"), new);
    // Another tag has its own ids.
    assert_eq!(hub.handle_once(&b, "1", "other"), new);
    // So has another client of the same tag, counted in the tag's stats.
    assert_eq!(hub.handle_once(&client("a", "d"), "1", "not a repeat"), new);
    assert_eq!(
        hub.received(Scope::Tag("a")),
        ["one", "two", "not a repeat"]
    );
    let stats = hub.stats(Scope::Tag("a"));
    assert_eq!((stats.frames_received, stats.duplicates), (3, 1));
    assert_eq!((stats.connections, stats.protocol_connections), (2, 1));
    assert_eq!(hub.stats(Scope::All).duplicates, 1);
}

#[test]
fn deliver_handles_each_id_once_per_tag_and_sender_kind() {
    let hub = hub();
    let new = Delivered {
        handled: true,
        ack: true,
    };
    let scope = |sender| DedupeScope {
        tag: "a".to_owned(),
        sender,
    };
    assert_eq!(hub.handle_once(&client("a", "x"), "1", "one"), new);
    assert_eq!(
        hub.handle_once(&scope(Sender::Subject("x".into())), "1", "one"),
        new
    );
    assert_eq!(
        hub.handle_once(&scope(Sender::Connection("x".into())), "1", "one"),
        new
    );
}

#[test]
fn handled_ids_follow_the_dedupe_limits() {
    let limits = crate::dedupe::DedupeLimits {
        ids_per_scope: 2,
        ..crate::dedupe::DedupeLimits::default()
    };
    let hub = Arc::new(Hub::new(true).with_dedupe(limits));
    let a = client("a", "c");
    for id in ["1", "2", "3"] {
        assert!(hub.handle_once(&a, id, id).handled);
    }
    assert!(
        hub.handle_once(&a, "1", "1").handled,
        "forgotten: new again"
    );
    assert!(!hub.handle_once(&a, "3", "3").handled);
}

#[test]
fn withheld_acks_and_reset() {
    let hub = hub();
    hub.set_acks("a", false);
    let withheld = hub.handle_once(&client("a", "c"), "1", "one");
    assert_eq!(
        withheld,
        Delivered {
            handled: true,
            ack: false
        }
    );
    assert!(!hub.handle_once(&client("a", "c"), "1", "one").ack);
    assert!(
        hub.handle_once(&client("b", "c"), "1", "other").ack,
        "only tag a"
    );
    hub.set_acks("a", true);
    assert!(hub.handle_once(&client("a", "c"), "1", "one").ack);
    hub.set_acks("a", false);
    // Reset forgets the ids and duplicates and sends acks again.
    hub.reset(Scope::Tag("a"));
    assert_eq!(hub.stats(Scope::Tag("a")).duplicates, 0);
    assert_eq!(
        hub.handle_once(&client("a", "c"), "1", "one"),
        Delivered {
            handled: true,
            ack: true
        }
    );
    assert!(
        !hub.handle_once(&client("b", "c"), "1", "other").handled,
        "tag b kept its ids"
    );
}

#[test]
fn ids_are_remembered_without_the_control_api() {
    let hub = Arc::new(Hub::new(false));
    assert!(hub.handle_once(&client("a", "c"), "1", "one").handled);
    assert!(!hub.handle_once(&client("a", "c"), "1", "one").handled);
    assert!(hub.received(Scope::All).is_empty());
}

#[test]
fn firehose_frames_are_numbered_over_a_fixed_filler() {
    let text = Firehose {
        count: 2,
        bytes: 40,
        binary: false,
    };
    let mut payload = text.template();
    assert_eq!(payload.len(), 40);
    text.number(&mut payload, 0);
    assert_eq!(payload, b"00000000ijklmnopqrstuvwxyz0123456789abcd");
    text.number(&mut payload, 12_345_678);
    assert!(payload.starts_with(b"12345678ijkl"));
    let binary = Firehose {
        binary: true,
        ..text
    };
    let mut payload = binary.template();
    binary.number(&mut payload, 0x0102_0304);
    assert_eq!(&payload[..6], [1, 2, 3, 4, b'e', b'f']);
}
