use crate::core::config::{
    check_close_code, check_code_range, check_count, check_duration, check_factor, check_positive_duration,
    check_protocols, check_url,
};
use crate::core::{Config, ConfigError, UrlSource};

#[test]
fn durations_must_be_finite_and_not_negative() {
    assert_eq!(check_duration("connectTimeoutMs", 0.0), Ok(0.0));
    for value in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(check_duration("connectTimeoutMs", value).is_err(), "{value}");
    }
    assert_eq!(
        check_duration("reconnect.minDelayMs", -5.0).unwrap_err().to_string(),
        "reconnect.minDelayMs (-5) must be a finite number of milliseconds, at least 0"
    );
    assert_eq!(
        check_positive_duration("heartbeat.timeoutMs", 0.0),
        Err(ConfigError::ZeroDuration { option: "heartbeat.timeoutMs" })
    );
}

#[test]
fn counts_must_be_whole_numbers() {
    assert_eq!(check_count("reconnect.maxRetries", 3.0), Ok(3));
    for value in [-1.0, 1.5, f64::NAN, 5e9] {
        assert!(check_count("reconnect.maxRetries", value).is_err(), "{value}");
    }
}

#[test]
fn the_factor_is_at_least_one() {
    assert_eq!(check_factor(1.0), Ok(1.0));
    assert!(check_factor(0.5).is_err());
    assert!(check_factor(f64::INFINITY).is_err());
}

#[test]
fn close_codes_are_those_a_server_can_send() {
    assert_eq!(check_close_code("closeCodes.fatal", 4000.0), Ok(4000));
    for value in [999.0, 5000.0, 4000.5] {
        assert!(check_close_code("closeCodes.fatal", value).is_err(), "{value}");
    }
    assert!(check_code_range("closeCodes.fatal", 4100.0, 4000.0).is_err());
    assert!(check_code_range("closeCodes.fatal", 4000.0, 4099.0).is_ok());
}

#[test]
fn min_delay_above_max_is_named_in_the_message() {
    let mut config = Config::new(UrlSource::Fixed("ws://127.0.0.1/".to_owned()));
    config.reconnect.min_delay_ms = 5000.0;
    config.reconnect.max_delay_ms = 1000.0;
    assert_eq!(
        config.validate().unwrap_err().to_string(),
        "reconnect.minDelayMs (5000) must not exceed reconnect.maxDelayMs (1000)"
    );
}

#[test]
fn only_websocket_urls_pass() {
    for url in ["ws://127.0.0.1:8080/ws", "wss://example.test", "WSS://example.test/a?b=c"] {
        assert_eq!(check_url(url), Ok(()), "{url}");
    }
    for (url, reason) in [
        ("http://example.test/", "must start with ws:// or wss://"),
        ("example.test", "must start with ws:// or wss://"),
        ("ws:///path", "has no host"),
        ("wss://example.test/#x", "must not contain a fragment (#)"),
        ("", "must start with ws:// or wss://"),
        ("wé", "must start with ws:// or wss://"),
    ] {
        assert_eq!(check_url(url), Err(ConfigError::InvalidUrl { url: url.to_owned(), reason }), "{url}");
    }
    let config = Config::new(UrlSource::Fixed("https://x".to_owned()));
    assert_eq!(config.validate().unwrap_err().to_string(), "url \"https://x\" must start with ws:// or wss://");
}

#[test]
fn protocols_are_distinct_tokens() {
    let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(check_protocols(&list(&["tabwire.v1", "chat"])), Ok(()));
    assert!(matches!(check_protocols(&list(&["a b"])), Err(ConfigError::InvalidProtocol { .. })));
    assert!(matches!(check_protocols(&list(&[""])), Err(ConfigError::InvalidProtocol { .. })));
    assert!(matches!(check_protocols(&list(&["x", "x"])), Err(ConfigError::DuplicateProtocol { .. })));
}
