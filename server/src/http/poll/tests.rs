use super::*;

/// Asserts that `elapsed` is `expected`, give or take the timers' 1 ms.
fn assert_near(elapsed: Duration, expected: Duration) {
    let late = elapsed.saturating_sub(expected);
    assert!(
        elapsed >= expected && late <= Duration::from_millis(5),
        "{elapsed:?} for {expected:?}"
    );
}

fn text(frame: &str) -> Message {
    Message::Text(frame.to_owned())
}

#[tokio::test]
async fn a_poll_gets_the_frames_after_its_cursor_and_forgets_the_others() {
    let mailbox = Mailbox::new();
    for frame in ["a", "b", "c"] {
        mailbox.push(text(frame)).await.expect("room");
    }
    mailbox
        .push(Message::Binary(vec![1, 2, 3]))
        .await
        .expect("room");
    let first = mailbox.wait().await;
    assert_eq!(
        first,
        Polled {
            answer: json!({ "cursor": 4, "frames": ["a", "b", "c", { "binary": "AQID" }] }),
            closed: false,
        }
    );
    mailbox.confirm(2).expect("a frame it has");
    assert_eq!(
        mailbox.wait().await.answer,
        json!({ "cursor": 4, "frames": ["c", { "binary": "AQID" }] })
    );
    // Forgotten, or not yet sent: not a frame to resume after.
    assert!(mailbox.confirm(1).is_err());
    assert!(mailbox.confirm(5).is_err());
    mailbox.confirm(4).expect("the newest");
    mailbox.close(1000, "bye".to_owned());
    mailbox.close(1006, String::new());
    assert_eq!(
        mailbox.wait().await,
        Polled {
            answer: json!({ "cursor": 4, "frames": [], "closed": { "code": 1000, "reason": "bye" } }),
            closed: true,
        }
    );
    assert_eq!(mailbox.push(text("late")).await, Err(Gone));
}

#[tokio::test]
async fn a_poll_waits_for_the_next_frame() {
    let mailbox = Arc::new(Mailbox::new());
    let poll = tokio::spawn({
        let mailbox = Arc::clone(&mailbox);
        async move { mailbox.wait().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!poll.is_finished());
    mailbox.push(text("x")).await.expect("room");
    let polled = poll.await.expect("the poll");
    assert_eq!(polled.answer, json!({ "cursor": 1, "frames": ["x"] }));
}

/// Past the bound in frames, a push waits until a poll takes some.
#[tokio::test]
async fn too_many_frames_waiting_hold_the_next_one_back_until_a_poll_takes_some() {
    let mailbox = Arc::new(Mailbox::new());
    for _ in 0..MAX_FRAMES {
        mailbox.push(text("f")).await.expect("room");
    }
    let held = tokio::spawn({
        let mailbox = Arc::clone(&mailbox);
        async move { mailbox.push(text("next")).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!held.is_finished(), "no room: it waits");
    assert_eq!(mailbox.state().frames.len(), MAX_FRAMES);
    mailbox.confirm(10).expect("frames it has");
    assert_eq!(held.await.expect("the push"), Ok(()));
    let state = mailbox.state();
    assert_eq!(state.closed, None);
    assert_eq!(state.frames.len(), MAX_FRAMES - 9);
    assert_eq!(state.frames.back(), Some(&text("next")));
}

/// Past the bound in bytes likewise; a frame alone always fits.
#[tokio::test]
async fn too_many_bytes_waiting_hold_the_next_one_back_and_a_frame_alone_fits() {
    let mailbox = Arc::new(Mailbox::new());
    let half = "h".repeat(MAX_BYTES / 2);
    mailbox.push(text(&half)).await.expect("room");
    mailbox.push(text(&half)).await.expect("room, to the byte");
    let held = tokio::spawn({
        let mailbox = Arc::clone(&mailbox);
        async move { mailbox.push(text("1")).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!held.is_finished(), "no room: it waits");
    mailbox.confirm(2).expect("both");
    assert_eq!(held.await.expect("the push"), Ok(()));
    mailbox.confirm(3).expect("the newest");
    let huge = "h".repeat(MAX_BYTES + 1);
    mailbox.push(text(&huge)).await.expect("alone, it fits");
}

/// A client that stopped polling while frames waited for room: the push
/// gives up with the idle timer, and the session ends.
#[tokio::test(start_paused = true)]
async fn a_push_waiting_for_room_gives_up_when_nobody_polls() {
    let mailbox = Mailbox::new();
    for _ in 0..MAX_FRAMES {
        mailbox.push(text("f")).await.expect("room");
    }
    let started = Instant::now();
    assert_eq!(mailbox.push(text("next")).await, Err(Gone));
    assert_near(started.elapsed(), POLL_IDLE);
}

#[tokio::test(start_paused = true)]
async fn a_poll_with_nothing_to_take_comes_back_empty_after_20_s() {
    let mailbox = Mailbox::new();
    let started = Instant::now();
    let polled = mailbox.wait().await;
    assert_near(started.elapsed(), POLL_WAIT);
    assert_eq!(polled.answer, json!({ "cursor": 0, "frames": [] }));
}

#[tokio::test(start_paused = true)]
async fn a_session_without_a_poll_in_progress_for_30_s_is_idle() {
    let mailbox = Arc::new(Mailbox::new());
    let started = Instant::now();
    mailbox.idle().await;
    assert_near(started.elapsed(), POLL_IDLE);

    // A poll in progress keeps it busy; the 30 s count from its end.
    let poll = tokio::spawn({
        let mailbox = Arc::clone(&mailbox);
        async move { mailbox.wait().await }
    });
    tokio::task::yield_now().await;
    let started = Instant::now();
    mailbox.idle().await;
    assert!(poll.is_finished());
    assert_near(started.elapsed(), POLL_WAIT + POLL_IDLE);
}
