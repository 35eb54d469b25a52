//! The options of what clients may send and hold: the largest frame, the
//! rates of messages and bytes per user and per IP address, the
//! connections an address and the server may hold, and whether addresses
//! come from `X-Forwarded-For`.

use tabwire_server::{Limits, Rate};

use super::{parse_count, set};

/// The options of this module that take a value: each a whole number from
/// 1 to 2^32 - 1.
pub const VALUED: [&str; 11] = [
    "--rate",
    "--burst",
    "--bytes-rate",
    "--bytes-burst",
    "--ip-rate",
    "--ip-burst",
    "--ip-bytes-rate",
    "--ip-bytes-burst",
    "--max-frame-bytes",
    "--max-connections-per-ip",
    "--max-connections",
];

/// The switch that takes client addresses from `X-Forwarded-For`.
pub const TRUST_FORWARDED_FOR: &str = "--trust-forwarded-for";

/// The limit options as given.
#[derive(Debug, Default)]
pub struct LimitFlags {
    /// The values of [`VALUED`], in its order.
    values: [Option<u32>; VALUED.len()],
    pub trust_forwarded_for: bool,
}

impl LimitFlags {
    /// Takes the option `name` (one of [`VALUED`]) with its value.
    pub fn take(&mut self, name: &str, value: &str) -> Result<(), String> {
        let index = VALUED
            .iter()
            .position(|valued| *valued == name)
            .ok_or_else(|| format!("unknown argument {name:?}"))?;
        set(&mut self.values[index], name, parse_count(name, value)?)
    }

    /// The value of `name`, else `default`.
    fn or(&self, name: &str, default: u32) -> u32 {
        VALUED
            .iter()
            .position(|valued| *valued == name)
            .and_then(|index| self.values[index])
            .unwrap_or(default)
    }

    /// The limits asked for, the defaults for those not given.
    pub fn finish(self) -> Limits {
        let defaults = Limits::default();
        let (user, ip) = (defaults.per_user, defaults.per_ip);
        let max_frame_bytes = u32::try_from(defaults.max_frame_bytes).unwrap_or(u32::MAX);
        Limits {
            per_user: Rate {
                messages_per_second: self.or("--rate", user.messages_per_second),
                message_burst: self.or("--burst", user.message_burst),
                bytes_per_second: self.or("--bytes-rate", user.bytes_per_second),
                byte_burst: self.or("--bytes-burst", user.byte_burst),
            },
            per_ip: Rate {
                messages_per_second: self.or("--ip-rate", ip.messages_per_second),
                message_burst: self.or("--ip-burst", ip.message_burst),
                bytes_per_second: self.or("--ip-bytes-rate", ip.bytes_per_second),
                byte_burst: self.or("--ip-bytes-burst", ip.byte_burst),
            },
            max_frame_bytes: self.or("--max-frame-bytes", max_frame_bytes) as usize,
            max_connections_per_ip: self
                .or("--max-connections-per-ip", defaults.max_connections_per_ip),
            max_connections: self.or("--max-connections", defaults.max_connections),
            trust_forwarded_for: self.trust_forwarded_for,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(args: &[(&str, &str)]) -> Result<Limits, String> {
        let mut flags = LimitFlags::default();
        for (name, value) in args {
            flags.take(name, value)?;
        }
        Ok(flags.finish())
    }

    #[test]
    fn none_given_gives_the_defaults() {
        assert_eq!(limits(&[]), Ok(Limits::default()));
    }

    #[test]
    fn each_option_sets_its_limit() {
        let values: Vec<(&str, String)> = VALUED
            .iter()
            .zip(1..)
            .map(|(name, value)| (*name, value.to_string()))
            .collect();
        let args: Vec<(&str, &str)> = values
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        assert_eq!(
            limits(&args),
            Ok(Limits {
                per_user: Rate {
                    messages_per_second: 1,
                    message_burst: 2,
                    bytes_per_second: 3,
                    byte_burst: 4,
                },
                per_ip: Rate {
                    messages_per_second: 5,
                    message_burst: 6,
                    bytes_per_second: 7,
                    byte_burst: 8,
                },
                max_frame_bytes: 9,
                max_connections_per_ip: 10,
                max_connections: 11,
                trust_forwarded_for: false,
            })
        );
    }

    #[test]
    fn bad_and_repeated_values_are_refused() {
        for name in VALUED {
            for bad in ["0", "-1", "1.5", "4294967296", "many"] {
                let error = limits(&[(name, bad)]).expect_err(bad);
                assert!(error.starts_with(name), "{error}");
            }
            let error = limits(&[(name, "1"), (name, "2")]).expect_err("twice");
            assert!(error.contains("twice"), "{error}");
        }
    }
}
