//! Channels in the hub: subscriptions, publications reaching each
//! subscriber's outbound queue, the memory broker's bounds and idle
//! channels, and the closes that come through the queues.

use super::*;
use crate::broker::{Published, Subscribers};
use crate::hub::outbound::tests::taken;

/// The message `offset` of channel "x", as the hub queues it (see
/// [`queued`]).
fn publication(offset: u64, data: &str) -> Next {
    Next::Send(Publication {
        channel: Arc::from("x"),
        offset,
        frame: Arc::from(format!(
            r#"{{"type":"pub","channel":"x","offset":{offset},"data":{data}}}"#
        )),
        taken: taken(),
    })
}

/// What the connection's outbound queue holds next, if anything.
async fn queued(registration: &Registration) -> Option<Next> {
    let next = registration.outbound().next();
    let next = tokio::time::timeout(std::time::Duration::from_millis(50), next)
        .await
        .ok()?;
    Some(match next {
        Next::Send(publication) => Next::Send(Publication {
            taken: taken(),
            ..publication
        }),
        close => close,
    })
}

fn reached(published: Result<Published, Unavailable>) -> (usize, u64) {
    match published {
        Ok(Published {
            offset,
            reach: crate::broker::Reach::Subscribers(count),
        }) => (count, offset),
        other => panic!("published in memory: {other:?}"),
    }
}

#[tokio::test]
async fn channels_follow_connections_and_scopes() {
    let hub = hub();
    let (a, _a_rx) = hub.register("t".into(), true, socket(false));
    let (b, _b_rx) = hub.register("t".into(), true, socket(false));
    let (c, _c_rx) = hub.register("other".into(), true, socket(false));
    for (registration, channel) in [(&a, "x"), (&a, "x"), (&b, "x"), (&c, "y")] {
        registration
            .subscribe(channel, None)
            .await
            .expect("in memory");
    }
    let counts = |scope| hub.subscriptions(scope).into_iter().collect::<Vec<_>>();
    assert_eq!(
        counts(Scope::All),
        [("x".to_owned(), 2), ("y".to_owned(), 1)]
    );
    assert_eq!(counts(Scope::Tag("t")), [("x".to_owned(), 2)]);
    assert_eq!(hub.subscription_totals(), (3, 2));
    assert_eq!(hub.stats(Scope::Tag("t")).subscribe_frames, 3);

    assert_eq!(reached(hub.publish("x", "7").await), (2, 1));
    for registration in [&a, &b] {
        assert_eq!(queued(registration).await, Some(publication(1, "7")));
    }
    assert_eq!(queued(&c).await, None, "not subscribed to x");

    b.unsubscribe("x");
    b.unsubscribe("never");
    assert_eq!(hub.stats(Scope::Tag("t")).unsubscribe_frames, 2);
    assert_eq!(counts(Scope::Tag("t")), [("x".to_owned(), 1)]);
    drop(a);
    assert_eq!(counts(Scope::Tag("t")), []);
    assert_eq!(hub.subscription_totals(), (1, 1));
    assert_eq!(
        reached(hub.publish("x", "8").await),
        (0, 2),
        "kept for later subscribers"
    );
    drop(c);
    assert_eq!(counts(Scope::All), []);
    assert_eq!(hub.subscription_totals(), (0, 0));
}

#[tokio::test]
async fn a_subscriber_gets_the_newest_offset_and_what_it_missed() {
    let hub = hub();
    for data in ["1", "2", "3"] {
        hub.publish("x", data).await.expect("in memory");
    }
    let (a, _a_rx) = hub.register("t".into(), true, socket(false));
    let plain = a.subscribe("x", None).await.expect("in memory");
    assert_eq!((plain.offset, &plain.replay), (3, &None));
    let since = |offset, epoch: &str| Since {
        offset,
        epoch: Some(epoch.to_owned()),
    };
    let missed = a
        .subscribe("x", Some(&since(1, &plain.epoch)))
        .await
        .expect("in memory");
    assert_eq!((missed.offset, &missed.epoch), (3, &plain.epoch));
    let replay = missed.replay.expect("asked for it");
    assert_eq!(replay.messages, [(2, "2".to_owned()), (3, "3".to_owned())]);
    assert_eq!(replay.gap, None);
    let fresh = a
        .subscribe("new", Some(&since(0, "other")))
        .await
        .expect("in memory");
    assert_eq!(fresh.offset, 0, "a channel never published to");
    assert_ne!(fresh.epoch, plain.epoch, "each channel has its own history");
}

/// A hub whose memory broker keeps messages for a minute and `max_channels`
/// channels.
fn hub_keeping(max_channels: usize) -> Arc<Hub> {
    let limits = crate::history::HistoryLimits {
        max_age: Duration::from_secs(60),
        max_channels,
        ..crate::history::HistoryLimits::default()
    };
    let memory = crate::broker::Memory::new(limits);
    Arc::new(Hub::new(true).with_broker(Broker::Memory(memory)))
}

#[tokio::test]
async fn channels_unused_for_the_history_age_are_forgotten() {
    let hub = hub_keeping(1_000);
    let start = Instant::now();
    let minute = Duration::from_secs(61);
    let (stays, _stays_rx) = hub.register("t".into(), true, socket(false));
    let kept = stays.subscribe("kept", None).await.expect("in memory");
    let (leaves, _leaves_rx) = hub.register("t".into(), true, socket(false));
    for index in 0..100 {
        let channel = format!("c{index}");
        leaves.subscribe(&channel, None).await.expect("in memory");
    }
    hub.publish("unheard", "1").await.expect("in memory");
    let gone = leaves.subscribe("c0", None).await.expect("in memory");
    drop(leaves);
    assert_eq!(hub.kept_channels(), Some(102));
    hub.forget_idle_channels(start);
    assert_eq!(hub.kept_channels(), Some(102), "all used within the age");
    hub.forget_idle_channels(start + minute);
    assert_eq!(hub.kept_channels(), Some(1), "only the subscribed one");
    let again = stays.subscribe("kept", None).await.expect("in memory");
    assert_eq!(again.epoch, kept.epoch, "the same history");
    hub.forget_idle_channels(start + minute * 2);
    assert_eq!(hub.kept_channels(), Some(1), "still subscribed");

    let since = Since {
        offset: 0,
        epoch: Some(gone.epoch.clone()),
    };
    let back = stays
        .subscribe("c0", Some(&since))
        .await
        .expect("in memory");
    assert_ne!(back.epoch, gone.epoch, "a new history");
    let gap = back.replay.expect("asked for it").gap.expect("a gap");
    assert_eq!(gap.reason, crate::history::GapReason::Reset);
    drop(stays);
    hub.forget_idle_channels(Instant::now() + minute * 3);
    assert_eq!(hub.kept_channels(), Some(0));
}

#[tokio::test]
async fn past_the_channel_bound_new_channels_wait_for_room() {
    let hub = hub_keeping(2);
    let (a, _a_rx) = hub.register("t".into(), true, socket(false));
    a.subscribe("a", None).await.expect("room");
    hub.publish("b", "1").await.expect("room");
    assert!(a.subscribe("c", None).await.is_err());
    assert!(hub.publish("c", "1").await.is_err());
    assert_eq!(
        reached(hub.publish("a", "1").await),
        (1, 1),
        "kept ones go on"
    );
    let scope = client("t", "x");
    let publication = Delivery {
        id: "1".to_owned(),
        handling: Handling::Publish {
            channel: "c".to_owned(),
            data: "2".to_owned(),
        },
        record: "publish 2".to_owned(),
    };
    assert!(hub.deliver(&scope, &publication).await.is_err());
    assert_eq!(hub.stats(Scope::All).frames_received, 0, "not taken");

    hub.forget_idle_channels(Instant::now() + Duration::from_secs(61));
    assert_eq!(hub.kept_channels(), Some(1), "b went; a is subscribed");
    let delivered = hub.deliver(&scope, &publication).await.expect("room");
    assert!(
        delivered.handled,
        "the refused message was not taken for handled"
    );
    assert_eq!(hub.kept_channels(), Some(2));
}

#[tokio::test]
async fn a_broken_broker_link_closes_only_the_subscribers() {
    let hub = hub();
    let (a, _a_rx) = hub.register("t".into(), true, socket(false));
    let (b, _b_rx) = hub.register("t".into(), true, socket(false));
    a.subscribe("x", None).await.expect("in memory");
    hub.publish("x", "1").await.expect("in memory");
    Subscribers::close_subscribers(&*hub, 1012, "link lost");
    let close = Next::Close {
        code: 1012,
        reason: "link lost".to_owned(),
    };
    assert_eq!(queued(&a).await, Some(close), "ahead of the message");
    assert_eq!(
        queued(&b).await,
        None,
        "a connection without channels stays"
    );
}

#[tokio::test]
async fn a_subscriber_whose_queue_overflows_is_closed_and_the_others_go_on() {
    let bounds = Bounds {
        send_queue_messages: 2,
        ..Bounds::default()
    };
    let hub = Arc::new(Hub::new(true).with_bounds(bounds));
    let (slow, _slow_rx) = hub.register("t".into(), true, socket(false));
    let (fast, _fast_rx) = hub.register("t".into(), true, socket(false));
    for registration in [&slow, &fast] {
        registration.subscribe("x", None).await.expect("in memory");
    }
    let mut counts = Vec::new();
    for offset in 1..=3 {
        counts.push(reached(hub.publish("x", &offset.to_string()).await).0);
        assert_eq!(
            queued(&fast).await,
            Some(publication(offset, &offset.to_string()))
        );
    }
    assert_eq!(counts, [2, 2, 1], "the third did not fit the slow queue");
    let slow_consumer = Next::Close {
        code: 3008,
        reason: "slow consumer".to_owned(),
    };
    assert_eq!(queued(&slow).await, Some(slow_consumer));
}
