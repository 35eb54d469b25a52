use super::*;

fn history_of(n: u64, max_messages: usize) -> (History, Instant) {
    let now = Instant::now();
    let mut history = History::new(HistoryLimits {
        max_messages,
        max_age: Duration::from_secs(60),
        ..HistoryLimits::default()
    });
    for index in 1..=n {
        assert_eq!(history.push(format!("{index}"), now), index);
    }
    (history, now)
}

fn offsets(replay: &Replay) -> Vec<u64> {
    replay.messages.iter().map(|(offset, _)| *offset).collect()
}

fn since(offset: u64, epoch: Option<&str>) -> Since {
    Since {
        offset,
        epoch: epoch.map(str::to_owned),
    }
}

fn trimmed(from: u64) -> Option<Gap> {
    let reason = GapReason::Trimmed;
    Some(Gap { from, reason })
}

fn reset(from: u64) -> Option<Gap> {
    let reason = GapReason::Reset;
    Some(Gap { from, reason })
}

#[test]
fn replays_what_came_after_since_in_order() {
    let (mut history, now) = history_of(5, 10);
    let epoch = history.epoch().to_owned();
    for asked in [None, Some(epoch.as_str())] {
        let replay = history.since(&since(2, asked), now);
        assert_eq!(offsets(&replay), [3, 4, 5]);
        assert_eq!(replay.messages[0].1, "3");
        assert_eq!(replay.gap, None);
        assert_eq!(
            history.since(&since(5, asked), now),
            Replay {
                messages: Vec::new(),
                gap: None
            }
        );
        let from_start = history.since(&since(0, asked), now);
        assert_eq!((offsets(&from_start).len(), from_start.gap), (5, None));
    }
}

#[test]
fn a_since_older_than_the_history_is_a_trimmed_gap() {
    let (mut history, now) = history_of(10, 4);
    let epoch = history.epoch().to_owned();
    for asked in [None, Some(epoch.as_str())] {
        let replay = history.since(&since(3, asked), now);
        assert_eq!(offsets(&replay), [7, 8, 9, 10]);
        assert_eq!(replay.gap, trimmed(7));
        assert_eq!(
            history.since(&since(6, asked), now).gap,
            None,
            "6 is just before the oldest kept"
        );
    }
}

#[test]
fn old_messages_expire_by_age_and_an_empty_history_gaps_from_the_next_offset() {
    let (mut history, now) = history_of(3, 10);
    let later = now + Duration::from_secs(61);
    let replay = history.since(&since(1, None), later);
    assert_eq!(offsets(&replay), Vec::<u64>::new());
    assert_eq!(replay.gap, trimmed(4));
    assert_eq!(history.since(&since(3, None), later).gap, None);
    assert_eq!(history.push("4".into(), later), 4);
    assert_eq!(history.last(), 4);
}

#[test]
fn another_epoch_is_a_reset_with_everything_kept() {
    let (mut history, now) = history_of(8, 10);
    // Offsets 1-5 of an older history: 6-8 here would be the wrong ones.
    let replay = history.since(&since(5, Some("older")), now);
    assert_eq!(offsets(&replay), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(replay.gap, reset(1));
    let replay = history.since(&since(0, Some("older")), now);
    assert_eq!((offsets(&replay).len(), replay.gap), (8, reset(1)));
    // Of a trimmed history, what it keeps.
    let (mut short, now) = history_of(8, 3);
    let replay = short.since(&since(7, Some("older")), now);
    assert_eq!((offsets(&replay), replay.gap), (vec![6, 7, 8], reset(6)));
}

#[test]
fn a_since_beyond_the_newest_offset_is_a_reset() {
    let (mut history, now) = history_of(2, 10);
    let epoch = history.epoch().to_owned();
    for asked in [None, Some(epoch.as_str())] {
        let replay = history.since(&since(40, asked), now);
        assert_eq!(offsets(&replay), [1, 2]);
        assert_eq!(replay.gap, reset(1));
    }
}

#[test]
fn a_reset_of_an_empty_history_gaps_from_the_next_offset() {
    let (mut empty, now) = history_of(0, 10);
    let replay = empty.since(&since(5, None), now);
    assert_eq!((offsets(&replay), replay.gap), (vec![], reset(1)));
    let replay = empty.since(&since(0, Some("older")), now);
    assert_eq!(replay.gap, reset(1));
    assert_eq!(empty.since(&since(0, None), now).gap, None);
}

#[test]
fn replay_takes_entries_read_from_since_with_the_oldest_given_apart() {
    // As the Redis script reads them: from since + 1 only, the oldest kept
    // offset read on its own.
    let kept = Kept {
        newest: 9,
        oldest: Some(2),
        epoch: "e",
    };
    let entries = [(7, "7"), (8, "8"), (9, "9")];
    let replay = replay(kept, &since(6, Some("e")), entries.into_iter());
    assert_eq!((offsets(&replay), replay.gap), (vec![7, 8, 9], None));
    let late = Kept {
        oldest: Some(8),
        ..kept
    };
    let replay = super::replay(late, &since(6, Some("e")), entries[1..].iter().copied());
    assert_eq!((offsets(&replay), replay.gap), (vec![8, 9], trimmed(8)));
    assert!(is_reset(kept, &since(10, None)));
    assert!(is_reset(kept, &since(1, Some("f"))));
    assert!(!is_reset(kept, &since(9, Some("e"))));
    assert!(!is_reset(kept, &since(9, None)));
}

#[test]
fn every_history_has_its_own_epoch() {
    let limits = HistoryLimits::default();
    let (a, b) = (History::new(limits), History::new(limits));
    assert_ne!(a.epoch(), b.epoch());
    for epoch in [a.epoch(), b.epoch()] {
        assert!((1..=64).contains(&epoch.len()), "{epoch}");
        assert!(
            epoch
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'),
            "{epoch}"
        );
    }
}
