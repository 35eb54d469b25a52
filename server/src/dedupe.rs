//! The memory of message ids already handled, which turns the client's
//! at-least-once delivery into effectively-once handling.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// How many handled ids the server remembers per tag. A client resends its
/// unacknowledged messages after a reconnect or a reload; an id forgotten
/// before its resend arrives would be handled twice.
pub const REMEMBERED_IDS: usize = 100_000;

/// The last `capacity` distinct ids seen, oldest forgotten first.
#[derive(Debug)]
pub struct Dedupe {
    capacity: usize,
    seen: HashSet<Arc<str>>,
    /// The ids of `seen`, oldest first.
    order: VecDeque<Arc<str>>,
}

impl Default for Dedupe {
    fn default() -> Self {
        Dedupe::with_capacity(REMEMBERED_IDS)
    }
}

impl Dedupe {
    /// Remembers at most `capacity` ids (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Dedupe {
            capacity: capacity.max(1),
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Remembers `id` and returns whether it is new. A known id is left where
    /// it is in the eviction order: ids are forgotten in the order they were
    /// first handled.
    pub fn insert(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        if self.order.len() >= self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        let id: Arc<str> = Arc::from(id);
        self.seen.insert(Arc::clone(&id));
        self.order.push_back(id);
        true
    }

    /// Whether `id` is remembered.
    #[cfg(test)]
    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    /// How many ids are remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_new_once() {
        let mut ids = Dedupe::default();
        assert!(ids.insert("a"));
        assert!(ids.insert("b"));
        assert!(!ids.insert("a"));
        assert!(!ids.insert("b"));
        assert!(ids.contains("a"));
        assert!(!ids.contains("c"));
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn oldest_ids_are_forgotten_first() {
        let mut ids = Dedupe::with_capacity(3);
        for id in ["1", "2", "3"] {
            assert!(ids.insert(id));
        }
        // A repeat neither grows the set nor refreshes the id.
        assert!(!ids.insert("1"));
        assert!(ids.insert("4"));
        assert_eq!(ids.len(), 3);
        assert!(!ids.contains("1"), "the oldest id is evicted");
        assert!(ids.contains("2") && ids.contains("3") && ids.contains("4"));
        // A forgotten id counts as new again.
        assert!(ids.insert("1"));
        assert!(!ids.contains("2"));
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn default_capacity_is_the_documented_one() {
        let mut ids = Dedupe::default();
        for i in 0..=REMEMBERED_IDS {
            assert!(ids.insert(&i.to_string()));
        }
        assert_eq!(ids.len(), REMEMBERED_IDS);
        assert!(!ids.contains("0"));
        assert!(ids.contains("1"));
        assert!(ids.contains(&REMEMBERED_IDS.to_string()));
    }

    #[test]
    fn capacity_is_at_least_one() {
        let mut ids = Dedupe::with_capacity(0);
        assert!(ids.insert("a"));
        assert!(!ids.insert("a"));
        assert!(ids.insert("b"));
        assert!(!ids.contains("a"));
    }
}
