//! The test control API under `/control/`, mounted only with `--test-control`.
//!
//! Browser tests call it with `fetch` to break, stall or inspect
//! connections, so every route accepts GET and POST and answers JSON. It
//! answers the pages the WebSocket endpoints admit (the server's own origin
//! and those of `--allow-origin`, see [`crate::origins`]) and refuses the
//! others with 403 before doing anything: a page of another site must not
//! drop a developer's connections or mint tokens.

mod guard;
mod history;
mod token;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::{Json, Router};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::broker::{Reach, Unavailable};
use crate::hub::{Firehose, Hub, Order, Scope};
use crate::protocol::check_channel;

/// How long a control request waits for connections to carry out an order
/// before answering anyway.
const ORDER_LIMIT: Duration = Duration::from_secs(3);

/// How long `/control/firehose` waits for the connections to queue their
/// frames: a slow client takes seconds for a long firehose.
const FIREHOSE_LIMIT: Duration = Duration::from_secs(60);

/// Longest refusal period `/control/refuse` accepts: one hour.
const MAX_REFUSE_MS: u64 = 3_600_000;

/// Longest close reason: a close frame's payload is at most 125 bytes, two of
/// which are the code.
const MAX_REASON_BYTES: usize = 123;

/// The query parameters of a control request. Unknown ones are ignored.
type Params = HashMap<String, String>;

/// A bad request, reported as HTTP 400 `{"error": "..."}`.
#[derive(Debug)]
struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, Json(json!({ "error": self.0 }))).into_response()
    }
}

type Reply = Result<Json<Value>, BadRequest>;

/// The `/control/*` routes, for the pages the server admits.
pub fn routes(hub: Arc<Hub>) -> Router {
    let cors = guard::cors(hub.origins().clone());
    Router::new()
        .route("/control/drop", both(drop_connections))
        .route("/control/close", both(close_connections))
        .route("/control/stall", both(stall))
        .route("/control/resume", both(resume))
        .route("/control/refuse", both(refuse))
        .route("/control/stats", both(stats))
        .route("/control/received", both(received))
        .route("/control/reset", both(reset))
        .route("/control/acks", both(acks))
        .route("/control/publish", both(publish))
        .route("/control/token", both(token::token))
        .route("/control/firehose", both(firehose))
        .route("/control/history", both(history::history))
        .layer(middleware::from_fn_with_state(
            hub.clone(),
            guard::admitted_only,
        ))
        .layer(cors)
        .with_state(hub)
}

/// Every action answers GET and POST alike.
fn both<H, T>(handler: H) -> MethodRouter<Arc<Hub>>
where
    H: axum::handler::Handler<T, Arc<Hub>>,
    T: 'static,
{
    get(handler.clone()).post(handler)
}

/// The query parameters, or a 400 naming the problem.
fn params(query: Result<Query<Params>, QueryRejection>) -> Result<Params, BadRequest> {
    query
        .map(|Query(params)| params)
        .map_err(|rejection| BadRequest(format!("query: {}", rejection.body_text())))
}

/// `tag` absent means every connection; `tag=` (empty) means the connections
/// opened without a tag.
fn scope(params: &Params) -> Scope<'_> {
    params
        .get("tag")
        .map_or(Scope::All, |tag| Scope::Tag(tag.as_str()))
}

/// Sends `order` to the connections in scope and waits (bounded) until they
/// carried it out; returns how many were reached.
async fn command(hub: &Hub, params: &Params, order: Order) -> usize {
    command_within(hub, params, order, ORDER_LIMIT).await.0
}

/// The same, waiting up to `limit`; returns how many connections were
/// reached and how many of them carried the order out in time.
async fn command_within(
    hub: &Hub,
    params: &Params,
    order: Order,
    limit: Duration,
) -> (usize, usize) {
    let receipts = hub.command(scope(params), &order);
    let count = receipts.len();
    let mut done = 0;
    let _ = tokio::time::timeout(limit, async {
        for receipt in receipts {
            done += usize::from(receipt.await.is_ok());
        }
    })
    .await;
    hub.log(format_args!(
        "control: {order:?} reached {count}, {done} carried out"
    ));
    (count, done)
}

async fn drop_connections(
    State(hub): State<Arc<Hub>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Reply {
    let params = params(query)?;
    let dropped = command(&hub, &params, Order::Drop).await;
    Ok(Json(json!({ "dropped": dropped })))
}

async fn close_connections(
    State(hub): State<Arc<Hub>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Reply {
    let params = params(query)?;
    let code = close_code(params.get("code").map(String::as_str))?;
    let reason = params.get("reason").cloned().unwrap_or_default();
    if reason.len() > MAX_REASON_BYTES {
        return Err(BadRequest(format!(
            "reason: at most {MAX_REASON_BYTES} bytes of UTF-8"
        )));
    }
    let closed = command(&hub, &params, Order::Close { code, reason }).await;
    Ok(Json(json!({ "closed": closed })))
}

/// Parses the `code` parameter (default 1000) and keeps only codes an
/// endpoint may send in a close frame (RFC 6455 section 7.4): 1000-1003,
/// 1007-1013 and 3000-4999. 1004, 1005, 1006 and 1015 are reserved and
/// browsers fail the connection on them.
fn close_code(raw: Option<&str>) -> Result<u16, BadRequest> {
    let Some(raw) = raw else {
        return Ok(1000);
    };
    let code: u16 = raw
        .parse()
        .map_err(|_| BadRequest(format!("code: not a number: {raw:?}")))?;
    match code {
        1000..=1003 | 1007..=1013 | 3000..=4999 => Ok(code),
        1000..=4999 => Err(BadRequest(format!(
            "code: {code} may not be sent in a close frame"
        ))),
        _ => Err(BadRequest(format!("code: {code} is outside 1000..=4999"))),
    }
}

async fn stall(State(hub): State<Arc<Hub>>, query: Result<Query<Params>, QueryRejection>) -> Reply {
    let params = params(query)?;
    let stalled = command(&hub, &params, Order::Stall).await;
    Ok(Json(json!({ "stalled": stalled })))
}

async fn resume(
    State(hub): State<Arc<Hub>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Reply {
    let params = params(query)?;
    let resumed = command(&hub, &params, Order::Resume).await;
    Ok(Json(json!({ "resumed": resumed })))
}

async fn refuse(
    State(hub): State<Arc<Hub>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Reply {
    let params = params(query)?;
    let ms = refuse_ms(params.get("ms").map(String::as_str))?;
    // `http=1`: the whole server is unreachable for new connections, not
    // only its WebSocket (HTTP is the way around a refused upgrade).
    let http = params
        .get("http")
        .is_some_and(|http| http == "1" || http == "true");
    hub.refuse_for(Duration::from_millis(ms), http);
    let what = if http {
        "upgrades and HTTP sessions"
    } else {
        "upgrades"
    };
    hub.log(format_args!("control: refusing {what} for {ms} ms"));
    Ok(Json(json!({ "refusingForMs": ms, "http": http })))
}

/// Parses the required `ms` parameter; 0 stops refusing.
fn refuse_ms(raw: Option<&str>) -> Result<u64, BadRequest> {
    let raw = raw.ok_or_else(|| BadRequest("ms: required".to_owned()))?;
    let ms: u64 = raw
        .parse()
        .map_err(|_| BadRequest(format!("ms: not a whole number: {raw:?}")))?;
    if ms > MAX_REFUSE_MS {
        return Err(BadRequest(format!("ms: at most {MAX_REFUSE_MS}")));
    }
    Ok(ms)
}

async fn stats(State(hub): State<Arc<Hub>>, query: Result<Query<Params>, QueryRejection>) -> Reply {
    let params = params(query)?;
    let stats = hub.stats(scope(&params));
    Ok(Json(json!({
        "connections": stats.connections,
        "framesReceived": stats.frames_received,
        "connectionsTotal": stats.connections_total,
        "duplicates": stats.duplicates,
        "protocolConnections": stats.protocol_connections,
        "compressedConnections": stats.compressed_connections,
        "httpSessions": { "stream": stats.stream_sessions, "poll": stats.poll_sessions },
        "subscriptions": hub.subscriptions(scope(&params)),
        "channelsKept": hub.kept_channels(),
        "subscribeFrames": stats.subscribe_frames,
        "unsubscribeFrames": stats.unsubscribe_frames,
    })))
}

async fn received(
    State(hub): State<Arc<Hub>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Reply {
    let params = params(query)?;
    Ok(Json(json!({ "frames": hub.received(scope(&params)) })))
}

/// `reset?tag=`: forgets the tag's counters and recorded frames, and the
/// message ids of every dedupe scope of the tag (any client of it may
/// resend them as new), and sends its acks again.
async fn reset(State(hub): State<Arc<Hub>>, query: Result<Query<Params>, QueryRejection>) -> Reply {
    let params = params(query)?;
    hub.reset(scope(&params));
    Ok(Json(json!({ "reset": true })))
}

/// `acks?tag=&enabled=true|false`: sends or withholds the acks of the
/// protocol-mode messages of one tag (messages are still handled), to test
/// resending and deduplication.
async fn acks(State(hub): State<Arc<Hub>>, query: Result<Query<Params>, QueryRejection>) -> Reply {
    let params = params(query)?;
    let tag = params
        .get("tag")
        .ok_or_else(|| BadRequest("tag: required (acks are switched per tag)".to_owned()))?;
    let enabled = enabled(params.get("enabled").map(String::as_str))?;
    hub.set_acks(tag, enabled);
    hub.log(format_args!(
        "control: acks for tag {tag:?} enabled: {enabled}"
    ));
    Ok(Json(json!({ "acks": enabled })))
}

/// `publish?channel=&data=<JSON>` (or the JSON as the request body): keeps
/// the message in the channel's history and sends
/// `{"type":"pub","channel":…,"offset":…,"data":…}` to every connection
/// subscribed to the channel. Answers `{"offset", "delivered"}` (this
/// server's subscribers reached) or, with Redis, `{"offset", "instances"}`
/// (server instances that heard it); 503 when Redis cannot be reached.
async fn publish(
    State(hub): State<Arc<Hub>>,
    query: Result<Query<Params>, QueryRejection>,
    body: String,
) -> Result<Json<Value>, Response> {
    let bad = |why: String| BadRequest(why).into_response();
    let params = params(query).map_err(IntoResponse::into_response)?;
    let channel = params
        .get("channel")
        .ok_or_else(|| bad("channel: required".to_owned()))?;
    check_channel(channel).map_err(bad)?;
    let data = params.get("data").map_or(body.as_str(), String::as_str);
    let data: Box<RawValue> =
        serde_json::from_str(data).map_err(|error| bad(format!("data: not JSON: {error}")))?;
    let published = hub
        .publish(channel, data.get())
        .await
        .map_err(unavailable)?;
    let offset = published.offset;
    tracing::debug!(channel, offset, reach = ?published.reach, "control: published");
    Ok(Json(match published.reach {
        Reach::Subscribers(delivered) => json!({ "delivered": delivered, "offset": offset }),
        Reach::Instances(instances) => json!({ "instances": instances, "offset": offset }),
    }))
}

/// Parses the required `enabled` parameter.
fn enabled(raw: Option<&str>) -> Result<bool, BadRequest> {
    boolean("enabled", raw)?
        .ok_or_else(|| BadRequest("enabled: required (true or false)".to_owned()))
}

/// Parses the parameter `name`, `true` or `false`, if given.
fn boolean(name: &str, raw: Option<&str>) -> Result<Option<bool>, BadRequest> {
    match raw {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(BadRequest(format!(
            "{name}: expected true or false, got {other:?}"
        ))),
    }
}

/// `firehose?tag=&count=N&bytes=B&binary=false|true`: every connection in
/// scope sends N frames of B bytes (default 64), text (default) or binary,
/// as fast as its socket takes them (see [`Firehose`] for their payload).
/// Answers once they have queued them all, or after [`FIREHOSE_LIMIT`]:
/// `{"connections": reached, "sent": connections that queued them all,
/// "count", "bytes", "binary"}`.
async fn firehose(
    State(hub): State<Arc<Hub>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Reply {
    let params = params(query)?;
    let order = firehose_order(&params)?;
    let (reached, sent) =
        command_within(&hub, &params, Order::Firehose(order), FIREHOSE_LIMIT).await;
    Ok(Json(json!({
        "connections": reached,
        "sent": sent,
        "count": order.count,
        "bytes": order.bytes,
        "binary": order.binary,
    })))
}

/// The firehose that `count` (required), `bytes` and `binary` describe.
fn firehose_order(params: &Params) -> Result<Firehose, BadRequest> {
    let number = |name: &str, raw: Option<&String>, low: u64, high: u64| {
        let raw = raw.ok_or_else(|| BadRequest(format!("{name}: required")))?;
        match raw.parse::<u64>() {
            Ok(value) if (low..=high).contains(&value) => Ok(value),
            _ => Err(BadRequest(format!(
                "{name}: a whole number from {low} to {high}, not {raw:?}"
            ))),
        }
    };
    let count = number("count", params.get("count"), 1, Firehose::MAX_COUNT.into())?;
    let bytes = match params.get("bytes") {
        None => 64,
        raw => number(
            "bytes",
            raw,
            Firehose::MIN_BYTES as u64,
            Firehose::MAX_BYTES as u64,
        )?,
    };
    Ok(Firehose {
        // Both are within their bounds, checked above.
        count: u32::try_from(count).unwrap_or(Firehose::MAX_COUNT),
        bytes: usize::try_from(bytes).unwrap_or(Firehose::MAX_BYTES),
        binary: boolean("binary", params.get("binary").map(String::as_str))?.unwrap_or(false),
    })
}

/// The answer while the channel broker is unreachable: 503 and why.
fn unavailable(Unavailable(why): Unavailable) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "error": why })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(result: Result<impl std::fmt::Debug, BadRequest>) -> String {
        match result {
            Ok(value) => panic!("expected an error, got {value:?}"),
            Err(BadRequest(message)) => message,
        }
    }

    #[test]
    fn close_codes() {
        assert_eq!(close_code(None).ok(), Some(1000));
        for code in [
            "1000", "1001", "1003", "1007", "1013", "3000", "4001", "4999",
        ] {
            assert!(close_code(Some(code)).is_ok(), "{code}");
        }
        for code in [
            "1004", "1005", "1006", "1014", "1015", "2999", "999", "5000", "0",
        ] {
            assert!(error(close_code(Some(code))).starts_with("code:"), "{code}");
        }
        assert!(error(close_code(Some("abc"))).starts_with("code:"));
        assert!(error(close_code(Some("-1"))).starts_with("code:"));
        assert!(error(close_code(Some("70000"))).starts_with("code:"));
    }

    #[test]
    fn refuse_periods() {
        assert_eq!(refuse_ms(Some("0")).ok(), Some(0));
        assert_eq!(refuse_ms(Some("500")).ok(), Some(500));
        assert!(error(refuse_ms(None)).starts_with("ms:"));
        assert!(error(refuse_ms(Some("x"))).starts_with("ms:"));
        assert!(error(refuse_ms(Some("-5"))).starts_with("ms:"));
        assert!(error(refuse_ms(Some("3600001"))).starts_with("ms:"));
    }

    #[test]
    fn enabled_values() {
        assert_eq!(enabled(Some("true")).ok(), Some(true));
        assert_eq!(enabled(Some("false")).ok(), Some(false));
        for bad in [None, Some(""), Some("1"), Some("TRUE"), Some("no")] {
            assert!(error(enabled(bad)).starts_with("enabled:"), "{bad:?}");
        }
    }

    #[test]
    fn firehose_parameters() {
        let parse = |query: &[(&str, &str)]| {
            let params: Params = query
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect();
            firehose_order(&params)
        };
        assert_eq!(
            parse(&[("count", "3")]).ok(),
            Some(Firehose {
                count: 3,
                bytes: 64,
                binary: false
            })
        );
        assert_eq!(
            parse(&[("count", "10"), ("bytes", "16384"), ("binary", "true")]).ok(),
            Some(Firehose {
                count: 10,
                bytes: 16384,
                binary: true
            })
        );
        assert!(error(parse(&[])).starts_with("count:"));
        for count in ["0", "-1", "x", "10000001"] {
            assert!(error(parse(&[("count", count)])).starts_with("count:"));
        }
        for bytes in ["7", "1048577", ""] {
            assert!(error(parse(&[("count", "1"), ("bytes", bytes)])).starts_with("bytes:"));
        }
        assert!(error(parse(&[("count", "1"), ("binary", "yes")])).starts_with("binary:"));
    }

    #[test]
    fn scope_from_tag() {
        let mut params = Params::new();
        assert!(matches!(scope(&params), Scope::All));
        params.insert("tag".into(), String::new());
        assert!(matches!(scope(&params), Scope::Tag("")));
    }
}
