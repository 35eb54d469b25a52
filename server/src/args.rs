//! Command-line arguments, parsed by hand to keep the dependency set small:
//! the options and their values here, those of client authentication in
//! [`jwt`], of the limits in [`limits`], of the logs in [`logs`] and of
//! timeouts in [`timeouts`], the `--help` text in [`usage`].

mod jwt;
mod limits;
mod logs;
mod timeouts;
mod usage;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use tabwire_server::{Bounds, DedupeLimits, HistoryLimits, ServerConfig, ANY_ORIGIN};

use self::jwt::JwtFlags;
pub use self::jwt::SECRET_ENV;
use self::limits::LimitFlags;
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
    let mut limits = LimitFlags::default();
    let mut send_queue_messages = None;
    let mut send_queue_bytes = None;
    let mut write_timeout = None;
    let mut max_subscriptions = None;
    let mut max_channel_bytes = None;
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
            | jwt::ALLOW_NO_EXP
            | limits::TRUST_FORWARDED_FOR => {
                if inline.is_some() {
                    return Err(format!("{name} takes no value"));
                }
                let flag = match name.as_str() {
                    "--metrics" => &mut metrics,
                    logs::VERBOSE => &mut logs.verbose,
                    "--demo" => &mut demo,
                    "--no-compression" => &mut no_compression,
                    jwt::ALLOW_NO_EXP => &mut jwt.allow_no_exp,
                    limits::TRUST_FORWARDED_FOR => &mut limits.trust_forwarded_for,
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
            limit_flag if limits::VALUED.contains(&limit_flag) => {
                let value = value(&name, inline, &mut args)?;
                limits.take(&name, &value)?;
            }
            log_flag if logs::VALUED.contains(&log_flag) => {
                let value = value(&name, inline, &mut args)?;
                logs.take(&name, &value)?;
            }
            timeout_flag if timeouts::VALUED.contains(&timeout_flag) => {
                let value = value(&name, inline, &mut args)?;
                timeouts.take(&name, &value)?;
            }
            "--host"
            | "--port"
            | "--www"
            | "--pkg"
            | "--exit-after-secs"
            | "--allow-origin"
            | "--history"
            | "--history-secs"
            | "--max-channels"
            | "--dedupe-ids"
            | "--dedupe-secs"
            | "--dedupe-total"
            | "--redis"
            | "--send-queue-messages"
            | "--send-queue-bytes"
            | "--write-timeout-secs"
            | "--max-subscriptions"
            | "--max-channel-bytes"
            | REDIS_LIVENESS => {
                let value = value(&name, inline, &mut args)?;
                match name.as_str() {
                    "--host" => set(&mut host, &name, parse_host(&value)?)?,
                    "--port" => set(&mut port, &name, parse_port(&value)?)?,
                    "--www" => set(&mut www, &name, parse_dir(&name, value)?)?,
                    "--pkg" => set(&mut pkg, &name, parse_dir(&name, value)?)?,
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
                    "--send-queue-messages" => {
                        set(&mut send_queue_messages, &name, parse_size(&name, &value)?)?
                    }
                    "--send-queue-bytes" => {
                        set(&mut send_queue_bytes, &name, parse_size(&name, &value)?)?
                    }
                    "--write-timeout-secs" => {
                        set(&mut write_timeout, &name, parse_period(&name, &value)?)?
                    }
                    "--max-subscriptions" => {
                        set(&mut max_subscriptions, &name, parse_size(&name, &value)?)?
                    }
                    "--max-channel-bytes" => {
                        set(&mut max_channel_bytes, &name, parse_channel_bytes(&value)?)?
                    }
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
    if test_control && allowed_origins.iter().any(|origin| origin == ANY_ORIGIN) {
        return Err(
            "--test-control with --allow-origin '*' would let any site's pages break connections: list the origins"
                .to_owned(),
        );
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
            limits: limits.finish(),
            timeouts,
            bounds: Bounds {
                send_queue_messages: send_queue_messages
                    .unwrap_or(defaults.bounds.send_queue_messages),
                send_queue_bytes: send_queue_bytes.unwrap_or(defaults.bounds.send_queue_bytes),
                write_timeout: write_timeout.unwrap_or(defaults.bounds.write_timeout),
                max_subscriptions: max_subscriptions.unwrap_or(defaults.bounds.max_subscriptions),
                max_channel_bytes: max_channel_bytes.unwrap_or(defaults.bounds.max_channel_bytes),
            },
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

/// A channel name length the server takes: 1 to the protocol's largest,
/// which is what the default allows (a client never sends more).
fn parse_channel_bytes(value: &str) -> Result<usize, String> {
    let most = Bounds::default().max_channel_bytes;
    match value.parse::<usize>() {
        Ok(bytes) if (1..=most).contains(&bytes) => Ok(bytes),
        _ => Err(format!(
            "--max-channel-bytes: not a whole number from 1 to {most}: {value:?}"
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

/// An origin as browsers send it: `scheme://host[:port]`, no path; or
/// `*`, every origin.
fn parse_origin(value: String) -> Result<String, String> {
    if value == ANY_ORIGIN {
        return Ok(value);
    }
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains('/') => Ok(value),
        _ => Err(format!(
            "--allow-origin: not an origin like https://app.example, nor *: {value:?}"
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
mod tests;
