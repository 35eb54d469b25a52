//! The reference WebSocket server of tabwire: the tabwire protocol on `/ws`
//! (a greeting, acknowledged messages deduplicated per client, channels
//! with history and epochs), over a WebSocket or the HTTP transport; raw
//! echo and heartbeat on `/raw`; the static
//! demo and test pages; and (for tests only) a control API that breaks,
//! stalls and inspects connections on demand.

mod auth;
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
pub mod open_files;
mod positions;
mod protocol;
mod random;
mod statics;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;

use crate::broker::{Broker, Memory, RedisBroker, Subscribers};
use crate::connection::Endpoint;
pub use crate::dedupe::DedupeLimits;
pub use crate::history::HistoryLimits;
use crate::http::{Forwarder, Sessions};
use crate::hub::Hub;
pub use crate::jwt::{JwtConfig, DEFAULT_LEEWAY_SECS};
pub use crate::limits::{Limits, Rate};

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
    /// Log connections and control actions to stderr.
    pub verbose: bool,
    /// Frame size, rates per user and per address, connection caps.
    pub limits: Limits,
    /// Agree to permessage-deflate (RFC 7692) with clients that offer it,
    /// as every browser does.
    pub compression: bool,
    /// Origins allowed to open a WebSocket (the `Origin` header); empty:
    /// any origin.
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
            verbose: false,
            limits: Limits::default(),
            compression: true,
            allowed_origins: Vec::new(),
            jwt: None,
            history: HistoryLimits::default(),
            dedupe: DedupeLimits::default(),
            redis: None,
            demo: false,
        }
    }
}

/// Serves `config` on `listener` until the future is dropped or the listener
/// fails; with `config.redis`, fails at once if Redis cannot be reached.
/// Nagle's algorithm is off: a message's echo and its ack are two small
/// frames, and the second must not wait for the client's delayed TCP
/// acknowledgement of the first.
pub async fn serve(config: ServerConfig, listener: TcpListener) -> io::Result<()> {
    let listener = listener.tap_io(|stream| {
        // Only fails on a socket that is already broken, which the
        // connection then finds out by itself.
        let _ = stream.set_nodelay(true);
    });
    let hub = Hub::new(config.test_control, config.verbose)
        .guarded(config.limits, config.allowed_origins.clone())
        .with_jwt(config.jwt.clone())
        .with_compression(config.compression)
        .with_dedupe(config.dedupe);
    let mut instance = random::token();
    instance.truncate(INSTANCE_CHARS);
    let sessions = Arc::new(Sessions::new(instance));
    let (hub, forwarder) = match &config.redis {
        None => (
            Arc::new(hub.with_broker(Broker::Memory(Memory::new(config.history)))),
            None,
        ),
        Some(url) => {
            let (redis, announcements) =
                RedisBroker::connect(url, config.history, config.dedupe.max_age)
                    .await
                    .map_err(io::Error::other)?;
            let redis = Arc::new(redis);
            let hub = Arc::new(hub.with_broker(Broker::Redis(Arc::clone(&redis))));
            let subscribers: Arc<dyn Subscribers> = hub.clone();
            redis.listen(Arc::downgrade(&subscribers), announcements);
            let (forwarder, requests) = Forwarder::connect(url, sessions.instance())
                .await
                .map_err(io::Error::other)?;
            let forwarder = Arc::new(forwarder);
            forwarder.listen(Arc::downgrade(&sessions), requests);
            (hub, Some(forwarder))
        }
    };
    tokio::spawn(hub::sweep_rates(Arc::downgrade(&hub)));
    if config.demo {
        tokio::spawn(demo::run(Arc::downgrade(&hub)));
    }
    let transport = http::Endpoint::new(Arc::clone(&hub), sessions, forwarder);
    // Connections learn their peer's address, which the limits count by.
    let app = app(&config, hub, transport).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).await
}

/// Hexadecimal digits of an instance's id, which starts the id of every
/// HTTP session it owns.
const INSTANCE_CHARS: usize = 16;

/// The whole router: `/ws` (a WebSocket upgrade, or the HTTP transport)
/// and `/raw`, then the control routes if enabled, then files.
fn app(config: &ServerConfig, hub: Arc<Hub>, transport: http::Endpoint) -> Router {
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
    if config.test_control {
        app = app.merge(control::routes(hub));
    }
    app.merge(statics::routes(&config.www, &config.pkg))
}
