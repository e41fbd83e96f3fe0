//! `--core-file`: a panic or a fatal signal ends in a core dump, for the post-mortem.
//!
//! Fatal signals (SIGSEGV, SIGBUS, SIGABRT, ...) dump core by the kernel's default action,
//! but only up to the soft `RLIMIT_CORE`, which shells commonly set to 0: it is raised to the
//! hard limit (what an unprivileged process may do). A Rust panic unwinds and exits 101
//! without a core: after the usual panic message, the process aborts (SIGABRT) instead.
//! Whether and where the kernel writes the file is `/proc/sys/kernel/core_pattern`'s call.

use std::io;

/// Test hook (not an option): `HOTBACKUP_TEST_PANIC=1` panics once the options are read, so
/// that a test can see what a panic ends in.
pub const TEST_PANIC_ENV: &str = "HOTBACKUP_TEST_PANIC";

/// Raises the soft core size limit to the hard one; returns (soft before, soft now)
/// (`u64::MAX`: unlimited).
pub fn raise_core_limit() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read or write only the struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // rlim_t is u64 on Linux; RLIM_INFINITY is u64::MAX.
    Ok((before, lim.rlim_cur))
}

/// `--core-file`: the limit raised, and a panic (in any thread) aborts after its message.
pub fn enable() -> io::Result<()> {
    raise_core_limit()?;
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        std::process::abort();
    }));
    Ok(())
}

/// The test hook: panics when [`TEST_PANIC_ENV`] is set.
pub fn test_panic() {
    if std::env::var_os(TEST_PANIC_ENV).is_some() {
        panic!("{TEST_PANIC_ENV} is set: a panic, as a test asked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_core_limit_is_raised_to_the_hard_one() {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as in raise_core_limit; a soft limit of 0 is always allowed.
        unsafe {
            assert_eq!(libc::getrlimit(libc::RLIMIT_CORE, &mut lim), 0);
            let hard = lim.rlim_max;
            lim.rlim_cur = 0;
            assert_eq!(libc::setrlimit(libc::RLIMIT_CORE, &lim), 0);
            let (before, now) = raise_core_limit().unwrap();
            assert_eq!(before, 0);
            assert_eq!(libc::getrlimit(libc::RLIMIT_CORE, &mut lim), 0);
            assert_eq!(lim.rlim_cur, hard, "soft limit is the hard one");
            assert_eq!(now, hard);
        }
    }
}
