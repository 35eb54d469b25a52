//! The command line's parsing: every option, defaults, and refusals.

use super::*;
use std::net::Ipv6Addr;
use tabwire_server::{JwtConfig, Limits, Rate, Timeouts};

fn run(args: &[&str]) -> Result<Args, String> {
    match parse(args.iter().map(|arg| arg.to_string()), None)? {
        Command::Run(args) => Ok(*args),
        Command::Help => Err("help".to_owned()),
    }
}

fn error(args: &[&str]) -> String {
    match run(args) {
        Ok(parsed) => panic!("{args:?} parsed as {parsed:?}"),
        Err(message) => message,
    }
}

#[test]
fn defaults() {
    assert_eq!(
        run(&[]),
        Ok(Args {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            exit_after: None,
            logs: Logs::default(),
            server: ServerConfig::default(),
        })
    );
}

#[test]
fn every_option() {
    let parsed = run(&[
        "--host",
        "::1",
        "--port=0",
        "--www",
        "site",
        "--pkg=out/pkg",
        "--test-control",
        "--exit-after-secs",
        "30",
        "--metrics",
        "--log-level=warn",
        "--log-format",
        "json",
        "--rate",
        "10",
        "--burst=20",
        "--max-frame-bytes",
        "300",
        "--max-connections-per-ip=4",
        "--trust-forwarded-for",
        "--no-compression",
        "--allow-origin",
        "https://a.example",
        "--allow-origin=http://127.0.0.1:8080",
        "--jwt-secret",
        "0123456789abcdef",
        "--jwt-leeway-secs=5",
        "--jwt-audience=tabwire",
        "--jwt-issuer",
        "https://auth.example",
        "--jwt-allow-no-exp",
        "--history=50",
        "--history-secs",
        "3",
        "--max-channels=40",
        "--dedupe-ids=7",
        "--dedupe-secs",
        "60",
        "--dedupe-total",
        "100",
        "--redis",
        "redis://127.0.0.1:6379",
        "--redis-liveness-secs=7",
        "--demo",
        "--send-queue-messages=8",
        "--send-queue-bytes",
        "4096",
        "--write-timeout-secs=2",
        "--max-subscriptions",
        "5",
        "--max-channel-bytes=16",
        "--header-timeout-secs=3",
        "--auth-timeout-secs",
        "4",
        "--idle-timeout-secs=0",
        "--tcp-keepalive-secs",
        "60",
        "--shutdown-secs",
        "20",
    ]);
    assert_eq!(
        parsed,
        Ok(Args {
            host: IpAddr::V6(Ipv6Addr::LOCALHOST),
            port: 0,
            exit_after: Some(Duration::from_secs(30)),
            logs: Logs {
                level: tracing::Level::WARN,
                format: LogFormat::Json,
            },
            server: ServerConfig {
                www: PathBuf::from("site"),
                pkg: PathBuf::from("out/pkg"),
                test_control: true,
                metrics: true,
                limits: Limits {
                    per_user: Rate {
                        messages_per_second: 10,
                        message_burst: 20,
                        ..Limits::default().per_user
                    },
                    max_frame_bytes: 300,
                    max_connections_per_ip: 4,
                    trust_forwarded_for: true,
                    ..Limits::default()
                },
                bounds: Bounds {
                    send_queue_messages: 8,
                    send_queue_bytes: 4096,
                    write_timeout: Duration::from_secs(2),
                    max_subscriptions: 5,
                    max_channel_bytes: 16,
                },
                timeouts: Timeouts {
                    header: Duration::from_secs(3),
                    auth: Duration::from_secs(4),
                    idle: None,
                    tcp_keepalive: Some(Duration::from_secs(60)),
                    shutdown: Duration::from_secs(20),
                },
                compression: false,
                allowed_origins: vec![
                    "https://a.example".to_owned(),
                    "http://127.0.0.1:8080".to_owned()
                ],
                jwt: Some(JwtConfig {
                    leeway_secs: 5,
                    allow_no_exp: true,
                    audience: Some("tabwire".to_owned()),
                    issuer: Some("https://auth.example".to_owned()),
                    ..JwtConfig::new("0123456789abcdef")
                }),
                history: HistoryLimits {
                    max_messages: 50,
                    max_age: Duration::from_secs(3),
                    max_channels: 40,
                },
                dedupe: DedupeLimits {
                    ids_per_scope: 7,
                    max_age: Duration::from_secs(60),
                    total_ids: 100
                },
                redis: Some("redis://127.0.0.1:6379".to_owned()),
                redis_liveness: Duration::from_secs(7),
                demo: true,
            },
        })
    );
}

#[test]
fn localhost_and_other_loopback_hosts_allow_test_control() {
    let parsed = run(&["--host", "localhost", "--test-control"]);
    assert_eq!(parsed.map(|a| a.host), Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let parsed = run(&["--host=127.0.0.2", "--test-control"]);
    assert_eq!(parsed.map(|a| a.server.test_control), Ok(true));
}

#[test]
fn test_control_refused_off_loopback() {
    assert!(error(&["--host", "0.0.0.0", "--test-control"]).contains("loopback"));
    assert!(error(&["--test-control", "--host", "192.0.2.1"]).contains("loopback"));
    // Without the control API any host is fine.
    assert!(run(&["--host", "0.0.0.0"]).is_ok());
}

#[test]
fn every_origin_may_be_allowed_but_not_with_the_control_api() {
    let parsed = run(&["--allow-origin", "*"]);
    assert_eq!(
        parsed.map(|a| a.server.allowed_origins),
        Ok(vec!["*".to_owned()])
    );
    let refused = error(&["--test-control", "--allow-origin", "*"]);
    assert!(refused.contains("--allow-origin '*'"), "{refused}");
    assert!(run(&["--test-control", "--allow-origin", "http://127.0.0.1:5173"]).is_ok());
}

#[test]
fn help() {
    assert_eq!(parse(["--help".to_owned()], None), Ok(Command::Help));
    assert_eq!(parse(["-h".to_owned()], None), Ok(Command::Help));
}

#[test]
fn bad_values() {
    assert!(error(&["--port", "65536"]).starts_with("--port"));
    assert!(error(&["--port", "-1"]).starts_with("--port"));
    assert!(error(&["--port=http"]).starts_with("--port"));
    assert!(error(&["--host", "example.com"]).starts_with("--host"));
    assert!(error(&["--exit-after-secs", "0"]).starts_with("--exit-after-secs"));
    assert!(error(&["--exit-after-secs", "1.5"]).starts_with("--exit-after-secs"));
    assert!(error(&["--www="]).starts_with("--www"));
    assert!(error(&["--rate", "0"]).starts_with("--rate"));
    assert!(error(&["--burst", "-3"]).starts_with("--burst"));
    assert!(error(&["--max-frame-bytes", "1e6"]).starts_with("--max-frame-bytes"));
    assert!(error(&["--allow-origin", "https://a.example/path"]).starts_with("--allow-origin"));
    assert!(error(&["--allow-origin", "a.example"]).starts_with("--allow-origin"));
    assert!(error(&["--jwt-secret", "short"]).starts_with("--jwt-secret"));
    assert!(error(&["--history", "0"]).starts_with("--history"));
    assert!(error(&["--history-secs", "-1"]).starts_with("--history-secs"));
    assert!(error(&["--max-channels", "0"]).starts_with("--max-channels"));
    assert!(error(&["--dedupe-ids", "0"]).starts_with("--dedupe-ids"));
    assert!(error(&["--dedupe-secs", "1.5"]).starts_with("--dedupe-secs"));
    assert!(error(&["--dedupe-total", "many"]).starts_with("--dedupe-total"));
    assert!(error(&["--redis", "127.0.0.1:6379"]).starts_with("--redis"));
    assert!(error(&["--send-queue-messages", "0"]).starts_with("--send-queue-messages"));
    assert!(error(&["--send-queue-bytes", "4MiB"]).starts_with("--send-queue-bytes"));
    assert!(error(&["--write-timeout-secs", "0"]).starts_with("--write-timeout-secs"));
    assert!(error(&["--max-subscriptions", "-1"]).starts_with("--max-subscriptions"));
    assert!(error(&["--max-channel-bytes", "201"]).starts_with("--max-channel-bytes"));
    assert!(error(&["--max-channel-bytes", "0"]).starts_with("--max-channel-bytes"));
    let redis = ["--redis", "redis://127.0.0.1:6379"];
    let liveness = |secs| error(&[redis[0], redis[1], REDIS_LIVENESS, secs]);
    assert!(liveness("0").starts_with(REDIS_LIVENESS));
    assert!(liveness("1.5").starts_with(REDIS_LIVENESS));
}

#[test]
fn a_redis_liveness_needs_redis() {
    assert!(error(&[REDIS_LIVENESS, "3"]).contains("needs --redis"));
}

#[test]
fn missing_values() {
    assert!(error(&["--port"]).contains("needs a value"));
    assert!(error(&["--www"]).contains("needs a value"));
}

#[test]
fn unknown_repeated_and_misused() {
    assert!(error(&["--verbose=yes"]).contains("takes no value"));
    assert!(error(&["--metrics=on"]).contains("takes no value"));
    assert!(error(&["--verbose", "--log-level", "trace"]).contains("one or the other"));
    assert_eq!(
        run(&["--verbose"]).map(|args| args.logs.level),
        Ok(tracing::Level::DEBUG)
    );
    assert!(error(&["--no-compression=yes"]).contains("takes no value"));
    assert!(error(&["--prot", "1"]).contains("unknown argument"));
    assert!(error(&["8080"]).contains("unknown argument"));
    assert!(error(&["--port", "1", "--port", "2"]).contains("twice"));
    assert!(error(&["--test-control", "--test-control"]).contains("twice"));
    assert!(error(&["--no-compression", "--no-compression"]).contains("twice"));
    assert!(error(&["--trust-forwarded-for=1"]).contains("takes no value"));
}
