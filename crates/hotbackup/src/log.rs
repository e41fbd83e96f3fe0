//! Log lines in mariadb-backup's format, `[NN] YYYY-MM-DD HH:MM:SS message` on stderr,
//! so scripts that watch mariadb-backup's output keep working.

use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes log lines to stderr; one line at a time even from several threads.
pub struct Log {
    lock: Mutex<()>,
}

impl Log {
    /// A logger on stderr.
    pub fn new() -> Log {
        Log {
            lock: Mutex::new(()),
        }
    }

    /// A line from thread `thread` (`0` is the main thread, `1..` copy threads).
    pub fn line(&self, thread: usize, message: &str) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "[{thread:02}] {} {message}", now_local());
    }

    /// A line from the main thread.
    pub fn info(&self, message: &str) {
        self.line(0, message);
    }

    /// A fatal error, as mariadb-backup prints it.
    pub fn fatal(&self, message: &str) {
        self.line(0, &format!("FATAL ERROR: {message}"));
    }
}

/// Seconds since the epoch, now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The local time as `YYYY-MM-DD HH:MM:SS`.
pub fn now_local() -> String {
    let now = unix_now();
    backup_meta::format_local_timestamp(now, utc_offset(now))
}

/// The local UTC offset in seconds at `unix` (from the C library's time zone data).
pub fn utc_offset(unix: i64) -> i32 {
    let t = unix as libc::time_t;
    // SAFETY: `tm` is plain data that localtime_r fully initialises on success; both
    // pointers are valid for the duration of the call.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            0
        } else {
            tm.tm_gmtoff as i32
        }
    }
}
