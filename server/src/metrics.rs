//! What a server counts for Prometheus, and `GET /metrics` (`--metrics`),
//! which shows it in the text format (OpenMetrics 1.0, which Prometheus
//! asks for). Every metric is defined here, with the small functions that
//! record it, called where the events happen; docs/OPERATIONS.md lists them
//! for operators.
//!
//! The crate is `prometheus-client`, Prometheus's own client for Rust,
//! rather than the `metrics` facade: its registry is a value, one per
//! [`crate::serve`], where the facade records into one recorder per process,
//! so servers sharing a process (the tests) would count into each other.
//! Its counters and gauges are atomics. A labelled series is looked up in
//! its family (a read lock) only when a connection opens; the others are
//! held as handles from the start. Its histogram locks a mutex per
//! observation, so the latency of publications, recorded per message and
//! subscriber, has its own on atomics ([`latency`]).
//!
//! Nothing a client sends becomes a label (no tags, channels, tokens or
//! client ids): the series are fixed, and say how much, not who.

mod latency;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{text, DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::{Registry, Unit};

use self::latency::Latency;
use crate::hub::{Carrier, Hub};

/// What every metric's name starts with.
const PREFIX: &str = "tabwire";

/// The media type of the exposition.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The fixed labels of one series.
type Labels = [(&'static str, &'static str); 2];
type Label = [(&'static str, &'static str); 1];

/// The kinds of connection a server serves, shown (at 0) from the start.
const CONNECTION_KINDS: [(bool, Carrier); 4] = [
    (false, Carrier::WebSocket { compressed: false }),
    (true, Carrier::WebSocket { compressed: false }),
    (true, Carrier::Stream),
    (true, Carrier::Poll),
];

/// The server's counters, gauges and histogram; the handles are shared
/// with the registry that `GET /metrics` encodes.
#[derive(Debug)]
pub struct Metrics {
    connections: Family<Labels, Gauge>,
    connections_opened: Family<Labels, Counter>,
    frames_received: Counter,
    frames_sent: Counter,
    bytes_received: Counter,
    bytes_sent: Counter,
    acks_sent: Counter,
    duplicates: Counter,
    rate_limited: Counter,
    rate_limited_closes: Counter,
    frame_too_large_closes: Counter,
    broker_unavailable_closes: Counter,
    slow_consumer_closes: Counter,
    idle_timeouts: Counter,
    auth_timeouts: Counter,
    refused: Family<Label, Counter>,
    redis_links: Family<Label, Gauge>,
    publish_to_write: Latency,
}

/// A timeout that ends connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// Nothing came from the client for too long.
    Idle,
    /// The client did not authenticate in time.
    Auth,
}

/// Why a request to connect (a WebSocket upgrade, or a request opening an
/// HTTP session) was refused before any connection opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A page of an origin the server does not let in (403).
    Origin,
    /// Its address holds `--max-connections-per-ip` connections (429).
    AddressFull,
    /// The server holds `--max-connections` (503).
    ServerFull,
    /// The server is shutting down, or the test control API asked it to
    /// refuse for a while (503).
    Refusing,
}

impl Refused {
    const ALL: [Refused; 4] = [
        Refused::Origin,
        Refused::AddressFull,
        Refused::ServerFull,
        Refused::Refusing,
    ];

    fn label(self) -> &'static str {
        match self {
            Refused::Origin => "origin",
            Refused::AddressFull => "address_full",
            Refused::ServerFull => "server_full",
            Refused::Refusing => "refusing",
        }
    }
}

/// A pub/sub subscription to Redis (`--redis`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The channel messages every instance announces.
    Channels,
    /// The requests of HTTP sessions, forwarded between instances.
    Sessions,
}

impl Default for Metrics {
    /// Metrics that no registry shows.
    fn default() -> Self {
        Metrics::new(&mut Registry::default())
    }
}

impl Metrics {
    /// Defines every metric in `registry`, named `tabwire_*`.
    pub fn new(registry: &mut Registry) -> Self {
        let registry = registry.sub_registry_with_prefix(PREFIX);
        let connections = Family::<Labels, Gauge>::default();
        let connections_opened = Family::<Labels, Counter>::default();
        for (protocol, carrier) in CONNECTION_KINDS {
            let kind = kind(protocol, carrier);
            connections.get_or_create_owned(&kind);
            connections_opened.get_or_create_owned(&kind);
        }
        let closes = Family::<Labels, Counter>::default();
        let closed =
            |code, reason| closes.get_or_create_owned(&[("code", code), ("reason", reason)]);
        let timeouts = Family::<Label, Counter>::default();
        let timed_out = |kind| timeouts.get_or_create_owned(&[("kind", kind)]);
        let refused = Family::<Label, Counter>::default();
        for why in Refused::ALL {
            refused.get_or_create_owned(&[("reason", why.label())]);
        }
        let metrics = Metrics {
            connections,
            connections_opened,
            frames_received: Counter::default(),
            frames_sent: Counter::default(),
            bytes_received: Counter::default(),
            bytes_sent: Counter::default(),
            acks_sent: Counter::default(),
            duplicates: Counter::default(),
            rate_limited: Counter::default(),
            frame_too_large_closes: closed("1009", "frame_too_large"),
            broker_unavailable_closes: closed("1013", "broker_unavailable"),
            slow_consumer_closes: closed("3008", "slow_consumer"),
            rate_limited_closes: closed("4429", "rate_limited"),
            idle_timeouts: timed_out("idle"),
            auth_timeouts: timed_out("auth"),
            refused,
            redis_links: Family::default(),
            publish_to_write: Latency::default(),
        };
        registry.register(
            "connections",
            "Connections open, by mode (tabwire, raw) and transport (websocket, sse, polling)",
            metrics.connections.clone(),
        );
        registry.register(
            "connections_opened",
            "Connections opened, by mode and transport",
            metrics.connections_opened.clone(),
        );
        let counters = [
            (
                "frames_received",
                "Data frames received from clients",
                &metrics.frames_received,
            ),
            (
                "frames_sent",
                "Data frames sent to clients",
                &metrics.frames_sent,
            ),
            (
                "acks_sent",
                "Acks sent for protocol messages",
                &metrics.acks_sent,
            ),
            (
                "duplicates",
                "Protocol messages already handled, acknowledged again only",
                &metrics.duplicates,
            ),
            (
                "rate_limited",
                "Frames over their user's or address's rate, refused by closing their connection with 4429",
                &metrics.rate_limited,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        let bytes = [
            ("received", "data frames received", &metrics.bytes_received),
            ("sent", "data frames sent", &metrics.bytes_sent),
        ];
        for (name, frames, counter) in bytes {
            let help = format!("Payload bytes of the {frames}, uncompressed");
            registry.register_with_unit(name, help, Unit::Bytes, counter.clone());
        }
        registry.register(
            "closes",
            "Connections the server closed, by close code and reason",
            closes,
        );
        registry.register(
            "timeouts",
            "Connections ended by a timeout, by kind (idle, auth)",
            timeouts,
        );
        registry.register(
            "refused",
            "Requests to connect refused before a connection opened, by reason (origin, address_full, server_full, refusing)",
            metrics.refused.clone(),
        );
        registry.register(
            "redis_link_up",
            "1 while the pub/sub subscription to Redis is up, by link (channels, sessions)",
            metrics.redis_links.clone(),
        );
        registry.register_with_unit(
            "publish_to_write",
            "From the hub taking a channel message to the end of its write to a subscriber",
            Unit::Seconds,
            metrics.publish_to_write.clone(),
        );
        metrics
    }

    /// Counts a connection open until the returned [`Open`] is dropped.
    pub fn connection_opened(&self, protocol: bool, carrier: Carrier) -> Open {
        let kind = kind(protocol, carrier);
        self.connections_opened.get_or_create(&kind).inc();
        let open = self.connections.get_or_create_owned(&kind);
        open.inc();
        Open(open)
    }

    /// A data frame of `bytes` bytes came from a client.
    pub fn frame_received(&self, bytes: usize) {
        self.frames_received.inc();
        self.bytes_received.inc_by(bytes as u64);
    }

    /// A data frame of `bytes` bytes went to a client.
    pub fn frame_sent(&self, bytes: usize) {
        self.frames_sent.inc();
        self.bytes_sent.inc_by(bytes as u64);
    }

    pub fn ack_sent(&self) {
        self.acks_sent.inc();
    }

    /// A protocol message came again after it was handled.
    pub fn duplicate(&self) {
        self.duplicates.inc();
    }

    /// A frame over its user's or address's rate was refused: its
    /// connection is closed (4429), whatever it sent after left unhandled.
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
        self.rate_limited_closes.inc();
    }

    /// A connection that sent a frame over the size limit was closed (1009).
    pub fn frame_too_large_closed(&self) {
        self.frame_too_large_closes.inc();
    }

    /// A connection whose frame needed the unreachable broker was closed
    /// (1013).
    pub fn broker_unavailable_closed(&self) {
        self.broker_unavailable_closes.inc();
    }

    /// A connection that did not read its frames fast enough was closed
    /// (3008).
    pub fn slow_consumer_closed(&self) {
        self.slow_consumer_closes.inc();
    }

    /// A connection was ended by the timeout `kind`.
    pub fn timed_out(&self, kind: Timeout) {
        let timeouts = match kind {
            Timeout::Idle => &self.idle_timeouts,
            Timeout::Auth => &self.auth_timeouts,
        };
        timeouts.inc();
    }

    /// A request to connect was refused for `why`.
    pub fn refused(&self, why: Refused) {
        self.refused
            .get_or_create_owned(&[("reason", why.label())])
            .inc();
    }

    /// The write of a channel message the hub took at `taken` to a
    /// subscriber has completed.
    pub fn publication_written(&self, taken: Instant) {
        self.publish_to_write.observe(taken.elapsed());
    }

    /// The state of the Redis subscription `link`, down until said up.
    pub fn redis_link(&self, link: Link) -> LinkState {
        let name = match link {
            Link::Channels => "channels",
            Link::Sessions => "sessions",
        };
        LinkState(self.redis_links.get_or_create_owned(&[("link", name)]))
    }
}

/// The labels of a connection: its mode and what carries its frames.
fn kind(protocol: bool, carrier: Carrier) -> Labels {
    let mode = if protocol { "tabwire" } else { "raw" };
    let transport = match carrier {
        Carrier::WebSocket { .. } => "websocket",
        Carrier::Stream => "sse",
        Carrier::Poll => "polling",
    };
    [("mode", mode), ("transport", transport)]
}

/// A connection counted open; dropped, it no longer is.
#[derive(Debug)]
pub struct Open(Gauge);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Whether one Redis subscription is up.
#[derive(Debug, Clone)]
pub struct LinkState(Gauge);

impl LinkState {
    pub fn up(&self) {
        self.0.set(1);
    }

    pub fn down(&self) {
        self.0.set(0);
    }
}

/// Adds to `registry` the subscriptions of `hub`'s live connections,
/// counted when scraped: they change with every subscribe and with every
/// connection that goes, which the hub's subscriber index already follows.
pub fn count_subscriptions(registry: &mut Registry, hub: Arc<Hub>) {
    registry
        .sub_registry_with_prefix(PREFIX)
        .register_collector(Box::new(Subscriptions(hub)));
}

#[derive(Debug)]
struct Subscriptions(Arc<Hub>);

impl Collector for Subscriptions {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let (subscriptions, channels) = self.0.subscription_totals();
        let gauges = [
            (
                "subscriptions",
                "Channel subscriptions of the live connections.",
                subscriptions,
            ),
            (
                "channels",
                "Channels with at least one subscriber on this server.",
                channels,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

/// `GET /metrics`: every metric of `registry`.
pub async fn exposition(State(registry): State<Arc<Registry>>) -> Response {
    let mut body = String::new();
    match text::encode(&mut body, &registry) {
        Ok(()) => ([(CONTENT_TYPE, OPENMETRICS)], body).into_response(),
        // Writing to a String cannot fail, nor can the collectors here.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
