//! The copy loop that runs in the tailer thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sink::SinkFile;

use innodb::redo::{Checkpoint, Decoder, EndOfLog, LogFile, MtrFormat, Step, MTR_SIZE_MAX};
use innodb::Lsn;

use crypt::redo::LogKey;

use crate::ddl::{self, FileOp};
use crate::live::{LiveLog, BLOCK};
use crate::{FileOpFn, ServerLsnFn, TailError, TailReport, TailerConfig};

/// The first read of a poll; later reads of the same poll double in size up to
/// `read_size`, so an idle or caught-up tailer reads little.
const FIRST_READ: usize = 64 << 10;
/// Polls in a row that must see the same mtr fail although the server's checkpoint
/// already lies beyond it (so the mtr was completely written) before it is corruption.
const CONFIRM_CORRUPT_POLLS: u32 = 3;
/// ... and for at least this long: a file being replaced by an online resize, or a read
/// error, must not be mistaken for damage within a few quick polls.
const CONFIRM_MIN_TIME: Duration = Duration::from_secs(1);
/// How long an mtr may keep failing while the server's LSN is past it before it is
/// corruption even without checkpoint evidence (mariadb-backup retries 100 × 1 s).
const TAIL_RETRY_LIMIT: Duration = Duration::from_secs(100);
/// Consecutive unreadable live headers tolerated before giving up.
const HEADER_FAILURES_MAX: u32 = 3;

/// State shared between the handle and the thread.
pub(crate) struct Shared {
    pub(crate) copied_lsn: AtomicU64,
    pub(crate) mtrs: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) control: Mutex<Control>,
    pub(crate) wake: Condvar,
    pub(crate) failure: Mutex<Option<String>>,
    pub(crate) finished: AtomicBool,
    /// How the last poll ended, for the caller's messages.
    pub(crate) status: Mutex<String>,
}

impl Shared {
    pub(crate) fn new(start: Lsn) -> Shared {
        Shared {
            copied_lsn: AtomicU64::new(start.0),
            mtrs: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            control: Mutex::new(Control::default()),
            wake: Condvar::new(),
            failure: Mutex::new(None),
            finished: AtomicBool::new(false),
            status: Mutex::new("nothing read yet".into()),
        }
    }

    pub(crate) fn set_status(&self, status: &str) {
        let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
        if *s != status {
            status.clone_into(&mut s);
        }
    }

    pub(crate) fn status(&self) -> String {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn control(&self) -> MutexGuard<'_, Control> {
        // A poisoned lock only means the other side panicked; the data is plain flags.
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_failure(&self, message: String) {
        *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
    }

    pub(crate) fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Requests from the handle.
#[derive(Default)]
pub(crate) struct Control {
    pub(crate) stop: Option<StopRequest>,
    pub(crate) abort: bool,
}

/// `stop_at(target, timeout)`.
#[derive(Clone, Copy)]
pub(crate) struct StopRequest {
    pub(crate) target: Lsn,
    pub(crate) timeout: Duration,
    pub(crate) deadline: Instant,
}

/// An mtr at the tail that keeps failing its CRC or framing check.
struct TailFailure {
    lsn: Lsn,
    since: Instant,
    confirmed: u32,
    end: EndOfLog,
}

/// Why a poll stopped reading.
enum Halted {
    /// It read `read_size`: there may be more, poll again at once.
    Budget,
    /// It reached the parse limit: the rest is not known to be durable yet.
    Limit(Lsn),
    /// The log ended (cleanly, or at an mtr that failed its checks).
    End(EndOfLog),
}

/// What one poll did.
struct Polled {
    /// Bytes appended to the backup log.
    copied: u64,
    /// The poll stopped at `read_size` inside valid log: poll again at once.
    more: bool,
}

pub(crate) struct Worker {
    pub(crate) config: TailerConfig,
    live: LiveLog,
    dec: Decoder,
    backup: Box<dyn SinkFile>,
    backup_path: PathBuf,
    start: Checkpoint,
    server_lsn: ServerLsnFn,
    on_file_op: FileOpFn,
    pub(crate) shared: Arc<Shared>,
    /// The highest lower bound of the server's LSN seen so far.
    known_server_lsn: Lsn,
    /// The highest durable LSN seen so far (flushed LSN or checkpoint end_lsn), from
    /// samples taken before the current poll's reads.
    known_flushed: Lsn,
    /// Whether the last call of the `server_lsn` callback answered.
    server_answered: bool,
    buf: Vec<u8>,
    out: Vec<u8>,
    ops: Vec<FileOp>,
    n_file_ops: u64,
    tail: Option<TailFailure>,
    /// How the last poll ended, for `NotReached`.
    last_end: String,
    header_failures: u32,
    /// The key of an encrypted log.
    key: Option<LogKey>,
}

/// The key of an encrypted live log, from the configured keys.
fn log_key(config: &TailerConfig, live: &LiveLog) -> Result<Option<LogKey>, TailError> {
    let Some(enc) = live
        .log
        .header
        .encryption
        .filter(|_| live.log.header.is_encrypted())
    else {
        return Ok(None);
    };
    let err = |detail: String| TailError::Key {
        path: live.path().to_path_buf(),
        detail,
    };
    let keys = config.keys.as_deref().ok_or_else(|| {
        err("the server's key management (file_key_management) is not known: its key file is needed to follow DDL in the log".into())
    })?;
    LogKey::new(&keys.ring, keys.algorithm, &enc)
        .map(Some)
        .map_err(|e| err(format!("{e} (file_key_management_filename)")))
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: TailerConfig,
        live: LiveLog,
        backup: Box<dyn SinkFile>,
        server_lsn: ServerLsnFn,
        on_file_op: FileOpFn,
        shared: Arc<Shared>,
    ) -> Result<Worker, TailError> {
        let start = live.log.checkpoint;
        let key = log_key(&config, &live)?;
        let format = MtrFormat::new(live.log.geometry, live.log.header.is_encrypted());
        let dec = Decoder::new(format, start.checkpoint_lsn).map_err(|e| live.log_error(e))?;
        let backup_path = config.backup_log.clone();
        Ok(Worker {
            config,
            dec,
            backup,
            backup_path,
            start,
            server_lsn,
            on_file_op,
            shared,
            known_server_lsn: start.end_lsn,
            known_flushed: start.end_lsn,
            server_answered: false,
            buf: Vec::new(),
            out: Vec::new(),
            ops: Vec::new(),
            n_file_ops: 0,
            tail: None,
            last_end: "nothing read yet".into(),
            header_failures: 0,
            key,
            live,
        })
    }

    fn copied_lsn(&self) -> Lsn {
        self.dec.lsn()
    }

    fn capacity(&self) -> u64 {
        self.live.log.geometry.capacity()
    }

    /// The margin of §8, never less than one block (the server rewrites whole blocks,
    /// so it overwrites up to a block past its LSN) and at most a quarter of the log.
    fn margin(&self) -> u64 {
        self.config
            .safety_margin
            .min(self.capacity() / 4)
            .max(BLOCK)
    }

    /// The main loop: poll, sleep adaptively, stop when asked.
    pub(crate) fn run(mut self) -> Result<TailReport, TailError> {
        let mut interval = self.config.min_poll_interval;
        loop {
            let (stop, abort) = {
                let c = self.shared.control();
                (c.stop, c.abort)
            };
            if abort {
                // Keep what was copied durable; the backup is failed anyway.
                let _ = self.backup.sync();
                return Err(TailError::Aborted {
                    copied_to: self.copied_lsn(),
                });
            }
            if let Some(stop) = stop {
                if self.copied_lsn() >= self.effective_target(stop.target) {
                    return self.finish();
                }
            }
            let stalled = self
                .config
                .stall
                .as_ref()
                .is_some_and(|s| s.load(Ordering::Relaxed));
            let polled = if stalled {
                Polled {
                    copied: 0,
                    more: false,
                }
            } else {
                self.poll(stop.is_some())?
            };
            if let Some(stop) = stop {
                let target = self.effective_target(stop.target);
                if self.copied_lsn() >= target {
                    return self.finish();
                }
                if Instant::now() >= stop.deadline {
                    let _ = self.backup.sync();
                    return Err(TailError::NotReached {
                        start: self.start.checkpoint_lsn,
                        target,
                        copied_to: self.copied_lsn(),
                        timeout: stop.timeout,
                        detail: if stalled {
                            "the copy was stalled by the test knob".into()
                        } else {
                            self.last_end.clone()
                        },
                    });
                }
            }
            if polled.more {
                continue;
            }
            interval = if polled.copied > 0 || stop.is_some() {
                self.config.min_poll_interval
            } else {
                (interval * 2).min(self.config.max_poll_interval)
            };
            let c = self.shared.control();
            if c.abort || (c.stop.is_some() != stop.is_some()) {
                continue;
            }
            let _ = self
                .shared
                .wake
                .wait_timeout(c, interval)
                .map_err(|e| e.into_inner());
        }
    }

    /// A backup log must reach past the start checkpoint's end_lsn, where the
    /// FILE_CHECKPOINT mtr that prepare looks for starts (§2.6).
    fn effective_target(&self, target: Lsn) -> Lsn {
        target.max(Lsn(self.start.end_lsn.0.saturating_add(1)))
    }

    fn finish(mut self) -> Result<TailReport, TailError> {
        self.backup
            .sync()
            .map_err(|e| TailError::io("syncing", &self.backup_path, e))?;
        let report = TailReport {
            start_lsn: self.start.checkpoint_lsn,
            checkpoint_end_lsn: self.start.end_lsn,
            last_lsn: self.copied_lsn(),
            bytes: self.shared.bytes.load(Ordering::Relaxed),
            mtrs: self.shared.mtrs.load(Ordering::Relaxed),
            file_ops: self.n_file_ops,
        };
        self.backup
            .close()
            .map_err(|e| TailError::io("closing", &self.backup_path, e))?;
        Ok(report)
    }

    /// Re-reads the live header: notices a replaced file and raises the lower bound of
    /// the server's LSN from the checkpoint blocks. Returns the header's end_lsn, or
    /// `None` when this read of the header failed (tolerated a few times) or the file
    /// changed.
    fn refresh_header(&mut self) -> Result<Option<Lsn>, TailError> {
        if self.live.replaced()?.is_some() {
            self.reopen()?;
        }
        let log = match self.live.reread_header() {
            Ok(log) => {
                self.header_failures = 0;
                log
            }
            Err(e) => {
                self.header_failures += 1;
                if self.header_failures >= HEADER_FAILURES_MAX {
                    return Err(e);
                }
                return Ok(None);
            }
        };
        if log.geometry != self.live.log.geometry || log.header != self.live.log.header {
            self.reopen()?;
            return Ok(None);
        }
        let end = max_end_lsn(&log);
        self.known_server_lsn = self.known_server_lsn.max(end);
        Ok(Some(end))
    }

    /// Follows an online resize (§2.7): the path now names a new file.
    fn reopen(&mut self) -> Result<(), TailError> {
        let old = self.live.log;
        let next = self.dec.lsn();
        let replaced = |new_first: Lsn, size: u64| TailError::ServerLogReplaced {
            path: self.live.path().to_path_buf(),
            copied_to: next,
            old_size: old.geometry.file_size(),
            new_size: size,
            old_first_lsn: old.geometry.first_lsn(),
            new_first_lsn: new_first,
        };
        let new = match LiveLog::open(self.live.path()) {
            Ok(new) => new,
            // Caught while the new file is not complete yet: keep reading the old file,
            // try again next poll.
            Err(TailError::Log { .. }) | Err(TailError::Io { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let g = new.log.geometry;
        if next < g.first_lsn() || new.log.header.encryption != old.header.encryption {
            return Err(replaced(g.first_lsn(), g.file_size()));
        }
        let format = MtrFormat::new(g, new.log.header.is_encrypted());
        self.dec.reset(next, format).map_err(|e| new.log_error(e))?;
        self.live = new;
        self.tail = None;
        Ok(())
    }

    /// §8: unread log at `next` is only there while the server's write position is
    /// below `next + capacity`; `known_server_lsn` is a lower bound of that position.
    fn check_overrun(&self, next: Lsn) -> Result<(), TailError> {
        let server = self.known_server_lsn;
        let limit = next
            .0
            .saturating_add(self.capacity())
            .saturating_sub(self.margin());
        if server.0 >= limit {
            return Err(TailError::Overwritten {
                path: self.live.path().to_path_buf(),
                needed: next,
                copied_to: next,
                server_lsn: server,
                capacity: self.capacity(),
            });
        }
        Ok(())
    }

    /// Asks the server where its log is: raises the known current and flushed LSNs.
    fn sample_server(&mut self) {
        let answer = (self.server_lsn)();
        self.server_answered = answer.is_some();
        if let Some(lsns) = answer {
            self.known_server_lsn = self.known_server_lsn.max(lsns.current);
            self.known_flushed = self.known_flushed.max(lsns.flushed);
        }
    }

    /// How far this poll may parse: log known to be durable before its reads began
    /// (see the crate documentation); `None` (no limit) for a log nobody writes, and
    /// while stopping if the server does not say how far its log is durable (as
    /// mariadb-backup without `Innodb_lsn_flushed`): checkpoints alone may never pass
    /// the target.
    fn parse_limit(&self, stopping: bool) -> Option<Lsn> {
        if !self.config.limit_to_flushed || (stopping && !self.server_answered) {
            return None;
        }
        Some(self.known_flushed)
    }

    /// One poll: read from the next LSN up to the parse limit, parse whole mtrs, and
    /// append them to the backup log once the server is known not to have overwritten
    /// what was read.
    fn poll(&mut self, stopping: bool) -> Result<Polled, TailError> {
        let header_end = self.refresh_header()?;
        if let Some(end) = header_end {
            // The server writes a checkpoint block only after the log up to its end_lsn
            // (and the FILE_CHECKPOINT mtr there) is durable.
            self.known_flushed = self.known_flushed.max(end);
        }
        let next = self.dec.lsn();
        self.check_overrun(next)?;
        let limit = self.parse_limit(stopping);

        self.out.clear();
        self.ops.clear();
        let read_size = self.read_budget();
        let mut from = self.live.block_start(next);
        let mut total = 0usize;
        let mut chunk = FIRST_READ.min(read_size);
        let mut mtrs = 0u64;
        let end = 'read: loop {
            let mut len = chunk.min(read_size - total);
            if let Some(limit) = limit {
                let below = usize::try_from(limit.0.saturating_sub(from.0)).unwrap_or(usize::MAX);
                if below == 0 {
                    break Halted::Limit(limit);
                }
                len = len.min(below);
            }
            self.buf.resize(len, 0);
            self.live.read_lsn(from, &mut self.buf)?;
            let mut input = self
                .dec
                .input_at(&self.buf, from)
                .map_err(|e| self.live.log_error(e))?;
            loop {
                match input.next_frame() {
                    Step::Mtr(frame) => {
                        frame.copy_for_backup(&mut self.out);
                        mtrs += 1;
                        if let Err(detail) = ddl::scan(&frame, self.key.as_ref(), &mut self.ops) {
                            // Its checksum matched: in an encrypted log, the decryption is
                            // what is wrong.
                            if self.key.is_some() {
                                return Err(TailError::Key {
                                    path: self.live.path().to_path_buf(),
                                    detail: crypt::redo::wrong_key_reason(
                                        frame.start_lsn(),
                                        detail,
                                    ),
                                });
                            }
                            return Err(TailError::Corrupt {
                                path: self.live.path().to_path_buf(),
                                lsn: frame.start_lsn(),
                                copied_to: next,
                                detail,
                            });
                        }
                    }
                    Step::NeedMore { .. } => break,
                    Step::EndOfLog(e) => break 'read Halted::End(e),
                    Step::Error(e) => {
                        let lsn = input.lsn();
                        return Err(TailError::Corrupt {
                            path: self.live.path().to_path_buf(),
                            lsn,
                            copied_to: next,
                            detail: e.to_string(),
                        });
                    }
                }
            }
            drop(input);
            total += len;
            from = self.dec.input_lsn();
            if total >= read_size {
                break Halted::Budget;
            }
            chunk = chunk.saturating_mul(2);
        };

        // Trust nothing read until a server LSN sampled *after* the reads says the bytes
        // at `next` were still this pass.
        // This sample also gives the next poll its parse limit: it is taken before
        // that poll's reads.
        let _ = self.refresh_header()?;
        self.sample_server();
        self.check_overrun(next)?;

        let copied = self.out.len() as u64;
        if copied > 0 {
            self.backup
                .write_all(&self.out)
                .map_err(|e| TailError::io("writing", &self.backup_path, e))?;
            self.shared.bytes.fetch_add(copied, Ordering::Relaxed);
            self.shared.mtrs.fetch_add(mtrs, Ordering::Relaxed);
            self.shared
                .copied_lsn
                .store(self.dec.lsn().0, Ordering::Release);
            self.n_file_ops += self.ops.len() as u64;
            for op in self.ops.drain(..) {
                (self.on_file_op)(op);
            }
        }

        let polled = match end {
            Halted::Budget => {
                self.tail = None;
                self.last_end = format!("log continues after LSN {}", self.dec.lsn());
                Ok(Polled { copied, more: true })
            }
            Halted::Limit(limit) => {
                self.tail = None;
                self.last_end = format!(
                    "copied up to LSN {}; the server had made the log durable up to LSN {limit}{}",
                    self.dec.lsn(),
                    if self.server_answered {
                        ""
                    } else {
                        " (it does not answer the LSN query: only its checkpoints tell)"
                    }
                );
                // The sample after the reads may already allow more: go on at once.
                let more = self.known_flushed > limit;
                Ok(Polled { copied, more })
            }
            Halted::End(e) if e.is_clean() => {
                self.tail = None;
                self.last_end = e.to_string();
                Ok(Polled {
                    copied,
                    more: false,
                })
            }
            Halted::End(e) => {
                self.tail_failure(e, limit.or(header_end).unwrap_or(Lsn(0)))?;
                Ok(Polled {
                    copied,
                    more: false,
                })
            }
        };
        self.shared.set_status(&self.last_end);
        polled
    }

    /// How much one poll may read: `read_size`, but at least one maximal mtr plus a
    /// block (the read starts up to a block before the next mtr) and less than one
    /// capacity (more would read bytes of another pass).
    fn read_budget(&self) -> usize {
        let floor = MTR_SIZE_MAX + 2 * BLOCK as usize;
        let cap = usize::try_from(self.capacity().saturating_sub(BLOCK)).unwrap_or(usize::MAX);
        self.config.read_size.max(floor).min(cap).max(1)
    }

    /// A CRC or framing failure at the tail: normally an mtr the server is still
    /// writing (retry next poll); corruption if it persists although the server had
    /// made the log durable past it (`durable`: a checkpoint's end_lsn or the flushed
    /// LSN, known before this poll's reads) before it was read.
    fn tail_failure(&mut self, end: EndOfLog, durable: Lsn) -> Result<(), TailError> {
        let lsn = end.lsn();
        self.last_end = format!("{end} (retrying)");
        let now = Instant::now();
        let tail = match self.tail.take() {
            Some(t) if t.lsn == lsn => t,
            _ => TailFailure {
                lsn,
                since: now,
                confirmed: 0,
                end,
            },
        };
        let mut tail = TailFailure { end, ..tail };
        // The server had made the log past lsn durable before we read it: the bytes
        // there were final.
        if durable > lsn {
            tail.confirmed += 1;
        } else {
            tail.confirmed = 0;
        }
        let failing_for = now.duration_since(tail.since);
        let stuck = failing_for >= TAIL_RETRY_LIMIT && self.known_server_lsn > lsn;
        if (tail.confirmed >= CONFIRM_CORRUPT_POLLS && failing_for >= CONFIRM_MIN_TIME) || stuck {
            return Err(TailError::Corrupt {
                path: self.live.path().to_path_buf(),
                lsn,
                copied_to: self.dec.lsn(),
                detail: format!(
                    "{} (the server is at LSN {} or later)",
                    tail.end, self.known_server_lsn
                ),
            });
        }
        self.tail = Some(tail);
        Ok(())
    }

    /// One poll run in `start`, so that an unreadable checkpoint fails the start.
    pub(crate) fn first_poll(&mut self) -> Result<(), TailError> {
        self.sample_server();
        self.poll(false).map(|_| ())
    }
}

/// The larger end_lsn of the valid checkpoint blocks: a lower bound of the server's LSN.
fn max_end_lsn(log: &LogFile) -> Lsn {
    log.checkpoint_blocks
        .iter()
        .filter_map(|b| b.as_ref().ok().map(|c| c.end_lsn))
        .max()
        .unwrap_or(log.checkpoint.end_lsn)
}
