//! The `/ws` endpoint: the upgrade, and the task that serves one WebSocket by
//! answering frames as [`crate::protocol`] decides and carrying out orders
//! from the control API.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;

use crate::hub::{Command, Hub, Order, Registration};
use crate::protocol::{decide, Action};

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

/// Query parameters of `/ws`.
#[derive(Debug, Deserialize)]
pub struct Params {
    /// Labels the connection for the control API; empty when absent.
    #[serde(default)]
    tag: String,
}

/// `GET /ws`: upgrades to a WebSocket, unless `/control/refuse` asked to turn
/// upgrades away with 503 for now (to test the client's retry path).
pub async fn upgrade(
    State(hub): State<Arc<Hub>>,
    Query(params): Query<Params>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if hub.refusing() {
        hub.log(format_args!("refused upgrade (tag {:?})", params.tag));
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "refusing WebSocket upgrades for now\n",
        )
            .into_response();
    }
    let (registration, commands) = hub.register(params.tag);
    upgrade.on_upgrade(move |socket| run(socket, registration, commands))
}

/// Serves `socket` until the client leaves, the network fails, or the control
/// API drops or closes it.
async fn run(
    mut socket: WebSocket,
    registration: Registration,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let hub = registration.hub();
    hub.log(format_args!(
        "connection opened (tag {:?})",
        registration.tag()
    ));
    let mut stalled = false;
    let dropped = loop {
        let flow = if stalled {
            // Stalled: the socket is not read, so nothing is answered and the
            // frames wait in the TCP buffers until resumed.
            match commands.recv().await {
                Some(command) => obey(command, &mut socket, &mut stalled).await,
                None => Flow::End,
            }
        } else {
            tokio::select! {
                // Orders first: a stall ordered before a frame arrives must
                // apply to that frame.
                biased;
                Some(command) = commands.recv() => obey(command, &mut socket, &mut stalled).await,
                inbound = socket.recv() => answer(inbound, &mut socket, &registration).await,
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

/// Handles one read from the socket.
async fn answer(
    inbound: Option<Result<Message, axum::Error>>,
    socket: &mut WebSocket,
    registration: &Registration,
) -> Flow {
    let Some(Ok(frame)) = inbound else {
        // End of stream or a network/protocol error: nothing more to serve.
        return Flow::End;
    };
    match decide(&frame) {
        Action::Reply { reply, record } => {
            // Recorded before replying, so a client that got the echo and
            // then asks for stats sees its frame counted.
            if let Some(description) = record {
                registration.hub().record(registration.tag(), description);
            }
            match socket.send(reply).await {
                Ok(()) => Flow::Continue,
                Err(_) => Flow::End,
            }
        }
        Action::Nothing => Flow::Continue,
    }
}

/// Carries out one control order and reports it done.
async fn obey(command: Command, socket: &mut WebSocket, stalled: &mut bool) -> Flow {
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
        Order::Close { code, reason } => {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let sent = timeout(SEND_CLOSE_LIMIT, socket.send(Message::Close(Some(frame)))).await;
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

/// Reads until the client's close frame ends the stream, ignoring data that
/// was already in flight.
async fn drain(socket: &mut WebSocket) {
    while let Some(Ok(_)) = socket.recv().await {}
}
