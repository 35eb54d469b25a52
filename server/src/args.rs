//! Command-line arguments, parsed by hand to keep the dependency set small:
//! the options and their values here, those of client authentication in
//! [`jwt`], of the logs in [`logs`] and of timeouts in [`timeouts`], the
//! `--help` text in [`usage`].

mod jwt;
mod logs;
mod timeouts;
mod usage;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use tabwire_server::{DedupeLimits, HistoryLimits, Limits, ServerConfig};

use self::jwt::JwtFlags;
pub use self::jwt::SECRET_ENV;
use self::logs::LogFlags;
pub use self::logs::{LogFormat, Logs};
use self::timeouts::TimeoutFlags;
pub use self::usage::USAGE;

/// Everything the command line decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    pub host: IpAddr,
    pub port: u16,
    pub exit_after: Option<Duration>,
    pub logs: Logs,
    pub server: ServerConfig,
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Run(Box<Args>),
    Help,
}

/// Parses the arguments after the program name, with the value of the
/// [`SECRET_ENV`] environment variable if it is set. Each option may be
/// given once, as `--name value` or `--name=value`.
pub fn parse<I>(args: I, secret_env: Option<Vec<u8>>) -> Result<Command, String>
where
    I: IntoIterator<Item = String>,
{
    let mut host = None;
    let mut port = None;
    let mut www = None;
    let mut pkg = None;
    let mut exit_after = None;
    let mut rate = None;
    let mut burst = None;
    let mut max_frame_bytes = None;
    let mut allowed_origins = Vec::new();
    let mut jwt = JwtFlags::default();
    let mut logs = LogFlags::default();
    let mut timeouts = TimeoutFlags::default();
    let mut history = None;
    let mut history_secs = None;
    let mut max_channels = None;
    let mut dedupe_ids = None;
    let mut dedupe_secs = None;
    let mut dedupe_total = None;
    let mut redis = None;
    let mut redis_liveness = None;
    let mut test_control = false;
    let mut metrics = false;
    let mut demo = false;
    let mut no_compression = false;

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--test-control"
            | "--metrics"
            | "--demo"
            | "--no-compression"
            | logs::VERBOSE
            | jwt::ALLOW_NO_EXP => {
                if inline.is_some() {
                    return Err(format!("{name} takes no value"));
                }
                let flag = match name.as_str() {
                    "--metrics" => &mut metrics,
                    logs::VERBOSE => &mut logs.verbose,
                    "--demo" => &mut demo,
                    "--no-compression" => &mut no_compression,
                    jwt::ALLOW_NO_EXP => &mut jwt.allow_no_exp,
                    _ => &mut test_control,
                };
                if *flag {
                    return Err(format!("{name} given twice"));
                }
                *flag = true;
            }
            jwt_flag if jwt::VALUED.contains(&jwt_flag) => {
                let value = value(&name, inline, &mut args)?;
                jwt.take(&name, value)?;
            }
            log_flag if logs::VALUED.contains(&log_flag) => {
                let value = value(&name, inline, &mut args)?;
                logs.take(&name, &value)?;
            }
            timeout_flag if timeouts::VALUED.contains(&timeout_flag) => {
                let value = value(&name, inline, &mut args)?;
                timeouts.take(&name, &value)?;
            }
            "--host" | "--port" | "--www" | "--pkg" | "--exit-after-secs" | "--rate"
            | "--burst" | "--max-frame-bytes" | "--allow-origin" | "--history"
            | "--history-secs" | "--max-channels" | "--dedupe-ids" | "--dedupe-secs"
            | "--dedupe-total" | "--redis" | REDIS_LIVENESS => {
                let value = value(&name, inline, &mut args)?;
                match name.as_str() {
                    "--host" => set(&mut host, &name, parse_host(&value)?)?,
                    "--port" => set(&mut port, &name, parse_port(&value)?)?,
                    "--www" => set(&mut www, &name, parse_dir(&name, value)?)?,
                    "--pkg" => set(&mut pkg, &name, parse_dir(&name, value)?)?,
                    "--rate" => set(&mut rate, &name, parse_count(&name, &value)? as f64)?,
                    "--burst" => set(&mut burst, &name, parse_count(&name, &value)?)?,
                    "--max-frame-bytes" => {
                        set(&mut max_frame_bytes, &name, parse_size(&name, &value)?)?
                    }
                    "--allow-origin" => allowed_origins.push(parse_origin(value)?),
                    "--history" => set(&mut history, &name, parse_size(&name, &value)?)?,
                    "--history-secs" => {
                        set(&mut history_secs, &name, parse_period(&name, &value)?)?
                    }
                    "--max-channels" => set(&mut max_channels, &name, parse_size(&name, &value)?)?,
                    "--dedupe-ids" => set(&mut dedupe_ids, &name, parse_size(&name, &value)?)?,
                    "--dedupe-secs" => set(&mut dedupe_secs, &name, parse_period(&name, &value)?)?,
                    "--dedupe-total" => set(&mut dedupe_total, &name, parse_size(&name, &value)?)?,
                    "--redis" => set(&mut redis, &name, parse_redis(value)?)?,
                    REDIS_LIVENESS => {
                        set(&mut redis_liveness, &name, parse_period(&name, &value)?)?
                    }
                    _ => set(&mut exit_after, &name, parse_secs(&value)?)?,
                }
            }
            _ => return Err(format!("unknown argument {name:?}")),
        }
    }

    if redis_liveness.is_some() && redis.is_none() {
        return Err(format!("{REDIS_LIVENESS} needs --redis"));
    }
    let jwt = jwt.finish(secret_env)?;
    let logs = logs.finish()?;
    let timeouts = timeouts.finish(jwt.is_some())?;
    let host = host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let defaults = ServerConfig::default();
    if test_control && !host.is_loopback() {
        return Err(format!(
            "--test-control lets any client break connections: it needs a loopback --host, not {host}"
        ));
    }
    Ok(Command::Run(Box::new(Args {
        host,
        port: port.unwrap_or(8080),
        exit_after,
        logs,
        server: ServerConfig {
            www: www.unwrap_or(defaults.www),
            pkg: pkg.unwrap_or(defaults.pkg),
            test_control,
            metrics,
            limits: Limits {
                per_second: rate.unwrap_or(defaults.limits.per_second),
                burst: burst.unwrap_or(defaults.limits.burst),
                max_frame_bytes: max_frame_bytes.unwrap_or(defaults.limits.max_frame_bytes),
            },
            timeouts,
            compression: !no_compression,
            allowed_origins,
            jwt,
            history: HistoryLimits {
                max_messages: history.unwrap_or(defaults.history.max_messages),
                max_age: history_secs.unwrap_or(defaults.history.max_age),
                max_channels: max_channels.unwrap_or(defaults.history.max_channels),
            },
            dedupe: DedupeLimits {
                ids_per_scope: dedupe_ids.unwrap_or(defaults.dedupe.ids_per_scope),
                max_age: dedupe_secs.unwrap_or(defaults.dedupe.max_age),
                total_ids: dedupe_total.unwrap_or(defaults.dedupe.total_ids),
            },
            redis,
            redis_liveness: redis_liveness.unwrap_or(defaults.redis_liveness),
            demo,
        },
    })))
}

/// How often the links to Redis are checked.
const REDIS_LIVENESS: &str = "--redis-liveness-secs";

/// A Redis URL; whether a server answers there is found out at start.
fn parse_redis(value: String) -> Result<String, String> {
    if value.starts_with("redis://") || value.starts_with("unix://") {
        Ok(value)
    } else {
        Err(format!("--redis: not a redis:// URL: {value:?}"))
    }
}

/// A whole number from 1 to 2^32 - 1.
fn parse_count(name: &str, value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(format!(
            "{name}: not a whole number from 1 to 4294967295: {value:?}"
        )),
    }
}

/// A count of things (bytes, messages, ids): a whole number from 1 to
/// 2^32 - 1.
fn parse_size(name: &str, value: &str) -> Result<usize, String> {
    parse_count(name, value).map(|count| count as usize)
}

/// A period in whole seconds, from 1 to 2^32 - 1.
fn parse_period(name: &str, value: &str) -> Result<Duration, String> {
    parse_count(name, value).map(|secs| Duration::from_secs(secs.into()))
}

/// An origin as browsers send it: `scheme://host[:port]`, no path.
fn parse_origin(value: String) -> Result<String, String> {
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains('/') => Ok(value),
        _ => Err(format!(
            "--allow-origin: not an origin like https://app.example: {value:?}"
        )),
    }
}

/// An option's value: after `=`, else the next argument.
fn value(
    name: &str,
    inline: Option<String>,
    args: &mut impl Iterator<Item = String>,
) -> Result<String, String> {
    match inline {
        Some(value) => Ok(value),
        None => args.next().ok_or_else(|| format!("{name} needs a value")),
    }
}

/// Stores an option's value, refusing a second one: a repeated option is more
/// likely a script bug than an intended override.
fn set<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("{name} given twice"));
    }
    *slot = Some(value);
    Ok(())
}

fn parse_host(value: &str) -> Result<IpAddr, String> {
    if value == "localhost" {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    value
        .parse()
        .map_err(|_| format!("--host: not an IP address: {value:?}"))
}

fn parse_port(value: &str) -> Result<u16, String> {
    value
        .parse()
        .map_err(|_| format!("--port: not a port number (0-65535): {value:?}"))
}

fn parse_dir(name: &str, value: String) -> Result<PathBuf, String> {
    if value.is_empty() {
        return Err(format!("{name}: empty directory name"));
    }
    Ok(PathBuf::from(value))
}

fn parse_secs(value: &str) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(format!(
            "--exit-after-secs: not a whole number of seconds >= 1: {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;
    use tabwire_server::{JwtConfig, Timeouts};

    fn run(args: &[&str]) -> Result<Args, String> {
        match parse(args.iter().map(|arg| arg.to_string()), None)? {
            Command::Run(args) => Ok(*args),
            Command::Help => Err("help".to_owned()),
        }
    }

    fn error(args: &[&str]) -> String {
        match run(args) {
            Ok(parsed) => panic!("{args:?} parsed as {parsed:?}"),
            Err(message) => message,
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(
            run(&[]),
            Ok(Args {
                host: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 8080,
                exit_after: None,
                logs: Logs::default(),
                server: ServerConfig::default(),
            })
        );
    }

    #[test]
    fn every_option() {
        let parsed = run(&[
            "--host",
            "::1",
            "--port=0",
            "--www",
            "site",
            "--pkg=out/pkg",
            "--test-control",
            "--exit-after-secs",
            "30",
            "--metrics",
            "--log-level=warn",
            "--log-format",
            "json",
            "--rate",
            "10",
            "--burst=20",
            "--max-frame-bytes",
            "300",
            "--no-compression",
            "--allow-origin",
            "https://a.example",
            "--allow-origin=http://127.0.0.1:8080",
            "--jwt-secret",
            "0123456789abcdef",
            "--jwt-leeway-secs=5",
            "--jwt-audience=tabwire",
            "--jwt-issuer",
            "https://auth.example",
            "--jwt-allow-no-exp",
            "--history=50",
            "--history-secs",
            "3",
            "--max-channels=40",
            "--dedupe-ids=7",
            "--dedupe-secs",
            "60",
            "--dedupe-total",
            "100",
            "--redis",
            "redis://127.0.0.1:6379",
            "--redis-liveness-secs=7",
            "--demo",
            "--header-timeout-secs=3",
            "--auth-timeout-secs",
            "4",
            "--idle-timeout-secs=0",
            "--tcp-keepalive-secs",
            "60",
            "--shutdown-secs",
            "20",
        ]);
        assert_eq!(
            parsed,
            Ok(Args {
                host: IpAddr::V6(Ipv6Addr::LOCALHOST),
                port: 0,
                exit_after: Some(Duration::from_secs(30)),
                logs: Logs {
                    level: tracing::Level::WARN,
                    format: LogFormat::Json,
                },
                server: ServerConfig {
                    www: PathBuf::from("site"),
                    pkg: PathBuf::from("out/pkg"),
                    test_control: true,
                    metrics: true,
                    limits: Limits {
                        per_second: 10.0,
                        burst: 20,
                        max_frame_bytes: 300
                    },
                    timeouts: Timeouts {
                        header: Duration::from_secs(3),
                        auth: Duration::from_secs(4),
                        idle: None,
                        tcp_keepalive: Some(Duration::from_secs(60)),
                        shutdown: Duration::from_secs(20),
                    },
                    compression: false,
                    allowed_origins: vec![
                        "https://a.example".to_owned(),
                        "http://127.0.0.1:8080".to_owned()
                    ],
                    jwt: Some(JwtConfig {
                        leeway_secs: 5,
                        allow_no_exp: true,
                        audience: Some("tabwire".to_owned()),
                        issuer: Some("https://auth.example".to_owned()),
                        ..JwtConfig::new("0123456789abcdef")
                    }),
                    history: HistoryLimits {
                        max_messages: 50,
                        max_age: Duration::from_secs(3),
                        max_channels: 40,
                    },
                    dedupe: DedupeLimits {
                        ids_per_scope: 7,
                        max_age: Duration::from_secs(60),
                        total_ids: 100
                    },
                    redis: Some("redis://127.0.0.1:6379".to_owned()),
                    redis_liveness: Duration::from_secs(7),
                    demo: true,
                },
            })
        );
    }

    #[test]
    fn localhost_and_other_loopback_hosts_allow_test_control() {
        let parsed = run(&["--host", "localhost", "--test-control"]);
        assert_eq!(parsed.map(|a| a.host), Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        let parsed = run(&["--host=127.0.0.2", "--test-control"]);
        assert_eq!(parsed.map(|a| a.server.test_control), Ok(true));
    }

    #[test]
    fn test_control_refused_off_loopback() {
        assert!(error(&["--host", "0.0.0.0", "--test-control"]).contains("loopback"));
        assert!(error(&["--test-control", "--host", "192.0.2.1"]).contains("loopback"));
        // Without the control API any host is fine.
        assert!(run(&["--host", "0.0.0.0"]).is_ok());
    }

    #[test]
    fn help() {
        assert_eq!(parse(["--help".to_owned()], None), Ok(Command::Help));
        assert_eq!(parse(["-h".to_owned()], None), Ok(Command::Help));
    }

    #[test]
    fn bad_values() {
        assert!(error(&["--port", "65536"]).starts_with("--port"));
        assert!(error(&["--port", "-1"]).starts_with("--port"));
        assert!(error(&["--port=http"]).starts_with("--port"));
        assert!(error(&["--host", "example.com"]).starts_with("--host"));
        assert!(error(&["--exit-after-secs", "0"]).starts_with("--exit-after-secs"));
        assert!(error(&["--exit-after-secs", "1.5"]).starts_with("--exit-after-secs"));
        assert!(error(&["--www="]).starts_with("--www"));
        assert!(error(&["--rate", "0"]).starts_with("--rate"));
        assert!(error(&["--burst", "-3"]).starts_with("--burst"));
        assert!(error(&["--max-frame-bytes", "1e6"]).starts_with("--max-frame-bytes"));
        assert!(error(&["--allow-origin", "https://a.example/path"]).starts_with("--allow-origin"));
        assert!(error(&["--allow-origin", "a.example"]).starts_with("--allow-origin"));
        assert!(error(&["--jwt-secret", "short"]).starts_with("--jwt-secret"));
        assert!(error(&["--history", "0"]).starts_with("--history"));
        assert!(error(&["--history-secs", "-1"]).starts_with("--history-secs"));
        assert!(error(&["--max-channels", "0"]).starts_with("--max-channels"));
        assert!(error(&["--dedupe-ids", "0"]).starts_with("--dedupe-ids"));
        assert!(error(&["--dedupe-secs", "1.5"]).starts_with("--dedupe-secs"));
        assert!(error(&["--dedupe-total", "many"]).starts_with("--dedupe-total"));
        assert!(error(&["--redis", "127.0.0.1:6379"]).starts_with("--redis"));
        let redis = ["--redis", "redis://127.0.0.1:6379"];
        let liveness = |secs| error(&[redis[0], redis[1], REDIS_LIVENESS, secs]);
        assert!(liveness("0").starts_with(REDIS_LIVENESS));
        assert!(liveness("1.5").starts_with(REDIS_LIVENESS));
    }

    #[test]
    fn a_redis_liveness_needs_redis() {
        assert!(error(&[REDIS_LIVENESS, "3"]).contains("needs --redis"));
    }

    #[test]
    fn missing_values() {
        assert!(error(&["--port"]).contains("needs a value"));
        assert!(error(&["--www"]).contains("needs a value"));
    }

    #[test]
    fn unknown_repeated_and_misused() {
        assert!(error(&["--verbose=yes"]).contains("takes no value"));
        assert!(error(&["--metrics=on"]).contains("takes no value"));
        assert!(error(&["--verbose", "--log-level", "trace"]).contains("one or the other"));
        assert_eq!(
            run(&["--verbose"]).map(|args| args.logs.level),
            Ok(tracing::Level::DEBUG)
        );
        assert!(error(&["--no-compression=yes"]).contains("takes no value"));
        assert!(error(&["--prot", "1"]).contains("unknown argument"));
        assert!(error(&["8080"]).contains("unknown argument"));
        assert!(error(&["--port", "1", "--port", "2"]).contains("twice"));
        assert!(error(&["--test-control", "--test-control"]).contains("twice"));
        assert!(error(&["--no-compression", "--no-compression"]).contains("twice"));
    }
}
