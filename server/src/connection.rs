//! The `/ws` endpoint: the upgrade, and the task that serves one WebSocket by
//! answering frames as [`crate::protocol`] decides and carrying out orders
//! from the control API.
//!
//! A client offering the `tabwire.v1` subprotocol gets it, and its connection
//! is in protocol mode (acknowledged, deduplicated messages); any other
//! connection is in raw mode (echo). A client offering permessage-deflate
//! gets it too, unless the server runs with `--no-compression`.
//!
//! yawc answers WebSocket pings and the client's close frame by itself; the
//! data frames are mapped to and from [`Message`] here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::header::ORIGIN;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, timeout};
use yawc::close::CloseCode;
use yawc::{Frame, HttpWebSocket as WebSocket, IncomingUpgrade, OpCode};

use crate::auth::{Auth, Gate, AUTH_FAILED};
use crate::broker::Unavailable;
use crate::handshake;
use crate::hub::{Command, Firehose, Hub, Order, Registration};
use crate::limits::{Bucket, Verdict};
use crate::positions::Positions;
use crate::protocol::{
    self, ack, decide, decide_protocol, rate_limited, Action, Handling, Message, ProtocolAction,
};

/// How long a control-initiated close waits for the client's close frame
/// before dropping the stream anyway.
const CLOSE_HANDSHAKE_LIMIT: Duration = Duration::from_secs(5);

/// How long sending the close frame itself may take (the client may have
/// stopped reading, leaving TCP buffers full).
const SEND_CLOSE_LIMIT: Duration = Duration::from_secs(2);

/// Whether the connection goes on after a step.
enum Flow {
    Continue,
    End,
    /// End, then report the drop order done once the stream is gone.
    Dropped(oneshot::Sender<()>),
}

/// How a connection's frames are answered, fixed at the upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No subprotocol: ping/pong and echo ([`decide`]).
    Raw,
    /// `tabwire.v1`: JSON frames, messages acknowledged ([`decide_protocol`]).
    Protocol,
}

/// Query parameters of `/ws`.
#[derive(Debug, Deserialize)]
pub struct Params {
    /// Labels the connection for the control API; empty when absent.
    #[serde(default)]
    tag: String,
    /// The client's JWT, when it is not sent in an `auth` frame.
    token: Option<String>,
}

/// `GET /ws`: upgrades to a WebSocket, selecting the `tabwire.v1` subprotocol
/// and permessage-deflate when offered, unless `/control/refuse` asked to
/// turn upgrades away with 503 for now (to test the client's retry path).
pub async fn upgrade(
    State(hub): State<Arc<Hub>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    upgrade: IncomingUpgrade,
) -> Response {
    if !handshake::asks_for_websocket(&headers) {
        return (StatusCode::BAD_REQUEST, "not a WebSocket upgrade request\n").into_response();
    }
    let origin = headers.get(ORIGIN).and_then(|origin| origin.to_str().ok());
    if !hub.allows_origin(origin) {
        hub.log(format_args!("refused upgrade from origin {origin:?}"));
        return (StatusCode::FORBIDDEN, "this origin may not connect\n").into_response();
    }
    if hub.refusing() {
        hub.log(format_args!("refused upgrade (tag {:?})", params.tag));
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "refusing WebSocket upgrades for now\n",
        )
            .into_response();
    }
    let mode = if handshake::offers_subprotocol(&headers) {
        Mode::Protocol
    } else {
        Mode::Raw
    };
    let options = handshake::options(&hub.limits, hub.compression, &headers);
    let (mut response, upgraded) = match upgrade.upgrade(options) {
        Ok(upgrade) => upgrade,
        // yawc fails only on an extension agreed without compression set
        // up, which its server side never agrees to.
        Err(error) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response()
        }
    };
    let compressed = handshake::complete(response.headers_mut(), mode == Mode::Protocol);
    let auth = Auth::at_upgrade(&hub, mode == Mode::Protocol, params.token.as_deref());
    let (registration, commands) = hub.register(params.tag, mode == Mode::Protocol, compressed);
    tokio::spawn(async move {
        // Fails if the client went away before the switch completed; the
        // registration then goes with this task.
        if let Ok(socket) = upgraded.await {
            run(socket, mode, auth, registration, commands).await;
        }
    });
    response.into_response()
}

/// Serves `socket` until the client leaves, the network fails, or the control
/// API drops or closes it.
async fn run(
    mut socket: WebSocket,
    mode: Mode,
    mut auth: Auth,
    registration: Registration,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let hub = registration.hub();
    hub.log(format_args!(
        "connection opened (tag {:?}, {mode:?} mode)",
        registration.tag()
    ));
    let mut stalled = false;
    // Channel messages that came while stalled: a stalled server sends
    // nothing (so that heartbeats notice), and loses nothing once resumed.
    let mut held: Vec<Command> = Vec::new();
    let mut positions = Positions::default();
    let mut bucket = Bucket::new(&hub.limits, Instant::now());
    if let Auth::Refused(reason) = &auth {
        close(&mut socket, AUTH_FAILED, reason.clone()).await;
        return;
    }
    let dropped = loop {
        let expiry = auth.deadline();
        let flow = if stalled {
            // Stalled: the socket is not read, so nothing is answered and the
            // frames wait in the TCP buffers until resumed.
            match commands.recv().await {
                Some(command) if matches!(command.order, Order::Publication { .. }) => {
                    held.push(command);
                    Flow::Continue
                }
                Some(command) => {
                    let flow = obey(command, &mut socket, &mut stalled, &mut positions).await;
                    if stalled {
                        flow
                    } else {
                        release(std::mem::take(&mut held), &mut socket, &mut positions).await
                    }
                }
                None => Flow::End,
            }
        } else {
            tokio::select! {
                // Orders first: a stall ordered before a frame arrives must
                // apply to that frame.
                biased;
                Some(command) = commands.recv() => obey(command, &mut socket, &mut stalled, &mut positions).await,
                () = sleep_until(expiry.unwrap_or_else(Instant::now).into()), if expiry.is_some() => {
                    close(&mut socket, AUTH_FAILED, "token expired".to_owned()).await
                }
                inbound = receive(&mut socket) => match inbound {
                    Some(frame) => match admit(&frame, &mut bucket, hub) {
                        Admission::Answer => {
                            let connection = Connection { socket: &mut socket, registration: &registration, positions: &mut positions };
                            answer(frame, mode, &mut auth, connection).await
                        }
                        Admission::Refuse => send(&mut socket, rate_limited()).await,
                        Admission::Close(code, reason) => close(&mut socket, code, reason.to_owned()).await,
                    },
                    None => Flow::End,
                },
            }
        };
        match flow {
            Flow::Continue => {}
            Flow::End => break None,
            Flow::Dropped(done) => break Some(done),
        }
    };
    // Dropping the socket drops the TCP stream, without any close frame.
    drop(socket);
    if let Some(done) = dropped {
        let _ = done.send(());
    }
    hub.log(format_args!(
        "connection ended (tag {:?})",
        registration.tag()
    ));
}

/// What becomes of a frame before it is answered.
enum Admission {
    Answer,
    /// Over the rate: an error frame instead of an answer.
    Refuse,
    /// Too large, or a flood: close with this code and reason.
    Close(u16, &'static str),
}

/// Applies the connection's limits to a frame.
fn admit(frame: &Message, bucket: &mut Bucket, hub: &Hub) -> Admission {
    let size = match frame {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
    };
    if size > hub.limits.max_frame_bytes {
        return Admission::Close(MESSAGE_TOO_BIG, "frame too large");
    }
    match bucket.take(&hub.limits, Instant::now()) {
        Verdict::Pass => Admission::Answer,
        Verdict::Refuse => Admission::Refuse,
        Verdict::Abuse => Admission::Close(POLICY_VIOLATION, "rate limit exceeded"),
    }
}

/// Close code for a frame over the size limit (RFC 6455).
const MESSAGE_TOO_BIG: u16 = 1009;
/// Close code for a frame that needed the channel broker while it was
/// unreachable: the client comes back later and sends it again.
const TRY_AGAIN_LATER: u16 = 1013;
/// Close code for a client that keeps sending over the rate limit.
const POLICY_VIOLATION: u16 = 1008;

/// Sends a close frame and ends the connection.
async fn close(socket: &mut WebSocket, code: u16, reason: String) -> Flow {
    let frame = Frame::close(CloseCode::from(code), reason);
    let _ = timeout(SEND_CLOSE_LIMIT, socket.send(frame)).await;
    Flow::End
}

/// What answering a frame works with.
struct Connection<'a> {
    socket: &'a mut WebSocket,
    registration: &'a Registration,
    positions: &'a mut Positions,
}

/// Answers one frame read from the socket.
async fn answer(frame: Message, mode: Mode, auth: &mut Auth, connection: Connection<'_>) -> Flow {
    match mode {
        Mode::Raw => answer_raw(frame, connection.socket, connection.registration).await,
        Mode::Protocol => {
            let action = decide_protocol(&frame);
            match auth.check(connection.registration.hub(), &action) {
                Gate::Pass => answer_protocol(action, connection).await,
                Gate::Taken => Flow::Continue,
                Gate::Forbidden(channel) => {
                    send(connection.socket, protocol::forbidden(&channel)).await
                }
                Gate::ForbiddenPublication(id, channel) => {
                    send(
                        connection.socket,
                        protocol::forbidden_publication(&id, &channel),
                    )
                    .await
                }
                Gate::Close(reason) => close(connection.socket, AUTH_FAILED, reason).await,
            }
        }
    }
}

/// Ends a connection whose frame needed the unreachable broker.
async fn broker_unavailable(
    socket: &mut WebSocket,
    hub: &Hub,
    Unavailable(why): Unavailable,
) -> Flow {
    hub.log(format_args!("{why}; closing the connection (1013)"));
    close(
        socket,
        TRY_AGAIN_LATER,
        "channel broker unavailable".to_owned(),
    )
    .await
}

async fn answer_raw(frame: Message, socket: &mut WebSocket, registration: &Registration) -> Flow {
    let Action { reply, record } = decide(frame);
    // Recorded before replying, so a client that got the echo and then asks
    // for stats sees its frame counted.
    if let Some(description) = record {
        registration.hub().record(registration.tag(), description);
    }
    send(socket, reply).await
}

async fn answer_protocol(action: ProtocolAction, connection: Connection<'_>) -> Flow {
    let Connection {
        socket,
        registration,
        positions,
    } = connection;
    let hub = registration.hub();
    match action {
        ProtocolAction::Reply(reply) => send(socket, reply).await,
        ProtocolAction::Deliver(delivery) => {
            // Deduplicated, recorded and published first, so the echo and
            // the ack both mean the message is handled and counted.
            let delivered = match hub.deliver(registration.tag(), &delivery).await {
                Ok(delivered) => delivered,
                Err(unavailable) => return broker_unavailable(socket, hub, unavailable).await,
            };
            if delivered.handled {
                if let Handling::Echo(echo) = delivery.handling {
                    if let Flow::End = send(socket, echo).await {
                        return Flow::End;
                    }
                }
            } else {
                registration.hub().log(format_args!(
                    "duplicate message {:?} (tag {:?}) acknowledged again",
                    delivery.id,
                    registration.tag()
                ));
            }
            if delivered.ack {
                return send(socket, ack(&delivery.id)).await;
            }
            Flow::Continue
        }
        ProtocolAction::Subscribe { channel, since } => {
            let subscribed = match registration.subscribe(&channel, since).await {
                Ok(subscribed) => subscribed,
                Err(unavailable) => return broker_unavailable(socket, hub, unavailable).await,
            };
            positions.start(&channel, subscribed.offset);
            let mut frames = vec![protocol::subscribed(&channel, subscribed.offset)];
            if let (Some(replay), Some(since)) = (subscribed.replay, since) {
                if let Some(from) = replay.gap_from {
                    frames.push(protocol::gap(&channel, since, from));
                }
                frames.extend(replay.messages.into_iter().map(|(offset, data)| {
                    Message::Text(protocol::publication(&channel, offset, &data))
                }));
            }
            send_all(socket, frames).await
        }
        ProtocolAction::Unsubscribe(channel) => {
            registration.unsubscribe(&channel);
            positions.stop(&channel);
            send(socket, protocol::unsubscribed(&channel)).await
        }
        // Taken by the authentication gate.
        ProtocolAction::Auth(_) => Flow::Continue,
    }
}

/// Sends frames in order; a failed send ends the connection.
async fn send_all(socket: &mut WebSocket, frames: Vec<Message>) -> Flow {
    for frame in frames {
        if let Flow::End = send(socket, frame).await {
            return Flow::End;
        }
    }
    Flow::Continue
}

/// Sends one frame; a failed send ends the connection.
async fn send(socket: &mut WebSocket, frame: Message) -> Flow {
    let frame = match frame {
        Message::Text(text) => Frame::text(text),
        Message::Binary(bytes) => Frame::binary(bytes),
    };
    match socket.send(frame).await {
        Ok(()) => Flow::Continue,
        Err(_) => Flow::End,
    }
}

/// The next data frame from the client; `None` once the connection is over:
/// the client closed it, the network failed, or the client broke the
/// WebSocket protocol (an invalid frame, text that is not UTF-8, a frame over
/// yawc's own bounds). yawc answers pings on its own.
async fn receive(socket: &mut WebSocket) -> Option<Message> {
    loop {
        let Ok(frame) = socket.next_frame().await else {
            settle(socket).await;
            return None;
        };
        match frame.opcode() {
            // yawc has checked the text is UTF-8.
            OpCode::Text => {
                return String::from_utf8(frame.into_payload().into())
                    .ok()
                    .map(Message::Text)
            }
            OpCode::Binary => return Some(Message::Binary(frame.into_payload().into())),
            OpCode::Close => {
                settle(socket).await;
                return None;
            }
            // Pongs, and pings yawc answers; fragments come reassembled.
            OpCode::Ping | OpCode::Pong | OpCode::Continuation => {}
        }
    }
}

/// Lets yawc send the close frame it owes, in answer to the client's or for
/// a protocol error it found: it writes it on the next read, which then
/// reports the end.
async fn settle(socket: &mut WebSocket) {
    let _ = timeout(SEND_CLOSE_LIMIT, socket.next_frame()).await;
}

/// Sends the channel messages held back while stalled, in order.
async fn release(held: Vec<Command>, socket: &mut WebSocket, positions: &mut Positions) -> Flow {
    let mut stalled = false;
    for command in held {
        if let Flow::End = obey(command, socket, &mut stalled, positions).await {
            return Flow::End;
        }
    }
    Flow::Continue
}

/// Carries out one control order and reports it done.
async fn obey(
    command: Command,
    socket: &mut WebSocket,
    stalled: &mut bool,
    positions: &mut Positions,
) -> Flow {
    let Command { order, done } = command;
    let flow = match order {
        Order::Stall => {
            *stalled = true;
            Flow::Continue
        }
        Order::Resume => {
            *stalled = false;
            Flow::Continue
        }
        Order::Drop => return Flow::Dropped(done),
        Order::Publication {
            channel,
            offset,
            frame,
        } => {
            if positions.advance(&channel, offset) {
                send(socket, Message::Text(frame.as_ref().into())).await
            } else {
                Flow::Continue
            }
        }
        Order::Firehose(firehose) => pour(socket, firehose).await,
        Order::Close { code, reason } => {
            let frame = Frame::close(CloseCode::from(code), reason);
            let sent = timeout(SEND_CLOSE_LIMIT, socket.send(frame)).await;
            // The close frame is on its way: report before waiting for the
            // client's answer, which may never come.
            let _ = done.send(());
            if let Ok(Ok(())) = sent {
                let _ = timeout(CLOSE_HANDSHAKE_LIMIT, drain(socket)).await;
            }
            return Flow::End;
        }
    };
    // The control request may have stopped waiting; that is not our problem.
    let _ = done.send(());
    flow
}

/// Sends the frames of `firehose` back to back: each is queued in yawc's
/// write buffer, which goes to the socket whenever it fills, and the rest
/// once the last frame is queued. A failed send ends the connection.
async fn pour(socket: &mut WebSocket, firehose: Firehose) -> Flow {
    let mut payload = firehose.template();
    for seq in 0..firehose.count {
        firehose.number(&mut payload, seq);
        let frame = if firehose.binary {
            Frame::binary(payload.clone())
        } else {
            Frame::text(payload.clone())
        };
        if socket.feed(frame).await.is_err() {
            return Flow::End;
        }
    }
    match socket.flush().await {
        Ok(()) => Flow::Continue,
        Err(_) => Flow::End,
    }
}

/// Reads until the client's close frame, ignoring data that was already in
/// flight. It stops right there: yawc would answer that close with another
/// on the next read, but this side has sent its own already.
async fn drain(socket: &mut WebSocket) {
    while let Ok(frame) = socket.next_frame().await {
        if frame.opcode() == OpCode::Close {
            return;
        }
    }
}
