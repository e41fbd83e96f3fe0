//! Follows a live server's circular `ib_logfile0` from its checkpoint and appends
//! validated mini-transactions to the backup's linear `ib_logfile0`, exactly as
//! mariadb-backup 10.11 does (`shared/docs/redo-format.md` §8, §9.1, §9.2).
//!
//! ```text
//! live ib_logfile0 (circular)                 backup ib_logfile0 (linear, never wraps)
//! |hdr|cp1|cp2|....C....next.....|   pread    |hdr first_lsn=C|cp1=(C,E)|cp2=0|mtr mtr ...|
//!               ^ checkpoint                  0               4096      8192  12288 + (L - C)
//! ```
//!
//! [`start`] reads the live header, creates the backup log exclusively with the
//! 12288-byte prefix mariadb-backup writes (first_lsn = checkpoint C, creator
//! `Backup 10.11.19`, checkpoint block 1 = (C, end_lsn)), and copies log from C in a
//! thread of its own:
//!
//! * every poll reads from the next LSN (rounded down to a 4 KiB block, across the
//!   wrap), frames whole CRC-valid mtrs and appends them with the end marker forced to
//!   1; LSN L lands at offset `12288 + (L - C)` and the file always ends at an mtr
//!   boundary;
//! * only log the server has made durable is parsed: up to its flushed LSN
//!   ([`ServerLsns::flushed`], sampled before the read) or its latest checkpoint's
//!   end_lsn (while stopping, a server that does not answer lifts the limit, as
//!   mariadb-backup has none without `Innodb_lsn_flushed`). The server rewrites its last, partly filled block many times, and a read
//!   racing with such a rewrite can return a torn image of it in which stale buffer
//!   bytes form a CRC-valid mtr that was never written there. Accepting it puts the copy
//!   in the middle of a real mtr for good (seen on ext4 under heavy writes with a 4 MiB
//!   log; MariaDB fixed the same in mariadb-backup as MDEV-39468). Bytes below the
//!   flushed LSN are the same in every image of their block, so they are safe to parse;
//! * a CRC or framing failure at the tail means "still being written": it is read again
//!   next poll, and only becomes [`TailError::Corrupt`] when it persists although the
//!   server has certainly written past it;
//! * before and after reading, the server's LSN (a lower bound from the live checkpoint
//!   blocks, and the caller's `server_lsn` callback) is compared with the next LSN: once
//!   the server may have written one capacity past it, the copy fails with
//!   [`TailError::Overwritten`] instead of trusting sequence bits and CRCs alone (§8).
//!   Bytes are appended only after that check, made with an LSN sampled after the read;
//! * file operations and tablespace re-creations are reported as [`FileOp`]s;
//! * polls are fast (`min_poll_interval`) while log keeps coming and back off to
//!   `max_poll_interval` when idle.
//!
//! [`TailerHandle::stop_at`] copies up to a target LSN, fsyncs and returns a
//! [`TailReport`]; [`TailerHandle::failed`] lets the backup flow fail fast.
//!
//! The crate never prints and never panics on log bytes; every error names the file
//! and the LSN.
#![deny(missing_docs)]

mod ddl;
mod error;
mod live;
mod worker;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use innodb::redo::{backup_log_prefix, Checkpoint, LogHeader};
use innodb::Lsn;
use sink::{DirSink, Sink, SinkFile};

pub use ddl::FileOp;
pub use error::TailError;

use live::LiveLog;
use worker::{Shared, StopRequest, Worker};

/// Where the server's log is, as one query tells (`SHOW STATUS LIKE 'Innodb_lsn_%'`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLsns {
    /// `Innodb_lsn_current`: the LSN of the next mtr; a lower bound of how far the
    /// server may have written (overrun detection).
    pub current: Lsn,
    /// `Innodb_lsn_flushed`: the log below it is durable in `ib_logfile0` and will not
    /// be rewritten in this pass (the parse limit).
    pub flushed: Lsn,
}

/// The callback that returns the server's [`ServerLsns`], or `None` when they are not
/// available this time.
pub type ServerLsnFn = Box<dyn FnMut() -> Option<ServerLsns> + Send>;
/// The callback that receives every [`FileOp`] found in the copied log, in LSN order.
pub type FileOpFn = Box<dyn FnMut(FileOp) + Send>;

/// What to copy and how.
#[derive(Clone, Debug)]
pub struct TailerConfig {
    /// `<innodb_log_group_home_dir>/ib_logfile0` of the live server.
    pub server_log: PathBuf,
    /// `<target>/ib_logfile0`; created exclusively (`O_EXCL`), never overwritten.
    pub backup_log: PathBuf,
    /// `--log-copy-interval`: the poll interval when the log is idle (default 1 s).
    pub max_poll_interval: Duration,
    /// The poll interval while the server keeps writing, and while
    /// [`TailerHandle::stop_at`] waits (default 10 ms).
    pub min_poll_interval: Duration,
    /// Bytes read per poll at most (default 2 MiB). Raised to at least one maximal mtr
    /// (1 MiB) plus two blocks, and kept below the log capacity.
    pub read_size: usize,
    /// Capacity kept as a margin for overrun detection (default 1 MiB): the copy fails
    /// once the server may be within this many bytes of overwriting uncopied log. Kept
    /// between one 4 KiB block and a quarter of the capacity.
    pub safety_margin: u64,
    /// Parse only log the server has made durable (default `true`; see the crate
    /// documentation). `false` is for a log nobody writes any more, such as a sample
    /// file in a test: there is no server to tell what is durable.
    pub limit_to_flushed: bool,
    /// **Test-only knob.** While the flag is `true`, the copy thread does not read the
    /// log at all (it still answers `stop_at` and `abort`): this simulates a tailer that
    /// cannot keep up, to test overrun detection. Leave `None` in production.
    pub stall: Option<Arc<AtomicBool>>,
    /// The server's keys (`file_key_management`), required for an encrypted log: its
    /// mtrs are copied as they are and their payloads decrypted for DDL tracking.
    pub keys: Option<Arc<crypt::Keys>>,
}

impl TailerConfig {
    /// A configuration with the defaults documented on each field.
    pub fn new(server_log: impl Into<PathBuf>, backup_log: impl Into<PathBuf>) -> TailerConfig {
        TailerConfig {
            server_log: server_log.into(),
            backup_log: backup_log.into(),
            max_poll_interval: Duration::from_secs(1),
            min_poll_interval: Duration::from_millis(10),
            read_size: 2 << 20,
            safety_margin: 1 << 20,
            limit_to_flushed: true,
            stall: None,
            keys: None,
        }
    }
}

/// What a finished copy produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TailReport {
    /// The checkpoint LSN copying started from: the backup log's first_lsn.
    pub start_lsn: Lsn,
    /// The end_lsn of that checkpoint (checkpoint block 1 of the backup log).
    pub checkpoint_end_lsn: Lsn,
    /// Where the backup log ends (`last_lsn` in `xtrabackup_checkpoints`); the file is
    /// `12288 + (last_lsn - start_lsn)` bytes.
    pub last_lsn: Lsn,
    /// Bytes of log copied (after the 12288-byte prefix).
    pub bytes: u64,
    /// Mini-transactions copied.
    pub mtrs: u64,
    /// [`FileOp`]s reported.
    pub file_ops: u64,
}

/// The running copy; see [`start`]. Dropping it aborts the copy (like
/// [`TailerHandle::abort`]).
pub struct TailerHandle {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<TailReport, TailError>>>,
    start: Checkpoint,
    server_log: PathBuf,
}

/// Starts copying the log of `config.server_log` into the new file `config.backup_log`
/// (created `O_EXCL`, mode 0640, removed again if the start fails); see [`start_into`].
pub fn start(
    config: TailerConfig,
    server_lsn: ServerLsnFn,
    on_file_op: FileOpFn,
) -> Result<TailerHandle, TailError> {
    let backup_path = config.backup_log.clone();
    let (dir, name) = match (backup_path.parent(), backup_path.file_name()) {
        (Some(dir), Some(name)) => (dir.to_path_buf(), PathBuf::from(name)),
        _ => (PathBuf::from("."), backup_path.clone()),
    };
    // 0640 whatever the umask, like every file of a backup: redo holds row data.
    let out = DirSink::new(dir)
        .create(&name)
        .map_err(|e| TailError::io("creating", &backup_path, e))?;
    let started = start_into(config, out, server_lsn, on_file_op);
    if started.is_err() {
        let _ = std::fs::remove_file(&backup_path);
    }
    started
}

/// Starts copying the log of `config.server_log` into `out` (`config.backup_log` names it
/// in messages), written front to back.
///
/// Reads the live header, picks its latest checkpoint, writes mariadb-backup's
/// 12288-byte prefix, makes a first poll (so that an unreadable log fails here), then
/// continues in a thread named `redo-tailer`. Both callbacks run in that thread. `out` is
/// closed when the copy is stopped ([`TailerHandle::stop_at`]); after an abort or a
/// failure it is left unclosed (incomplete).
///
/// An encrypted log needs `config.keys` ([`TailError::Key`] otherwise): its mtrs are
/// copied as they are (the backup log keeps the server's encryption and header), and
/// their payloads decrypted to read the file records.
pub fn start_into(
    config: TailerConfig,
    mut out: Box<dyn SinkFile>,
    server_lsn: ServerLsnFn,
    on_file_op: FileOpFn,
) -> Result<TailerHandle, TailError> {
    let live = LiveLog::open(&config.server_log)?;
    let checkpoint = live.log.checkpoint;
    let backup_path = config.backup_log.clone();
    let header = LogHeader::for_backup(&live.log.header, checkpoint.checkpoint_lsn);
    let prefix = backup_log_prefix(&header, checkpoint.checkpoint_lsn, checkpoint.end_lsn);
    out.write_all(&prefix)
        .map_err(|e| TailError::io("writing", &backup_path, e))?;
    let shared = Arc::new(Shared::new(checkpoint.checkpoint_lsn));
    let mut worker = Worker::new(config, live, out, server_lsn, on_file_op, shared)?;
    worker.first_poll()?;
    let shared = Arc::clone(&worker.shared);
    let server_log = worker.config.server_log.clone();
    let thread_shared = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("redo-tailer".into())
        .spawn(move || {
            let result = worker.run();
            if let Err(e) = &result {
                thread_shared.set_failure(e.to_string());
            }
            thread_shared.finished.store(true, Ordering::Release);
            result
        })
        .map_err(|e| TailError::Thread(format!("could not be started: {e}")))?;
    Ok(TailerHandle {
        shared,
        thread: Some(thread),
        start: checkpoint,
        server_log,
    })
}

impl TailerHandle {
    /// The live checkpoint copying started from: `checkpoint_lsn` is the backup log's
    /// first LSN, `end_lsn` is in its checkpoint block.
    pub fn start_checkpoint(&self) -> Checkpoint {
        self.start
    }

    /// The LSN up to which the backup log is written (an mtr boundary).
    pub fn copied_lsn(&self) -> Lsn {
        Lsn(self.shared.copied_lsn.load(Ordering::Acquire))
    }

    /// Mini-transactions and bytes copied so far.
    pub fn progress(&self) -> (u64, u64) {
        (
            self.shared.mtrs.load(Ordering::Relaxed),
            self.shared.bytes.load(Ordering::Relaxed),
        )
    }

    /// Re-reads the live log's checkpoint blocks now and returns the latest checkpoint
    /// LSN (`to_lsn` at BLOCK_COMMIT, §9.1 step 7).
    pub fn latest_server_checkpoint(&self) -> Result<Lsn, TailError> {
        Ok(live::latest_checkpoint(&self.server_log)?.checkpoint_lsn)
    }

    /// The error that stopped the copy thread, if it stopped on one; poll this to fail
    /// the backup early. [`TailerHandle::stop_at`] returns the error itself.
    pub fn failed(&self) -> Option<String> {
        self.shared.failure()
    }

    /// How the copy thread's last poll ended (where it stopped and why), for messages
    /// about a copy that does not get somewhere in time.
    pub fn status(&self) -> String {
        self.shared.status()
    }

    /// Whether the copy thread has ended (on an error, or after `stop_at`/`abort`).
    pub fn is_finished(&self) -> bool {
        self.shared.finished.load(Ordering::Acquire)
    }

    /// Copies until the backup log reaches `target` (whole mtrs: it may end beyond),
    /// then fsyncs it and returns the report. The target is raised to just past the
    /// start checkpoint's end_lsn if it is lower, since prepare needs the
    /// FILE_CHECKPOINT mtr there. Fails with [`TailError::NotReached`] if the log does
    /// not get there within `timeout`, or with whatever error stopped the copy.
    ///
    /// The copy reaches `target` once the server has made its log durable that far (the
    /// caller runs `FLUSH ENGINE LOGS`; with `innodb_flush_log_at_trx_commit=0` the
    /// server's once-a-second flush does it). If the server stops answering the LSN
    /// query meanwhile, the rest is parsed without that limit.
    pub fn stop_at(mut self, target: Lsn, timeout: Duration) -> Result<TailReport, TailError> {
        {
            let mut c = self.shared.control();
            c.stop = Some(StopRequest {
                target,
                timeout,
                deadline: Instant::now() + timeout,
            });
        }
        self.shared.wake.notify_all();
        self.join()
    }

    /// Stops copying now (the backup failed). The partial backup log stays; the backup
    /// is incomplete anyway.
    pub fn abort(mut self) {
        self.abort_and_join();
    }

    fn abort_and_join(&mut self) {
        self.shared.control().abort = true;
        self.shared.wake.notify_all();
        let _ = self.join();
    }

    fn join(&mut self) -> Result<TailReport, TailError> {
        let Some(thread) = self.thread.take() else {
            return Err(TailError::Thread("was already stopped".into()));
        };
        match thread.join() {
            Ok(result) => result,
            Err(_) => Err(TailError::Thread("panicked".into())),
        }
    }
}

impl Drop for TailerHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.abort_and_join();
        }
    }
}

impl std::fmt::Debug for TailerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TailerHandle")
            .field("start", &self.start)
            .field("copied_lsn", &self.copied_lsn())
            .field("failed", &self.failed())
            .finish()
    }
}
