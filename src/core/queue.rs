//! Messages waiting for an open connection, oldest first.

use std::collections::VecDeque;

/// The queue refused a message because it holds `max_messages` already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueFull {
    pub max_messages: usize,
}

/// A bounded first-in-first-out buffer. A full queue refuses the new message
/// rather than dropping an old one: nothing already accepted is ever lost.
#[derive(Debug)]
pub struct SendQueue<P> {
    items: VecDeque<P>,
    max_messages: usize,
}

impl<P> SendQueue<P> {
    pub fn new(max_messages: usize) -> Self {
        SendQueue { items: VecDeque::new(), max_messages }
    }

    pub fn push(&mut self, payload: P) -> Result<(), QueueFull> {
        if self.items.len() >= self.max_messages {
            return Err(QueueFull { max_messages: self.max_messages });
        }
        self.items.push_back(payload);
        Ok(())
    }

    pub fn pop(&mut self) -> Option<P> {
        self.items.pop_front()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
