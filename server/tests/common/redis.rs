//! A real Redis (Debian's `redis-server`) for the tests that run several
//! server instances: started on a free loopback port, without persistence,
//! restarted empty on the same port on demand (as if it lost its data),
//! and killed when dropped.

use std::net::{TcpListener as StdListener, TcpStream as StdStream};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Instant;

use super::*;

pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one and waits until it accepts connections. Fails the test
    /// if `redis-server` is missing: `scripts/setup.sh` installs it.
    pub fn start() -> Self {
        let port = {
            let probe = StdListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("its address").port()
        };
        let mut redis = RedisServer { port, child: None };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Kills it (as a crash would: no shutdown, no saved data).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot start redis-server ({error}): run scripts/setup.sh, which installs Debian's redis-server")
            });
        self.child = Some(child);
        let address = self.address();
        let deadline = Instant::now() + Duration::from_secs(5);
        while StdStream::connect(address).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {address}"
            );
            sleep(Duration::from_millis(10));
        }
    }
}

impl RedisServer {
    /// Runs one command (`args[0]` and its arguments) and returns the
    /// answer: a test's way to look at the data, or to break it.
    pub async fn command(&self, args: &[&str]) -> ::redis::Value {
        let (name, rest) = args.split_first().expect("a command");
        let client = ::redis::Client::open(self.url()).expect("a Redis URL");
        let mut connection = client
            .get_multiplexed_async_connection()
            .await
            .expect("a connection to Redis");
        let mut command = ::redis::cmd(name);
        for arg in rest {
            command.arg(*arg);
        }
        command
            .query_async(&mut connection)
            .await
            .unwrap_or_else(|error| panic!("{args:?}: {error}"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until the instance at `address` listens to Redis again (it takes
/// subscriptions then), probing with a channel of its own.
pub async fn listening_again(address: SocketAddr) {
    within("the instance to listen again", async {
        loop {
            let mut client = connect_protocol(address, "probe").await;
            send(
                &mut client,
                Message::text(r#"{"type":"subscribe","channel":"probe"}"#),
            )
            .await;
            if let Message::Text(_) = next(&mut client).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// The code of the close frame that must come next.
pub async fn next_close_code(client: &mut Client) -> u16 {
    match next(client).await {
        Message::Close(Some(frame)) => frame.code.into(),
        other => panic!("expected a close frame, got {other:?}"),
    }
}
