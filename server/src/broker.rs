//! Where channel messages get their offsets, are kept for clients that were
//! away, and reach the connections subscribed to them: in this process (one
//! server), or in Redis, so that several servers behind a load balancer
//! share every channel (`--redis URL`).
//!
//! Both brokers give the hub the same promise: every message of a channel is
//! handed to [`Subscribers::fan_out`] once, in offset order, after it was
//! kept. A subscriber is listed in the hub before it reads the channel's
//! history, so whatever is published meanwhile reaches it either live or in
//! the replay, perhaps both; a connection drops offsets it already sent,
//! which removes the overlap without a lock spanning the broker.
//!
//! Every history is named by an epoch ([`crate::history`]), which a
//! subscriber gets with its `subscribed` and gives back when it resumes.

pub mod link;
mod memory;
mod redis;

use std::sync::Arc;

pub use self::memory::Memory;
pub use self::redis::{Once, RedisBroker};
use crate::history::{HistoryLimits, Replay};

/// Where a broker hands the channel messages: the server's subscribed
/// connections (the hub). A trait, so that the brokers need not know the
/// hub, which holds the broker.
pub trait Subscribers: Send + Sync {
    /// Hands the message `offset` of `channel` to the connections
    /// subscribed to it; returns how many. Called once per message, in
    /// offset order.
    fn fan_out(&self, channel: &str, offset: u64, data: &str) -> usize;
    /// Closes every connection subscribed to a channel: the broker may
    /// have lost some of their live messages.
    fn close_subscribers(&self, code: u16, reason: &str);
}

/// The channel broker of one server.
#[derive(Debug)]
pub enum Broker {
    Memory(Memory),
    Redis(Arc<RedisBroker>),
}

/// The broker could not be reached; the frame that needed it was not
/// handled (the connection is closed with 1013 so that the client comes back
/// and sends it again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

/// A message numbered and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub offset: u64,
    pub reach: Reach,
}

/// Whom a publication reached when it was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Connections of this server subscribed to the channel.
    Subscribers(usize),
    /// Server instances listening to Redis (each fans it out to its own).
    Instances(usize),
}

/// What a connection that subscribed gets: the channel's newest offset and
/// the epoch of its history, and, when it asked for what it missed, the
/// replay.
#[derive(Debug, PartialEq, Eq)]
pub struct Subscribed {
    pub offset: u64,
    pub epoch: String,
    pub replay: Option<Replay>,
}

impl Default for Broker {
    fn default() -> Self {
        Broker::Memory(Memory::new(HistoryLimits::default()))
    }
}
