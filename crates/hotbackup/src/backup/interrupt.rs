//! Ending a backup early, cleanly and quickly: SIGINT/SIGTERM, and a server that stops
//! answering.
//!
//! * The signal handler only records the signal (a second one kills at once, as without a
//!   handler). The backup flow sees it at its next check ([`received`]); a statement
//!   waiting on the server is cut at once by the [`Watchdog`] ([`Stopper`] cancels it).
//! * The normal failure path then runs: the redo copy stops, the SQL thread stopped by
//!   `--safe-slave-backup` is started again, temporary files are removed, exit 1.
//! * If the flow is busy somewhere that has no check (one large file being copied), the
//!   [`Stopper`] does that cleanup itself after [`GRACE`] and exits: the process ends within
//!   seconds of the signal, never leaving replication stopped or a temporary file that
//!   `--copy-back` would have to skip.
//!
//! Temporary files (`*.hotbackup-tmp*`, from atomic metadata writes) are only created under
//! [`write_gate`], which the stopper holds while it cleans up and exits: none can appear
//! after its last look.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use server::{ConnectOptions, Watchdog};

use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;

/// How long the backup flow has after a signal to end on its own before the stopper ends
/// the process.
pub const GRACE: Duration = Duration::from_secs(3);

/// How long the failure path (already running) may take before the stopper ends it.
const FAILURE_PATH_GRACE: Duration = Duration::from_secs(10);

/// The first SIGINT/SIGTERM received, 0 if none.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Taken for every metadata write (which may leave a temporary file if cut) and held by the
/// stopper from its cleanup to the end of the process. Its value: the flow has entered its
/// failure path (the stopper then waits longer before ending it).
static GATE: Mutex<bool> = Mutex::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    // Async-signal-safe only: an atomic, and for a second signal signal(2) + raise(3).
    if SIGNAL
        .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        // SAFETY: both are async-signal-safe; the default action ends the process.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }
}

/// Installs the SIGINT/SIGTERM handler (for `--backup`).
pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a handler that only touches an atomic (and, for a
        // second signal, async-signal-safe calls); SA_RESTART keeps other syscalls going.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// The signal that interrupts the backup, if one came.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGINT => "SIGINT".to_string(),
        libc::SIGTERM => "SIGTERM".to_string(),
        other => format!("signal {other}"),
    }
}

/// "interrupted by SIGTERM": the watchdog's reason when it cuts statements.
pub fn reason(sig: i32) -> String {
    format!("the backup was interrupted by {}", signal_name(sig))
}

/// The failure of a backup interrupted by `sig` (exit 1).
pub fn interrupted(sig: i32) -> Failure {
    Failure::new(Code::Failure, reason(sig))
}

/// Fails with [`interrupted`] once a signal came.
pub fn check() -> Result<(), Failure> {
    match received() {
        Some(sig) => Err(interrupted(sig)),
        None => Ok(()),
    }
}

/// Runs a metadata write under the gate, unless a signal came.
pub fn write_gate<T>(write: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    let _gate = lock_gate();
    check()?;
    write()
}

/// Tells the stopper that the failure path runs (it cleans up itself).
pub fn failure_path_started() {
    *lock_gate() = true;
}

fn lock_gate() -> MutexGuard<'static, bool> {
    GATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes the temporary files a cut metadata write may have left in `dir` (not below:
/// metadata is written at the top of the target and of `--extra-lsndir`).
pub fn remove_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        use std::os::unix::ffi::OsStrExt;
        if crate::copyback::is_temp_file(entry.file_name().as_bytes()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// What the stopper needs to end the process on its own.
pub struct Cleanup<'a> {
    /// How to reach the server (to start the SQL thread again).
    pub conn: &'a ConnectOptions,
    /// Set while `--safe-slave-backup` has the SQL thread stopped.
    pub sql_thread_stopped: &'a AtomicBool,
    /// Directories that may hold temporary files.
    pub dirs: Vec<PathBuf>,
    /// Where the backup goes, for the message.
    pub place: &'a super::Place,
    /// Where to print.
    pub log: &'a Log,
}

/// The thread that turns a signal into cancelled statements, and ends the process if the
/// flow does not end on its own in time.
pub struct Stopper {
    done: AtomicBool,
}

impl Stopper {
    /// Not started.
    pub fn new() -> Stopper {
        Stopper {
            done: AtomicBool::new(false),
        }
    }

    /// The flow has ended: the thread returns.
    pub fn finish(&self) {
        self.done.store(true, Ordering::SeqCst);
    }

    /// The thread's body (run it in a scoped thread, then call [`Stopper::finish`]).
    pub fn run(&self, watchdog: &Watchdog, cleanup: &Cleanup) {
        let sig = loop {
            if self.done.load(Ordering::SeqCst) {
                return;
            }
            if let Some(sig) = received() {
                break sig;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        watchdog.cancel(reason(sig));
        let since = Instant::now();
        loop {
            if self.done.load(Ordering::SeqCst) {
                return;
            }
            let grace = if *lock_gate() {
                FAILURE_PATH_GRACE
            } else {
                GRACE
            };
            if since.elapsed() >= grace {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Held until the process ends: no metadata write can start any more.
        let _gate = lock_gate();
        let mut message = format!(
            "{}; the copy did not stop within {} s, so the process ends now.",
            reason(sig),
            GRACE.as_secs()
        );
        if let Some(note) = super::replica::restart_detached(
            cleanup.conn,
            cleanup.sql_thread_stopped,
            Duration::from_secs(2),
            cleanup.log,
        ) {
            message = format!("{message}\n{note}");
        }
        for dir in &cleanup.dirs {
            remove_temp_files(dir);
        }
        cleanup
            .log
            .fatal(&format!("{message}\n{}", cleanup.place.incomplete()));
        std::process::exit(Code::Failure as i32);
    }
}
