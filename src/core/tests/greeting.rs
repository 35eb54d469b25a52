//! The connection's mode, on the server's word: tabwire when its first
//! frame is the tabwire hello, raw otherwise; what waits meanwhile, and
//! what a raw connection refuses or keeps for a tabwire one.

use super::harness::{config, Harness};
use crate::core::{
    Config, ConnectionState, Event, Input, Mode, ProtocolChoice, SendOutcome, SendRefusal, Timer,
};

fn started(config: Config) -> Harness {
    let mut harness = Harness::new(config);
    harness.input(Input::Start { online: true });
    harness
}

fn socket_opens(harness: &mut Harness, subprotocol: &str) {
    let generation = harness.generation();
    harness.input(Input::Opened { generation, subprotocol: subprotocol.to_owned() });
}

fn opened_modes(harness: &Harness) -> Vec<Mode> {
    harness
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Open { mode, .. } => Some(*mode),
            _ => None,
        })
        .collect()
}

fn warnings(harness: &Harness) -> Vec<String> {
    harness
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Warning { key, reason } if key == "hello" => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_tabwire_server_is_answered_with_the_clients_hello_before_anything_waits() {
    let mut harness = started(config());
    harness.send("queued").expect("room");
    socket_opens(&mut harness, "");
    assert_eq!(harness.state(), ConnectionState::Connecting, "not open before the server's word");
    assert!(harness.sent.is_empty());
    harness.greet();
    assert_eq!(harness.state(), ConnectionState::Open);
    assert_eq!(opened_modes(&harness), [Mode::Tabwire]);
    assert_eq!(harness.greetings, [0], "the client's hello and credentials go first");
    assert_eq!(harness.sent, ["queued"]);
    assert_eq!(harness.sent_ids.len(), 1, "in the msg envelope, with its id");
    assert_eq!(harness.machine.mode(), Some(Mode::Tabwire));
    assert_eq!(harness.timer(Timer::Hello), None);
}

#[test]
fn sends_while_the_server_has_not_greeted_wait_in_the_outbox_and_go_once() {
    let mut harness = started(config());
    socket_opens(&mut harness, "");
    assert_eq!(harness.send("early"), Ok(SendOutcome::Queued));
    assert!(harness.sent.is_empty());
    assert_eq!(harness.stored.len(), 1, "kept in storage meanwhile");
    harness.greet();
    assert_eq!(harness.send("later"), Ok(SendOutcome::Sent));
    assert_eq!(harness.sent, ["early", "later"]);
    let id = harness.sent_ids[0].clone();
    harness.ack(&id);
    assert_eq!(harness.stored.len(), 1, "the second waits for its own ack");
}

#[test]
fn a_silent_server_is_taken_for_raw_when_the_hello_does_not_come_in_time() {
    let mut harness = started(config());
    harness.send("queued").expect("room");
    socket_opens(&mut harness, "");
    assert_eq!(harness.timer(Timer::Hello), Some(1_000.0));
    harness.advance(999.0);
    assert!(harness.sent.is_empty());
    harness.advance(1.0);
    assert_eq!(harness.state(), ConnectionState::Open);
    assert_eq!(opened_modes(&harness), [Mode::Raw]);
    assert_eq!(harness.sent, ["queued"]);
    assert!(harness.sent_ids.is_empty(), "raw: no envelope");
    assert!(harness.greetings.is_empty());
    assert!(harness.stored.is_empty(), "raw: gone once the socket took it");
    assert!(warnings(&harness).is_empty());
}

#[test]
fn a_server_that_speaks_first_is_raw_at_its_first_frame_which_is_delivered() {
    let mut harness = started(config());
    harness.send("queued").expect("room");
    socket_opens(&mut harness, "");
    harness.receive("welcome");
    assert_eq!(opened_modes(&harness), [Mode::Raw]);
    assert_eq!(harness.messages(), ["welcome"]);
    assert_eq!(harness.sent, ["queued"]);
    assert_eq!(harness.timer(Timer::Hello), None);
}

#[test]
fn a_hello_of_another_protocol_is_a_raw_servers_first_frame() {
    let mut harness = started(config());
    socket_opens(&mut harness, "");
    let generation = harness.generation();
    let hello = r#"{"type":"hello","protocol":"chat.v3"}"#.to_owned();
    harness.input(Input::Hello { generation, protocol: "chat.v3".to_owned(), payload: hello.clone() });
    assert_eq!(opened_modes(&harness), [Mode::Raw]);
    assert_eq!(harness.messages(), [hello]);
    assert_eq!(warnings(&harness).len(), 1);
}

#[test]
fn told_the_server_is_raw_the_client_does_not_wait() {
    let mut config = config();
    config.protocol = ProtocolChoice::Raw;
    let mut harness = started(config);
    harness.send("queued").expect("room");
    socket_opens(&mut harness, "");
    assert_eq!(opened_modes(&harness), [Mode::Raw]);
    assert_eq!(harness.sent, ["queued"]);
    assert_eq!(harness.timer(Timer::Hello), None);
    // A hello is then an ordinary frame.
    harness.greet();
    assert_eq!(harness.machine.mode(), Some(Mode::Raw));
}

#[test]
fn a_subprotocol_echo_without_a_hello_is_raw_with_a_warning() {
    let mut harness = started(config());
    socket_opens(&mut harness, "tabwire.v1");
    harness.advance(1_000.0);
    assert_eq!(opened_modes(&harness), [Mode::Raw]);
    let warnings = warnings(&harness);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("selected the tabwire.v1 subprotocol"), "{warnings:?}");
}

/// A tabwire server whose hello came after the wait: the connection was
/// taken for raw, so it starts again, and the next one waits twice as long.
#[test]
fn a_late_hello_reconnects_and_the_next_connection_waits_longer() {
    let mut harness = started(config());
    socket_opens(&mut harness, "");
    harness.advance(1_000.0);
    assert_eq!(harness.machine.mode(), Some(Mode::Raw));
    assert!(harness.machine.expects_hello());
    harness.greet();
    assert_eq!(harness.closed, [(4000, "the server greeted late".to_owned())]);
    assert_eq!(warnings(&harness).len(), 1);
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
    harness.fire_retry();
    socket_opens(&mut harness, "");
    let opened_at = harness.now;
    assert_eq!(harness.timer(Timer::Hello), Some(opened_at + 2_000.0));
    harness.greet();
    assert_eq!(opened_modes(&harness), [Mode::Raw, Mode::Tabwire]);
}

#[test]
fn after_the_first_frame_of_a_raw_connection_a_hello_is_a_message() {
    let mut harness = started(config());
    socket_opens(&mut harness, "");
    harness.advance(1_000.0);
    harness.receive("first");
    assert!(!harness.machine.expects_hello());
    assert_eq!(harness.machine.mode(), Some(Mode::Raw));
}

#[test]
fn protocol_tabwire_refuses_a_server_that_does_not_greet() {
    let mut config = config();
    config.protocol = ProtocolChoice::Tabwire;
    let mut harness = started(config);
    harness.send("kept").expect("room");
    socket_opens(&mut harness, "");
    harness.advance(1_000.0);
    assert_eq!(harness.failures(), ["not_tabwire"]);
    assert_eq!(harness.closed, [(4000, "no tabwire hello".to_owned())]);
    assert!(harness.sent.is_empty(), "nothing went out raw");
    harness.fire_retry();
    socket_opens(&mut harness, "");
    harness.receive("not a hello");
    assert_eq!(harness.failures(), ["not_tabwire", "not_tabwire"]);
    assert!(harness.messages().is_empty());
    harness.fire_retry();
    socket_opens(&mut harness, "");
    harness.greet();
    assert_eq!(harness.sent, ["kept"]);
    assert_eq!(opened_modes(&harness), [Mode::Tabwire]);
}

/// A publication has no raw form: it waits in the outbox, unsent, for a
/// tabwire connection, and the application hears once why.
#[test]
fn a_publication_queued_for_a_raw_connection_waits_for_a_tabwire_one() {
    let mut harness = started(config());
    harness.send("pub:approvals").expect("room");
    harness.send("plain").expect("room");
    socket_opens(&mut harness, "");
    harness.advance(1_000.0);
    assert_eq!(harness.sent, ["plain"]);
    assert_eq!(harness.failures(), ["protocol_required"]);
    assert_eq!(harness.machine.queued(), 1);
    assert_eq!(harness.stored.len(), 1);
    harness.server_greets = true;
    harness.drop_connection();
    harness.fire_retry();
    harness.open();
    assert_eq!(harness.sent, ["plain", "pub:approvals"]);
}

#[test]
fn publishing_on_a_raw_connection_is_refused() {
    let mut harness = Harness::connected(config());
    assert_eq!(harness.send("pub:x"), Err(SendRefusal::ProtocolRequired));
    assert_eq!(harness.failures(), ["protocol_required"]);
    assert_eq!(harness.machine.queued(), 0);
    assert!(harness.sent.is_empty());
}
