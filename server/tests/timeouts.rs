//! End-to-end tests of the server's timeouts: request heads, credentials,
//! silence, and TCP keepalive on accepted sockets. The bounds are a second
//! or two, so that the tests run fast; every wait on the server has a
//! generous bound of its own.

mod common;

use common::auth::*;
use common::transport::StreamSession;
use common::*;
use tokio::time::{sleep, sleep_until, Instant};

/// How long a test waits for the server to act on a timeout of a second or
/// two, on a busy machine.
const ACTED_WITHIN: Duration = Duration::from_secs(10);

async fn start_with(timeouts: Timeouts) -> SocketAddr {
    let mut config = config(true, missing_dir(), missing_dir());
    config.timeouts = timeouts;
    start(config).await
}

/// Reads `stream` to its end, which the server must bring within
/// [`ACTED_WITHIN`]; returns what was read. A reset counts as the end.
async fn read_until_cut(stream: &mut TcpStream) -> Vec<u8> {
    let mut read = Vec::new();
    match timeout(ACTED_WITHIN, stream.read_to_end(&mut read)).await {
        Ok(_) => read,
        Err(_) => panic!("still open after {ACTED_WITHIN:?}; read {read:?}"),
    }
}

#[tokio::test]
async fn a_request_head_that_stops_half_way_is_cut_off() {
    let header = Duration::from_secs(1);
    let address = start_with(Timeouts {
        header,
        ..Timeouts::default()
    })
    .await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(b"GET /raw HT").await.expect("write");
    let read = read_until_cut(&mut stream).await;
    assert!(read.is_empty(), "no answer: {read:?}");
    assert!(started.elapsed() >= header, "not before the deadline");
}

#[tokio::test]
async fn a_kept_alive_connection_is_cut_off_when_no_next_request_comes() {
    let address = start_with(Timeouts {
        header: Duration::from_secs(1),
        ..Timeouts::default()
    })
    .await;
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let request = format!("GET /control/stats HTTP/1.1\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let read = read_until_cut(&mut stream).await;
    let answer = String::from_utf8(read).expect("UTF-8 answer");
    assert!(answer.starts_with("HTTP/1.1 200 "), "answered: {answer}");
}

#[tokio::test]
async fn an_unauthenticated_connection_is_closed_with_4401_after_the_deadline() {
    let deadline = Duration::from_secs(1);
    let mut config = config(true, missing_dir(), missing_dir());
    config.jwt = Some(JwtConfig::new("a secret of 16 bytes or more"));
    config.timeouts.auth = deadline;
    let address = start(config).await;
    let token = token(address, "channels=*").await;
    let mut waiting = connect_protocol(address, "waiting").await;
    let mut authenticated = connect_protocol(address, "authenticated").await;
    let authenticated_at = Instant::now();
    send(&mut authenticated, auth(&token)).await;
    // Pings pass before the auth frame, but do not extend the wait.
    send(&mut waiting, Message::text(PING)).await;
    assert_eq!(next(&mut waiting).await, Message::text(PONG));
    expect_auth_close(
        &mut waiting,
        "authentication required: no auth frame in time",
    )
    .await;
    // Well past the deadline it would have had without its token.
    sleep_until(authenticated_at + deadline * 2).await;
    send(&mut authenticated, Message::text(PING)).await;
    assert_eq!(next(&mut authenticated).await, Message::text(PONG));
}

/// The idle timeout of the tests below, and how often the clients that
/// stay send a frame: a tenth of it, so that a busy machine has plenty of
/// room before one is late.
const IDLE: Duration = Duration::from_secs(2);
const BEAT: Duration = Duration::from_millis(200);

async fn start_with_idle_timeout() -> SocketAddr {
    start_with(Timeouts {
        idle: Some(IDLE),
        ..Timeouts::default()
    })
    .await
}

/// The reason of the close of a connection idle for too long.
const IDLE_REASON: &str = "idle: no frame from the client in time";

/// Expects `silent` closed for its silence while `beating` sends `beat`
/// every [`BEAT`] and gets `answer` to each, for two and a half idle
/// timeouts.
async fn only_the_silent_one_is_closed(
    silent: &mut Client,
    beating: &mut Client,
    beat: Message,
    answer: Message,
) {
    let closed = expect_close(silent, 1001, IDLE_REASON);
    let kept = async {
        let until = Instant::now() + IDLE * 5 / 2;
        while Instant::now() < until {
            send(beating, beat.clone()).await;
            assert_eq!(next(beating).await, answer, "still open");
            sleep(BEAT).await;
        }
    };
    tokio::join!(closed, kept);
}

#[tokio::test]
async fn a_silent_connection_is_closed_with_1001_while_one_sending_pings_stays() {
    let address = start_with_idle_timeout().await;
    let mut silent = connect_protocol(address, "silent").await;
    let mut pinging = connect_protocol(address, "pinging").await;
    let (ping, pong) = (Message::text(PING), Message::text(PONG));
    only_the_silent_one_is_closed(&mut silent, &mut pinging, ping, pong).await;
}

#[tokio::test]
async fn on_raw_websocket_pings_keep_a_connection_open_too() {
    let address = start_with_idle_timeout().await;
    let mut silent = connect(address, "silent").await;
    let mut pinging = connect(address, "pinging").await;
    let (ping, pong) = (Message::Ping("beat".into()), Message::Pong("beat".into()));
    only_the_silent_one_is_closed(&mut silent, &mut pinging, ping, pong).await;
}

#[tokio::test]
async fn a_silent_http_session_is_closed_with_1001() {
    let address = start_with_idle_timeout().await;
    let mut session = StreamSession::open(address, "tag=silent").await;
    let close = timeout(ACTED_WITHIN, session.expect_close()).await;
    let close = close.expect("closed in time");
    assert_eq!(close, json!({ "code": 1001, "reason": IDLE_REASON }));
}

/// Starts a server with `tcp_keepalive`, opens a TCP connection to it, and
/// returns the `tr` (timer) and `tm->when` fields of the server's side of
/// that connection in /proc/net/tcp, where Linux shows the timers of its
/// sockets (as `ss -o` does): `tr` is 2 while the keepalive timer runs,
/// and `tm->when` the clock ticks left on it.
#[cfg(target_os = "linux")]
async fn accepted_socket_timer(tcp_keepalive: Option<Duration>) -> (u32, u64) {
    let address = start_with(Timeouts {
        tcp_keepalive,
        ..Timeouts::default()
    })
    .await;
    let stream = TcpStream::connect(address).await.expect("connect");
    // Connections are accepted in turn: once a later one is served, the
    // server has accepted this one and set its options.
    let mut served = connect(address, "served").await;
    send(&mut served, Message::text(PING)).await;
    assert_eq!(next(&mut served).await, Message::text(PONG));
    let client = stream.local_addr().expect("local address");
    // Addresses are HEX_IP:HEX_PORT; both ends are 127.0.0.1.
    let ends = [address, client].map(|end| format!(":{:04X}", end.port()));
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let fields = table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| {
            fields.len() > 5 && fields[1].ends_with(&ends[0]) && fields[2].ends_with(&ends[1])
        })
        .expect("the accepted socket");
    let (timer, when) = fields[5].split_once(':').expect("tr:tm->when");
    let timer = u32::from_str_radix(timer, 16).expect("a hexadecimal timer");
    let when = u64::from_str_radix(when, 16).expect("hexadecimal ticks");
    (timer, when)
}

/// An accepted socket is the server's alone: what a client sees of its
/// keepalive is probes, after seconds at the least. Linux shows the timer
/// in /proc/net/tcp, which is where this test looks; elsewhere it is
/// skipped.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn accepted_sockets_have_tcp_keepalive_unless_it_is_off() {
    const NO_TIMER: u32 = 0;
    const KEEPALIVE_TIMER: u32 = 2;
    let keepalive = Duration::from_secs(7);
    let (timer, ticks_left) = accepted_socket_timer(Some(keepalive)).await;
    assert_eq!(timer, KEEPALIVE_TIMER);
    // Clock ticks are 100 a second wherever Linux runs; the system's
    // default of two hours would leave far more.
    assert!(ticks_left <= keepalive.as_secs() * 100, "{ticks_left}");
    assert_eq!(accepted_socket_timer(None).await.0, NO_TIMER);
}
