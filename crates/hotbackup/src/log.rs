//! Log lines in mariadb-backup's format, `[NN] YYYY-MM-DD HH:MM:SS message` on stderr,
//! so scripts that watch mariadb-backup's output keep working — and, when stderr is a
//! terminal, one progress line below them (done/total, rate, ETA) that log lines scroll past.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often the progress line is redrawn at most.
const REDRAW_EVERY: Duration = Duration::from_millis(200);

/// Writes log lines to stderr; one line at a time even from several threads.
pub struct Log {
    state: Mutex<State>,
    terminal: bool,
}

struct State {
    progress: Option<Progress>,
}

struct Progress {
    what: String,
    unit: Unit,
    done: u64,
    total: u64,
    started: Instant,
    drawn_at: Option<Instant>,
}

/// What a progress counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Bytes, shown in MiB with a rate.
    Bytes,
    /// Items (pages, files), shown as counts.
    Items,
}

impl Log {
    /// A logger on stderr; progress lines only when stderr is a terminal.
    pub fn new() -> Log {
        Log {
            state: Mutex::new(State { progress: None }),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// A line from thread `thread` (`0` is the main thread, `1..` copy threads).
    pub fn line(&self, thread: usize, message: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // stderr is unbuffered: the line is put together first and written with one
        // write(2), not one per formatted piece (a backup of many tables logs two lines
        // per file).
        let mut text = String::with_capacity(message.len() + 40);
        if self.terminal && state.progress.is_some() {
            text.push_str("\r\x1b[2K");
        }
        text.push_str(&format!("[{thread:02}] {} {message}\n", now_local()));
        if let Some(p) = state.progress.as_mut().filter(|_| self.terminal) {
            text.push_str(&p.render());
            p.drawn_at = Some(Instant::now());
        }
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    /// A line from the main thread.
    pub fn info(&self, message: &str) {
        self.line(0, message);
    }

    /// A fatal error, as mariadb-backup prints it.
    pub fn fatal(&self, message: &str) {
        self.progress_end();
        self.line(0, &format!("FATAL ERROR: {message}"));
    }

    /// Starts a progress line for `what` with `total` units to do (0 = unknown).
    pub fn progress_start(&self, what: &str, unit: Unit, total: u64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.progress = Some(Progress {
            what: what.to_string(),
            unit,
            done: 0,
            total,
            started: Instant::now(),
            drawn_at: None,
        });
    }

    /// Adds `n` done units; redraws at most every 200 ms.
    pub fn progress_add(&self, n: u64) {
        self.progress_update(|p| p.done = p.done.saturating_add(n));
    }

    /// Sets the done units.
    pub fn progress_set(&self, done: u64, total: u64) {
        self.progress_update(|p| {
            p.done = done;
            p.total = total;
        });
    }

    fn progress_update(&self, change: impl FnOnce(&mut Progress)) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(p) = state.progress.as_mut() else {
            return;
        };
        change(p);
        if !self.terminal || p.drawn_at.is_some_and(|t| t.elapsed() < REDRAW_EVERY) {
            return;
        }
        let line = format!("\r\x1b[2K{}", p.render());
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
        p.drawn_at = Some(Instant::now());
    }

    /// Removes the progress line.
    pub fn progress_end(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.progress.take().is_some() && self.terminal {
            let _ = std::io::stderr().lock().write_all(b"\r\x1b[2K");
        }
    }
}

impl Progress {
    fn render(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.done as f64 / secs;
        let eta = if self.total > self.done && rate > 0.0 {
            format_duration((self.total - self.done) as f64 / rate)
        } else {
            "-".to_string()
        };
        let percent = (self.done.min(self.total) * 100)
            .checked_div(self.total)
            .map_or_else(|| "    ".to_string(), |p| format!("{p:>3}%"));
        match self.unit {
            Unit::Bytes => format!(
                "{} {percent} {:.1}/{:.1} MiB  {:.1} MiB/s  ETA {eta}",
                self.what,
                mib(self.done),
                mib(self.total),
                mib(rate as u64)
            ),
            Unit::Items => format!(
                "{} {percent} {}/{}  {:.0}/s  ETA {eta}",
                self.what, self.done, self.total, rate
            ),
        }
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn format_duration(secs: f64) -> String {
    let secs = secs.round() as u64;
    if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, secs % 3600 / 60)
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_renders_done_total_rate_and_eta() {
        let p = Progress {
            what: "Copying".into(),
            unit: Unit::Bytes,
            done: 50 << 20,
            total: 100 << 20,
            started: Instant::now() - Duration::from_secs(5),
            drawn_at: None,
        };
        let line = p.render();
        assert!(line.starts_with("Copying  50% 50.0/100.0 MiB"), "{line}");
        assert!(
            line.contains("MiB/s") && line.contains("ETA 0m05s"),
            "{line}"
        );
        let items = Progress {
            unit: Unit::Items,
            total: 0,
            ..p
        };
        assert!(items.render().contains("ETA -"), "{}", items.render());
        assert_eq!(format_duration(3725.0), "1h02m");
    }
}
