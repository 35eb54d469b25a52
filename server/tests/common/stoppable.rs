//! A server a test shuts down gracefully, as SIGTERM would
//! (`serve_until`), and times.

use std::time::Instant;

use tabwire_server::serve_until;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::*;

/// Longest a test waits for a shutdown to end, whatever its bound: a
/// server that does not stop fails the test rather than hanging it.
const STOPPED_WITHIN: Duration = Duration::from_secs(60);

pub struct Stoppable {
    pub address: SocketAddr,
    /// The shutdown's bound, as configured.
    pub bound: Duration,
    signal: Option<oneshot::Sender<()>>,
    served: JoinHandle<std::io::Result<()>>,
    signalled_at: Option<Instant>,
}

impl Stoppable {
    /// Starts a server on a free loopback port.
    pub async fn start(config: ServerConfig) -> Stoppable {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        let bound = config.timeouts.shutdown;
        let (signal, signalled) = oneshot::channel::<()>();
        let served = tokio::spawn(serve_until(config, listener, async {
            // A dropped sender stops the server too.
            let _ = signalled.await;
        }));
        Stoppable {
            address,
            bound,
            signal: Some(signal),
            served,
            signalled_at: None,
        }
    }

    /// Signals the shutdown, as SIGTERM does, without waiting for it.
    pub fn signal(&mut self) {
        if let Some(signal) = self.signal.take() {
            self.signalled_at = Some(Instant::now());
            let _ = signal.send(());
        }
    }

    /// Signals the shutdown if not done yet, and waits for the server to
    /// return; returns how long that took from the signal.
    pub async fn stop(mut self) -> Duration {
        self.signal();
        let served = timeout(STOPPED_WITHIN, &mut self.served)
            .await
            .expect("the server to stop");
        served.expect("the server task").expect("a clean stop");
        self.signalled_at.expect("signalled").elapsed()
    }
}

/// The close of a graceful shutdown (1012 `server restart`) must come
/// next; the client answers it, and the server then ends the connection.
pub async fn expect_restart(client: &mut Client) {
    expect_close(client, 1012, "server restart").await;
    // Reading on sends the client's answer to the close.
    if let Some(after) = within("the end after the close", client.next()).await {
        panic!("expected the end of the connection, got {after:?}");
    }
}
