//! The options that bound the server's waits for clients
//! (`--header-timeout-secs`, `--auth-timeout-secs`, `--idle-timeout-secs`),
//! its TCP keepalive (`--tcp-keepalive-secs`) and its graceful shutdown
//! (`--shutdown-secs`).

use std::time::Duration;

use tabwire_server::Timeouts;

use super::{parse_period, set};

/// The options of this module, each with a value.
pub const VALUED: [&str; 5] = [
    "--header-timeout-secs",
    "--auth-timeout-secs",
    "--idle-timeout-secs",
    TCP_KEEPALIVE,
    "--shutdown-secs",
];

const TCP_KEEPALIVE: &str = "--tcp-keepalive-secs";

/// Linux's largest keepalive idle time and probe interval; a larger one
/// would be refused by the socket, leaving the system's two hours.
const MAX_KEEPALIVE_SECS: u32 = 32_767;

/// The options as given, before [`TimeoutFlags::finish`] fills in the
/// defaults.
#[derive(Debug, Default)]
pub struct TimeoutFlags {
    header: Option<Duration>,
    auth: Option<Duration>,
    idle: Option<Option<Duration>>,
    tcp_keepalive: Option<Option<Duration>>,
    shutdown: Option<Duration>,
}

impl TimeoutFlags {
    /// Takes the option `name` (one of [`VALUED`]) with its value.
    pub fn take(&mut self, name: &str, value: &str) -> Result<(), String> {
        match name {
            "--header-timeout-secs" => set(&mut self.header, name, parse_period(name, value)?),
            "--auth-timeout-secs" => set(&mut self.auth, name, parse_period(name, value)?),
            "--shutdown-secs" => set(&mut self.shutdown, name, parse_period(name, value)?),
            "--idle-timeout-secs" => set(
                &mut self.idle,
                name,
                parse_period_or_off(name, value, u32::MAX)?,
            ),
            _ => {
                let period = parse_period_or_off(name, value, MAX_KEEPALIVE_SECS)?;
                set(&mut self.tcp_keepalive, name, period)
            }
        }
    }

    /// The bounds given, the defaults for the others. `--auth-timeout-secs`
    /// needs `authenticating` (a JWT secret): without one no client is
    /// waited for, and the option would silently mean nothing.
    pub fn finish(self, authenticating: bool) -> Result<Timeouts, String> {
        if self.auth.is_some() && !authenticating {
            return Err(
                "--auth-timeout-secs needs a JWT secret (--jwt-secret-file, \
                 TABWIRE_JWT_SECRET or --jwt-secret)"
                    .to_owned(),
            );
        }
        let defaults = Timeouts::default();
        Ok(Timeouts {
            header: self.header.unwrap_or(defaults.header),
            auth: self.auth.unwrap_or(defaults.auth),
            idle: self.idle.unwrap_or(defaults.idle),
            tcp_keepalive: self.tcp_keepalive.unwrap_or(defaults.tcp_keepalive),
            shutdown: self.shutdown.unwrap_or(defaults.shutdown),
        })
    }
}

/// A period in whole seconds up to `max`; 0 turns it off.
fn parse_period_or_off(name: &str, value: &str, max: u32) -> Result<Option<Duration>, String> {
    match value.parse::<u32>() {
        Ok(0) => Ok(None),
        Ok(secs) if secs <= max => Ok(Some(Duration::from_secs(secs.into()))),
        _ => Err(format!(
            "{name}: not a whole number of seconds from 0 (off) to {max}: {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(options: &[(&str, &str)], authenticating: bool) -> Result<Timeouts, String> {
        let mut flags = TimeoutFlags::default();
        for (name, value) in options {
            flags.take(name, value)?;
        }
        flags.finish(authenticating)
    }

    #[test]
    fn none_given_means_the_defaults() {
        assert_eq!(parsed(&[], false), Ok(Timeouts::default()));
    }

    #[test]
    fn zero_turns_the_idle_timeout_and_keepalive_off() {
        let off = parsed(&[("--idle-timeout-secs", "0"), (TCP_KEEPALIVE, "0")], false);
        let off = off.expect("taken");
        assert_eq!((off.idle, off.tcp_keepalive), (None, None));
    }

    #[test]
    fn bad_values_are_refused() {
        let refused = |name: &str, value: &str| {
            let error = parsed(&[(name, value)], true).expect_err(value);
            assert!(error.starts_with(name), "{error}");
        };
        refused("--header-timeout-secs", "0");
        refused("--auth-timeout-secs", "1.5");
        refused("--shutdown-secs", "0");
        refused("--idle-timeout-secs", "-1");
        refused(TCP_KEEPALIVE, "32768");
        let keepalive = parsed(&[(TCP_KEEPALIVE, "32767")], false).expect("the largest");
        assert_eq!(keepalive.tcp_keepalive, Some(Duration::from_secs(32_767)));
    }

    #[test]
    fn an_auth_timeout_needs_a_secret() {
        let error = parsed(&[("--auth-timeout-secs", "5")], false).expect_err("no secret");
        assert!(error.contains("needs a JWT secret"), "{error}");
        let taken = parsed(&[("--auth-timeout-secs", "5")], true).expect("with a secret");
        assert_eq!(taken.auth, Duration::from_secs(5));
    }
}
