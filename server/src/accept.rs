//! The accept loop: each TCP connection gets its socket options and is
//! served over HTTP/1 by hyper, with WebSocket upgrades. It stands in for
//! `axum::serve`, which gives hyper no timer and so no deadline for a
//! request's head: a client that sent half a request line would hold its
//! socket and task for good. Each request carries its peer's address as
//! axum's [`ConnectInfo`], as `axum::serve` with connect info would give
//! it: the rate limits and connection caps count by it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::serve::Listener;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{service_fn, Service};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout_at, Instant};
use tokio_util::sync::CancellationToken;

use crate::shutdown::Tasks;
use crate::timeouts::Timeouts;

/// The HTTP connections of one server: the tasks serving them, and the
/// signal that asks them to close once their request in progress is
/// answered.
#[derive(Debug, Default)]
pub struct Connections {
    tasks: Tasks,
    closing: CancellationToken,
}

impl Connections {
    /// Serves `app` on every connection `listener` accepts, until the
    /// future is dropped, which closes the listener; the connections
    /// accepted by then go on until [`Connections::close`] or
    /// [`Connections::cut`].
    pub async fn accept(
        &self,
        mut listener: TcpListener,
        app: Router,
        timeouts: Timeouts,
    ) -> Infallible {
        loop {
            // axum's accept retries by itself, a second after an error
            // such as running out of file descriptors, which closing
            // connections cure.
            let (stream, peer) = Listener::accept(&mut listener).await;
            tune(&stream, timeouts.tcp_keepalive);
            let closing = self.closing.clone();
            self.tasks.spawn(serve_connection(
                stream,
                peer,
                app.clone(),
                timeouts.header,
                closing,
            ));
        }
    }

    /// Lets every connection finish the request it is answering (a
    /// WebSocket upgraded is no longer theirs), closes the idle ones, and
    /// waits for them all until `deadline`; returns how many were left.
    pub async fn close(&self, deadline: Instant) -> usize {
        self.closing.cancel();
        match timeout_at(deadline, self.tasks.ended()).await {
            Ok(()) => 0,
            Err(_) => self.tasks.running(),
        }
    }

    /// Ends the connections left at once.
    pub fn cut(&self) {
        self.tasks.cut();
    }
}

/// Sets the options of an accepted socket: Nagle's algorithm off, since a
/// message's echo and its ack are two small frames and the second must not
/// wait for the client's delayed TCP acknowledgement of the first; and
/// keepalive probes after `keepalive` of silence, then every `keepalive`,
/// so that a peer gone without a word is found out. Either fails only on a
/// socket that is already broken, which the connection then finds out by
/// itself.
fn tune(stream: &TcpStream, keepalive: Option<Duration>) {
    let _ = stream.set_nodelay(true);
    if let Some(period) = keepalive {
        let probes = TcpKeepalive::new().with_time(period).with_interval(period);
        let _ = SockRef::from(stream).set_tcp_keepalive(&probes);
    }
}

/// Serves the requests of one connection from `peer` until it closes,
/// breaks, a request head takes longer than `header_timeout` to arrive, or
/// `closing` asks it to close once the request in progress, if any, is
/// answered.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    header_timeout: Duration,
    closing: CancellationToken,
) {
    let app = TowerToHyperService::new(app);
    let service = service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.call(request)
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = pin!(connection);
    // An error is a client that left, broke HTTP or ran out of time: its
    // connection is over, which is all there is to do about it.
    tokio::select! {
        _ = connection.as_mut() => return,
        () = closing.cancelled() => connection.as_mut().graceful_shutdown(),
    }
    let _ = connection.await;
}
