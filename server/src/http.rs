//! The HTTP transport of `/ws`: the tabwire frames of a connection carried
//! by plain `POST`s, for networks whose proxies break WebSockets (see
//! docs/PROTOCOL.md, "HTTP transport"). A session is a connection like a
//! WebSocket, served by the same loop ([`crate::connection`]); this module
//! only moves its frames:
//!
//! - `?transport=stream` opens a session whose frames come down the answer,
//!   a stream of server-sent events ([`stream`]);
//! - `?transport=poll` opens one whose frames come down long polls
//!   ([`poll`]);
//! - `?session=ID&op=send|poll|close` is a request of a session
//!   ([`sessions`]), carried out here, or by the instance that owns the
//!   session, through Redis ([`forward`]).
//!
//! Pages often live on another origin than the server: every answer to an
//! allowed origin names it in `Access-Control-Allow-Origin`. The requests
//! are CORS simple requests (`POST`, `text/plain`), so browsers send no
//! preflight; `OPTIONS` is answered all the same.

mod forward;
mod outlet;
mod poll;
mod sessions;
mod stream;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use self::forward::Forwarder;
pub use self::outlet::Outlet;
use self::sessions::Op;
pub use self::sessions::Sessions;
use crate::connection::Params;
use crate::hub::Hub;
use crate::limits;
use crate::metrics::Refused;

/// How many frames of the largest size (with their line breaks) the body of
/// one send may hold; a larger body is refused with 413.
const FRAMES_PER_SEND: usize = 16;

/// The HTTP transport's state: the hub, the sessions of this instance, and,
/// with Redis, the way to the other instances' sessions.
#[derive(Debug, Clone)]
pub struct Endpoint {
    hub: Arc<Hub>,
    sessions: Arc<Sessions>,
    forwarder: Option<Arc<Forwarder>>,
}

impl Endpoint {
    pub fn new(hub: Arc<Hub>, sessions: Arc<Sessions>, forwarder: Option<Arc<Forwarder>>) -> Self {
        Endpoint {
            hub,
            sessions,
            forwarder,
        }
    }
}

/// The HTTP transport's own query parameters (`tag` and `token` are the
/// WebSocket's: [`Params`]).
#[derive(Debug, Deserialize)]
pub struct HttpParams {
    transport: Option<Transport>,
    session: Option<String>,
    op: Option<OpName>,
    cursor: Option<u64>,
}

/// How a new session's frames come down.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Transport {
    Stream,
    Poll,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum OpName {
    Send,
    Poll,
    Close,
}

/// The answer to a request of a session: a status and, but for 204, a
/// JSON body. It travels between instances as it is ([`forward`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    status: u16,
    body: Option<Value>,
}

impl Answer {
    /// 204: done.
    fn done() -> Self {
        Answer {
            status: 204,
            body: None,
        }
    }

    /// 200 with `body`.
    fn json(body: Value) -> Self {
        Answer {
            status: 200,
            body: Some(body),
        }
    }

    /// `status` with `{"error": why}`.
    fn error(status: u16, why: impl Into<String>) -> Self {
        Answer {
            status,
            body: Some(json!({ "error": why.into() })),
        }
    }

    /// 404: the session never was, or has ended; the client opens another.
    fn unknown_session() -> Self {
        Answer::error(404, "unknown session")
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_GATEWAY);
        match self.body {
            Some(body) => (status, Json(body)).into_response(),
            None => status.into_response(),
        }
    }
}

/// `POST /ws`: opens a session or carries out a request of one, for
/// allowed origins only (403 otherwise, as an upgrade gets). Upgrades may
/// be refused (`/control/refuse`) while this goes on working: it is the
/// way around whatever refuses them. A session counts among its address's
/// connections (see [`open`]).
pub async fn post(
    State(endpoint): State<Endpoint>,
    params: Result<Query<Params>, QueryRejection>,
    http: Result<Query<HttpParams>, QueryRejection>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let origin = headers.get(ORIGIN).and_then(|origin| origin.to_str().ok());
    if !endpoint.hub.origins().admit(&headers) {
        endpoint.hub.metrics.refused(Refused::Origin);
        endpoint.hub.log(format_args!(
            "refused an HTTP session request from origin {origin:?}"
        ));
        return Answer::error(403, "this origin may not connect").into_response();
    }
    let address = limits::address(peer, &headers, endpoint.hub.limits.trust_forwarded_for);
    let response = match (params, http) {
        (Ok(Query(params)), Ok(Query(http))) => {
            answer(&endpoint, params, http, address, body).await
        }
        (Err(rejection), _) | (_, Err(rejection)) => {
            Answer::error(400, format!("query: {}", rejection.body_text())).into_response()
        }
    };
    allow(origin, response)
}

/// `OPTIONS /ws`: what a preflight would ask, should a browser send one.
pub async fn preflight(State(endpoint): State<Endpoint>, headers: HeaderMap) -> Response {
    let origin = headers.get(ORIGIN).and_then(|origin| origin.to_str().ok());
    if !endpoint.hub.origins().admit(&headers) {
        return Answer::error(403, "this origin may not connect").into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    allow(origin, response)
}

/// Lets the page of `origin` (an allowed one) read `response`.
fn allow(origin: Option<&str>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("Origin"));
    if let Some(value) = origin.and_then(|origin| HeaderValue::from_str(origin).ok()) {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    response
}

async fn answer(
    endpoint: &Endpoint,
    params: Params,
    http: HttpParams,
    address: IpAddr,
    body: Body,
) -> Response {
    let op = match (http.session, http.op) {
        (None, None) if endpoint.hub.refusing_http() => {
            endpoint.hub.metrics.refused(Refused::Refusing);
            return Answer::error(503, "refusing new sessions for now").into_response();
        }
        (None, None) => return open(endpoint, params, http.transport, address).await,
        (Some(session), Some(OpName::Send)) => {
            let limit = endpoint
                .hub
                .limits
                .max_frame_bytes
                .saturating_add(1)
                .saturating_mul(FRAMES_PER_SEND);
            match read_body(body, limit).await {
                Ok(body) => Op::Send { session, body },
                Err(refused) => return refused.into_response(),
            }
        }
        (Some(session), Some(OpName::Poll)) => match http.cursor {
            Some(cursor) => Op::Poll { session, cursor },
            None => return Answer::error(400, "cursor: required to poll").into_response(),
        },
        (Some(session), Some(OpName::Close)) => Op::Close { session },
        (Some(_), None) => {
            return Answer::error(400, "op: send, poll or close, with a session").into_response()
        }
        (None, Some(_)) => return Answer::error(400, "session: required with op").into_response(),
    };
    perform(endpoint, op).await.into_response()
}

/// Opens a session of `transport` for a client at `address`, unless that
/// address (429) or the server (503) holds as many connections as it may.
async fn open(
    endpoint: &Endpoint,
    params: Params,
    transport: Option<Transport>,
    address: IpAddr,
) -> Response {
    let Some(transport) = transport else {
        return Answer::error(400, "transport: stream or poll, to open a session").into_response();
    };
    let slot = match endpoint.hub.peers.admit(address) {
        Ok(slot) => slot,
        Err(full) => {
            let hub = &endpoint.hub;
            hub.metrics.refused(full.refusal());
            hub.log(format_args!(
                "refused a session from {address}: {}",
                full.why()
            ));
            return full.response(Answer::error(full.status().as_u16(), full.why()));
        }
    };
    match transport {
        Transport::Stream => stream::open(endpoint, params, slot),
        Transport::Poll => poll::open(endpoint, params, slot).await.into_response(),
    }
}

/// Carries out `op` here if this instance owns its session, else has its
/// owner do it; a session of no known instance is unknown.
async fn perform(endpoint: &Endpoint, op: Op) -> Answer {
    if endpoint.sessions.owns(op.session()) {
        return endpoint.sessions.perform(op).await;
    }
    match &endpoint.forwarder {
        Some(forwarder) => forwarder.forward(op).await,
        None => Answer::unknown_session(),
    }
}

/// The body of a send, as text, if it is at most `limit` bytes of UTF-8.
async fn read_body(body: Body, limit: usize) -> Result<String, Answer> {
    let mut chunks = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| Answer::error(400, "body: cut short"))?;
        if bytes.len() + chunk.len() > limit {
            return Err(Answer::error(413, format!("body: over {limit} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| Answer::error(400, "body: not UTF-8"))
}
