//! Per-connection limits: how many frames a second a client may send (a
//! token bucket), and how large one frame may be.

use std::time::Instant;

/// The limits every connection gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Frames a second a client may send, sustained.
    pub per_second: f64,
    /// Frames it may send at once above that (a reconnecting client
    /// flushing its outbox sends a burst).
    pub burst: u32,
    /// Largest data frame (a whole message, after decompression), in
    /// bytes; a larger one closes the connection (1009).
    pub max_frame_bytes: usize,
}

impl Default for Limits {
    /// Generous: a client delivering a backlog of 10,000 queued messages at
    /// once stays within them.
    fn default() -> Self {
        Limits {
            per_second: 5_000.0,
            burst: 20_000,
            max_frame_bytes: 1 << 20,
        }
    }
}

/// What to do with one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Over the rate: refuse it with an error frame.
    Refuse,
    /// Still sending after a whole burst's worth of refusals: close (1008).
    Abuse,
}

/// A token bucket: it holds up to `burst` frames and refills at
/// `per_second`.
#[derive(Debug)]
pub struct Bucket {
    tokens: f64,
    last: Instant,
    refused_in_a_row: u32,
}

impl Bucket {
    pub fn new(limits: &Limits, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(limits.burst),
            last: now,
            refused_in_a_row: 0,
        }
    }

    pub fn take(&mut self, limits: &Limits, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * limits.per_second).min(f64::from(limits.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused_in_a_row = 0;
            return Verdict::Pass;
        }
        self.refused_in_a_row += 1;
        if self.refused_in_a_row > limits.burst {
            Verdict::Abuse
        } else {
            Verdict::Refuse
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const LIMITS: Limits = Limits {
        per_second: 10.0,
        burst: 3,
        max_frame_bytes: 100,
    };

    #[test]
    fn a_burst_passes_then_the_rate_applies() {
        let start = Instant::now();
        let mut bucket = Bucket::new(&LIMITS, start);
        let verdicts: Vec<Verdict> = (0..4).map(|_| bucket.take(&LIMITS, start)).collect();
        assert_eq!(
            verdicts,
            [Verdict::Pass, Verdict::Pass, Verdict::Pass, Verdict::Refuse]
        );
        // 10 a second: one more frame after 100 ms.
        assert_eq!(
            bucket.take(&LIMITS, start + Duration::from_millis(100)),
            Verdict::Pass
        );
        assert_eq!(
            bucket.take(&LIMITS, start + Duration::from_millis(100)),
            Verdict::Refuse
        );
    }

    #[test]
    fn flooding_after_a_bursts_worth_of_refusals_is_abuse() {
        let start = Instant::now();
        let mut bucket = Bucket::new(&LIMITS, start);
        for _ in 0..3 {
            bucket.take(&LIMITS, start);
        }
        let refusals: Vec<Verdict> = (0..4).map(|_| bucket.take(&LIMITS, start)).collect();
        assert_eq!(
            refusals,
            [
                Verdict::Refuse,
                Verdict::Refuse,
                Verdict::Refuse,
                Verdict::Abuse
            ]
        );
    }

    #[test]
    fn a_pass_forgives_earlier_refusals_and_the_bucket_never_overfills() {
        let start = Instant::now();
        let mut bucket = Bucket::new(&LIMITS, start);
        for _ in 0..5 {
            bucket.take(&LIMITS, start);
        }
        let later = start + Duration::from_secs(60);
        let verdicts: Vec<Verdict> = (0..5).map(|_| bucket.take(&LIMITS, later)).collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Pass,
                Verdict::Pass,
                Verdict::Pass,
                Verdict::Refuse,
                Verdict::Refuse
            ]
        );
    }
}
