//! The options of the logs: how much is logged (`--log-level`, or
//! `--verbose`, which is `--log-level debug`) and in what form
//! (`--log-format`).

use tracing::Level;

use super::set;

/// The options of this module that take a value.
pub const VALUED: [&str; 2] = ["--log-level", "--log-format"];

/// The switch that logs connections and control actions.
pub const VERBOSE: &str = "--verbose";

/// What the logs hold and how they are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logs {
    /// The least severe events written: `info` (the default) has the
    /// start and what an operator must know (a lost link to Redis);
    /// `debug` adds every connection and control action.
    pub level: Level,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// A line of text per event, for people.
    Text,
    /// A JSON object per line, for log collectors.
    Json,
}

impl Default for Logs {
    fn default() -> Self {
        Logs {
            level: Level::INFO,
            format: LogFormat::Text,
        }
    }
}

/// The log options as given, before [`LogFlags::finish`] checks that they
/// agree.
#[derive(Debug, Default)]
pub struct LogFlags {
    pub verbose: bool,
    level: Option<Level>,
    format: Option<LogFormat>,
}

impl LogFlags {
    /// Takes the option `name` (one of [`VALUED`]) with its value.
    pub fn take(&mut self, name: &str, value: &str) -> Result<(), String> {
        match name {
            "--log-level" => set(&mut self.level, name, parse_level(value)?),
            _ => set(&mut self.format, name, parse_format(value)?),
        }
    }

    /// The logs asked for; `--verbose` with `--log-level` is refused, as
    /// they would say two things.
    pub fn finish(self) -> Result<Logs, String> {
        let defaults = Logs::default();
        let level = match (self.verbose, self.level) {
            (true, Some(_)) => {
                return Err(format!(
                    "{VERBOSE} is --log-level debug: give one or the other"
                ))
            }
            (true, None) => Level::DEBUG,
            (false, level) => level.unwrap_or(defaults.level),
        };
        Ok(Logs {
            level,
            format: self.format.unwrap_or(defaults.format),
        })
    }
}

fn parse_level(value: &str) -> Result<Level, String> {
    match value {
        "error" => Ok(Level::ERROR),
        "warn" => Ok(Level::WARN),
        "info" => Ok(Level::INFO),
        "debug" => Ok(Level::DEBUG),
        "trace" => Ok(Level::TRACE),
        _ => Err(format!(
            "--log-level: error, warn, info, debug or trace, not {value:?}"
        )),
    }
}

fn parse_format(value: &str) -> Result<LogFormat, String> {
    match value {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!("--log-format: text or json, not {value:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs(verbose: bool, options: &[(&str, &str)]) -> Result<Logs, String> {
        let mut flags = LogFlags {
            verbose,
            ..LogFlags::default()
        };
        for (name, value) in options {
            flags.take(name, value)?;
        }
        flags.finish()
    }

    #[test]
    fn info_in_text_unless_told_otherwise() {
        assert_eq!(logs(false, &[]), Ok(Logs::default()));
        assert_eq!(Logs::default().level, Level::INFO);
        assert_eq!(Logs::default().format, LogFormat::Text);
    }

    #[test]
    fn every_level_and_format() {
        for (name, level) in [
            ("error", Level::ERROR),
            ("warn", Level::WARN),
            ("info", Level::INFO),
            ("debug", Level::DEBUG),
            ("trace", Level::TRACE),
        ] {
            let parsed = logs(false, &[("--log-level", name), ("--log-format", "json")]);
            let format = LogFormat::Json;
            assert_eq!(parsed, Ok(Logs { level, format }), "{name}");
        }
    }

    #[test]
    fn verbose_is_debug_and_does_not_go_with_a_level() {
        assert_eq!(logs(true, &[]).map(|logs| logs.level), Ok(Level::DEBUG));
        let both = logs(true, &[("--log-level", "debug")]);
        assert!(both.is_err_and(|error| error.contains("one or the other")));
    }

    #[test]
    fn bad_and_repeated_values() {
        for (name, value) in [
            ("--log-level", "verbose"),
            ("--log-level", "INFO"),
            ("--log-level", "3"),
            ("--log-format", "logfmt"),
        ] {
            let refused = logs(false, &[(name, value)]);
            assert!(
                refused.is_err_and(|error| error.starts_with(name)),
                "{value}"
            );
        }
        let twice = logs(false, &[("--log-format", "text"), ("--log-format", "json")]);
        assert!(twice.is_err_and(|error| error.contains("twice")));
    }
}
