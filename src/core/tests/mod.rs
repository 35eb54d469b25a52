//! Native tests of the core on a virtual clock.

mod backoff;
mod channels;
mod close_codes;
mod config;
mod connection;
mod greeting;
mod harness;
mod heartbeat;
mod id_hash;
mod json_string;
mod number;
mod outbox;
mod queue;
mod record;
mod retry_after;
mod share;
mod share_channels;
mod signals;
mod sse;
mod subscriptions;
mod tabs;
mod transport;
