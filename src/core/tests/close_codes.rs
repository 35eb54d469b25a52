use super::harness::{config, Harness};
use crate::core::close_codes::{CloseAction, CloseCodePolicy, CodeRange};
use crate::core::{ConnectionState, Event, Input, Timer, UrlSource};

#[test]
fn default_policy_classifies_codes() {
    let policy = CloseCodePolicy::default();
    for code in [1008, 4000, 4050, 4099] {
        assert_eq!(policy.classify(code), CloseAction::Stop, "code {code}");
    }
    for code in [1000, 1001, 1006, 1011, 1012, 3000, 4100, 4400, 4999] {
        assert_eq!(policy.classify(code), CloseAction::Reconnect, "code {code}");
    }
    assert_eq!(policy.classify(4401), CloseAction::ReconnectWithFreshCredentials);
}

#[test]
fn a_slow_consumer_close_reconnects_and_resumes() {
    // 3008: the reference server closed a client that did not read as fast
    // as its messages came; it resumes its channels from its offsets.
    assert_eq!(CloseCodePolicy::default().classify(3008), CloseAction::Reconnect);
    let mut harness = Harness::connected(config());
    harness.server_close(3008);
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
    harness.fire_retry();
    assert_eq!(harness.opened.len(), 2);
}

#[test]
fn a_fatal_code_stops_with_its_reason() {
    let mut harness = Harness::connected(config());
    harness.server_close(4003);
    assert_eq!(harness.state(), ConnectionState::Closed);
    assert_eq!(harness.timer(Timer::Retry), None);
    let closed = harness.events.iter().find_map(|event| match event {
        Event::State(change) if change.state == ConnectionState::Closed => change.close.clone(),
        _ => None,
    });
    let closed = closed.expect("the closed state carries the close");
    assert_eq!((closed.code, closed.reason.as_str(), closed.will_reconnect), (4003, "code 4003", false));
    harness.advance(60_000.0);
    assert_eq!(harness.opened.len(), 1);
}

#[test]
fn policy_violation_is_fatal() {
    let mut harness = Harness::connected(config());
    harness.server_close(1008);
    assert_eq!(harness.state(), ConnectionState::Closed);
}

#[test]
fn ordinary_codes_reconnect() {
    for code in [1000, 1001, 1011, 4100] {
        let mut harness = Harness::connected(config());
        harness.server_close(code);
        assert_eq!(harness.state(), ConnectionState::Reconnecting, "code {code}");
        harness.fire_retry();
        assert_eq!(harness.opened.len(), 2, "code {code}");
    }
}

#[test]
fn the_fatal_list_is_configurable() {
    let mut config = config();
    config.close_codes.fatal = vec![CodeRange::single(4500)];
    let mut harness = Harness::connected(config);
    harness.server_close(4001);
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
    harness.fire_retry();
    harness.open();
    harness.server_close(4500);
    assert_eq!(harness.state(), ConnectionState::Closed);
}

#[test]
fn an_auth_failure_asks_the_provider_for_fresh_credentials() {
    let mut harness = Harness::new(crate::core::Config::new(UrlSource::Provider));
    harness.input(Input::Start { online: true });
    let (generation, attempt, auth_failed) = harness.url_requests[0];
    assert_eq!((attempt, auth_failed), (0, false));
    harness.input(Input::UrlResolved { generation, url: "ws://127.0.0.1:9/ws?token=old".to_owned() });
    harness.open();
    harness.server_close(4401);
    assert_eq!(harness.state(), ConnectionState::Reconnecting);
    harness.fire_retry();
    let (generation, attempt, auth_failed) = harness.url_requests[1];
    assert_eq!((attempt, auth_failed), (1, true));
    harness.input(Input::UrlResolved { generation, url: "ws://127.0.0.1:9/ws?token=new".to_owned() });
    assert_eq!(harness.opened[1].1, "ws://127.0.0.1:9/ws?token=new");
    // Once a connection opens, the flag is spent.
    harness.open();
    harness.drop_connection();
    harness.fire_retry();
    assert!(!harness.url_requests[2].2);
}
