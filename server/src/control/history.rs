//! `/control/history?channel=c`: what the server keeps of one channel, for
//! tests that need the ground truth of a history before they destroy it
//! (the chaos suite reads it before each kill of a server whose channels
//! live in memory, since the next start begins a new epoch).
//!
//! Answers `{"epoch", "newest", "oldest", "messages": [[offset, data], ...]}`:
//! the epoch naming the history, its newest offset (0 before the first
//! message), the oldest offset kept (`newest + 1` when none is), and every
//! kept message, oldest first, with its `data` as the JSON text it was
//! published with. With `--redis` the same comes from Redis; 503 when Redis
//! cannot be reached or the announcements are not heard.
//!
//! The history is read the way a subscriber resuming from offset 0 reads
//! it, through a registration of its own under the tag [`TAG`] that lives
//! for the request: so both brokers answer with the code every client
//! relies on, and nothing of the hub is opened up for a test route. The
//! registration takes no orders (it is not a socket); `stats` counts it
//! under its tag while the request lasts.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{params, BadRequest, Params};
use crate::history::Since;
use crate::hub::{Carrier, Hub};
use crate::protocol::check_channel;

/// The tag of the registration that reads a history.
pub const TAG: &str = "tabwire-control-history";

pub(super) async fn history(
    State(hub): State<Arc<Hub>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Value>, Response> {
    let bad = |why: String| BadRequest(why).into_response();
    let params = params(query).map_err(IntoResponse::into_response)?;
    let channel = params
        .get("channel")
        .ok_or_else(|| bad("channel: required".to_owned()))?;
    check_channel(channel).map_err(bad)?;
    let (registration, orders) = hub.register(
        TAG.to_owned(),
        true,
        Carrier::WebSocket { compressed: false },
    );
    // Nobody reads them: orders and live messages sent to it fail at once
    // rather than wait for a receipt.
    drop(orders);
    let everything = Since {
        offset: 0,
        epoch: None,
    };
    let subscribed = registration
        .subscribe(channel, Some(&everything))
        .await
        .map_err(super::unavailable)?;
    drop(registration);
    let messages = subscribed
        .replay
        .map(|replay| replay.messages)
        .unwrap_or_default();
    let oldest = messages
        .first()
        .map_or(subscribed.offset + 1, |(offset, _)| *offset);
    tracing::debug!(
        channel,
        epoch = subscribed.epoch,
        kept = messages.len(),
        newest = subscribed.offset,
        "control: history"
    );
    Ok(Json(json!({
        "epoch": subscribed.epoch,
        "newest": subscribed.offset,
        "oldest": oldest,
        "messages": messages,
    })))
}
