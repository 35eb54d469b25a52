//! Protocol-mode messages handled once per id and dedupe scope: recorded,
//! and, for a publication, published.

use std::time::Instant;

use super::records::TagRecord;
use super::Hub;
use crate::broker::{Broker, Once, Unavailable};
use crate::dedupe::DedupeScope;
use crate::protocol::{Delivery, Handling};

/// What became of one protocol-mode message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// The id was new: the message was recorded and must be echoed. Otherwise
    /// it is a duplicate and must not be handled again.
    pub handled: bool,
    /// Acknowledge it (acks are not withheld for its tag).
    pub ack: bool,
}

impl Hub {
    /// Handles the protocol-mode message `delivery` of `scope` once per id:
    /// records it and, for a publication, publishes it. The caller echoes a
    /// message whose `handled` is set. With Redis, a publication's id is
    /// checked in Redis as it is published, so that a client resending
    /// through another server instance publishes once.
    pub async fn deliver(
        &self,
        scope: &DedupeScope,
        delivery: &Delivery,
    ) -> Result<Delivered, Unavailable> {
        match (&delivery.handling, &self.broker) {
            (Handling::Publish { channel, data }, Broker::Redis(redis)) => {
                let once = Once {
                    scope: &scope.key(),
                    tag: &scope.tag,
                    id: &delivery.id,
                };
                let published = redis.publish(channel, data, Some(once)).await?;
                Ok(self.settle(&scope.tag, published.is_some(), &delivery.record))
            }
            (Handling::Publish { channel, data }, Broker::Memory(memory)) => {
                let judge = || {
                    let delivered = self.handle_once(scope, &delivery.id, &delivery.record);
                    (delivered, delivered.handled)
                };
                Ok(memory.publish(channel, data, self, judge)?.0)
            }
            (Handling::Echo(_), _) => Ok(self.handle_once(scope, &delivery.id, &delivery.record)),
        }
    }

    /// Takes the protocol-mode message `id` of `scope`: if the scope's
    /// window does not hold this id, remembers it and records the message
    /// as `frame`; otherwise counts a duplicate. Both happen under one lock,
    /// so of two connections racing with the same id exactly one handles it.
    pub fn handle_once(&self, scope: &DedupeScope, id: &str, frame: &str) -> Delivered {
        let mut guard = self.state();
        let state = &mut *guard;
        let handled = state.handled.insert(scope, id, Instant::now());
        let record = state.tags.entry(scope.tag.clone()).or_default();
        self.count(record, handled, frame)
    }

    /// Records a message whose id was judged elsewhere (new if `handled`).
    fn settle(&self, tag: &str, handled: bool, frame: &str) -> Delivered {
        let mut state = self.state();
        let record = state.tags.entry(tag.to_owned()).or_default();
        self.count(record, handled, frame)
    }

    fn count(&self, record: &mut TagRecord, handled: bool, frame: &str) -> Delivered {
        if !handled {
            record.duplicates += 1;
        } else if self.record_traffic {
            self.keep(record, frame.to_owned());
        }
        Delivered {
            handled,
            ack: !record.acks_withheld,
        }
    }
}
