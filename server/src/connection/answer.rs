//! The answers to the client's frames: on `/raw` as [`decide`] says, in
//! protocol mode as [`decide_protocol`] says, once the authentication gate
//! lets the frame through, with what the connection knows of its client
//! (its [`Session`]).

use super::{close, send, send_all, Flow, Mode, Session, Wire};
use crate::auth::{Gate, AUTH_FAILED};
use crate::broker::Unavailable;
use crate::dedupe::DedupeScope;
use crate::history::Since;
use crate::hub::{Hub, Registration};
use crate::protocol::{
    self, ack, bad_frame, decide, decide_protocol, Action, Delivery, Handling, Message,
    ProtocolAction,
};

/// Close code for a frame that needed the channel broker while it was
/// unreachable: the client comes back later and sends it again.
const TRY_AGAIN_LATER: u16 = 1013;

/// The answer to a second client hello.
const HELLO_TWICE: &str = "hello: the client is named once per connection";

/// Answers one frame read from the wire.
pub(super) async fn answer(
    frame: Message,
    session: &mut Session,
    wire: &mut Wire,
    registration: &Registration,
) -> Flow {
    match session.mode {
        Mode::Raw => answer_raw(frame, wire, registration).await,
        Mode::Protocol => {
            let action = decide_protocol(&frame);
            match session.auth.check(registration.hub(), &action) {
                Gate::Pass => answer_protocol(action, session, wire, registration).await,
                Gate::Taken => end_forbidden(session, wire, registration).await,
                Gate::Forbidden(channel) => send(wire, protocol::forbidden(&channel)).await,
                Gate::ForbiddenPublication(id, channel) => {
                    send(wire, protocol::forbidden_publication(&id, &channel)).await
                }
                Gate::Close(reason) => close(wire, AUTH_FAILED, reason).await,
            }
        }
    }
}

async fn answer_raw(frame: Message, wire: &mut Wire, registration: &Registration) -> Flow {
    let Action { reply, record } = decide(frame);
    // Recorded before replying, so a client that got the echo and then asks
    // for stats sees its frame counted.
    if let Some(description) = record {
        registration.hub().record(registration.tag(), description);
    }
    send(wire, reply).await
}

async fn answer_protocol(
    action: ProtocolAction,
    session: &mut Session,
    wire: &mut Wire,
    registration: &Registration,
) -> Flow {
    match action {
        ProtocolAction::Reply(reply) => send(wire, reply).await,
        ProtocolAction::Hello(client) => {
            if session.client.is_some() {
                return send(wire, bad_frame(HELLO_TWICE)).await;
            }
            session.client = Some(client);
            Flow::Continue
        }
        ProtocolAction::Deliver(delivery) => {
            let max = registration.hub().bounds.max_channel_bytes;
            if let Handling::Publish { channel, .. } = &delivery.handling {
                if channel.len() > max {
                    let refusal =
                        protocol::publication_channel_too_long(&delivery.id, channel, max);
                    return send(wire, refusal).await;
                }
            }
            let scope = dedupe_scope(session, registration.tag());
            deliver(&delivery, &scope, wire, registration).await
        }
        ProtocolAction::Subscribe { channel, since } => {
            subscribe(&channel, since.as_ref(), session, wire, registration).await
        }
        ProtocolAction::Unsubscribe(channel) => {
            registration.unsubscribe(&channel);
            session.positions.stop(&channel);
            send(wire, protocol::unsubscribed(&channel)).await
        }
        // Taken by the authentication gate.
        ProtocolAction::Auth(_) => Flow::Continue,
    }
}

/// After a new token (a later `auth` frame): ends each subscription it no
/// longer allows, with `unsubscribed` and the reason `forbidden`, so that a
/// narrower token takes effect at once rather than at the next reconnect.
async fn end_forbidden(
    session: &mut Session,
    wire: &mut Wire,
    registration: &Registration,
) -> Flow {
    let mut frames = Vec::new();
    for channel in session.positions.channels() {
        if !session.auth.may_subscribe(&channel) {
            registration.unsubscribe(&channel);
            session.positions.stop(&channel);
            frames.push(protocol::unsubscribed_forbidden(&channel));
        }
    }
    send_all(wire, frames).await
}

/// Whose ids a message of this connection is compared with: its
/// sender's, within its tag.
fn dedupe_scope(session: &Session, tag: &str) -> DedupeScope {
    DedupeScope {
        tag: tag.to_owned(),
        sender: session.sender(),
    }
}

/// Handles a `msg` once per id in its scope: echoes it if new, then acks it.
async fn deliver(
    delivery: &Delivery,
    scope: &DedupeScope,
    wire: &mut Wire,
    registration: &Registration,
) -> Flow {
    let hub = registration.hub();
    // Deduplicated, recorded and published first, so the echo and the ack
    // both mean the message is handled and counted.
    let delivered = match hub.deliver(scope, delivery).await {
        Ok(delivered) => delivered,
        Err(unavailable) => return broker_unavailable(wire, hub, unavailable).await,
    };
    if delivered.handled {
        if let Handling::Echo(echo) = &delivery.handling {
            if let Flow::End = send(wire, echo.clone()).await {
                return Flow::End;
            }
        }
    } else {
        hub.metrics.duplicate();
        hub.log(format_args!(
            "duplicate message {:?} ({scope:?}) acknowledged again",
            delivery.id
        ));
    }
    if delivered.ack {
        hub.metrics.ack_sent();
        return send(wire, ack(&delivery.id)).await;
    }
    Flow::Continue
}

/// Subscribes the connection to `channel` and sends, in order:
/// `subscribed`, the `gap` if the replay misses messages, the replay.
/// A channel name longer than the server takes, or one channel more than a
/// connection may listen to, is refused instead; the connection goes on.
async fn subscribe(
    channel: &str,
    since: Option<&Since>,
    session: &mut Session,
    wire: &mut Wire,
    registration: &Registration,
) -> Flow {
    let bounds = &registration.hub().bounds;
    if channel.len() > bounds.max_channel_bytes {
        return send(
            wire,
            protocol::channel_too_long(channel, bounds.max_channel_bytes),
        )
        .await;
    }
    let positions = &session.positions;
    if !positions.holds(channel) && positions.count() >= bounds.max_subscriptions {
        let refusal = protocol::too_many_subscriptions(channel, bounds.max_subscriptions);
        return send(wire, refusal).await;
    }
    let subscribed = match registration.subscribe(channel, since).await {
        Ok(subscribed) => subscribed,
        Err(unavailable) => return broker_unavailable(wire, registration.hub(), unavailable).await,
    };
    session.positions.start(channel, subscribed.offset);
    let epoch = &subscribed.epoch;
    let mut frames = vec![protocol::subscribed(channel, subscribed.offset, epoch)];
    if let (Some(replay), Some(since)) = (subscribed.replay, since) {
        if let Some(gap) = &replay.gap {
            frames.push(protocol::gap(channel, since.offset, gap, epoch));
        }
        frames.extend(
            replay
                .messages
                .into_iter()
                .map(|(offset, data)| Message::Text(protocol::publication(channel, offset, &data))),
        );
    }
    send_all(wire, frames).await
}

/// Ends a connection whose frame needed the unreachable broker.
async fn broker_unavailable(wire: &mut Wire, hub: &Hub, Unavailable(why): Unavailable) -> Flow {
    hub.metrics.broker_unavailable_closed();
    hub.log(format_args!("{why}; closing the connection (1013)"));
    close(
        wire,
        TRY_AGAIN_LATER,
        "channel broker unavailable".to_owned(),
    )
    .await
}
