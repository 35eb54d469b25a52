//! The reference WebSocket server of tabwire: the tabwire protocol on `/ws`
//! (a greeting, acknowledged messages deduplicated per client, channels
//! with history and epochs), over a WebSocket or the HTTP transport; raw
//! echo and heartbeat on `/raw`; the static
//! demo and test pages; for operators, Prometheus metrics on `/metrics`
//! (with `--metrics`) and logs through `tracing`; and (for tests only) a
//! control API that breaks, stalls and inspects connections on demand.

mod accept;
mod auth;
mod bounds;
mod broker;
mod connection;
mod control;
mod dedupe;
pub mod demo;
#[doc(hidden)]
pub mod fuzzing;
mod handshake;
mod history;
mod http;
mod hub;
mod jwt;
mod limits;
mod metrics;
pub mod open_files;
mod origins;
mod positions;
mod protocol;
mod random;
mod shutdown;
mod statics;
mod timeouts;

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::accept::Connections;
pub use crate::bounds::Bounds;
use crate::broker::link::Upkeep;
use crate::broker::{Broker, Memory, RedisBroker, Subscribers};
use crate::connection::Endpoint;
pub use crate::dedupe::DedupeLimits;
pub use crate::history::HistoryLimits;
use crate::http::{Forwarder, Sessions};
use crate::hub::Hub;
pub use crate::jwt::{JwtConfig, DEFAULT_LEEWAY_SECS};
pub use crate::limits::{Limits, Rate};
use crate::metrics::{Link, Metrics};
use crate::origins::Origins;
pub use crate::origins::ANY_ORIGIN;
use crate::shutdown::Tasks;
pub use crate::timeouts::Timeouts;

/// What the server serves; where it listens is the caller's listener.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Directory served for every path other than `/pkg/`, `/ws` and `/raw`.
    pub www: PathBuf,
    /// Directory served under `/pkg/` (the wasm-pack output).
    pub pkg: PathBuf,
    /// Mount the `/control/` routes. They let anyone who can reach the port
    /// break connections, so callers must keep the listener on loopback.
    pub test_control: bool,
    /// Serve `GET /metrics` (Prometheus). Off by default: it tells anyone
    /// who can reach the port how busy the server is.
    pub metrics: bool,
    /// Frame size, rates per user and per address, connection caps.
    pub limits: Limits,
    /// How long the server waits on a client: for a request's head, its
    /// credentials, any frame; and TCP keepalive.
    pub timeouts: Timeouts,
    /// What the server holds for each connection at most: its queue of
    /// channel messages, the time a write may take, its subscriptions.
    pub bounds: Bounds,
    /// Agree to permessage-deflate (RFC 7692) with clients that offer it,
    /// as every browser does.
    pub compression: bool,
    /// Origins whose pages may connect besides the server's own (the
    /// `Origin` header), or `"*"` for every origin; see [`origins`].
    pub allowed_origins: Vec<String>,
    /// With it, protocol-mode clients must authenticate with a JWT signed
    /// with its secret (HS256) whose claims it takes.
    pub jwt: Option<JwtConfig>,
    /// How much of each channel's past is kept for clients that were away.
    pub history: HistoryLimits,
    /// How long and how many handled message ids are remembered, so that a
    /// resent message is not handled twice.
    pub dedupe: DedupeLimits,
    /// With a Redis URL, channels live in Redis, shared by every server
    /// started with the same URL; otherwise in this process.
    pub redis: Option<String>,
    /// How often the links to Redis are checked (a `PING` on each pub/sub
    /// connection); one from which nothing came for two of these is lost,
    /// as if it had broken, and made again (see `broker::link`).
    pub redis_liveness: Duration,
    /// Publish the dashboard's demo streams (see [`demo`]).
    pub demo: bool,
}

impl Default for ServerConfig {
    /// What `tabwire-server` runs with when given no option: `www/` and
    /// `pkg/` of the working directory, channels in memory, compression on,
    /// no control API, no authentication.
    fn default() -> Self {
        ServerConfig {
            www: PathBuf::from("www"),
            pkg: PathBuf::from("pkg"),
            test_control: false,
            metrics: false,
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            bounds: Bounds::default(),
            compression: true,
            allowed_origins: Vec::new(),
            jwt: None,
            history: HistoryLimits::default(),
            dedupe: DedupeLimits::default(),
            redis: None,
            redis_liveness: Duration::from_secs(5),
            demo: false,
        }
    }
}

/// Serves `config` on `listener` until the future is dropped; with
/// `config.redis`, fails at once if Redis cannot be reached. Each accepted
/// socket is set up and served as [`accept`](mod@accept) says.
pub async fn serve(config: ServerConfig, listener: TcpListener) -> io::Result<()> {
    serve_until(config, listener, std::future::pending()).await
}

/// Serves as [`serve`] does until `shutdown` resolves, then shuts down
/// gracefully and returns, within `config.timeouts.shutdown`: every
/// connection finishes the frame it is handling and is closed with 1012
/// `server restart`, and whatever is left once the bound has passed is
/// cut (see [`shutdown`](mod@shutdown)).
pub async fn serve_until(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let background = Tasks::default();
    let mut registry = Registry::default();
    let metrics = Arc::new(Metrics::new(&mut registry));
    let (hub, sessions, forwarder) = start(&config, &background, &metrics).await?;
    metrics::count_subscriptions(&mut registry, Arc::clone(&hub));
    let transport = http::Endpoint::new(Arc::clone(&hub), Arc::clone(&sessions), forwarder);
    let app = app(&config, Arc::clone(&hub), transport, registry);
    let http = Connections::default();
    let drained = async {
        shutdown.await;
        let deadline = Instant::now() + config.timeouts.shutdown;
        let in_time = shutdown::close_connections(&hub, &sessions, deadline).await;
        (deadline, in_time)
    };
    let (deadline, in_time) = tokio::select! {
        never = http.accept(listener, app, config.timeouts) => match never {},
        drained = drained => drained,
    };
    let left = http.close(deadline).await;
    if in_time && left == 0 {
        hub.log(format_args!("shut down: every connection closed"));
    } else if left > 0 {
        hub.log(format_args!(
            "shutdown: the bound has passed with {left} HTTP connection(s) left; cutting them"
        ));
    }
    hub.cut_connections();
    http.cut();
    background.cut();
    Ok(())
}

/// The hub and the HTTP sessions of a new server, and with Redis the way
/// to the other instances' sessions; its background tasks (the Redis
/// links, the sweeps of idle channels and of refilled rate limits, the
/// demo feed) run among `background`, and it counts in `metrics`.
async fn start(
    config: &ServerConfig,
    background: &Tasks,
    metrics: &Arc<Metrics>,
) -> io::Result<(Arc<Hub>, Arc<Sessions>, Option<Arc<Forwarder>>)> {
    let hub = Hub::new(config.test_control)
        .with_metrics(Arc::clone(metrics))
        .guarded(config.limits, Origins::new(config.allowed_origins.clone()))
        .with_timeouts(config.timeouts)
        .with_bounds(config.bounds)
        .with_jwt(config.jwt.clone())
        .with_compression(config.compression)
        .with_dedupe(config.dedupe);
    let mut instance = random::token();
    instance.truncate(INSTANCE_CHARS);
    let sessions = Arc::new(Sessions::new(instance));
    let (hub, forwarder) = match &config.redis {
        None => {
            let hub = Arc::new(hub.with_broker(Broker::Memory(Memory::new(config.history))));
            background.spawn(hub::forget_idle_channels(Arc::downgrade(&hub)));
            (hub, None)
        }
        Some(url) => {
            let upkeep = Upkeep {
                liveness: config.redis_liveness,
                tasks: background.clone(),
            };
            let (redis, announcements) =
                RedisBroker::connect(url, config.history, config.dedupe.max_age)
                    .await
                    .map_err(io::Error::other)?;
            let redis = Arc::new(redis);
            let hub = Arc::new(hub.with_broker(Broker::Redis(Arc::clone(&redis))));
            let subscribers: Arc<dyn Subscribers> = hub.clone();
            redis.listen(
                Arc::downgrade(&subscribers),
                announcements,
                &upkeep,
                metrics.redis_link(Link::Channels),
            );
            let (forwarder, requests) = Forwarder::connect(url, sessions.instance())
                .await
                .map_err(io::Error::other)?;
            let forwarder = Arc::new(forwarder);
            forwarder.listen(
                Arc::downgrade(&sessions),
                requests,
                &upkeep,
                metrics.redis_link(Link::Sessions),
            );
            (hub, Some(forwarder))
        }
    };
    background.spawn(hub::sweep_rates(Arc::downgrade(&hub)));
    if config.demo {
        background.spawn(demo::run(Arc::downgrade(&hub)));
    }
    Ok((hub, sessions, forwarder))
}

/// Hexadecimal digits of an instance's id, which starts the id of every
/// HTTP session it owns.
const INSTANCE_CHARS: usize = 16;

/// The whole router: `/ws` (a WebSocket upgrade, or the HTTP transport)
/// and `/raw`, then `/metrics` and the control routes if enabled, then
/// files.
fn app(
    config: &ServerConfig,
    hub: Arc<Hub>,
    transport: http::Endpoint,
    registry: Registry,
) -> Router {
    let protocol = Endpoint::protocol(Arc::clone(&hub));
    let raw = Endpoint::raw(Arc::clone(&hub));
    let http = post(http::post)
        .options(http::preflight)
        .with_state(transport);
    let mut app = Router::new()
        .route(
            "/ws",
            get(connection::upgrade).with_state(protocol).merge(http),
        )
        .route("/raw", get(connection::upgrade).with_state(raw));
    if config.metrics {
        let exposition = get(metrics::exposition).with_state(Arc::new(registry));
        app = app.route("/metrics", exposition);
    }
    if config.test_control {
        app = app.merge(control::routes(hub));
    }
    app.merge(statics::routes(&config.www, &config.pkg))
}
