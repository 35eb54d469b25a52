use super::*;

fn client(tag: &str, name: &str) -> DedupeScope {
    DedupeScope {
        tag: tag.to_owned(),
        sender: Sender::Client(name.to_owned()),
    }
}

fn limits(ids_per_scope: usize, secs: u64, total_ids: usize) -> DedupeLimits {
    DedupeLimits {
        ids_per_scope,
        max_age: Duration::from_secs(secs),
        total_ids,
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn new_ids_are_new_once_per_scope() {
    let now = Instant::now();
    let mut windows = Windows::new(DedupeLimits::default());
    let (a, b) = (client("t", "a"), client("t", "b"));
    assert!(windows.insert(&a, "1", now));
    assert!(windows.insert(&a, "2", now));
    assert!(!windows.insert(&a, "1", now));
    assert!(!windows.insert(&a, "2", now));
    assert!(
        windows.insert(&b, "1", now),
        "another client's ids are its own"
    );
    assert!(
        windows.insert(&client("u", "a"), "1", now),
        "another tag's ids are its own"
    );
    let subject = DedupeScope {
        tag: "t".to_owned(),
        sender: Sender::Subject("a".to_owned()),
    };
    assert!(
        windows.insert(&subject, "1", now),
        "a sub is not a client id"
    );
    assert_eq!((windows.len(), windows.scopes()), (5, 4));
}

#[test]
fn a_scope_keeps_its_newest_ids_up_to_its_count() {
    let now = Instant::now();
    let mut windows = Windows::new(limits(3, 60, 100));
    let a = client("t", "a");
    for id in ["1", "2", "3"] {
        assert!(windows.insert(&a, id, now));
    }
    // A repeat neither grows the window nor refreshes the id.
    assert!(!windows.insert(&a, "1", now));
    assert!(windows.insert(&a, "4", now));
    assert_eq!(windows.len(), 3);
    assert!(!windows.contains(&a, "1"), "the oldest id is forgotten");
    assert!(windows.contains(&a, "2") && windows.contains(&a, "4"));
    // A forgotten id counts as new again: at least once beyond the window.
    assert!(windows.insert(&a, "1", now));
    assert!(!windows.contains(&a, "2"));
    // Other scopes are not touched by this one's bound.
    let b = client("t", "b");
    assert!(windows.insert(&b, "x", now));
    assert_eq!(windows.len(), 4);
}

#[test]
fn ids_expire_with_age() {
    let start = Instant::now();
    let mut windows = Windows::new(limits(100, 10, 100));
    let a = client("t", "a");
    assert!(windows.insert(&a, "old", start));
    assert!(windows.insert(&a, "newer", start + secs(6)));
    assert!(
        !windows.insert(&a, "old", start + secs(9)),
        "within 10 s: a repeat"
    );
    assert!(
        windows.insert(&a, "old", start + secs(10)),
        "10 s later it is forgotten and new again"
    );
    assert!(
        !windows.insert(&a, "newer", start + secs(15)),
        "the newer one is still within its 10 s"
    );
    assert!(windows.insert(&a, "newer", start + secs(16)));
    assert_eq!(windows.len(), 2);
}

#[test]
fn the_total_bound_takes_the_oldest_ids_of_the_least_recently_active_scope() {
    let now = Instant::now();
    let mut windows = Windows::new(limits(100, 60, 4));
    let (a, b, c) = (client("t", "a"), client("t", "b"), client("t", "c"));
    assert!(windows.insert(&a, "a1", now));
    assert!(windows.insert(&a, "a2", now));
    assert!(windows.insert(&b, "b1", now));
    assert!(windows.insert(&c, "c1", now));
    // a is the least recently active; a repeat makes it the most.
    assert!(!windows.insert(&a, "a1", now));
    // Full: b, now the least recently active, loses its (only) id.
    assert!(windows.insert(&c, "c2", now));
    assert_eq!((windows.len(), windows.scopes()), (4, 2));
    assert!(!windows.contains(&b, "b1"));
    // Full again: c just sent, so a is the least recently active and loses
    // its oldest id.
    assert!(windows.insert(&c, "c3", now));
    assert!(!windows.contains(&a, "a1"));
    assert!(windows.contains(&a, "a2"));
    assert!(windows.contains(&c, "c1") && windows.contains(&c, "c3"));
    assert_eq!(windows.len(), 4);
    // A lone scope past the total loses its own oldest, never the new id.
    let mut lone = Windows::new(limits(100, 60, 2));
    for id in ["1", "2", "3"] {
        assert!(lone.insert(&a, id, now));
    }
    assert!(!lone.contains(&a, "1") && lone.contains(&a, "3"));
    assert_eq!(lone.len(), 2);
}

#[test]
fn idle_scopes_are_swept_on_the_next_insert() {
    let start = Instant::now();
    let mut windows = Windows::new(limits(100, 10, 100));
    for name in ["a", "b", "c"] {
        assert!(windows.insert(&client("t", name), "1", start));
    }
    let d = client("t", "d");
    assert!(windows.insert(&d, "1", start + secs(5)));
    assert_eq!((windows.len(), windows.scopes()), (4, 4));
    // 10 s after a, b and c were last active, any insert sweeps them.
    assert!(windows.insert(&d, "2", start + secs(10)));
    assert_eq!((windows.len(), windows.scopes()), (2, 1));
    // A repeat is activity too: d stays as long as it keeps sending.
    assert!(!windows.insert(&d, "2", start + secs(19)));
    assert!(windows.insert(&client("t", "e"), "1", start + secs(24)));
    assert_eq!(windows.scopes(), 2, "d was active 5 s ago");
    assert!(windows.insert(&client("t", "e"), "2", start + secs(29)));
    assert_eq!(windows.scopes(), 1, "d swept 10 s after its last activity");
}

#[test]
fn forgetting_a_tag_keeps_the_others() {
    let now = Instant::now();
    let mut windows = Windows::new(DedupeLimits::default());
    assert!(windows.insert(&client("t", "a"), "1", now));
    assert!(windows.insert(&client("t", "b"), "1", now));
    assert!(windows.insert(&client("u", "a"), "1", now));
    windows.forget_tag("t");
    assert_eq!((windows.len(), windows.scopes()), (1, 1));
    assert!(windows.insert(&client("t", "a"), "1", now));
    assert!(!windows.insert(&client("u", "a"), "1", now));
    windows.clear();
    assert_eq!(windows.len(), 0);
    assert!(windows.insert(&client("u", "a"), "1", now));
}

#[test]
fn limits_of_zero_are_one() {
    let now = Instant::now();
    let mut windows = Windows::new(limits(0, 60, 0));
    let a = client("t", "a");
    assert!(windows.insert(&a, "a", now));
    assert!(!windows.insert(&a, "a", now));
    assert!(windows.insert(&a, "b", now));
    assert!(!windows.contains(&a, "a"));
}

#[test]
fn the_default_bounds_are_the_documented_ones() {
    assert_eq!(DedupeLimits::default(), limits(10_000, 86_400, 1_000_000));
    let now = Instant::now();
    let mut windows = Windows::new(DedupeLimits::default());
    let a = client("t", "a");
    for i in 0..=10_000 {
        assert!(windows.insert(&a, &i.to_string(), now));
    }
    assert_eq!(windows.len(), 10_000);
    assert!(!windows.contains(&a, "0") && windows.contains(&a, "1"));
}

#[test]
fn scope_keys_do_not_collide() {
    let key = |tag: &str, sender: Sender| {
        DedupeScope {
            tag: tag.to_owned(),
            sender,
        }
        .key()
    };
    assert_eq!(key("t", Sender::Client("c1".into())), "1:t:client:c1");
    assert_ne!(
        key("a:client:b", Sender::Client("c".into())),
        key("a", Sender::Client("b:client:c".into()))
    );
    assert_ne!(
        key("t", Sender::Subject("x".into())),
        key("t", Sender::Client("x".into()))
    );
}
