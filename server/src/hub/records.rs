//! What the hub records per tag for the test control API: counters
//! (`/control/stats`), the frames handled (`/control/received`), and the
//! acks withheld (`/control/acks`). `/control/reset` forgets it all.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use super::{Carrier, Hub, Scope};

/// Most recorded frames kept per tag; older ones are forgotten first, so a
/// long soak test cannot grow the server without bound.
pub const MAX_RECORDED_PER_TAG: usize = 100_000;

/// Counters reported by `/control/stats`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub connections: usize,
    pub frames_received: u64,
    pub connections_total: u64,
    /// Protocol-mode messages recognised as already handled.
    pub duplicates: u64,
    /// Live connections in protocol mode (`/ws`).
    pub protocol_connections: usize,
    /// Live connections that negotiated permessage-deflate.
    pub compressed_connections: usize,
    /// Live HTTP sessions (counted among the connections too), by how
    /// their frames come down: a stream of server-sent events, or polls.
    pub stream_sessions: usize,
    pub poll_sessions: usize,
    /// Valid `subscribe` and `unsubscribe` frames received.
    pub subscribe_frames: u64,
    pub unsubscribe_frames: u64,
}

/// Everything kept per tag; `/control/reset` forgets it all, and the tag's
/// handled ids with it.
#[derive(Debug, Default)]
pub(super) struct TagRecord {
    pub(super) connections_total: u64,
    frames_received: u64,
    /// (arrival sequence number across all tags, frame description).
    frames: VecDeque<(u64, String)>,
    pub(super) duplicates: u64,
    /// Set by `/control/acks?enabled=false`.
    pub(super) acks_withheld: bool,
    pub(super) subscribe_frames: u64,
    pub(super) unsubscribe_frames: u64,
}

impl Hub {
    /// Counts one application frame from a connection tagged `tag` and keeps
    /// its description.
    pub fn record(&self, tag: &str, frame: String) {
        if !self.record_traffic {
            return;
        }
        let mut state = self.state();
        let record = state.tags.entry(tag.to_owned()).or_default();
        self.keep(record, frame);
    }

    /// Counts and keeps `frame` in `record`, if traffic is recorded.
    pub(super) fn keep(&self, record: &mut TagRecord, frame: String) {
        if !self.record_traffic {
            return;
        }
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        record.frames_received += 1;
        if record.frames.len() >= MAX_RECORDED_PER_TAG {
            record.frames.pop_front();
        }
        record.frames.push_back((seq, frame));
    }

    /// Sends (`enabled`) or withholds the acks of the messages tagged `tag`
    /// from now on; withheld acks are never sent later.
    pub fn set_acks(&self, tag: &str, enabled: bool) {
        self.state()
            .tags
            .entry(tag.to_owned())
            .or_default()
            .acks_withheld = !enabled;
    }

    /// Counters for the connections and records in `scope`.
    pub fn stats(&self, scope: Scope<'_>) -> Stats {
        let state = self.state();
        let mut stats = Stats::default();
        for live in state.connections.values() {
            if scope.matches(&live.tag) {
                stats.connections += 1;
                stats.protocol_connections += usize::from(live.protocol);
                match live.carrier {
                    Carrier::WebSocket { compressed } => {
                        stats.compressed_connections += usize::from(compressed);
                    }
                    Carrier::Stream => stats.stream_sessions += 1,
                    Carrier::Poll => stats.poll_sessions += 1,
                }
            }
        }
        for (tag, record) in &state.tags {
            if scope.matches(tag) {
                stats.frames_received += record.frames_received;
                stats.connections_total += record.connections_total;
                stats.duplicates += record.duplicates;
                stats.subscribe_frames += record.subscribe_frames;
                stats.unsubscribe_frames += record.unsubscribe_frames;
            }
        }
        stats
    }

    /// The recorded frame descriptions in `scope`, in arrival order (across
    /// tags too, when the scope covers several).
    pub fn received(&self, scope: Scope<'_>) -> Vec<String> {
        let state = self.state();
        let mut frames: Vec<(u64, String)> = state
            .tags
            .iter()
            .filter(|(tag, _)| scope.matches(tag))
            .flat_map(|(_, record)| record.frames.iter().cloned())
            .collect();
        frames.sort_unstable_by_key(|(seq, _)| *seq);
        frames.into_iter().map(|(_, frame)| frame).collect()
    }

    /// Forgets the counters, recorded frames and handled ids (the dedupe
    /// windows of every scope of the tag) in `scope`, and sends acks again;
    /// live connections are untouched.
    pub fn reset(&self, scope: Scope<'_>) {
        let mut state = self.state();
        state.tags.retain(|tag, _| !scope.matches(tag));
        match scope {
            Scope::All => state.handled.clear(),
            Scope::Tag(tag) => state.handled.forget_tag(tag),
        }
    }
}
