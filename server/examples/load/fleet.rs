//! The subscribers: connections opened at a bounded rate, spread over the
//! servers, each subscribed to one channel, each checking that it gets
//! every message of its channel once and in order, and timing them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use crate::wire::{connect, Channels, Clock, Endpoint, Socket};

/// What one subscriber saw.
#[derive(Debug, Default)]
struct Tally {
    channel: usize,
    /// It was subscribed when publishing started.
    subscribed: bool,
    delivered: u64,
    /// Messages whose offset was not the one after the previous.
    out_of_order: u64,
    latencies_us: Vec<u32>,
    /// When the last message arrived, on the run's clock.
    last_us: u64,
    /// Why it ended before it was told to.
    failure: Option<String>,
}

/// What all subscribers saw, once publishing is over.
#[derive(Debug, Default)]
pub struct Deliveries {
    pub delivered: u64,
    /// Deliveries the published messages called for that never came.
    pub missing: u64,
    pub out_of_order: u64,
    /// Publish-to-delivery times of every delivery, sorted, in µs.
    pub latencies_us: Vec<u32>,
    pub last_us: u64,
    /// Why connections failed (to open, subscribe, or stay open).
    pub failures: Vec<String>,
}

/// The open subscribers of a run.
pub struct Fleet {
    tasks: Vec<JoinHandle<Tally>>,
    stop: watch::Sender<bool>,
    delivered: Arc<AtomicU64>,
    /// Live subscribers of each channel.
    subscribers: Vec<u64>,
    /// Why connections failed to open or subscribe.
    open_failures: Vec<String>,
}

impl Fleet {
    /// Opens `connections` subscribers, `ramp` a second, connection `i` to
    /// `endpoints[i % endpoints.len()]` and channel `i % channels.count`,
    /// offering permessage-deflate if `deflate`, and returns once each is
    /// subscribed or has failed.
    pub async fn open(
        endpoints: &[Endpoint],
        connections: usize,
        channels: &Channels,
        ramp: u32,
        deflate: bool,
        clock: Clock,
    ) -> Fleet {
        let (stop, stopped) = watch::channel(false);
        let (ready, mut readiness) = mpsc::unbounded_channel();
        let delivered = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(connections);
        for index in 0..connections {
            sleep_until(start + Duration::from_secs_f64(index as f64 / f64::from(ramp))).await;
            let subscriber = Subscriber {
                channel: index % channels.count,
                name: channels.name(index % channels.count),
                clock,
                deflate,
                delivered: Arc::clone(&delivered),
            };
            let endpoint = endpoints[index % endpoints.len()].clone();
            let client = format!("load-{}-{index}", channels.run);
            let (ready, stopped) = (ready.clone(), stopped.clone());
            tasks.push(tokio::spawn(async move {
                subscriber.run(&endpoint, &client, ready, stopped).await
            }));
        }
        drop(ready);
        let mut subscribers = vec![0; channels.count];
        let mut open_failures = Vec::new();
        // Every task answers once, within its steps' time limits.
        while let Some((channel, outcome)) = readiness.recv().await {
            match outcome {
                Ok(()) => subscribers[channel] += 1,
                Err(why) => open_failures.push(why),
            }
        }
        Fleet {
            tasks,
            stop,
            delivered,
            subscribers,
            open_failures,
        }
    }

    /// Subscribers that are subscribed.
    pub fn held(&self) -> u64 {
        self.subscribers.iter().sum()
    }

    /// Waits until every subscriber got the messages `published` (counted
    /// per channel), or `within` has passed.
    pub async fn drain(&self, published: &[u64], within: Duration) {
        let expected: u64 = published
            .iter()
            .zip(&self.subscribers)
            .map(|(messages, subscribers)| messages * subscribers)
            .sum();
        let deadline = Instant::now() + within;
        while self.delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Closes every subscriber and sums up what they saw of `published`.
    pub async fn finish(self, published: &[u64]) -> Deliveries {
        let _ = self.stop.send(true);
        let mut all = Deliveries {
            failures: self.open_failures,
            ..Deliveries::default()
        };
        for task in self.tasks {
            let tally = match task.await {
                Ok(tally) => tally,
                Err(error) => {
                    all.failures
                        .push(format!("a subscriber's task failed: {error}"));
                    continue;
                }
            };
            all.delivered += tally.delivered;
            if tally.subscribed {
                let wanted = published.get(tally.channel).copied().unwrap_or(0);
                all.missing += wanted.saturating_sub(tally.delivered);
            }
            all.out_of_order += tally.out_of_order;
            all.latencies_us.extend_from_slice(&tally.latencies_us);
            all.last_us = all.last_us.max(tally.last_us);
            all.failures.extend(tally.failure);
        }
        all.latencies_us.sort_unstable();
        all
    }
}

/// One subscriber's part of the run.
struct Subscriber {
    channel: usize,
    name: String,
    clock: Clock,
    /// Offer permessage-deflate.
    deflate: bool,
    /// Deliveries over all subscribers, watched to know when all arrived.
    delivered: Arc<AtomicU64>,
}

/// The frames a subscriber reads: `pub` frames carry the publisher's
/// stamp in their data.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    offset: Option<u64>,
    data: Option<Stamp>,
}

#[derive(Deserialize)]
struct Stamp {
    t: u64,
}

impl Subscriber {
    /// Opens, subscribes and says so on `ready`, then takes the channel's
    /// messages until `stopped`.
    async fn run(
        self,
        endpoint: &Endpoint,
        client: &str,
        ready: mpsc::UnboundedSender<(usize, Result<(), String>)>,
        mut stopped: watch::Receiver<bool>,
    ) -> Tally {
        let mut tally = Tally {
            channel: self.channel,
            ..Tally::default()
        };
        let (mut socket, mut offset) = match self.subscribe(endpoint, client).await {
            Ok(subscribed) => subscribed,
            Err(why) => {
                let _ = ready.send((self.channel, Err(why)));
                return tally;
            }
        };
        tally.subscribed = true;
        let _ = ready.send((self.channel, Ok(())));
        drop(ready);
        loop {
            let frame = tokio::select! {
                biased;
                _ = stopped.changed() => break,
                frame = socket.next() => frame,
            };
            let text = match frame {
                Ok(Some(text)) => text,
                Ok(None) => {
                    tally.failure = Some("closed by the server".to_owned());
                    break;
                }
                Err(why) => {
                    tally.failure = Some(why);
                    break;
                }
            };
            let now = self.clock.micros();
            match serde_json::from_str::<Frame>(&text) {
                Ok(Frame {
                    kind: "pub",
                    offset: Some(got),
                    data: Some(stamp),
                }) => {
                    tally.out_of_order += u64::from(got != offset + 1);
                    offset = got;
                    tally.delivered += 1;
                    tally.last_us = now;
                    let latency = now.saturating_sub(stamp.t);
                    tally
                        .latencies_us
                        .push(u32::try_from(latency).unwrap_or(u32::MAX));
                    self.delivered.fetch_add(1, Ordering::Relaxed);
                }
                _ => {
                    tally.failure = Some(format!("unexpected frame: {text}"));
                    break;
                }
            }
        }
        // Closed now rather than when the process ends, so that the servers
        // see the connections go while their CPU is still read.
        socket.close().await;
        tally
    }

    /// Opens the connection and subscribes; returns it with the channel's
    /// newest offset, after which its messages are counted.
    async fn subscribe(&self, endpoint: &Endpoint, client: &str) -> Result<(Socket, u64), String> {
        let mut socket = connect(endpoint, client, self.deflate).await?;
        let frame = format!(r#"{{"type":"subscribe","channel":"{}"}}"#, self.name);
        socket.send(frame).await?;
        let answer = socket.next_within_step().await?;
        let subscribed: serde_json::Value =
            serde_json::from_str(&answer).map_err(|_| format!("subscribe: not JSON: {answer}"))?;
        match (subscribed["type"].as_str(), subscribed["offset"].as_u64()) {
            (Some("subscribed"), Some(offset)) => Ok((socket, offset)),
            _ => Err(format!("subscribe: answered {answer}")),
        }
    }
}
