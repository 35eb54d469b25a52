//! The text of `--help`: every option with its default.

pub const USAGE: &str = "\
Usage: tabwire-server [OPTIONS]

Reference WebSocket server for tabwire, on one port:
  /ws        the tabwire protocol, whatever subprotocol the client offers
             (tabwire.v1 is selected when offered): the server's hello
             first, then acknowledged messages deduplicated per client,
             and channels with history
  /raw       raw mode: {\"type\":\"ping\"} gets {\"type\":\"pong\"}, anything else
             is echoed; no hello, no subprotocol
  /metrics   Prometheus metrics, with --metrics
  /control/  an optional test control API
  /          static files

Options:
  --host ADDR            IP address to bind (default 127.0.0.1; `localhost`
                         means 127.0.0.1)
  --port N               port to bind (default 8080; 0 picks a free port)
  --www DIR              directory served at / (default www)
  --pkg DIR              directory served at /pkg/ (default pkg)
  --test-control         mount the /control/ API (loopback hosts only)
  --exit-after-secs N    exit by itself after N seconds (N >= 1)
  --rate N               messages (data frames) a second one user may send
                         over all its connections (default 5000); a user is
                         its token's sub, else the client id of its hello,
                         else the connection. A frame over any rate is not
                         handled: the connection closes with 4429 and the
                         wait (see docs/PROTOCOL.md, Limits)
  --burst N              messages a user may send at once above the rate
                         (default 20000: a backlog of 10,000 passes)
  --bytes-rate N         bytes a second one user may send (default 16777216)
  --bytes-burst N        bytes it may send at once above that (default
                         67108864; at least --max-frame-bytes)
  --ip-rate N            messages a second one IP address may send over all
                         its connections (default 20000; IPv6 counts by /64)
  --ip-burst N           messages it may send at once (default 100000)
  --ip-bytes-rate N      bytes a second one IP address may send (default
                         67108864)
  --ip-bytes-burst N     bytes it may send at once (default 268435456; at
                         least --max-frame-bytes)
  --max-frame-bytes N    largest message a client may send, counted after
                         decompression (default 1048576); a larger one
                         closes the connection (1009) once about this much
                         of it was read, compressed or not. The body of an
                         HTTP send holds at most 16 of them (413 past it)
  --max-connections-per-ip N
                         connections (WebSockets and HTTP sessions) one IP
                         address may hold at once (default 256); past it an
                         upgrade or session open gets HTTP 429, Retry-After 5
  --max-connections N    connections the server holds at once (default
                         100000); past it, HTTP 503, Retry-After 5
  --trust-forwarded-for  take a client's address from the last entry of
                         X-Forwarded-For rather than the TCP peer: only
                         behind a proxy that sets it (clients can send any)
  --send-queue-messages N
                         channel messages queued for a connection whose
                         client reads slower than they come (default 4096);
                         one more closes it as a slow consumer (3008), and
                         the client resumes from its offsets
  --send-queue-bytes N   bytes of those messages (default 4194304); past
                         them, the same
  --write-timeout-secs N longest a write may wait for the client to read
                         (default 10); past it, the same
  --max-subscriptions N  channels a connection may listen to at once
                         (default 1000); one more is refused
                         (too_many_subscriptions), the connection goes on
  --max-channel-bytes N  longest channel name taken, 1 to 200 (default
                         200); a longer one is refused (channel_too_long)
  --no-compression       never agree to permessage-deflate (default: agreed
                         with clients that offer it, as browsers do)
  --allow-origin ORIGIN  pages of ORIGIN (https://app.example) may connect,
                         and use the control API, besides those this server
                         serves (repeatable; '*': every origin, for
                         development, refused with --test-control). Default:
                         only pages of the server's own origin (the Host
                         header); programs that send no Origin are let in
  --jwt-secret-file PATH /ws clients must authenticate with a JWT (HS256)
                         signed with the secret in PATH (trailing newlines
                         dropped; 16 bytes or more); see docs/PROTOCOL.md
  --jwt-secret SECRET    the same with SECRET itself, which other users of
                         the machine can read (ps, /proc): prefer the file
                         or TABWIRE_JWT_SECRET. Give the secret one way only
  --jwt-leeway-secs N    how far a token's nbf and iat may be ahead of this
                         server's clock (default 30; 0 to 3600); exp has
                         none
  --jwt-audience AUD     tokens must name AUD in their aud claim (a string
                         or an array); default: aud not checked
  --jwt-issuer ISS       tokens' iss claim must be ISS; default: not checked
  --jwt-allow-no-exp     take tokens without exp, which never expire: for
                         development only (default: refused with 4401)
  --header-timeout-secs N
                         time a client has to send a request's head (request
                         line and headers, a WebSocket handshake's included;
                         on a kept-alive connection, counted from the
                         previous answer) before it is cut off (default 10)
  --auth-timeout-secs N  with a JWT secret: time a /ws client whose URL has
                         no token has to send a valid auth frame; past it
                         the connection is closed with 4401 (default 10)
  --idle-timeout-secs N  close a connection (/ws, its HTTP sessions, /raw)
                         from which no frame came for N seconds, pings
                         included, with 1001 (default 75: three of the
                         client's default 25 s heartbeats; 0: never)
  --tcp-keepalive-secs N TCP keepalive probes after N seconds of silence,
                         then every N seconds, to find peers gone without a
                         word (default 30; 0: off; at most 32767)
  --shutdown-secs N      on SIGTERM or Ctrl-C, shut down gracefully within N
                         seconds (default 10): refuse new connections and
                         HTTP sessions with 503, let each connection finish
                         the frame it is handling, then close it with 1012
                         (server restart), its client coming back with
                         backoff; past N seconds, cut what is left and exit
  --history N            messages kept per channel for clients that were
                         away (default 1000)
  --history-secs N       how long they are kept, in seconds (default 600);
                         a channel kept in memory that nobody publishes to
                         or subscribes to for that long is forgotten (its
                         next history has a new epoch)
  --max-channels N       most channels kept in memory at once (default
                         100000); a subscribe or publish that would start
                         one more closes its connection with 1013 (try
                         again later) until idle ones are forgotten
  --dedupe-ids N         message ids remembered per client (its token's sub,
                         else the client id of its hello, else the
                         connection), to handle a resent message once
                         (default 10000)
  --dedupe-secs N        how long an id is remembered, in seconds (default
                         86400, the client's default queue.ttlMs)
  --dedupe-total N       ids remembered over all clients (default 1000000);
                         past it the least recently active client's oldest
                         ids are forgotten first
  --redis URL            keep channels in Redis (redis://HOST:PORT[/DB]),
                         shared by every server started with the same URL;
                         default: in this process
  --redis-liveness-secs N
                         with --redis: PING each Redis subscription every N
                         seconds; one silent for two of them is lost like a
                         broken one (subscribers closed with 1012, then
                         subscribed again) (default 5)
  --demo                 publish the demo dashboard's streams (fund NAVs,
                         approval requests, risk alerts); with several
                         instances on one --redis, on one of them only
  --metrics              serve GET /metrics: Prometheus metrics (connections,
                         frames, acks, closes, Redis link, publication
                         latency), listed in docs/OPERATIONS.md; counts only,
                         no tags, channels or clients (default: off, as
                         anyone who reaches the port could read them)
  --log-level LEVEL      error, warn, info, debug or trace (default info:
                         the start and warnings; debug adds connections and
                         control actions); logs go to stderr
  --log-format FORMAT    text or json, one object a line (default text)
  --verbose              the same as --log-level debug
  -h, --help             print this help

Environment:
  TABWIRE_JWT_SECRET     the JWT secret, instead of --jwt-secret-file or
                         --jwt-secret (its value as it is)

On start, prints one line to stdout:
  tabwire-server listening on http://HOST:PORT
";

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::jwt::{self, ALLOW_NO_EXP, SECRET_ENV};
    use super::super::limits::{self, TRUST_FORWARDED_FOR};
    use super::super::logs;
    use super::super::timeouts;
    use super::*;
    use tabwire_server::{ServerConfig, Timeouts, DEFAULT_LEEWAY_SECS};

    #[test]
    fn the_help_names_both_endpoints_and_every_option() {
        let words = [
            "/ws",
            "/raw",
            "hello",
            "--dedupe-ids",
            "--dedupe-secs",
            "--dedupe-total",
            "--metrics",
            logs::VERBOSE,
            "--max-channels",
            "--send-queue-messages",
            "--send-queue-bytes",
            "--write-timeout-secs",
            "--max-subscriptions",
            "--max-channel-bytes",
            "--redis-liveness-secs",
            ALLOW_NO_EXP,
            SECRET_ENV,
            TRUST_FORWARDED_FOR,
        ];
        for word in words
            .into_iter()
            .chain(jwt::VALUED)
            .chain(limits::VALUED)
            .chain(logs::VALUED)
            .chain(timeouts::VALUED)
        {
            assert!(USAGE.contains(word), "{word}");
        }
        let leeway = format!("(default {DEFAULT_LEEWAY_SECS};");
        assert!(USAGE.contains(&leeway), "{leeway}");
    }

    #[test]
    fn the_help_gives_the_default_timeouts() {
        let defaults = Timeouts::default();
        let secs = |period: Option<Duration>| period.map_or(0, |period| period.as_secs());
        let given = [
            secs(Some(defaults.header)),
            secs(Some(defaults.auth)),
            secs(defaults.idle),
            secs(defaults.tcp_keepalive),
            secs(Some(defaults.shutdown)),
        ];
        for (option, default) in timeouts::VALUED.into_iter().zip(given) {
            let (_, help) = USAGE.split_once(option).expect(option);
            let help = help.split("\n  -").next().unwrap_or_default();
            let told = format!("(default {default}");
            assert!(help.contains(&told), "{option}: {told}");
        }
    }

    #[test]
    fn the_help_gives_the_default_redis_liveness() {
        let liveness = ServerConfig::default().redis_liveness.as_secs();
        let (_, help) = USAGE
            .split_once("--redis-liveness-secs")
            .expect("the option");
        let help = help.split("\n  -").next().unwrap_or_default();
        assert!(help.contains(&format!("(default {liveness})")), "{help}");
    }

    #[test]
    fn the_help_warns_that_a_secret_on_the_command_line_is_visible() {
        assert!(USAGE.contains("can read (ps, /proc)"));
    }
}
