//! The connections of `/ws` and `/raw`: the WebSocket upgrade, and the task
//! that serves one connection by answering frames
//! ([`answer`](mod@answer)) and carrying out orders from the control API
//! and the broker ([`orders`]), whatever carries its frames ([`wire`]): a
//! WebSocket, or an HTTP session of `/ws` ([`crate::http`]), served by the
//! same loop.
//!
//! - `/ws` is always in protocol mode (acknowledged, deduplicated messages,
//!   channels). Its first frame, sent right after the upgrade and before
//!   anything is read, is the server's hello: the client learns from it,
//!   not from the handshake, that it speaks to a tabwire server. A client
//!   that offers the `tabwire.v1` subprotocol (as older clients do) gets it
//!   selected; no other subprotocol is.
//! - `/raw` is raw mode (ping/pong and echo): no hello, no subprotocol.
//!
//! Channel messages wait for the connection in its bounded
//! [`Outbound`](crate::hub::Outbound) queue, taken after the orders of the
//! control API and the client's frames, so that heavy fan-out never keeps
//! a connection from reading its client.
//!
//! A client offering permessage-deflate gets it on both, unless the server
//! runs with `--no-compression`. yawc answers WebSocket pings and the
//! client's close frame by itself; the data frames are mapped to and from
//! [`Message`] in [`wire`].
//!
//! A connection from which no frame at all arrives for the idle timeout
//! (`--idle-timeout-secs`: pings count, WebSocket control frames too) is
//! closed with 1001, which clients take for a reason to reconnect. `/raw`
//! gets it too: an idle socket costs the same there, and a raw client
//! that means to stay quiet for long sends its heartbeat ping, which
//! `/raw` answers.

mod answer;
mod idle;
mod orders;
mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::ORIGIN;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tabwire::core::close_codes::RATE_LIMITED;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, timeout};
use tracing::instrument::{Instrument, Instrumented};
use yawc::IncomingUpgrade;

use self::answer::answer;
use self::idle::Idle;
use self::orders::{carry, obey, release};
pub use self::wire::Gone;
use self::wire::{Inbound, Unsent, Wire};
use crate::auth::{Auth, AUTH_FAILED, NO_AUTH_IN_TIME};
use crate::bounds::{SLOW_CONSUMER, SLOW_CONSUMER_REASON};
use crate::dedupe::Sender;
use crate::handshake;
use crate::http::Outlet;
use crate::hub::{Carrier, Command, Hub, Registration};
use crate::limits::{self, PeerSlot, Refusal};
use crate::metrics::{Refused, Timeout};
use crate::positions::Positions;
use crate::protocol::{self, Message};

/// Whether the connection goes on after a step.
enum Flow {
    Continue,
    End,
    /// End, then report the drop order done once the stream is gone.
    Dropped(oneshot::Sender<()>),
}

/// How a connection's frames are answered, fixed by its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `/raw`: ping/pong and echo ([`protocol::decide`]).
    Raw,
    /// `/ws`: JSON frames, messages acknowledged
    /// ([`protocol::decide_protocol`]).
    Protocol,
}

/// What a connection knows of its client, besides its wire.
struct Session {
    mode: Mode,
    /// The connection's name, sent in the server's hello; the dedupe scope
    /// of a client that names itself neither by token nor by hello. Random,
    /// so that it is unique across restarts and server instances.
    name: String,
    auth: Auth,
    /// The client id of the client's hello, once it sent one.
    client: Option<String>,
    /// How far it got in each channel.
    positions: Positions,
    /// Its share of its address's connections, and that address.
    peer: PeerSlot,
}

/// Query parameters of `/ws` and `/raw`, the WebSocket's and the HTTP
/// transport's alike.
#[derive(Debug, Deserialize)]
pub struct Params {
    /// Labels the connection for the control API; empty when absent.
    #[serde(default)]
    tag: String,
    /// The client's JWT, when it is not sent in an `auth` frame.
    token: Option<String>,
}

/// A WebSocket endpoint: the hub, and the mode of its connections.
#[derive(Debug, Clone)]
pub struct Endpoint {
    hub: Arc<Hub>,
    mode: Mode,
}

impl Endpoint {
    /// `/ws`: protocol mode (see the module).
    pub fn protocol(hub: Arc<Hub>) -> Self {
        Endpoint {
            hub,
            mode: Mode::Protocol,
        }
    }

    /// `/raw`: raw mode (see the module).
    pub fn raw(hub: Arc<Hub>) -> Self {
        Endpoint {
            hub,
            mode: Mode::Raw,
        }
    }
}

/// `GET /ws` and `GET /raw`: upgrades to a WebSocket in the endpoint's mode,
/// with permessage-deflate when offered, unless the origin is not allowed
/// (403), upgrades are turned away with 503 (for now, as `/control/refuse`
/// asked to test the client's retry path, or for good by a graceful
/// shutdown), or the client's address (429) or the server (503) holds as
/// many connections as it may.
pub async fn upgrade(
    State(Endpoint { hub, mode }): State<Endpoint>,
    Query(params): Query<Params>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    incoming: IncomingUpgrade,
) -> Response {
    if !handshake::asks_for_websocket(&headers) {
        return (StatusCode::BAD_REQUEST, "not a WebSocket upgrade request\n").into_response();
    }
    if !hub.origins().admit(&headers) {
        hub.metrics.refused(Refused::Origin);
        hub.log(format_args!(
            "refused upgrade from origin {:?}",
            headers.get(ORIGIN)
        ));
        return (StatusCode::FORBIDDEN, "this origin may not connect\n").into_response();
    }
    if hub.refusing() {
        hub.metrics.refused(Refused::Refusing);
        hub.log(format_args!("refused upgrade (tag {:?})", params.tag));
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "refusing WebSocket upgrades for now\n",
        )
            .into_response();
    }
    let address = limits::address(peer, &headers, hub.limits.trust_forwarded_for);
    let slot = match hub.peers.admit(address) {
        Ok(slot) => slot,
        Err(full) => {
            hub.metrics.refused(full.refusal());
            hub.log(format_args!(
                "refused upgrade from {address}: {}",
                full.why()
            ));
            return full.response(format!("{}\n", full.why()));
        }
    };
    let protocol = mode == Mode::Protocol;
    let select_subprotocol = protocol && handshake::offers_subprotocol(&headers);
    let options = handshake::options(&hub.limits, hub.compression, &headers);
    let (mut response, upgraded) = match incoming.upgrade(options) {
        Ok(upgrade) => upgrade,
        // yawc fails only on an extension agreed without compression set
        // up, which its server side never agrees to.
        Err(error) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response()
        }
    };
    let compressed = handshake::complete(response.headers_mut(), select_subprotocol);
    let session = Session::new(&hub, mode, crate::random::token(), &params, slot);
    let (registration, commands) =
        hub.register(params.tag, protocol, Carrier::WebSocket { compressed });
    let metrics = Arc::clone(&hub.metrics);
    let handshake_limit = hub.timeouts.header;
    let write_timeout = hub.bounds.write_timeout;
    hub.spawn(async move {
        // Fails if the client went away before the switch completed, or
        // the switch took longer than a request's head may (the answer
        // stuck in a client that does not read); the registration then
        // goes with this task.
        if let Ok(Ok(socket)) = timeout(handshake_limit, upgraded).await {
            let wire = Wire::socket(socket, metrics, write_timeout);
            run(wire, session, registration, commands).await;
        }
    });
    response.into_response()
}

/// Serves an HTTP session of `/ws` named `name` (see [`crate::http`]): in
/// protocol mode, by the loop that serves a WebSocket, registered in the
/// hub as a connection carried by `carrier`, counted in `slot`.
pub fn spawn_session(
    hub: &Arc<Hub>,
    outlet: Outlet,
    name: String,
    params: Params,
    carrier: Carrier,
    slot: PeerSlot,
) {
    let session = Session::new(hub, Mode::Protocol, name, &params, slot);
    let (registration, commands) = hub.register(params.tag, true, carrier);
    let wire = Wire::http(outlet, Arc::clone(&hub.metrics), hub.bounds.write_timeout);
    hub.spawn(run(wire, session, registration, commands));
}

impl Session {
    /// A new connection's, named `name`, with the credentials of its
    /// request's `token` parameter, counted in `peer`.
    fn new(hub: &Hub, mode: Mode, name: String, params: &Params, peer: PeerSlot) -> Self {
        let protocol = mode == Mode::Protocol;
        Session {
            mode,
            name,
            auth: Auth::at_upgrade(hub, protocol, params.token.as_deref()),
            client: None,
            positions: Positions::default(),
            peer,
        }
    }

    /// Who the client is, for its dedupe scope and its rate limits: its
    /// token's `sub`, else the client id of its hello, else the connection
    /// alone.
    fn sender(&self) -> Sender {
        match (self.auth.subject(), &self.client) {
            (Some(subject), _) => Sender::Subject(subject.to_owned()),
            (None, Some(client)) => Sender::Client(client.clone()),
            (None, None) => Sender::Connection(self.name.clone()),
        }
    }
}

/// Milliseconds since the Unix epoch, for the hello's `time`.
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Serves the connection on `wire` (see [`serve`]) in a span naming it,
/// so that what is logged meanwhile says which connection it concerns: the
/// session its hello names, its tag, its mode. The tag, which the client
/// chose, goes as a string value, which the text logs quote and escape.
///
/// A function returning the future rather than an `async fn` awaiting it:
/// that would hold the connection's state twice for its whole life, once
/// as its own arguments and once in [`serve`]'s future.
fn run(
    wire: Wire,
    session: Session,
    registration: Registration,
    commands: mpsc::UnboundedReceiver<Command>,
) -> Instrumented<impl Future<Output = ()>> {
    let span = tracing::info_span!(
        "connection",
        session = %session.name,
        tag = registration.tag(),
        mode = ?session.mode,
    );
    serve(wire, session, registration, commands).instrument(span)
}

/// Serves the connection on `wire` until the client leaves, the network
/// fails, or the control API drops or closes it. In protocol mode the
/// server's hello goes first.
async fn serve(
    mut wire: Wire,
    mut session: Session,
    registration: Registration,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let hub = registration.hub();
    hub.log(format_args!("connection opened"));
    if session.mode == Mode::Protocol {
        let hello = protocol::hello(&session.name, unix_ms(), hub.limits.max_frame_bytes);
        if let Flow::End = send(&mut wire, hello).await {
            return;
        }
    }
    let mut stalled = false;
    if let Auth::Refused(reason) = &session.auth {
        close(&mut wire, AUTH_FAILED, reason.clone()).await;
        return;
    }
    let mut idle = Idle::new(hub.timeouts.idle);
    let outbound = registration.outbound();
    let dropped = loop {
        let expiry = session.auth.deadline();
        let flow = if stalled {
            // Stalled: the wire is not read, so nothing is answered and the
            // frames wait (in the TCP buffers, or in the HTTP session's
            // sends) until resumed; channel messages wait in the outbound
            // queue, and a stalled server sends nothing (so that heartbeats
            // notice) unless that queue overflows or the broker lost them.
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => match obey(command, &mut wire, &mut stalled).await {
                        Flow::Continue if !stalled => {
                            // What the client sent while the server did not
                            // read is only now heard: the silence was not its.
                            idle.heard();
                            release(outbound, &mut wire, &mut session.positions).await
                        }
                        flow => flow,
                    },
                    None => Flow::End,
                },
                (code, reason) = outbound.closing() => close_as_asked(&mut wire, code, reason).await,
            }
        } else {
            tokio::select! {
                // Orders first: a stall ordered before a frame arrives must
                // apply to that frame. The client's frames before channel
                // messages: however many are published, a connection still
                // reads its client (whose own frames are rate-limited).
                biased;
                Some(command) = commands.recv() => {
                    obey(command, &mut wire, &mut stalled).await
                }
                reason = lapse(expiry) => {
                    if reason == NO_AUTH_IN_TIME {
                        hub.metrics.timed_out(Timeout::Auth);
                    }
                    close(&mut wire, AUTH_FAILED, reason.to_owned()).await
                }
                () = idle.expired() => {
                    hub.metrics.timed_out(Timeout::Idle);
                    close(&mut wire, GOING_AWAY, IDLE.to_owned()).await
                }
                inbound = wire.receive() => {
                    idle.heard();
                    match inbound {
                        Some(Inbound::Frame(frame)) => match admit(&frame, &session, hub) {
                            Admission::Answer => answer(frame, &mut session, &mut wire, &registration).await,
                            Admission::Refuse(refusal) => refuse(&mut wire, hub, refusal).await,
                            Admission::TooLarge => {
                                close(&mut wire, MESSAGE_TOO_BIG, "frame too large".to_owned()).await
                            }
                        },
                        Some(Inbound::Control) => Flow::Continue,
                        None => Flow::End,
                    }
                }
                next = outbound.next() => carry(next, &mut wire, &mut session.positions).await,
            }
        };
        match flow {
            Flow::Continue => {}
            Flow::End => break None,
            Flow::Dropped(done) => break Some(done),
        }
    };
    // Dropping the wire ends the connection without a close (see `Wire`).
    drop(wire);
    if let Some(done) = dropped {
        let _ = done.send(());
    }
    hub.log(format_args!("connection ended"));
}

/// Resolves at a deadline to its reason; never without one.
async fn lapse(deadline: Option<(Instant, &'static str)>) -> &'static str {
    match deadline {
        Some((at, reason)) => {
            sleep_until(at.into()).await;
            reason
        }
        None => std::future::pending().await,
    }
}

/// What becomes of a frame before it is answered.
enum Admission {
    Answer,
    /// Over the size limit: closed with 1009.
    TooLarge,
    /// Over a rate: the connection is closed with 4429 and the wait.
    Refuse(Refusal),
}

/// Applies the limits to a frame of `session`'s client, counting what they
/// refuse.
fn admit(frame: &Message, session: &Session, hub: &Hub) -> Admission {
    if frame.size() > hub.limits.max_frame_bytes {
        hub.metrics.frame_too_large_closed();
        return Admission::TooLarge;
    }
    match hub
        .rates
        .take(&session.sender(), session.peer.ip(), frame.size())
    {
        Ok(()) => Admission::Answer,
        Err(refusal) => {
            hub.metrics.rate_limited();
            Admission::Refuse(refusal)
        }
    }
}

/// Close code for a frame over the size limit (RFC 6455).
const MESSAGE_TOO_BIG: u16 = 1009;
/// Close code for a connection idle past the idle timeout: the server
/// goes away from it, and the client may come back.
const GOING_AWAY: u16 = 1001;
/// The reason of that close.
const IDLE: &str = "idle: no frame from the client in time";

/// Ends a connection whose frame went over a rate: neither that frame nor
/// any after it is handled, so the client's outbox keeps them, in order,
/// for its next connection after the wait. The client is likely sending
/// still: what comes until its close frame is read and dropped, since a
/// socket closed on unread data resets the connection, which can lose the
/// close frame on its way to the client.
async fn refuse(wire: &mut Wire, hub: &Hub, refusal: Refusal) -> Flow {
    let reason = refusal.reason();
    hub.log(format_args!(
        "closing a connection ({RATE_LIMITED}): {reason}"
    ));
    if wire.close(RATE_LIMITED, reason).await {
        wire.finish_close().await;
    }
    Flow::End
}

/// Sends the close and ends the connection.
async fn close(wire: &mut Wire, code: u16, reason: String) -> Flow {
    wire.close(code, reason).await;
    Flow::End
}

/// Sends frames in order; a failed send ends the connection.
async fn send_all(wire: &mut Wire, frames: Vec<Message>) -> Flow {
    for frame in frames {
        if let Flow::End = send(wire, frame).await {
            return Flow::End;
        }
    }
    Flow::Continue
}

/// Sends one frame; a failed send ends the connection.
async fn send(wire: &mut Wire, frame: Message) -> Flow {
    match wire.send(frame).await {
        Ok(()) => Flow::Continue,
        Err(unsent) => give_up(wire, unsent).await,
    }
}

/// Ends the connection after a failed write: one that did not go within
/// the write timeout closes it as a slow consumer (the close itself may
/// not get through the full buffers; the stream is then dropped).
async fn give_up(wire: &mut Wire, unsent: Unsent) -> Flow {
    match unsent {
        Unsent::Gone => Flow::End,
        Unsent::Stuck => close_as_asked(wire, SLOW_CONSUMER, SLOW_CONSUMER_REASON.to_owned()).await,
    }
}

/// Closes the connection for the hub (its outbound queue overflowed, the
/// broker lost its messages) or its wire (a write stuck), counting the
/// slow consumers (3008).
async fn close_as_asked(wire: &mut Wire, code: u16, reason: String) -> Flow {
    if code == SLOW_CONSUMER {
        wire.metrics().slow_consumer_closed();
    }
    close(wire, code, reason).await
}
