//! [`TailError`]: everything that can stop the copy, each with the file and LSN involved.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use innodb::redo::RedoError;
use innodb::Lsn;

/// Why copying the redo log failed. Every variant names the file, and the LSNs where it
/// makes sense, and the `Display` text says what the user can do.
#[derive(Debug, thiserror::Error)]
pub enum TailError {
    /// Reading the live log or writing the backup log failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done ("reading", "creating", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The live log's header cannot be used (unsupported or encrypted format, no valid
    /// checkpoint, bad geometry).
    #[error("{}: {source}", path.display())]
    Log {
        /// The live `ib_logfile0`.
        path: PathBuf,
        /// What the parser found.
        #[source]
        source: RedoError,
    },
    /// The live log is encrypted and its key is not available, or not the server's (a
    /// checksummed mtr does not parse once decrypted): the record payloads (file
    /// operations for DDL tracking) cannot be read.
    #[error("{}: encrypted redo log: {detail}", path.display())]
    Key {
        /// The live `ib_logfile0`.
        path: PathBuf,
        /// What is missing, and which option gives it.
        detail: String,
    },
    /// A mini-transaction that the server has certainly finished writing does not
    /// validate: the log is damaged (or was overwritten in a way the LSN checks missed).
    #[error(
        "{}: redo log is corrupt at LSN {lsn} (copied up to {copied_to}): {detail}",
        path.display()
    )]
    Corrupt {
        /// The live `ib_logfile0`.
        path: PathBuf,
        /// Where the bad mini-transaction starts.
        lsn: Lsn,
        /// Where the backup log ends.
        copied_to: Lsn,
        /// What the parser reported.
        detail: String,
    },
    /// The server wrote over log that had not been copied yet (§8): the copy fell more
    /// than one log capacity behind the server.
    #[error(
        "{}: redo log overwritten at LSN {needed}; copied up to {copied_to}; the server is at LSN {server_lsn} and the log holds {capacity} bytes. Increase innodb_log_file_size or reduce load",
        path.display()
    )]
    Overwritten {
        /// The live `ib_logfile0`.
        path: PathBuf,
        /// The first LSN not yet copied, which may be gone.
        needed: Lsn,
        /// Where the backup log ends.
        copied_to: Lsn,
        /// The server's LSN (a lower bound) that proved the overrun.
        server_lsn: Lsn,
        /// Capacity of the live log (file size − 12288).
        capacity: u64,
    },
    /// [`TailerHandle::stop_at`](crate::TailerHandle::stop_at) did not reach its target in
    /// time.
    #[error(
        "was only able to copy log from {start} to {copied_to}, not {target} (waited {timeout:?}; {detail}); try increasing innodb_log_file_size"
    )]
    NotReached {
        /// Where copying started (the checkpoint LSN).
        start: Lsn,
        /// The LSN asked for.
        target: Lsn,
        /// Where the backup log ends.
        copied_to: Lsn,
        /// How long the tailer waited.
        timeout: Duration,
        /// What the live log looked like at `copied_to` on the last poll.
        detail: String,
    },
    /// The live log file was replaced (online resize: new inode, size or first LSN) and
    /// copying cannot continue in the new file.
    #[error(
        "{}: the server replaced its redo log (size {old_size} → {new_size}, first LSN {old_first_lsn} → {new_first_lsn}) while log from LSN {copied_to} on was not copied yet; do not resize innodb_log_file_size during a backup",
        path.display()
    )]
    ServerLogReplaced {
        /// The live `ib_logfile0`.
        path: PathBuf,
        /// Where the backup log ends.
        copied_to: Lsn,
        /// Size of the file copying started in.
        old_size: u64,
        /// Size of the new file.
        new_size: u64,
        /// first_lsn of the old file.
        old_first_lsn: Lsn,
        /// first_lsn of the new file.
        new_first_lsn: Lsn,
    },
    /// The copy thread could not be started or ended abnormally (a bug).
    #[error("the redo copy thread {0}")]
    Thread(String),
    /// The copy was stopped by [`TailerHandle::abort`](crate::TailerHandle::abort) or by
    /// dropping the handle.
    #[error("the redo copy was aborted at LSN {copied_to}")]
    Aborted {
        /// Where the backup log ends.
        copied_to: Lsn,
    },
}

impl TailError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: io::Error) -> Self {
        TailError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}
