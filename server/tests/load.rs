//! The load generator's core (examples/load) against a server in this
//! process, at CI size: 200 subscribers on 4 channels, 100 publications a
//! second for 3 s. Every publication must reach every subscriber of its
//! channel once and in order, and every one must be acknowledged.

mod common;

// The generator's modules, shared with the example rather than copied;
// the test reads only part of what they measure.
#[allow(dead_code)]
#[path = "../examples/load/fleet.rs"]
mod fleet;
#[allow(dead_code)]
#[path = "../examples/load/publisher.rs"]
mod publisher;
#[allow(dead_code)]
#[path = "../examples/load/wire.rs"]
mod wire;

use std::time::Duration;

use common::{config, missing_dir, start};
use fleet::Fleet;
use wire::{Channels, Clock, Endpoint};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_publication_reaches_every_subscriber_once() {
    let address = start(config(false, missing_dir(), missing_dir())).await;
    let endpoints = [Endpoint {
        address,
        path: "/ws".to_owned(),
    }];
    let channels = Channels {
        run: "smoke".to_owned(),
        count: 4,
    };
    let clock = Clock::start();
    let fleet = Fleet::open(&endpoints, 200, &channels, 2_000, false, clock).await;
    assert_eq!(fleet.held(), 200);

    let published =
        publisher::publish(&endpoints[0], &channels, 100, Duration::from_secs(3), clock)
            .await
            .expect("the publisher");
    assert_eq!(published.sent, 300);
    assert_eq!(published.per_channel, [75; 4]);
    assert_eq!((published.acked, published.refused), (300, 0));

    fleet
        .drain(&published.per_channel, Duration::from_secs(5))
        .await;
    let deliveries = fleet.finish(&published.per_channel).await;
    assert_eq!(deliveries.failures, Vec::<String>::new());
    assert_eq!(deliveries.delivered, 300 * 50);
    assert_eq!((deliveries.missing, deliveries.out_of_order), (0, 0));
    assert_eq!(deliveries.latencies_us.len(), 300 * 50);
}
