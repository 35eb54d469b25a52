//! A TCP proxy on 127.0.0.1 between a server and its Redis, which can be
//! told to stop forwarding without closing a socket: what a blackholed
//! network path does (no FIN, no RST, nothing), which only a liveness
//! check finds out. What it reads meanwhile is held, in order, and
//! forwarded once it is told to go on; a test can wait until a given
//! command is held (see [`Proxy::holds`]).

use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::*;

pub struct Proxy {
    address: SocketAddr,
    forwarding: watch::Sender<bool>,
    /// What was read while not forwarding, since the last pause.
    held: Arc<Mutex<Vec<u8>>>,
    accepting: JoinHandle<()>,
}

impl Proxy {
    /// Forwards every connection made to it to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        let forwarding = watch::Sender::new(true);
        let held = Arc::new(Mutex::new(Vec::new()));
        let accepting = tokio::spawn({
            let forwarding = forwarding.clone();
            let held = Arc::clone(&held);
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(upstream) = TcpStream::connect(target).await else {
                        continue;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (upstream_read, upstream_write) = upstream.into_split();
                    for (from, to) in [(client_read, upstream_write), (upstream_read, client_write)]
                    {
                        tokio::spawn(pump(from, to, forwarding.subscribe(), Arc::clone(&held)));
                    }
                }
            }
        });
        Proxy {
            address,
            forwarding,
            held,
            accepting,
        }
    }

    /// The proxy's address as a Redis URL.
    pub fn url(&self) -> String {
        format!("redis://{}", self.address)
    }

    /// Stops forwarding, in both directions, on every connection; the
    /// sockets stay open.
    pub fn pause(&self) {
        self.held().clear();
        self.forwarding.send_replace(false);
    }

    /// Forwards again, what was held first.
    pub fn resume(&self) {
        self.forwarding.send_replace(true);
    }

    /// Waits until the bytes held since the pause contain `needle`.
    pub async fn holds(&self, needle: &str) {
        within(&format!("the proxy to hold {needle:?}"), async {
            while !self.has_held(needle.as_bytes()) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    }

    fn has_held(&self, needle: &[u8]) -> bool {
        self.held().windows(needle.len()).any(|part| part == needle)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Copies `from` to `to` while forwarding; while not, what it reads is
/// held (and noted in `held`) until forwarding again. Ends with either
/// side.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut forwarding: watch::Receiver<bool>,
    held: Arc<Mutex<Vec<u8>>>,
) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if !*forwarding.borrow() {
            let mut held = held.lock().unwrap_or_else(PoisonError::into_inner);
            held.extend_from_slice(&buffer[..read]);
        }
        if forwarding.wait_for(|forwarding| *forwarding).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
