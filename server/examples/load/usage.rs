//! What a process uses, read from Linux's `/proc/<pid>`: its resident
//! memory (`VmRSS` of `status`) and the CPU time it has had (`utime` +
//! `stime` of `stat`). Two readings give the memory a set of connections
//! took and the share of a core the process had in between.

use std::time::Instant;

/// One reading of a process.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub rss_kib: u64,
    /// User and system CPU time so far, in clock ticks.
    cpu_ticks: u64,
    at: Instant,
}

impl Usage {
    /// Reads process `pid`; `None` for this process.
    pub fn read(pid: Option<u32>) -> Result<Usage, String> {
        let dir = match pid {
            Some(pid) => format!("/proc/{pid}"),
            None => "/proc/self".to_owned(),
        };
        let read = |file: &str| {
            std::fs::read_to_string(format!("{dir}/{file}"))
                .map_err(|error| format!("cannot read {dir}/{file}: {error}"))
        };
        let status = read("status")?;
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no VmRSS in {dir}/status"))?;
        Ok(Usage {
            rss_kib,
            cpu_ticks: cpu_ticks(&read("stat")?)
                .ok_or_else(|| format!("{dir}/stat: unexpected format"))?,
            at: Instant::now(),
        })
    }

    /// The CPU the process had between `earlier` and this reading, in
    /// percent of one core (200 % is two cores busy).
    pub fn cpu_percent_since(&self, earlier: &Usage) -> f64 {
        let seconds = self.at.duration_since(earlier.at).as_secs_f64();
        let ticks = self.cpu_ticks.saturating_sub(earlier.cpu_ticks) as f64;
        if seconds <= 0.0 {
            return 0.0;
        }
        100.0 * ticks / ticks_per_second() / seconds
    }
}

/// One reading of the whole machine's CPU time (`/proc/stat`), to tell
/// how busy the other processes kept the cores: the machine may be shared,
/// and a run that competed with others has worse tails.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    busy_ticks: u64,
    at: Instant,
}

impl Machine {
    pub fn read() -> Result<Machine, String> {
        let stat = std::fs::read_to_string("/proc/stat")
            .map_err(|error| format!("cannot read /proc/stat: {error}"))?;
        Ok(Machine {
            busy_ticks: busy_ticks(&stat).ok_or("/proc/stat: unexpected format")?,
            at: Instant::now(),
        })
    }

    /// The CPU all processes had between `earlier` and this reading, in
    /// percent of one core.
    pub fn cpu_percent_since(&self, earlier: &Machine) -> f64 {
        let seconds = self.at.duration_since(earlier.at).as_secs_f64();
        let ticks = self.busy_ticks.saturating_sub(earlier.busy_ticks) as f64;
        if seconds <= 0.0 {
            return 0.0;
        }
        100.0 * ticks / ticks_per_second() / seconds
    }
}

/// The first line of `/proc/stat` (`cpu user nice system idle iowait irq
/// softirq steal ...`) without idle and iowait.
fn busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .take(8)
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    let [user, nice, system, _idle, _iowait, irq, softirq, steal] = ticks[..] else {
        return None;
    };
    Some(user + nice + system + irq + softirq + steal)
}

/// `utime` + `stime`: fields 14 and 15 of `stat`, counted after the command
/// name, which is in parentheses and may hold spaces.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a constant of the system; it has no inputs to
    // get wrong.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_counted_after_the_name() {
        let stat = "42 (tab wire) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0";
        assert_eq!(cpu_ticks(stat), Some(12));
        assert_eq!(cpu_ticks("42 (short"), None);
    }

    #[test]
    fn busy_ticks_leave_out_idle_and_iowait() {
        let stat = "cpu  10 1 5 1000 7 2 3 4 0 0\ncpu0 5 0 2 500 3 1 1 2 0 0\n";
        assert_eq!(busy_ticks(stat), Some(25));
        assert_eq!(busy_ticks("cpu  1 2"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let usage = Usage::read(None).expect("/proc/self");
        assert!(usage.rss_kib > 0);
    }
}
