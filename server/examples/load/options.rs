//! The load generator's command line, parsed by hand like the server's, with
//! every count and duration capped: a run always stays on this machine and
//! ends by itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
Usage: cargo run --release -p tabwire-server --example load -- [OPTIONS]

Opens protocol connections to the reference server on 127.0.0.1, subscribes
them to channels, publishes at a set rate through one more connection, and
measures publish-to-delivery latency, deliveries per second, the server's
memory per connection and its CPU.

Options:
  --url ws://127.0.0.1:PORT/ws  a running server (default: start one from
                          the release build, on a free port); one started
                          without higher --rate and --ip-rate refuses more
                          than 5000 publications a second from the one
                          publisher, and without a higher
                          --max-connections-per-ip more than 256
                          connections
  --server-pid PID        that server's process, for its memory and CPU
  --server-bin PATH       the server to start (default: tabwire-server next
                          to this example's directory, i.e. target/release/)
  --redis                 start redis-server and two server instances sharing
                          channels; connections alternate between them, and
                          publications go through the first
  --connections N         subscriber connections (default 1000, at most 60000)
  --channels C            channels; connection i subscribes to channel i mod C
                          (default 10)
  --rate R                publications a second, spread over the channels
                          (default 50, at most 100000)
  --seconds S             how long to publish (default 10, at most 120)
  --ramp N                connections opened a second (default 2000, at most
                          20000)
  --deflate               subscribers offer permessage-deflate, as browsers
                          do (default: they offer no extension)
  -h, --help              print this help
";

/// Upper bounds: a mistyped number must not take the machine down.
const MAX_CONNECTIONS: usize = 60_000;
const MAX_RATE: u32 = 100_000;
const MAX_SECONDS: u64 = 120;
const MAX_RAMP: u32 = 20_000;

/// Where the connections go.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A server already running at this address, on `path`.
    Running {
        address: SocketAddr,
        path: String,
        pid: Option<u32>,
    },
    /// Servers this run starts: one, or two sharing channels through a
    /// Redis it also starts.
    Started { binary: PathBuf, redis: bool },
}

/// How much load, for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub connections: usize,
    pub channels: usize,
    /// Publications a second, over all channels.
    pub rate: u32,
    pub seconds: Duration,
    /// Connections opened a second.
    pub ramp: u32,
    /// Subscribers offer permessage-deflate.
    pub deflate: bool,
}

#[derive(Debug, PartialEq)]
pub enum Command {
    Run { target: Target, plan: Plan },
    Help,
}

/// Parses the arguments after the program name; each option at most once.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut url = None;
    let mut pid = None;
    let mut binary = None;
    let mut redis = false;
    let mut deflate = false;
    let mut connections = None;
    let mut channels = None;
    let mut rate = None;
    let mut seconds = None;
    let mut ramp = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        if name == "-h" || name == "--help" {
            return Ok(Command::Help);
        }
        if name == "--redis" || name == "--deflate" {
            let flag = if name == "--redis" {
                &mut redis
            } else {
                &mut deflate
            };
            if inline.is_some() || *flag {
                return Err(format!("{name} takes no value and comes once"));
            }
            *flag = true;
            continue;
        }
        let mut value = || match inline.clone() {
            Some(value) => Ok(value),
            None => args.next().ok_or_else(|| format!("{name} needs a value")),
        };
        match name.as_str() {
            "--url" => set(&mut url, &name, parse_url(&value()?)?)?,
            "--server-pid" => set(&mut pid, &name, number(&name, &value()?, u32::MAX)?)?,
            "--server-bin" => set(&mut binary, &name, PathBuf::from(value()?))?,
            "--connections" => {
                let count = number(&name, &value()?, MAX_CONNECTIONS as u32)?;
                set(&mut connections, &name, count as usize)?
            }
            "--channels" => {
                let count = number(&name, &value()?, MAX_CONNECTIONS as u32)?;
                set(&mut channels, &name, count as usize)?
            }
            "--rate" => set(&mut rate, &name, number(&name, &value()?, MAX_RATE)?)?,
            "--seconds" => {
                let secs = number(&name, &value()?, MAX_SECONDS as u32)?;
                set(&mut seconds, &name, Duration::from_secs(secs.into()))?
            }
            "--ramp" => set(&mut ramp, &name, number(&name, &value()?, MAX_RAMP)?)?,
            _ => return Err(format!("unknown argument {name:?}")),
        }
    }
    let plan = Plan {
        connections: connections.unwrap_or(1_000),
        channels: channels.unwrap_or(10),
        rate: rate.unwrap_or(50),
        seconds: seconds.unwrap_or(Duration::from_secs(10)),
        ramp: ramp.unwrap_or(2_000),
        deflate,
    };
    if plan.channels > plan.connections {
        return Err(format!(
            "--channels {} is more than --connections {}: some channels would have no subscriber",
            plan.channels, plan.connections
        ));
    }
    let target = match (url, redis) {
        (Some(_), true) => return Err("--redis starts its own servers: leave out --url".to_owned()),
        (Some((address, path)), false) => {
            if binary.is_some() {
                return Err("--server-bin starts a server: leave out --url".to_owned());
            }
            Target::Running { address, path, pid }
        }
        (None, redis) => {
            if pid.is_some() {
                return Err("--server-pid names a running server: give its --url".to_owned());
            }
            Target::Started {
                binary: binary.unwrap_or_else(default_binary),
                redis,
            }
        }
    };
    Ok(Command::Run { target, plan })
}

/// `tabwire-server` of the same build as this example, which cargo puts
/// in `<target>/<profile>/examples/`.
fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("tabwire-server")))
        .unwrap_or_else(|| PathBuf::from("target/release/tabwire-server"))
}

/// `ws://127.0.0.1:PORT/PATH`: anything off the loopback interface is
/// refused, so the generator cannot be pointed at someone else's server.
fn parse_url(value: &str) -> Result<(SocketAddr, String), String> {
    let rest = value
        .strip_prefix("ws://")
        .ok_or_else(|| format!("--url: not a ws:// URL: {value:?}"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/ws"),
    };
    let address: SocketAddr = authority
        .parse()
        .map_err(|_| format!("--url: not 127.0.0.1:PORT: {authority:?}"))?;
    if address.ip() != std::net::Ipv4Addr::LOCALHOST {
        return Err(format!(
            "--url: only 127.0.0.1 is allowed, not {}",
            address.ip()
        ));
    }
    Ok((address, path.to_owned()))
}

/// A whole number from 1 to `max`.
fn number(name: &str, value: &str, max: u32) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(number) if (1..=max).contains(&number) => Ok(number),
        _ => Err(format!(
            "{name}: not a whole number from 1 to {max}: {value:?}"
        )),
    }
}

fn set<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("{name} given twice"));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn defaults_start_one_server() {
        let Ok(Command::Run { target, plan }) = parsed(&[]) else {
            panic!("no run");
        };
        assert!(matches!(target, Target::Started { redis: false, .. }));
        assert_eq!(plan.connections, 1_000);
        assert_eq!(plan.rate, 50);
    }

    #[test]
    fn a_running_server_on_loopback() {
        let command = parsed(&["--url=ws://127.0.0.1:9000/ws", "--server-pid", "42"]);
        let Ok(Command::Run { target, .. }) = command else {
            panic!("{command:?}");
        };
        assert_eq!(
            target,
            Target::Running {
                address: "127.0.0.1:9000".parse().expect("address"),
                path: "/ws".to_owned(),
                pid: Some(42)
            }
        );
    }

    #[test]
    fn refusals() {
        for (args, why) in [
            (&["--url", "ws://10.0.0.1:80/ws"][..], "only 127.0.0.1"),
            (&["--url", "ws://example.com/ws"][..], "127.0.0.1:PORT"),
            (&["--url", "http://127.0.0.1:1/ws"][..], "ws://"),
            (&["--connections", "60001"][..], "from 1 to 60000"),
            (&["--seconds", "121"][..], "from 1 to 120"),
            (&["--rate", "0"][..], "from 1 to"),
            (&["--rate"][..], "needs a value"),
            (
                &["--channels", "5", "--connections", "4"][..],
                "no subscriber",
            ),
            (
                &["--redis", "--url", "ws://127.0.0.1:1/ws"][..],
                "leave out --url",
            ),
            (&["--server-pid", "7"][..], "give its --url"),
            (&["--ramp", "1", "--ramp", "2"][..], "twice"),
            (&["--fast"][..], "unknown"),
        ] {
            let error = parsed(args).expect_err(why);
            assert!(error.contains(why), "{args:?}: {error}");
        }
    }
}
