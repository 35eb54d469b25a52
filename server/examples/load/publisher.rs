//! The publisher: one protocol connection that publishes at a set rate,
//! round-robin over the channels, as `msg` frames with a `publish` payload
//! (what a tabwire client's `publish()` sends), each stamped with the time
//! it was handed to the socket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use tokio::time::{interval, timeout, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use crate::wire::{connect, Channels, Clock, Endpoint, PlainSocket, Socket};

/// What was published.
#[derive(Debug, Default)]
pub struct Published {
    /// Publications sent to each channel.
    pub per_channel: Vec<u64>,
    pub sent: u64,
    pub acked: u64,
    /// Frames other than acks (errors, most likely `rate_limited`).
    pub refused: u64,
    /// How long the sending took, which exceeds the planned time when the
    /// socket could not take the frames as fast as planned.
    pub sending: Duration,
    /// When the first publication was stamped, on the run's clock.
    pub first_us: u64,
}

/// Filler that brings a publication's data to about 64 bytes of JSON, the
/// size the channels benchmark uses.
const PAD: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/// Publishes `rate` messages a second for `seconds` through `endpoint`,
/// then waits (at most 10 s) for the acks of all of them.
pub async fn publish(
    endpoint: &Endpoint,
    channels: &Channels,
    rate: u32,
    seconds: Duration,
    clock: Clock,
) -> Result<Published, String> {
    let client = format!("load-{}-publisher", channels.run);
    let Socket::Plain(socket) = connect(endpoint, &client, false).await? else {
        return Err("the publisher's connection is not the plain one asked for".to_owned());
    };
    let (mut sink, stream) = (*socket).split();
    let answers = Arc::new(Answers::default());
    let reader = tokio::spawn({
        let answers = Arc::clone(&answers);
        async move { answers.count(stream).await }
    });
    let names: Vec<String> = (0..channels.count)
        .map(|index| channels.name(index))
        .collect();
    let mut published = Published {
        per_channel: vec![0; channels.count],
        first_us: clock.micros(),
        ..Published::default()
    };
    let total = (f64::from(rate) * seconds.as_secs_f64()).round() as u64;
    let start = Instant::now();
    // A tick a millisecond sends what is due by then: the rate holds
    // whatever the timer's resolution, in bursts of rate/1000.
    let mut ticks = interval(Duration::from_millis(1));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    while published.sent < total {
        ticks.tick().await;
        let due = (start.elapsed().as_secs_f64() * f64::from(rate)) as u64;
        while published.sent < due.min(total) {
            let index = published.sent;
            let channel = (index % channels.count as u64) as usize;
            let frame = format!(
                r#"{{"type":"msg","id":"p-{index}","publish":{{"channel":"{}","data":{{"t":{},"k":{index},"pad":"{PAD}"}}}}}}"#,
                names[channel],
                clock.micros()
            );
            sink.feed(Message::text(frame))
                .await
                .map_err(|error| format!("publish: {error}"))?;
            published.per_channel[channel] += 1;
            published.sent += 1;
        }
        sink.flush()
            .await
            .map_err(|error| format!("publish: {error}"))?;
    }
    published.sending = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(10);
    while answers.total() < published.sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    reader.abort();
    published.acked = answers.acked.load(Ordering::Relaxed);
    published.refused = answers.refused.load(Ordering::Relaxed);
    let _ = timeout(Duration::from_secs(1), sink.close()).await;
    Ok(published)
}

/// The server's answers to the publications, counted as they come.
#[derive(Debug, Default)]
struct Answers {
    acked: AtomicU64,
    refused: AtomicU64,
}

impl Answers {
    fn total(&self) -> u64 {
        self.acked.load(Ordering::Relaxed) + self.refused.load(Ordering::Relaxed)
    }

    /// Counts the frames of `stream` until it ends: acks, and anything else
    /// as a refusal.
    async fn count(&self, mut stream: SplitStream<PlainSocket>) {
        while let Some(Ok(frame)) = stream.next().await {
            let Message::Text(text) = frame else {
                continue;
            };
            let counter = if text.as_str().starts_with(r#"{"type":"ack""#) {
                &self.acked
            } else {
                &self.refused
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}
