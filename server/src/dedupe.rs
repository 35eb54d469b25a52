//! The memory of message ids already handled, which turns the client's
//! at-least-once delivery into effectively-once handling.
//!
//! Ids are remembered per *dedupe scope*: the test `tag` plus who sent the
//! message (the JWT `sub` of its connection, else the client id of its
//! hello, else the connection itself). One client's ids never shadow
//! another's, and a client that resends over a new connection, perhaps
//! after a reload, is recognised by its `sub` or client id.
//!
//! The window is bounded three ways, as `tabwire-server --help` documents:
//!
//! - per scope, the newest [`DedupeLimits::ids_per_scope`] ids;
//! - each id for [`DedupeLimits::max_age`] at most;
//! - over all scopes, [`DedupeLimits::total_ids`] ids: past it, the least
//!   recently active scope (the one whose last message, new or repeated, is
//!   the oldest) loses its oldest ids first.
//!
//! Memory is thus at most `total_ids` ids of at most 128 bytes each (and as
//! many scopes, since a scope without ids is dropped). Exactly once within
//! the window, at least once beyond it.
//!
//! Why not a cache crate such as moka: its size bound weighs an entry once,
//! when it is inserted, so it cannot weigh a per-scope window that grows with
//! every id; and keying it by (scope, id) instead loses the per-scope bound
//! and the "oldest ids of the least active scope first" order.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much the server remembers of the ids it handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupeLimits {
    /// Most ids remembered per scope (`--dedupe-ids`).
    pub ids_per_scope: usize,
    /// Longest an id is remembered (`--dedupe-secs`).
    pub max_age: Duration,
    /// Most ids remembered over all scopes (`--dedupe-total`).
    pub total_ids: usize,
}

impl Default for DedupeLimits {
    /// A day, the client's default `queue.ttlMs`: a client that resends
    /// within it is deduplicated; 10,000 unacknowledged messages per client
    /// and a million ids in all.
    fn default() -> Self {
        DedupeLimits {
            ids_per_scope: 10_000,
            max_age: Duration::from_secs(86_400),
            total_ids: 1_000_000,
        }
    }
}

/// Who sent a message, as far as deduplication is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Sender {
    /// The `sub` of the connection's JWT.
    Subject(String),
    /// The client id of the connection's hello.
    Client(String),
    /// Neither: the connection itself, by its session name (unique across
    /// server instances, so it also serves as a Redis key part).
    Connection(String),
}

/// Whose ids a message's id is compared with: (tag, sender).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupeScope {
    pub tag: String,
    pub sender: Sender,
}

impl DedupeScope {
    /// The scope as one string, for Redis keys: the tag's length comes
    /// first so that no (tag, sender) pair reads like another.
    pub fn key(&self) -> String {
        let (kind, name) = match &self.sender {
            Sender::Subject(name) => ("sub", name),
            Sender::Client(name) => ("client", name),
            Sender::Connection(name) => ("conn", name),
        };
        format!("{}:{}:{kind}:{name}", self.tag.len(), self.tag)
    }
}

/// The ids of every scope, within [`DedupeLimits`].
#[derive(Debug)]
pub struct Windows {
    limits: DedupeLimits,
    scopes: HashMap<Arc<DedupeScope>, Window>,
    /// Every scope under the tick of its last activity, least recently
    /// active first: where the total bound takes ids from, and where the
    /// sweep finds the scopes whose ids have all expired without looking
    /// at the others.
    by_activity: BTreeMap<u64, Arc<DedupeScope>>,
    /// Ids over all scopes.
    total: usize,
    /// Numbers activities in order (times may be equal).
    ticks: u64,
}

/// One scope's ids.
#[derive(Debug, Default)]
struct Window {
    ids: HashSet<Arc<str>>,
    /// The ids of `ids` with when they were first handled, oldest first.
    order: VecDeque<(Instant, Arc<str>)>,
    /// The scope's key in [`Windows::by_activity`] and when that was;
    /// `None` only while it is being created.
    active: Option<(u64, Instant)>,
}

impl Window {
    /// Forgets the ids older than `max_age`; returns how many.
    fn expire(&mut self, now: Instant, max_age: Duration) -> usize {
        let mut expired = 0;
        while self
            .order
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= max_age)
        {
            self.forget_oldest();
            expired += 1;
        }
        expired
    }

    fn forget_oldest(&mut self) {
        if let Some((_, id)) = self.order.pop_front() {
            self.ids.remove(&id);
        }
    }
}

impl Windows {
    /// Limits of zero are taken as one.
    pub fn new(limits: DedupeLimits) -> Self {
        Windows {
            limits: DedupeLimits {
                ids_per_scope: limits.ids_per_scope.max(1),
                max_age: limits.max_age,
                total_ids: limits.total_ids.max(1),
            },
            scopes: HashMap::new(),
            by_activity: BTreeMap::new(),
            total: 0,
            ticks: 0,
        }
    }

    /// Remembers `id` in `scope` at `now` and returns whether it is new
    /// there. A known id is left where it is in the eviction order: ids are
    /// forgotten in the order they were first handled.
    pub fn insert(&mut self, scope: &DedupeScope, id: &str, now: Instant) -> bool {
        self.sweep(now);
        let max_age = self.limits.max_age;
        let tick = self.ticks;
        self.ticks += 1;
        let key = match self.scopes.get_key_value(scope) {
            Some((key, _)) => Arc::clone(key),
            None => Arc::new(scope.clone()),
        };
        let window = self.scopes.entry(Arc::clone(&key)).or_default();
        self.total -= window.expire(now, max_age);
        // The scope is active now: it moves to the end of the order.
        if let Some((before, _)) = window.active {
            self.by_activity.remove(&before);
        }
        self.by_activity.insert(tick, key);
        window.active = Some((tick, now));
        if window.ids.contains(id) {
            return false;
        }
        if window.order.len() >= self.limits.ids_per_scope {
            window.forget_oldest();
            self.total -= 1;
        }
        let id: Arc<str> = Arc::from(id);
        window.ids.insert(Arc::clone(&id));
        window.order.push_back((now, id));
        self.total += 1;
        while self.total > self.limits.total_ids {
            self.forget_least_active_oldest();
        }
        true
    }

    /// Drops the scopes whose last activity is older than the age limit:
    /// all their ids have expired. Only those are looked at.
    fn sweep(&mut self, now: Instant) {
        while let Some((_, scope)) = self.by_activity.first_key_value() {
            let Some(window) = self.scopes.get(scope) else {
                // Not reached: every listed scope has a window.
                self.by_activity.pop_first();
                continue;
            };
            let idle = window
                .active
                .is_none_or(|(_, at)| now.saturating_duration_since(at) >= self.limits.max_age);
            if !idle {
                return;
            }
            let scope = Arc::clone(scope);
            self.remove(&scope);
        }
    }

    /// The total bound: the least recently active scope loses its oldest id.
    fn forget_least_active_oldest(&mut self) {
        let Some((_, scope)) = self.by_activity.first_key_value() else {
            return;
        };
        let scope = Arc::clone(scope);
        if let Some(window) = self.scopes.get_mut(&scope) {
            window.forget_oldest();
            self.total -= 1;
            if window.order.is_empty() {
                self.remove(&scope);
            }
        }
    }

    fn remove(&mut self, scope: &DedupeScope) {
        if let Some(window) = self.scopes.remove(scope) {
            if let Some((tick, _)) = window.active {
                self.by_activity.remove(&tick);
            }
            self.total -= window.order.len();
        }
    }

    /// Forgets every scope of `tag` (`/control/reset?tag=`).
    pub fn forget_tag(&mut self, tag: &str) {
        let doomed: Vec<Arc<DedupeScope>> = self
            .scopes
            .keys()
            .filter(|scope| scope.tag == tag)
            .cloned()
            .collect();
        for scope in doomed {
            self.remove(&scope);
        }
    }

    /// Forgets every scope (`/control/reset`).
    pub fn clear(&mut self) {
        *self = Windows::new(self.limits);
    }

    /// Whether `id` is remembered in `scope` (expired ids included until
    /// they are swept).
    #[cfg(test)]
    pub fn contains(&self, scope: &DedupeScope, id: &str) -> bool {
        self.scopes
            .get(scope)
            .is_some_and(|window| window.ids.contains(id))
    }

    /// How many ids are remembered over all scopes.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.total
    }

    /// How many scopes have ids.
    #[cfg(test)]
    pub fn scopes(&self) -> usize {
        self.scopes.len()
    }
}

#[cfg(test)]
mod tests;
