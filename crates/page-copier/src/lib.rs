//! Copies InnoDB tablespace files (`ibdata*`, `undo*`, `*.ibd`) from a live server.
//!
//! The server keeps writing while we read, so a page can be *torn*: our `pread` overlapped
//! its `pwrite` of the same page. Every page is therefore validated as mariadb-backup does
//! (`innodb::page::PageValidator`); a batch holding a bad page is re-read after 100 ms, up
//! to 10 reads in all, and only then is the page declared corrupt — failing the copy, or,
//! with [`CopyOptions::log_corruption`], recorded and copied as it is.
//!
//! Page 0 decides how the rest is checked (module `page0`): a file whose page 0 the server has not
//! written yet (empty, shorter than a page, or page 0 all zero: a tablespace being created) is
//! *deferred* and copied byte for byte, since the redo log creates its pages at `--prepare`.
//! Any other page 0 that does not parse is re-read like a torn page and then fails the copy,
//! even with `log_corruption`: the header cannot be skipped.
//!
//! Pages that are stale but self-consistent are fine: the redo log copied alongside brings
//! every page up to date at `--prepare`.
//!
//! A copy is written whole, or for an incremental backup as a `.delta` of the pages newer
//! than the base (module `output`, [`Output`]): every page is still read and validated, only
//! the writing differs. A deferred table then writes nothing ([`CopyReport::left_out`]): it
//! was created after the base, and the caller copies it whole as `.new` once DDL is blocked.
//!
//! Invariants:
//! * live files are only ever read with `pread` (never memory-mapped: a file truncated under
//!   a map kills the process with SIGBUS), and we tell the kernel we will not reread them so
//!   a backup does not evict the server's page cache;
//! * the destination file is created exclusively: an existing file is never overwritten;
//! * this crate never prints; it reports through [`Progress`].
#![deny(missing_docs)]

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use innodb::page::{PageValidator, PageVerdict, ValidationOptions};
use innodb::{PageNo, SpaceId};

mod buffers;
mod deep;
mod output;
mod page0;

pub use deep::{DeepCheck, SpaceCheck};
pub use output::Output;
use page0::Page0;
use sink::Sink;
pub use sink::{create_dir_private, create_exclusive, exposure_warnings};

/// How many pages one `pread` batch holds (mariadb-backup's constant, 10 MiB at 16k).
pub const BATCH_PAGES: usize = 640;
/// How often a batch with a bad page is read before the page is declared corrupt.
pub const MAX_READS: u32 = 10;
/// Pause between two reads of a batch with a bad page: long enough for the server to
/// finish the write we overlapped.
pub const RETRY_DELAY: Duration = Duration::from_millis(100);

/// What kind of file is copied; it decides how pages are numbered and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// The first file of the system tablespace (`ibdata1`), which holds page 0.
    SystemFirst,
    /// A further system tablespace file (`ibdata2`…): no page 0 of its own; it is checked
    /// with the first file's format, numbering pages from 0 in each file as mariadb-backup.
    SystemNext,
    /// An undo tablespace (`undo001`…).
    Undo,
    /// A file-per-table tablespace (`db/t.ibd`, possibly a `DATA DIRECTORY` path).
    Table,
}

/// One file to copy.
#[derive(Clone, Debug)]
pub struct Source {
    /// Where the live file is.
    pub path: PathBuf,
    /// Its name inside the backup, relative (`ibdata1`, `db/t.ibd`, `db/t.new`).
    pub dest: PathBuf,
    /// What kind of file it is.
    pub kind: SourceKind,
    /// Written whole or as a delta.
    pub output: Output,
}

/// Knobs of a copy.
#[derive(Clone, Debug)]
pub struct CopyOptions {
    /// Record persistently bad pages and go on instead of failing
    /// (`--log-innodb-page-corruption`).
    pub log_corruption: bool,
    /// Reads of a batch before giving up on a bad page.
    pub max_reads: u32,
    /// Pause between reads of a batch with a bad page.
    pub retry_delay: Duration,
    /// Pages per `pread`.
    pub batch_pages: usize,
    /// Page validation rules.
    pub validation: ValidationOptions,
    /// fsync each destination file when it is complete. A caller that makes the whole
    /// target durable at once before marking the backup complete (`syncfs`) turns this off:
    /// one flush of everything is much faster than one per file.
    pub sync: bool,
    /// A table whose page 0 is not written yet (created after the checkpoint) writes
    /// nothing and is reported `left_out`, as mariadb-backup leaves it to its `.new` copy
    /// once DDL is blocked. Deltas always do this (a delta needs the page size).
    pub leave_unwritten_tables: bool,
    /// A further check of the pages that pass [`PageValidator`] (`--extended-validation`:
    /// encrypted pages decrypted and their plaintext checked), built by the caller; a page it
    /// rejects is re-read and reported like any corrupt page.
    pub deep_check: Option<Arc<dyn DeepCheck>>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            log_corruption: false,
            max_reads: MAX_READS,
            retry_delay: RETRY_DELAY,
            batch_pages: BATCH_PAGES,
            validation: ValidationOptions::default(),
            sync: true,
            leave_unwritten_tables: false,
            deep_check: None,
        }
    }
}

/// Receives progress and warnings; the binary renders them.
pub trait Progress: Sync {
    /// `bytes` more bytes of `source` were copied.
    fn copied(&self, source: &Path, bytes: u64);
    /// Something the user should know that does not stop the copy.
    fn warn(&self, message: &str);
    /// Page `page_no` of `source` failed validation (`reason`); its batch is read again.
    fn retrying(&self, _source: &Path, _page_no: PageNo, _reason: &str) {}
}

/// A [`Progress`] that discards everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn copied(&self, _: &Path, _: u64) {}
    fn warn(&self, _: &str) {}
}

/// Limits read batches per second across all copy threads (`--throttle`).
pub struct Throttle {
    per_second: u32,
    window: Mutex<(Instant, u32)>,
}

impl Throttle {
    /// At most `per_second` batch reads per second.
    pub fn new(per_second: u32) -> Throttle {
        Throttle {
            per_second: per_second.max(1),
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Blocks until one more batch may be read.
    pub fn wait(&self) {
        loop {
            let sleep_for = {
                let mut guard = match self.window.lock() {
                    Ok(g) => g,
                    Err(poisoned) => poisoned.into_inner(),
                };
                let (start, count) = &mut *guard;
                let elapsed = start.elapsed();
                if elapsed >= Duration::from_secs(1) {
                    *start = Instant::now();
                    *count = 0;
                }
                if *count < self.per_second {
                    *count += 1;
                    return;
                }
                Duration::from_secs(1).saturating_sub(elapsed)
            };
            std::thread::sleep(sleep_for);
        }
    }
}

/// A page that stayed bad after every re-read, kept with `--log-innodb-page-corruption`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorruptPage {
    /// Page number within the file.
    pub page_no: PageNo,
    /// Why it failed validation.
    pub reason: String,
}

/// What a finished copy did.
#[derive(Clone, Debug, Default)]
pub struct CopyReport {
    /// Tablespace id from page 0, when page 0 could be read.
    pub space_id: Option<SpaceId>,
    /// Physical page size used.
    pub page_size: usize,
    /// Bytes written to the destination.
    pub bytes: u64,
    /// Pages copied.
    pub pages: u64,
    /// How many batch re-reads torn pages caused.
    pub rereads: u64,
    /// Pages recorded as corrupt (only with `log_corruption`).
    pub corrupt_pages: Vec<CorruptPage>,
    /// Page 0 was not written yet (empty file, shorter than a page, or page 0 all zero: a
    /// tablespace being created): copied without validation, the redo log rebuilds it.
    pub deferred: bool,
    /// Nothing was written: a deferred table with [`Output::Delta`] (a table whose page 0
    /// is not written yet is newer than any base; it must be copied whole, as `.new`).
    pub left_out: bool,
    /// Pages written to the delta ([`Output::Delta`]).
    pub delta_pages: u64,
}

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The live file disappeared before we opened it (table dropped); the redo log's
    /// FILE_DELETE covers it.
    #[error("{path}: vanished before it could be copied (dropped during the backup)")]
    Vanished {
        /// The live file.
        path: PathBuf,
    },
    /// Reading the live file failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The live file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Writing the backup file failed (disk full, permissions, file exists).
    #[error("cannot write {path}: {source}")]
    Write {
        /// The backup file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A page of the TRX_SYS page's identity (space 0, page 5) is newer than the base:
    /// mariadb-backup 10.11's refusal, in its words.
    #[error(
        "{path}: page {page_no} (the TRX_SYS page or its doublewrite copy) changed since the \
         base. --incremental backup is impossible if the server had been restarted with \
         different innodb_undo_tablespaces. Take a full backup instead"
    )]
    TrxSysChanged {
        /// The live file.
        path: PathBuf,
        /// Where in the file the page was.
        page_no: PageNo,
    },
    /// An undo or system tablespace whose page 0 is not written yet cannot be written as a
    /// delta (its page size and space id are unknown).
    #[error(
        "{path}: page 0 is not written yet (the tablespace is being created or truncated), \
         so it cannot be written as a delta of an incremental backup; run the backup again"
    )]
    DeferredDelta {
        /// The live file.
        path: PathBuf,
    },
    /// The tablespace's pages cannot be checked as asked ([`CopyOptions::deep_check`]: a key
    /// that is not in the key file).
    #[error("{path}: {reason}")]
    Unverifiable {
        /// The live file.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },
    /// A page stayed corrupt after every re-read. Page 0 of a file that has one (every
    /// kind but [`SourceKind::SystemNext`]) is never recorded instead: it is the header.
    #[error(
        "{path}: page {page_no} of tablespace {space} is corrupt after {reads} reads: {reason}. \
             The source file is damaged; check it with innochecksum, {}",
        fix_for(*page_no)
    )]
    Corrupt {
        /// The live file.
        path: PathBuf,
        /// Tablespace id, or "?" when unknown.
        space: String,
        /// The bad page.
        page_no: PageNo,
        /// How often it was read.
        reads: u32,
        /// What validation said.
        reason: String,
    },
}

fn fix_for(page_no: PageNo) -> &'static str {
    if page_no.0 == 0 {
        "then restore the table from an older backup or rebuild it. Page 0 is the tablespace \
         header: --log-innodb-page-corruption cannot skip it, since without it the file \
         cannot be prepared"
    } else {
        "or back up anyway with --log-innodb-page-corruption"
    }
}

/// Copies one tablespace file into `sink` (as `source.dest`), front to back.
///
/// `system_validator` must be given for [`SourceKind::SystemNext`] files: the validator
/// built from `ibdata1`'s page 0.
pub fn copy_tablespace(
    source: &Source,
    sink: &dyn Sink,
    options: &CopyOptions,
    system_validator: Option<&PageValidator>,
    throttle: Option<&Throttle>,
    progress: &dyn Progress,
) -> Result<CopyReport, CopyError> {
    let read_err = |source_err: io::Error| CopyError::Read {
        path: source.path.clone(),
        source: source_err,
    };
    let file = match File::open(&source.path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(CopyError::Vanished {
                path: source.path.clone(),
            })
        }
        Err(e) => return Err(read_err(e)),
    };
    advise_sequential(&file);

    let mut report = CopyReport::default();
    let (validator, page0) = match source.kind {
        SourceKind::SystemNext => (system_validator.cloned(), None),
        _ => first_page_validator(&file, source, options, &mut report)?,
    };
    if validator.is_none()
        && source.kind == SourceKind::Table
        && (options.leave_unwritten_tables || matches!(source.output, Output::Delta { .. }))
    {
        report.deferred = true;
        report.left_out = true;
        return Ok(report);
    }
    let deep = match (&options.deep_check, &validator) {
        (Some(check), Some(v)) => {
            check
                .for_space(v, page0.as_deref())
                .map_err(|reason| CopyError::Unverifiable {
                    path: source.path.clone(),
                    reason,
                })?
        }
        _ => None,
    };
    let out_name = output::output_name(&source.dest, source.output);
    let dest_path = PathBuf::from(sink.describe(&out_name));
    let mut dest = output::start(
        sink,
        &source.dest,
        source.output,
        validator.as_ref(),
        &source.path,
    )?;
    // A deferred file (page 0 not written yet) has no known page size: it is copied byte
    // for byte, unvalidated, in 10 MiB batches.
    let (page_size, unit) = match &validator {
        Some(v) => (v.page_size(), v.page_size()),
        None => {
            report.deferred = true;
            (0, 1)
        }
    };
    report.page_size = page_size;
    report.space_id = validator.as_ref().map(|v| v.space_id());
    let batch_bytes = match page_size {
        0 => BATCH_PAGES * 16384,
        size => size * options.batch_pages.max(1),
    };

    let reader = Reader {
        file: &file,
        source,
        options,
        validator: validator.as_ref(),
        deep: deep.as_deref(),
        throttle,
        progress,
        page_size,
        unit,
    };
    // A file that fits one batch (most tables of a schema with thousands of them) is read and
    // written on this thread: a writer thread per file cost more than the copy itself.
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    let write_result = if file_len < batch_bytes as u64 {
        let first = (file_len as usize).max(SMALL_BUFFER).div_ceil(unit) * unit;
        let spare = std::cell::Cell::new(Some(buffers::BATCHES.take(first.min(batch_bytes))));
        let mut delta_pages = 0;
        reader
            .run(
                &mut report,
                &mut || spare.take(),
                &mut |buf, offset, len, corrupt| {
                    let first_page = offset.checked_div(page_size as u64).unwrap_or(0);
                    delta_pages += dest.batch(&buf[..len], first_page, &corrupt, &dest_path)?;
                    spare.set(Some(buf));
                    Ok(true)
                },
            )
            .map(|()| {
                if let Some(buf) = spare.take() {
                    buffers::BATCHES.give(buf);
                }
                delta_pages
            })
    } else {
        copy_overlapped(&reader, &mut report, &mut dest, &dest_path, batch_bytes)
    };
    report.delta_pages = write_result?;
    dest.finish(options.sync, &dest_path)?;
    Ok(report)
}

/// Size of the first read buffer of a file that fits one batch (grown to the file).
const SMALL_BUFFER: usize = 64 << 10;

/// What one copy reads with: the live file and how its batches are checked.
struct Reader<'a> {
    file: &'a File,
    source: &'a Source,
    options: &'a CopyOptions,
    validator: Option<&'a PageValidator>,
    /// The caller's further check of this tablespace's pages ([`CopyOptions::deep_check`]).
    deep: Option<&'a dyn SpaceCheck>,
    throttle: Option<&'a Throttle>,
    progress: &'a dyn Progress,
    page_size: usize,
    /// Bytes a batch is cut to: the page size, or 1 for a deferred file.
    unit: usize,
}

/// A batch read and checked: its buffer, file offset, whole bytes and the pages recorded as
/// corrupt in it.
type Batch = (Vec<u8>, u64, usize, Vec<PageNo>);

impl Reader<'_> {
    /// Reads the file front to back in batches: `next_buf` gives an empty buffer (`None`:
    /// stop, the consumer failed), `put` takes each checked batch (`false`: stop).
    fn run(
        &self,
        report: &mut CopyReport,
        next_buf: &mut dyn FnMut() -> Option<Vec<u8>>,
        put: &mut dyn FnMut(Vec<u8>, u64, usize, Vec<PageNo>) -> Result<bool, CopyError>,
    ) -> Result<(), CopyError> {
        let source = self.source;
        let read_err = |e: io::Error| CopyError::Read {
            path: source.path.clone(),
            source: e,
        };
        let mut offset: u64 = 0;
        loop {
            let Some(mut buf) = next_buf() else {
                return Ok(());
            };
            if let Some(t) = self.throttle {
                t.wait();
            }
            // Files grow while we copy; read to the current end. Pages appended after
            // the last read are covered by the redo log.
            let n = read_full_at(self.file, &mut buf, offset).map_err(read_err)?;
            let whole = n - n % self.unit;
            if whole == 0 {
                if n > 0 {
                    self.progress.warn(&format!(
                        "{}: ignoring {n} bytes of junk after the last whole page",
                        source.path.display()
                    ));
                }
                return Ok(());
            }
            let corrupt_before = report.corrupt_pages.len();
            if let Some(v) = self.validator {
                check_batch(
                    self.file,
                    &mut buf[..whole],
                    offset,
                    (v, self.deep),
                    source,
                    self.options,
                    self.progress,
                    report,
                )?;
            }
            let full = n == buf.len();
            let corrupt: Vec<PageNo> = report.corrupt_pages[corrupt_before..]
                .iter()
                .map(|c| c.page_no)
                .collect();
            if !put(buf, offset, whole, corrupt)? {
                return Ok(());
            }
            drop_from_cache(self.file, offset, whole as u64);
            offset += whole as u64;
            report.bytes += whole as u64;
            report.pages += whole.checked_div(self.page_size).unwrap_or(0) as u64;
            self.progress.copied(&source.path, whole as u64);
            if !full {
                return Ok(());
            }
        }
    }
}

/// Reading (and validating) overlaps with writing: this thread reads batch n+1 while a
/// writer thread writes batch n. Two buffers circulate between them. Returns the pages
/// written into a delta.
fn copy_overlapped(
    reader: &Reader,
    report: &mut CopyReport,
    dest: &mut output::Writer,
    dest_path: &Path,
    batch_bytes: usize,
) -> Result<u64, CopyError> {
    let (source, page_size) = (reader.source, reader.page_size);
    let (to_writer, from_reader) = mpsc::sync_channel::<Batch>(1);
    let (to_reader, from_writer) = mpsc::sync_channel::<Vec<u8>>(2);
    for _ in 0..2 {
        // Cannot fail: the channel has room for both buffers.
        let _ = to_reader.send(buffers::BATCHES.take(batch_bytes));
    }
    std::thread::scope(|scope| -> Result<u64, CopyError> {
        // The writer owns the return channel: if it stops (write error), the reader's
        // next wait for a buffer ends instead of blocking forever.
        let writer = scope.spawn(move || -> Result<u64, CopyError> {
            let mut delta_pages = 0;
            for (buf, offset, len, corrupt) in from_reader {
                // Batches come in file order: the sink is written front to back.
                debug_assert!(source.output != Output::Whole || offset == dest.len());
                let first_page = offset.checked_div(page_size as u64).unwrap_or(0);
                delta_pages += dest.batch(&buf[..len], first_page, &corrupt, dest_path)?;
                // The reader may have stopped already; a lost buffer is fine then.
                let _ = to_reader.send(buf);
            }
            Ok(delta_pages)
        });
        let read_result = reader.run(
            report,
            // The writer failed when no buffer comes back; its error is reported below.
            &mut || from_writer.recv().ok(),
            &mut |buf, offset, len, corrupt| {
                Ok(to_writer.send((buf, offset, len, corrupt)).is_ok())
            },
        );
        drop(to_writer);
        let written = writer.join().unwrap_or_else(|_| {
            Err(CopyError::Write {
                path: dest_path.to_path_buf(),
                source: io::Error::other("the writer thread panicked"),
            })
        });
        // Both buffers came back unless a side failed: kept for the next file.
        for buf in from_writer.try_iter() {
            buffers::BATCHES.give(buf);
        }
        // A write error explains a stopped reader; otherwise report the reader's error.
        let delta_pages = written?;
        read_result.map(|()| delta_pages)
    })
}

/// Validates every page of a batch, re-reading the whole batch after a pause while a page
/// is bad, exactly like mariadb-backup's `xb_fil_cur_read`: one counter per batch.
#[allow(clippy::too_many_arguments)]
fn check_batch(
    file: &File,
    batch: &mut [u8],
    offset: u64,
    (validator, deep): (&PageValidator, Option<&dyn SpaceCheck>),
    source: &Source,
    options: &CopyOptions,
    progress: &dyn Progress,
    report: &mut CopyReport,
) -> Result<(), CopyError> {
    let page_size = validator.page_size();
    let first_page = offset / page_size as u64;
    let mut reads_left = options.max_reads.max(1);
    let mut idx = 0;
    while idx < batch.len() / page_size {
        let page = &batch[idx * page_size..(idx + 1) * page_size];
        let page_no = PageNo((first_page + idx as u64) as u32);
        let Some(reason) = page_problem(validator, deep, page, page_no) else {
            idx += 1;
            continue;
        };
        reads_left -= 1;
        if reads_left == 0 {
            let header = page_no.0 == 0 && source.kind != SourceKind::SystemNext;
            if !options.log_corruption || header {
                return Err(CopyError::Corrupt {
                    path: source.path.clone(),
                    space: report
                        .space_id
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "?".into()),
                    page_no,
                    reads: options.max_reads,
                    reason,
                });
            }
            report.corrupt_pages.push(CorruptPage { page_no, reason });
            // Later bad pages of this batch are recorded without more re-reads.
            reads_left = 1;
            idx += 1;
            continue;
        }
        progress.retrying(&source.path, page_no, &reason);
        std::thread::sleep(options.retry_delay);
        report.rereads += 1;
        let n = read_full_at(file, batch, offset).map_err(|e| CopyError::Read {
            path: source.path.clone(),
            source: e,
        })?;
        if n < batch.len() {
            // The file shrank under us (undo truncation): what is gone need not be copied,
            // the redo log re-creates it. Zeroed pages validate as empty.
            batch[n..].fill(0);
        }
        idx = 0;
    }
    Ok(())
}

/// Why a page is bad: its checksums, or the caller's further check of a page that has
/// content (not the doublewrite buffer, not an all-zero page).
fn page_problem(
    validator: &PageValidator,
    deep: Option<&dyn SpaceCheck>,
    page: &[u8],
    page_no: PageNo,
) -> Option<String> {
    match validator.validate(page, page_no) {
        PageVerdict::Corrupt(c) => Some(c.to_string()),
        PageVerdict::Valid(_) | PageVerdict::Unverified(_) => deep?.check(page, page_no),
        PageVerdict::AllZero | PageVerdict::SkippedDoublewrite => None,
    }
}

/// Builds the validator from page 0 (returned too), or `None` for a deferred file (page 0 not written yet,
/// see module `page0`). A page 0 that is neither is re-read like a torn page, then fails the copy:
/// the header cannot be skipped, even with `log_corruption` (without it neither tool can
/// prepare the file; mariadb-backup fails there too).
fn first_page_validator(
    file: &File,
    source: &Source,
    options: &CopyOptions,
    report: &mut CopyReport,
) -> Result<(Option<PageValidator>, Option<Vec<u8>>), CopyError> {
    let system = source.kind == SourceKind::SystemFirst;
    let mut head = vec![0u8; page0::HEAD_BYTES];
    let mut reads = 0;
    loop {
        let n = read_full_at(file, &mut head, 0).map_err(|e| CopyError::Read {
            path: source.path.clone(),
            source: e,
        })?;
        reads += 1;
        match page0::classify(&head[..n], system, options.validation) {
            Page0::Valid(validator) => {
                head.truncate(validator.page_size());
                return Ok((Some(validator), Some(head)));
            }
            Page0::Deferred => return Ok((None, None)),
            Page0::Unreadable { reason, space } => {
                if reads >= options.max_reads.max(1) {
                    return Err(CopyError::Corrupt {
                        path: source.path.clone(),
                        space: space.map_or_else(|| "?".into(), |s| s.to_string()),
                        page_no: PageNo(0),
                        reads,
                        reason,
                    });
                }
            }
        }
        std::thread::sleep(options.retry_delay);
        report.rereads += 1;
    }
}

/// `pread` until `buf` is full or the file ends; returns the bytes read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn advise_sequential(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: posix_fadvise only reads its integer arguments; the fd is open for the call.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_SEQUENTIAL);
    }
}

/// Tells the kernel we will not read this range again, so the copy does not push the
/// server's hot pages out of the page cache.
fn drop_from_cache(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: as above; the advice is a hint and has no memory effects.
    unsafe {
        libc::posix_fadvise(
            file.as_raw_fd(),
            offset as libc::off_t,
            len as libc::off_t,
            libc::POSIX_FADV_DONTNEED,
        );
    }
}
