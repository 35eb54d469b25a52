//! End-to-end tests of `GET /metrics` (`--metrics`): the exposition parses
//! line by line, and its series follow what real clients do and, with
//! `--redis`, the state of the links to a real Redis.

mod common;

use std::collections::{HashMap, HashSet};

use common::redis::RedisServer;
use common::transport::{PollSession, StreamSession};
use common::*;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const TABWIRE_SOCKETS: &str = r#"tabwire_connections{mode="tabwire",transport="websocket"}"#;
const RAW_SOCKETS: &str = r#"tabwire_connections{mode="raw",transport="websocket"}"#;
const LATENCY_COUNT: &str = "tabwire_publish_to_write_seconds_count";
const LINKS: [&str; 2] = [
    r#"tabwire_redis_link_up{link="channels"}"#,
    r#"tabwire_redis_link_up{link="sessions"}"#,
];

fn with_metrics() -> ServerConfig {
    ServerConfig {
        metrics: true,
        ..config(false, missing_dir(), missing_dir())
    }
}

/// The samples of one scrape, by series (`name{labels}` as written).
struct Scrape {
    text: String,
    samples: HashMap<String, f64>,
}

impl Scrape {
    fn value(&self, series: &str) -> f64 {
        match self.samples.get(series) {
            Some(value) => *value,
            None => panic!("no {series} in\n{}", self.text),
        }
    }
}

/// Reads `/metrics` and checks, line by line, that it is OpenMetrics text:
/// each family described (`# HELP`, `# TYPE`, `# UNIT`) before its
/// samples, each sample `name{label="value",...} number` of a described
/// family and given once, and `# EOF` last.
async fn scrape(address: SocketAddr) -> Scrape {
    let reply = http(address, "GET", "/metrics").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let media_type = reply.header("content-type").unwrap_or_default();
    assert!(
        media_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{media_type}"
    );
    let text = reply.body;
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.pop(), Some("# EOF"), "{text}");
    let mut families = HashSet::new();
    let mut samples = HashMap::new();
    for line in lines {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let (keyword, name, rest) = (words.next(), words.next(), words.next());
            let name = name.unwrap_or_else(|| panic!("no name: {line}"));
            assert!(is_name(name), "{line}");
            match keyword {
                Some("TYPE") => {
                    let kinds = ["counter", "gauge", "histogram"];
                    assert!(rest.is_some_and(|kind| kinds.contains(&kind)), "{line}");
                    families.insert(name.to_owned());
                }
                Some("HELP") | Some("UNIT") => assert!(rest.is_some(), "{line}"),
                _ => panic!("not a descriptor: {line}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        let name = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                for label in labels.split(',') {
                    let (key, quoted) = label.split_once('=').unwrap_or_else(|| panic!("{line}"));
                    assert!(is_name(key), "{line}");
                    assert!(quoted.len() >= 2, "{line}");
                    assert!(quoted.starts_with('"') && quoted.ends_with('"'), "{line}");
                }
                name
            }
            None => series,
        };
        let family = ["_total", "_bucket", "_count", "_sum"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|family| families.contains(*family))
            .unwrap_or(name);
        assert!(families.contains(family), "undescribed: {line}");
        let repeated = samples.insert(series.to_owned(), value);
        assert!(repeated.is_none(), "twice: {line}");
    }
    Scrape { text, samples }
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Scrapes until `ready` holds (the server records some events right after
/// the write the client sees), within the step limit.
async fn scrape_until(address: SocketAddr, what: &str, ready: impl Fn(&Scrape) -> bool) -> Scrape {
    within(what, async {
        loop {
            let scrape = scrape(address).await;
            if ready(&scrape) {
                return scrape;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

#[tokio::test]
async fn a_protocol_connection_moves_the_counters_and_gauges() {
    let address = start(with_metrics()).await;
    let before = scrape(address).await;
    for series in [
        TABWIRE_SOCKETS,
        RAW_SOCKETS,
        r#"tabwire_connections{mode="tabwire",transport="sse"}"#,
        r#"tabwire_connections{mode="tabwire",transport="polling"}"#,
        "tabwire_frames_received_total",
        "tabwire_acks_sent_total",
        "tabwire_subscriptions",
        "tabwire_channels",
        LATENCY_COUNT,
        r#"tabwire_closes_total{code="3008",reason="slow_consumer"}"#,
        r#"tabwire_closes_total{code="4429",reason="rate_limited"}"#,
        r#"tabwire_closes_total{code="1013",reason="broker_unavailable"}"#,
        r#"tabwire_timeouts_total{kind="idle"}"#,
        r#"tabwire_timeouts_total{kind="auth"}"#,
    ] {
        assert_eq!(before.value(series), 0.0, "{series} at the start");
    }

    let mut client = connect_protocol(address, "m").await;
    subscribe(&mut client, "news", None, 0).await;
    let publications: Vec<Message> = (1..=3)
        .map(|n| publish_frame(&format!("p{n}"), "news", &n.to_string()))
        .collect();
    for publication in &publications {
        send(&mut client, publication.clone()).await;
    }
    // Each is acked and comes back as a `pub` frame, in either order.
    let mut acks = 0;
    let mut pubs = 0;
    while acks + pubs < 6 {
        let frame = next(&mut client).await;
        match serde_json::from_str::<Value>(frame.to_text().expect("text")).expect("JSON")["type"]
            .as_str()
        {
            Some("ack") => acks += 1,
            Some("pub") => pubs += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    send(&mut client, publications[0].clone()).await;
    assert_eq!(next(&mut client).await, ack("p1"), "a duplicate is acked");

    let during = scrape_until(address, "the publications written", |scrape| {
        scrape.value(LATENCY_COUNT) >= 3.0
    })
    .await;
    assert_eq!(during.value(TABWIRE_SOCKETS), 1.0);
    assert_eq!(
        during.value(r#"tabwire_connections_opened_total{mode="tabwire",transport="websocket"}"#),
        1.0
    );
    // Its hello, the subscribe, three publications and the duplicate.
    assert!(during.value("tabwire_frames_received_total") >= 6.0);
    let sent_bytes: usize = publications.iter().map(Message::len).sum();
    assert!(during.value("tabwire_received_bytes_total") >= sent_bytes as f64);
    // The server's hello, `subscribed`, four acks, three `pub` frames.
    assert!(during.value("tabwire_frames_sent_total") >= 9.0);
    assert!(during.value("tabwire_sent_bytes_total") > 0.0);
    assert_eq!(during.value("tabwire_acks_sent_total"), 4.0);
    assert_eq!(during.value("tabwire_duplicates_total"), 1.0);
    assert_eq!(during.value("tabwire_subscriptions"), 1.0);
    assert_eq!(during.value("tabwire_channels"), 1.0);
    assert_eq!(
        during.value(LATENCY_COUNT),
        3.0,
        "one write per publication"
    );
    assert_eq!(
        during.value(r#"tabwire_publish_to_write_seconds_bucket{le="+Inf"}"#),
        3.0
    );
    assert!(during.value("tabwire_publish_to_write_seconds_sum") > 0.0);

    within("the close", client.close(None))
        .await
        .expect("close");
    let after = scrape_until(address, "the connection to go", |scrape| {
        scrape.value(TABWIRE_SOCKETS) == 0.0
    })
    .await;
    assert_eq!(after.value("tabwire_subscriptions"), 0.0);
    assert_eq!(after.value("tabwire_channels"), 0.0);
    assert_eq!(
        after.value(r#"tabwire_connections_opened_total{mode="tabwire",transport="websocket"}"#),
        1.0
    );
}

async fn expect_close(client: &mut Client, code: u16) {
    match next(client).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::from(code)),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn refusals_and_the_closes_of_limits_are_counted() {
    let mut config = with_metrics();
    config.limits = Limits {
        per_user: Rate {
            messages_per_second: 1,
            message_burst: 3,
            ..Rate::UNLIMITED
        },
        max_frame_bytes: 1000,
        ..Limits::default()
    };
    let address = start(config).await;
    let mut flooding = connect(address, "flood").await;
    assert_eq!(scrape(address).await.value(RAW_SOCKETS), 1.0);
    // Back to back, far more than the burst and a few seconds' refill:
    // the first refused closes the connection, and nothing after it is
    // answered or counted.
    for n in 0..10 {
        send(&mut flooding, Message::text(n.to_string())).await;
    }
    let mut echoes = 0;
    loop {
        match next(&mut flooding).await {
            Message::Text(_) => echoes += 1,
            Message::Close(Some(frame)) => {
                assert_eq!(frame.code, CloseCode::from(4429));
                break;
            }
            other => panic!("expected an echo or the close, got {other:?}"),
        }
    }
    assert!((3..10).contains(&echoes), "{echoes} echoed");
    // Reading on sends the answer to the close, which the server waits
    // for before it lets the connection go.
    within("the close handshake", async {
        while flooding.next().await.is_some() {}
    })
    .await;

    let mut oversized = connect(address, "size").await;
    send(&mut oversized, Message::text("x".repeat(1001))).await;
    expect_close(&mut oversized, 1009).await;

    let scrape = scrape_until(address, "both connections to go", |scrape| {
        scrape.value(RAW_SOCKETS) == 0.0
    })
    .await;
    assert_eq!(scrape.value("tabwire_rate_limited_total"), 1.0);
    assert_eq!(
        scrape.value(r#"tabwire_closes_total{code="4429",reason="rate_limited"}"#),
        1.0
    );
    assert!(
        !scrape.text.contains(r#"code="1008""#),
        "nothing closes with 1008: {}",
        scrape.text
    );
    assert_eq!(
        scrape.value(r#"tabwire_closes_total{code="1009",reason="frame_too_large"}"#),
        1.0
    );
    assert_eq!(
        scrape.value(r#"tabwire_connections_opened_total{mode="raw",transport="websocket"}"#),
        2.0
    );
    assert_eq!(scrape.value("tabwire_acks_sent_total"), 0.0, "raw mode");
}

#[tokio::test]
async fn a_slow_consumer_close_is_counted_and_the_subscription_gauges_follow() {
    let mut config = ServerConfig {
        metrics: true,
        ..config(true, missing_dir(), missing_dir())
    };
    config.bounds.send_queue_messages = 2;
    let address = start(config).await;
    let mut slow = connect_protocol(address, "slow").await;
    subscribe(&mut slow, "x", None, 0).await;
    subscribe(&mut slow, "y", None, 0).await;
    let mut reader = connect_protocol(address, "reader").await;
    subscribe(&mut reader, "x", None, 0).await;
    let subscribed = scrape(address).await;
    assert_eq!(subscribed.value("tabwire_subscriptions"), 3.0);
    assert_eq!(subscribed.value("tabwire_channels"), 2.0);

    // Stalled, it takes nothing from its queue: the third message does
    // not fit.
    control(address, "/control/stall?tag=slow").await;
    for index in 1..=3 {
        publish(address, "x", &index.to_string()).await;
        assert_eq!(
            next(&mut reader).await,
            pub_frame("x", index, &index.to_string())
        );
    }
    expect_close(&mut slow, 3008).await;
    let after = scrape_until(address, "the slow consumer to go", |scrape| {
        scrape.value(TABWIRE_SOCKETS) == 1.0
    })
    .await;
    assert_eq!(
        after.value(r#"tabwire_closes_total{code="3008",reason="slow_consumer"}"#),
        1.0
    );
    assert_eq!(after.value("tabwire_subscriptions"), 1.0);
    assert_eq!(after.value("tabwire_channels"), 1.0);
}

#[tokio::test]
async fn an_idle_timeout_is_counted() {
    let mut config = with_metrics();
    config.timeouts.idle = Some(std::time::Duration::from_secs(1));
    let address = start(config).await;
    let mut silent = connect(address, "silent").await;
    expect_close(&mut silent, 1001).await;
    let scrape = scrape_until(address, "the idle connection to go", |scrape| {
        scrape.value(RAW_SOCKETS) == 0.0
    })
    .await;
    assert_eq!(scrape.value(r#"tabwire_timeouts_total{kind="idle"}"#), 1.0);
    assert_eq!(scrape.value(r#"tabwire_timeouts_total{kind="auth"}"#), 0.0);
}

#[tokio::test]
async fn http_sessions_are_counted_by_transport() {
    let address = start(with_metrics()).await;
    let _stream = StreamSession::open(address, "tag=sse").await;
    let (_poll, _hello) = PollSession::open(address, "tag=poll").await;
    let scrape = scrape(address).await;
    for transport in ["sse", "polling"] {
        let series = format!(r#"tabwire_connections{{mode="tabwire",transport="{transport}"}}"#);
        assert_eq!(scrape.value(&series), 1.0, "{series}");
    }
    assert_eq!(scrape.value(TABWIRE_SOCKETS), 0.0);
}

/// Whether both links to Redis are `up` (1) or down (0).
fn links_are(scrape: &Scrape, up: f64) -> bool {
    LINKS.iter().all(|link| scrape.value(link) == up)
}

#[tokio::test]
async fn the_redis_links_follow_redis_and_its_absence_closes_with_1013() {
    let mut redis = RedisServer::start();
    let address = start(ServerConfig {
        redis: Some(redis.url()),
        ..with_metrics()
    })
    .await;
    scrape_until(address, "the links up", |scrape| links_are(scrape, 1.0)).await;

    redis.kill();
    scrape_until(address, "the links down", |scrape| links_are(scrape, 0.0)).await;
    let mut client = connect_protocol(address, "r").await;
    send(
        &mut client,
        Message::text(r#"{"type":"subscribe","channel":"alerts"}"#),
    )
    .await;
    expect_close(&mut client, 1013).await;
    let closes = r#"tabwire_closes_total{code="1013",reason="broker_unavailable"}"#;
    assert_eq!(scrape(address).await.value(closes), 1.0);

    redis.restart();
    scrape_until(address, "the links up again", |scrape| {
        links_are(scrape, 1.0)
    })
    .await;
}

#[tokio::test]
async fn without_the_flag_there_is_no_metrics_endpoint() {
    let address = start(config(false, missing_dir(), missing_dir())).await;
    assert_eq!(http(address, "GET", "/metrics").await.status, 404);
}

#[tokio::test]
async fn refused_requests_to_connect_are_counted_by_reason() {
    let mut config = with_metrics();
    config.test_control = true;
    config.limits.max_connections_per_ip = 1;
    let address = start(config).await;
    let refused = |reason: &str| format!(r#"tabwire_refused_total{{reason="{reason}"}}"#);
    let before = scrape(address).await;
    for reason in ["origin", "address_full", "server_full", "refusing"] {
        assert_eq!(before.value(&refused(reason)), 0.0, "{reason}");
    }

    let elsewhere = "Origin: http://elsewhere.example\r\n";
    assert!(upgrade_head_with(address, "/ws", elsewhere)
        .await
        .starts_with("HTTP/1.1 403"));
    let session = request(address, "POST", "/ws?transport=poll", elsewhere, "").await;
    assert_eq!(session.status, 403);

    let _only = connect(address, "only").await;
    assert!(upgrade_head_with(address, "/raw", "")
        .await
        .starts_with("HTTP/1.1 429"));

    control(address, "/control/refuse?ms=60000").await;
    assert!(upgrade_head_with(address, "/raw", "")
        .await
        .starts_with("HTTP/1.1 503"));

    let after = scrape(address).await;
    assert_eq!(after.value(&refused("origin")), 2.0);
    assert_eq!(after.value(&refused("address_full")), 1.0);
    assert_eq!(after.value(&refused("refusing")), 1.0);
    assert_eq!(after.value(&refused("server_full")), 0.0);
}
