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
  --max-frame-bytes N    largest frame a client may send (default 1048576);
                         a larger one closes the connection (1009)
  --max-connections-per-ip N
                         connections (WebSockets and HTTP sessions) one IP
                         address may hold at once (default 256); past it an
                         upgrade or session open gets HTTP 429, Retry-After 5
  --max-connections N    connections the server holds at once (default
                         100000); past it, HTTP 503, Retry-After 5
  --trust-forwarded-for  take a client's address from the last entry of
                         X-Forwarded-For rather than the TCP peer: only
                         behind a proxy that sets it (clients can send any)
  --no-compression       never agree to permessage-deflate (default: agreed
                         with clients that offer it, as browsers do)
  --allow-origin ORIGIN  only pages of this origin may connect (repeatable;
                         default: any origin)
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
  --history N            messages kept per channel for clients that were
                         away (default 1000)
  --history-secs N       how long they are kept, in seconds (default 600)
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
  --demo                 publish the demo dashboard's streams (fund NAVs,
                         approval requests, risk alerts); with several
                         instances on one --redis, on one of them only
  --verbose              log connections and control actions to stderr
  -h, --help             print this help

Environment:
  TABWIRE_JWT_SECRET     the JWT secret, instead of --jwt-secret-file or
                         --jwt-secret (its value as it is)

On start, prints one line to stdout:
  tabwire-server listening on http://HOST:PORT
";

#[cfg(test)]
mod tests {
    use super::super::jwt::{self, ALLOW_NO_EXP, SECRET_ENV};
    use super::super::limits::{self, TRUST_FORWARDED_FOR};
    use super::*;
    use tabwire_server::DEFAULT_LEEWAY_SECS;

    #[test]
    fn the_help_names_both_endpoints_and_every_option() {
        let words = [
            "/ws",
            "/raw",
            "hello",
            "--dedupe-ids",
            "--dedupe-secs",
            "--dedupe-total",
            ALLOW_NO_EXP,
            SECRET_ENV,
            TRUST_FORWARDED_FOR,
        ];
        for word in words.into_iter().chain(jwt::VALUED).chain(limits::VALUED) {
            assert!(USAGE.contains(word), "{word}");
        }
        let leeway = format!("(default {DEFAULT_LEEWAY_SECS};");
        assert!(USAGE.contains(&leeway), "{leeway}");
    }

    #[test]
    fn the_help_warns_that_a_secret_on_the_command_line_is_visible() {
        assert!(USAGE.contains("can read (ps, /proc)"));
    }
}
