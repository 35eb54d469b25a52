//! The open-files limit of the process. Every WebSocket is a file
//! descriptor, and the usual soft limit (1,024) stops a server, or a load
//! generator, long before 10,000 connections; the hard limit, which an
//! unprivileged process may raise its soft limit to, is usually far higher.

use std::io;

/// The soft limit before and after [`raise_to_hard_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    pub before: u64,
    pub after: u64,
}

/// Raises the soft `RLIMIT_NOFILE` of this process to its hard limit.
#[cfg(unix)]
pub fn raise_to_hard_limit() -> io::Result<OpenFiles> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the call's duration.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let before = widen(limit.rlim_cur);
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid rlimit, read above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(OpenFiles {
        before,
        after: widen(limit.rlim_cur),
    })
}

/// `rlim_t` is `u64` on Linux, but 32 bits on some other unixes.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)]
fn widen(limit: libc::rlim_t) -> u64 {
    limit as u64
}

/// Elsewhere there is no such limit to raise.
#[cfg(not(unix))]
pub fn raise_to_hard_limit() -> io::Result<OpenFiles> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no open-files limit on this platform",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let raised = raise_to_hard_limit().expect("getrlimit/setrlimit");
        assert!(raised.after >= raised.before, "{raised:?}");
        // A second call finds nothing left to raise.
        let again = raise_to_hard_limit().expect("getrlimit");
        assert_eq!(again.before, raised.after);
        assert_eq!(again.after, raised.after);
    }
}
