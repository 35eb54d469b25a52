//! A histogram of durations kept in atomics, so that the connections
//! recording into it at once never wait for each other (the crate's own
//! histogram locks a mutex per observation).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// The buckets' upper bounds, in seconds: from 100 µs (a write on an idle
/// server) to 10 s (a subscriber far behind), about three a decade.
const BOUNDS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Durations counted per bucket (each bucket apart, the last one past every
/// bound), and their sum; clones count into the same histogram.
#[derive(Debug, Clone, Default)]
pub struct Latency(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    buckets: [AtomicU64; BOUNDS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Latency {
    pub fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        let bucket = BOUNDS.partition_point(|bound| *bound < seconds);
        self.0.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.0.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl TypedMetric for Latency {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Latency {
    /// The count is the buckets' total, so that the two agree even while
    /// durations are recorded during the scrape.
    fn encode(&self, mut encoder: MetricEncoder) -> std::fmt::Result {
        let bounds = BOUNDS.iter().copied().chain([f64::INFINITY]);
        let buckets: Vec<(f64, u64)> = bounds
            .zip(&self.0.buckets)
            .map(|(bound, count)| (bound, count.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, count)| count).sum();
        let sum = Duration::from_nanos(self.0.sum_nanos.load(Ordering::Relaxed)).as_secs_f64();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;
    use prometheus_client::registry::{Registry, Unit};

    #[test]
    fn durations_fall_in_cumulative_buckets() {
        let latency = Latency::default();
        let mut registry = Registry::default();
        registry.register_with_unit("write", "help", Unit::Seconds, latency.clone());
        for micros in [50, 100, 101, 3_000, 20_000_000] {
            latency.observe(Duration::from_micros(micros));
        }
        let mut text = String::new();
        encode(&mut text, &registry).expect("encoded");
        for line in [
            "write_seconds_count 5",
            "write_seconds_sum 20.003251",
            r#"write_seconds_bucket{le="0.0001"} 2"#,
            r#"write_seconds_bucket{le="0.00025"} 3"#,
            r#"write_seconds_bucket{le="0.0025"} 3"#,
            r#"write_seconds_bucket{le="0.005"} 4"#,
            r#"write_seconds_bucket{le="10.0"} 4"#,
            r#"write_seconds_bucket{le="+Inf"} 5"#,
        ] {
            assert!(text.lines().any(|got| got == line), "{line} in\n{text}");
        }
    }
}
