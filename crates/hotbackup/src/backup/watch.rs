//! Whether a backup can go on (the server still there and answering, the redo copy alive,
//! no signal), and the words for one that cannot: its cause, its exit code, and that what
//! was written is incomplete.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use innodb::Lsn;
use server::{ConnectOptions, Session, Stop, Watchdog};
use sink::Sink;

use super::{interrupt, LSN_SESSION_TIMEOUT};
use crate::exit::Code;
use crate::failure::Failure;

/// Whether the server is still there, as seen by the redo copier's own connection: it asks
/// for the server's LSN at every poll (at least every `--log-copy-interval`), so a server
/// that died is noticed within about a second, wherever the backup is.
#[derive(Clone)]
pub(super) struct ServerWatch {
    pub(super) gone: Arc<Mutex<Option<String>>>,
    /// Bounds every session by the server's silence; cancelled on a signal.
    pub(super) watchdog: Watchdog,
}

impl ServerWatch {
    pub(super) fn set_gone(&self, why: String) {
        let mut gone = self.gone.lock().unwrap_or_else(|p| p.into_inner());
        if gone.is_none() {
            *gone = Some(why);
        }
    }

    /// Why the server is considered gone, if it is.
    pub(super) fn gone(&self) -> Option<String> {
        self.gone.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The watchdog's verdict on a server that stopped answering or went away (exit 3).
    pub(super) fn silent(&self) -> Option<Failure> {
        match self.watchdog.stopped()? {
            Stop::Cancelled(_) => None,
            stop => Some(Failure::new(Code::Connection, stop.to_string())),
        }
    }
}

/// Fails when the server went away or the redo copy stopped on an error, so that no more
/// time is spent copying files for a backup that cannot complete.
pub(super) fn check_progress(
    tailer: &redo_tailer::TailerHandle,
    watch: &ServerWatch,
) -> Result<(), Failure> {
    interrupt::check()?;
    if let Some(failure) = watch.silent() {
        return Err(failure);
    }
    if let Some(why) = watch.gone() {
        return Err(Failure::new(Code::Connection, why));
    }
    match tailer.failed() {
        // `stop_tailer_on_failure` replaces this by the copy thread's own error and code.
        Some(message) => Err(Failure::new(Code::Failure, message)),
        None => Ok(()),
    }
}

/// Ends the redo copy after `failure` and returns what to report: the server going away
/// or the redo copy's own error (each with its exit code) when one of them is the cause.
pub(super) fn stop_tailer_on_failure(
    tailer: redo_tailer::TailerHandle,
    watch: &ServerWatch,
    failure: Failure,
) -> Failure {
    if let Some(sig) = interrupt::received() {
        tailer.abort();
        return interrupt::interrupted(sig);
    }
    if let Some(silent) = watch.silent() {
        tailer.abort();
        return silent.unless_said_by(failure);
    }
    if let Some(why) = watch.gone() {
        tailer.abort();
        return Failure::new(Code::Connection, why);
    }
    if tailer.failed().is_some() {
        // The copy thread has ended on an error; joining it returns that error.
        return match tailer.stop_at(Lsn(0), Duration::ZERO) {
            Err(e) => Failure::from(e),
            Ok(_) => failure,
        };
    }
    tailer.abort();
    failure
}

/// The final word on a backup that failed after its target was created: a failure that
/// looks like a lost connection is checked against the server (is it still there?), and
/// the message says that the target is incomplete.
pub(super) fn explain_incomplete(
    failure: Failure,
    conn: &ConnectOptions,
    watch: &ServerWatch,
    place: &Place,
) -> Failure {
    let mut failure = failure;
    if let Some(sig) = interrupt::received() {
        failure = interrupt::interrupted(sig);
    } else if let Some(silent) = watch.silent() {
        failure = silent.unless_said_by(failure);
    }
    // A signal or the watchdog's verdict needs no probe (which would wait on a silent server).
    let known = interrupt::received().is_some() || watch.silent().is_some();
    let gone = !known
        && (watch.gone().is_some()
            || (failure.code == Code::Connection
                && matches!(
                    Session::connect(&ConnectOptions {
                        io_timeout: Some(LSN_SESSION_TIMEOUT),
                        ..conn.clone()
                    }),
                    Err(server::ServerError::Unreachable { .. })
                )));
    if gone {
        failure = Failure::new(
            Code::Connection,
            format!(
                "the MariaDB server went away during the backup ({}): {}. Check the server's error log; once it runs again, take a new backup",
                conn.endpoint(),
                failure.message
            ),
        );
    }
    failure.message = format!("{}\n{}", failure.message, place.incomplete());
    failure
}

/// Where the backup goes, for messages: the target directory, or the stream.
pub struct Place {
    /// `--target-dir`, absolute (not written when streaming).
    pub target: PathBuf,
    /// How messages name the backup.
    pub name: String,
    stream: bool,
}

impl Place {
    pub(super) fn new(sink: &dyn Sink, target: &Path) -> Place {
        let stream = sink.is_stream();
        Place {
            target: target.to_path_buf(),
            name: if stream {
                "the stream on standard output".to_string()
            } else {
                target.display().to_string()
            },
            stream,
        }
    }

    /// The note that ends the message of a failed backup.
    pub fn incomplete(&self) -> String {
        let mark = backup_meta::names::XTRABACKUP_CHECKPOINTS;
        if self.stream {
            format!(
                "The stream on standard output is incomplete (it has no {mark}): discard what was extracted from it and take a new backup."
            )
        } else {
            format!(
                "The backup in {} is incomplete (it has no {mark}): remove it and take a new backup into a new or empty directory.",
                self.name
            )
        }
    }
}
