//! Native tests of the core on a virtual clock.

mod backoff;
mod channels;
mod close_codes;
mod config;
mod connection;
mod harness;
mod heartbeat;
mod id_hash;
mod number;
mod outbox;
mod queue;
mod record;
mod share;
mod signals;
mod subscriptions;
