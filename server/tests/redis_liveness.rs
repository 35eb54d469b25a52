//! The liveness check of the Redis pub/sub link (`--redis-liveness-secs`):
//! a link that goes silent without breaking (a blackholed TCP path, made
//! here by a proxy that stops forwarding and closes nothing) is found out
//! within three checks and handled as a broken one: the subscribers are
//! closed with 1012 and the instance subscribes again, once the path
//! carries packets again. A quiet but healthy link is kept.

mod common;

use common::proxy::Proxy;
use common::redis::{listening_again, RedisServer};
use common::*;

const LIVENESS: Duration = Duration::from_secs(1);

/// The silence after which the link is lost (two checks), plus one check
/// for the next check to see it, plus room for a busy machine.
const NOTICED_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_silent_redis_link_is_found_out_closes_subscribers_and_is_made_again() {
    let redis = RedisServer::start();
    let proxy = Proxy::start(redis.address()).await;
    let mut config = config(true, missing_dir(), missing_dir());
    config.redis = Some(proxy.url());
    config.redis_liveness = LIVENESS;
    let address = start(config).await;
    let mut subscriber = connect_protocol(address, "l").await;
    let epoch = subscribe(&mut subscriber, "quiet", None, 0).await;

    // Three checks without a message: the pings keep the link.
    if let Ok(frame) = timeout(LIVENESS * 3, subscriber.next()).await {
        panic!("a quiet link is kept, but got {frame:?}");
    }

    proxy.pause();
    let lost = match timeout(NOTICED_WITHIN, subscriber.next()).await {
        Ok(Some(Ok(Message::Close(Some(close))))) => (u16::from(close.code), close.reason),
        other => panic!("expected the close 1012 within {NOTICED_WITHIN:?}, got {other:?}"),
    };
    assert_eq!(lost.0, 1012, "it may have missed live messages");
    assert_eq!(lost.1.as_str(), "channel broker link lost");

    proxy.resume();
    listening_again(address).await;
    publish(address, "quiet", "1").await;
    let mut back = connect_protocol(address, "l").await;
    resume(&mut back, "quiet", 0, &epoch, 1).await;
    assert_eq!(next_pub(&mut back, "quiet").await, (1, "1".to_owned()));
    publish(address, "quiet", "2").await;
    assert_eq!(
        next_pub(&mut back, "quiet").await,
        (2, "2".to_owned()),
        "live messages flow again"
    );
}
