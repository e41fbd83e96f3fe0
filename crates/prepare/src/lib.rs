//! `hotbackup --prepare`: applies a backup's redo log to its data files so that they
//! form one consistent snapshot, byte for byte as `mariadb-backup --prepare` 10.11 does
//! (`shared/docs/redo-format.md` §5, §7, §9.3, §9.4).
//!
//! ```text
//! xtrabackup_checkpoints ─ full-backuped? ──────────────────────────────── log-applied: no-op
//! ib_logfile0 ─ pass 1: header, checkpoint, every mtr checked, FILE_CHECKPOINT at end_lsn,
//!               names/deletes/sizes/flags, batch boundaries for the memory budget
//! hotbackup_prepare.journal ─ left by a killed prepare: replayed if complete, removed
//! hotbackup_ddl_journal ─ left by a killed prepare: finished
//! .del/.ren/.new ─ one plan, checked, not run yet: each file's name after it
//! ibdata1, undoNNN, *.ibd, *.new ─ opened where they are, mapped by space id
//!        (deferred page 0 → FILE_ name of the name after the plan)
//! check: every page the log reads (not INIT/FREE) validated; innodb_corrupted_pages
//!        decided where it can be — nothing moved or written yet
//! .del/.ren/.new ─ the plan runs (journaled); its journal is removed; files extended
//! per batch: pass 2 collects page records (INIT/FREE discard rule) → pages in parallel:
//!            read (unless INIT/FREE) + validate → page-LSN rule → apply → LSN + checksum
//!            → per 32 MiB chunk (the next one applied meanwhile): journal segment,
//!            fsync, in place
//! journal removed → innodb_corrupted_pages finished (free pages zeroed)
//! fsync data files → xtrabackup_binlog_pos_innodb (the binlog position InnoDB recorded)
//! → new 12,304-byte ib_logfile0 (atomic) → xtrabackup_checkpoints with
//! backup_type = log-applied (atomic): the last write marks the backup prepared
//! ```
//!
//! Crash safety: applying is idempotent by the page-LSN rule for whole pages, and the
//! log is replaced and the backup marked prepared only after every page is durable. A
//! page write torn by a power loss would break that rule (new LSN, old body), so pages
//! reach their files only through a doublewrite journal ([`JOURNAL`]) that the next
//! prepare replays first: a killed prepare is simply run again, to the same bytes. A
//! log, a DDL marker, a missing tablespace or a page read that fails any check is
//! refused before any file is moved or written.
#![deny(missing_docs)]

mod binlog;
mod check;
mod corrupted;
mod crypt;
mod ddl;
mod error;
mod handles;
mod hash;
mod incremental;
mod journal;
mod log;
mod page_compressed;
mod progress;
mod spaces;
mod sysfiles;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use backup_meta::names::XTRABACKUP_BINLOG_INFO;
use backup_meta::{BackupType, BinlogInfo, BinlogPosInnodb, Checkpoints, FileMode, MetaFile};
use innodb::apply::{apply_record, stamp_page, Effect};
use innodb::page::fil::FIL_PAGE_LSN;
use innodb::redo::prepared_log;
use innodb::redo::record::PageId;
use innodb::{Lsn, SpaceId};
use rayon::prelude::*;

pub use error::PrepareError;
pub use handles::{data_file_capacity, open_files_limit, RESERVED_FILES};
pub use incremental::{prepare_incremental, IncrementalSummary, MARKER as INCREMENTAL_MARKER};
#[doc(hidden)]
pub use journal::CrashPoint;
pub use journal::JOURNAL;
pub use progress::{DdlAction, Event, NoProgress, Progress};

use hash::{FxHashMap, FxHashSet};
use journal::{Journal, PageWrite};
use log::{BatchLog, Log, PageSlots, SpaceRule};
use spaces::Space;

/// `xtrabackup_checkpoints`.
pub const XTRABACKUP_CHECKPOINTS: &str = "xtrabackup_checkpoints";
/// The binlog position InnoDB recorded, written by prepare.
pub const XTRABACKUP_BINLOG_POS_INNODB: &str = "xtrabackup_binlog_pos_innodb";
/// The redo log of a backup.
pub const IB_LOGFILE0: &str = "ib_logfile0";
/// Default memory budget for collected log: mariadb-backup's `--use-memory` default.
pub const DEFAULT_USE_MEMORY: u64 = 100 << 20;
/// Length of the LSN field in the FIL header.
const FIL_PAGE_LSN_LEN: usize = 8;
/// The prepared log's single FILE_CHECKPOINT mtr is 16 bytes: first_lsn = end − 16.
const PREPARED_LOG_MTR_LEN: u64 = 16;
/// Report page progress every this many pages.
const PROGRESS_EVERY: usize = 1024;
/// Changed pages journaled at once (bytes); two such chunks are in memory, one being
/// applied while the other is written.
const JOURNAL_CHUNK_BYTES: usize = 32 << 20;

/// How to prepare.
#[derive(Clone, Debug)]
pub struct PrepareOptions {
    /// Memory for collected log records per batch (`--use-memory`); a log that needs
    /// more is applied in several batches over consecutive LSN ranges.
    pub use_memory: u64,
    /// Worker threads for applying pages; `None` = rayon's default (one per core).
    pub threads: Option<usize>,
    /// `innodb_page_size`; `None` = from ibdata1's page 0.
    pub page_size: Option<usize>,
    /// Skip (with an [`Event::MissingSkipped`]) records for tablespaces that have no
    /// file instead of failing.
    pub ignore_missing_tablespaces: bool,
    /// `innodb_force_recovery=1`, as mariadb-backup: a corrupt page the log reads keeps
    /// its bytes and does not get its records ([`Event::CorruptPageSkipped`]) instead of
    /// failing the prepare. The prepared backup is then not consistent; the caller must
    /// say so.
    pub force_recovery: bool,
    /// The open-files limit to stay within (`None`: the process's `RLIMIT_NOFILE`): data
    /// files are opened on demand and at most [`data_file_capacity`] of them at once.
    pub open_files_limit: Option<u64>,
    /// The keys of an encrypted server (`file_key_management`): needed for an
    /// encrypted redo log and for encrypted tablespaces the log changes.
    pub keys: Option<std::sync::Arc<crypt::Keys>>,
    /// `innodb_encrypt_tables` (backup-my.cnf): pages of `ENCRYPTED=DEFAULT` tablespaces
    /// with crypt data are written encrypted.
    pub encrypt_tables: bool,
    /// Test hook: stop at this page write as a crash would.
    #[doc(hidden)]
    pub crash_point: Option<CrashPoint>,
    /// Test hook (`--incremental-dir`): stop at this page write of the deltas (counted
    /// over all of them; `journal_limit`/`chunk_pages` unused).
    #[doc(hidden)]
    pub delta_crash_point: Option<CrashPoint>,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            use_memory: DEFAULT_USE_MEMORY,
            threads: None,
            page_size: None,
            ignore_missing_tablespaces: false,
            force_recovery: false,
            open_files_limit: None,
            keys: None,
            encrypt_tables: false,
            crash_point: None,
            delta_crash_point: None,
        }
    }
}

/// What a prepare did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrepareSummary {
    /// The backup was already prepared; nothing was changed.
    pub already_prepared: bool,
    /// Where applying started.
    pub checkpoint_lsn: Lsn,
    /// End of the applied log (the prepared log's checkpoint + 16).
    pub end_lsn: Lsn,
    /// Mini-transactions parsed.
    pub n_mtrs: u64,
    /// Records parsed.
    pub n_records: u64,
    /// Batches (1 unless the log exceeded the memory budget).
    pub n_batches: usize,
    /// Pages written back.
    pub pages_written: u64,
    /// Pages with records that were not written (only FREE_PAGE, or all already
    /// in the page by its LSN).
    pub pages_not_written: u64,
    /// Of `pages_written`, those written without the journal: an incremental's delta
    /// pages, which a re-run of the apply rewrites from the delta first.
    pub pages_unjournaled: u64,
    /// Pages read from the backup and validated before anything was written.
    pub pages_checked: u64,
    /// Corrupt pages left without their records (only with `force_recovery`): when not
    /// 0, the prepared backup is not consistent.
    pub corrupt_pages_skipped: u64,
    /// The binlog position of the last InnoDB commit in the backup, as recorded in
    /// the rollback segments; `None` when InnoDB recorded no file name
    /// (`xtrabackup_binlog_pos_innodb` is written either way).
    pub binlog_pos_innodb: Option<BinlogPosInnodb>,
}

/// Prepares the backup in `dir`. See the crate documentation for the steps.
pub fn prepare(
    dir: &Path,
    options: &PrepareOptions,
    progress: &dyn Progress,
) -> Result<PrepareSummary, PrepareError> {
    for missing in [XTRABACKUP_CHECKPOINTS, IB_LOGFILE0] {
        if !dir.join(missing).is_file() {
            if [".qp", ".lz4", ".zst"]
                .iter()
                .any(|s| dir.join(format!("{missing}{s}")).is_file())
            {
                return Err(PrepareError::Compressed {
                    dir: dir.to_path_buf(),
                    file: missing,
                });
            }
            return Err(PrepareError::NotABackup {
                dir: dir.to_path_buf(),
                missing,
            });
        }
    }
    let cp_path = dir.join(XTRABACKUP_CHECKPOINTS);
    let checkpoints = Checkpoints::read(&cp_path)?;
    // A base left half-changed by an interrupted incremental apply is not prepared.
    incremental::refuse_interrupted(dir)?;
    match checkpoints.backup_type {
        BackupType::LogApplied => {
            progress.event(Event::AlreadyPrepared);
            return Ok(PrepareSummary {
                already_prepared: true,
                ..Default::default()
            });
        }
        BackupType::Incremental => {
            return Err(PrepareError::Unsupported {
                what: format!(
                    "{} is an incremental backup: apply it to its prepared base",
                    dir.display()
                ),
            })
        }
        BackupType::FullBackuped => {}
    }
    apply_log(
        dir,
        &dir.join(IB_LOGFILE0),
        &checkpoints,
        checkpoints.clone(),
        options,
        None,
        progress,
    )
}

/// Applies the log `log_path` (a backup's `ib_logfile0`) to the data files of `dir`:
/// everything from the journal recovery to the `log-applied` checkpoints. `checked` are
/// the checkpoints the log must match (`to_lsn`, `last_lsn`, `recover_binlog_info`);
/// `out` is what `xtrabackup_checkpoints` of `dir` says at the end (made `log-applied`).
/// `redone`: the pages any re-run rewrites before it applies the log (no journal needed).
pub(crate) fn apply_log(
    dir: &Path,
    log_path: &Path,
    checked: &Checkpoints,
    out: Checkpoints,
    options: &PrepareOptions,
    redone: Option<journal::Redone<'_>>,
    progress: &dyn Progress,
) -> Result<PrepareSummary, PrepareError> {
    let scanned = scan_log(log_path, checked, options)?;
    apply_scanned(dir, scanned, checked, out, options, redone, progress)
}

/// A log read whole by pass 1 and checked against its checkpoints; nothing changed yet.
pub(crate) struct ScannedLog {
    log: Log,
    scan: log::Scan,
}

/// Pass 1 of [`apply_log`]: reads only `log_path`, so it can run while other checks do.
pub(crate) fn scan_log(
    log_path: &Path,
    checked: &Checkpoints,
    options: &PrepareOptions,
) -> Result<ScannedLog, PrepareError> {
    let checkpoints = checked;
    let log = Log::open(log_path, options.keys.as_deref())?;
    // One batch is in memory at a time.
    let scan = log.scan(options.use_memory.max(1))?;
    let end_lsn = scan.end_lsn;
    if end_lsn < Lsn(checkpoints.to_lsn) {
        return Err(PrepareError::LogTooShort {
            end: end_lsn,
            needed: Lsn(checkpoints.to_lsn),
            what: "to_lsn",
        });
    }
    if checkpoints.last_lsn != 0 && end_lsn != Lsn(checkpoints.last_lsn) {
        return Err(PrepareError::LogEndMismatch {
            path: log.path.clone(),
            end: end_lsn,
            last_lsn: Lsn(checkpoints.last_lsn),
        });
    }
    Ok(ScannedLog { log, scan })
}

/// [`apply_log`] after pass 1.
pub(crate) fn apply_scanned(
    dir: &Path,
    scanned: ScannedLog,
    checked: &Checkpoints,
    out: Checkpoints,
    options: &PrepareOptions,
    redone: Option<journal::Redone<'_>>,
    progress: &dyn Progress,
) -> Result<PrepareSummary, PrepareError> {
    let checkpoints = checked;
    let cp_path = dir.join(XTRABACKUP_CHECKPOINTS);
    // Every data file is opened through this cache: any number of tablespaces within the
    // open-files limit.
    let handles = handles::Handles::new(data_file_capacity(options.open_files_limit));
    // A prepare killed while it wrote pages: its journaled pages go in place first.
    match journal::recover(dir, &handles)? {
        journal::Recovered::None => {}
        journal::Recovered::Replayed(pages) => progress.event(Event::JournalReplayed { pages }),
        journal::Recovered::Discarded => progress.event(Event::JournalDiscarded),
    }

    // Pass 1 ran before anything changed: a bad log leaves the directory untouched.
    let ScannedLog { log, scan } = scanned;
    let end_lsn = scan.end_lsn;
    let n_batches = scan.batches.len();
    progress.event(Event::LogScanned {
        checkpoint_lsn: log.checkpoint_lsn(),
        end_lsn,
        n_mtrs: scan.n_mtrs,
        n_records: scan.n_records,
        n_batches,
    });

    // Every check that can fail runs before the first file is moved or written: the
    // DDL plan is checked here and run only after the pages are, on files opened where
    // they are now under the names the plan gives them (a rename keeps the inode, so the
    // open files stay valid). A DDL journal left by a killed prepare is finished first:
    // that prepare's checks had passed.
    let ddl = ddl::plan(dir, progress)?;
    let page_size = match options.page_size {
        Some(s) => s,
        None => spaces::server_page_size(dir)?,
    };
    let files = spaces::candidate_files(dir, |p| ddl.after(p))?;
    let keys = options.keys.as_deref().map(|k| (k, options.encrypt_tables));
    let mut spaces = spaces::open_spaces(
        dir,
        page_size,
        &scan.spaces,
        &files,
        &handles,
        keys,
        progress,
    )?;
    page_compressed::configure(dir, &mut spaces);

    // Which spaces' records are applied: not deleted, with a file (§5.1, §5.6).
    for (&id, &n_pages) in &scan.pages {
        let deleted = scan.spaces.get(&id).is_some_and(|n| n.deleted);
        if deleted {
            continue;
        }
        match spaces.get(&id) {
            None if options.ignore_missing_tablespaces => {
                progress.event(Event::MissingSkipped { space: id, n_pages })
            }
            None => {
                let name = scan.spaces.get(&id).and_then(|n| n.name.clone());
                return Err(PrepareError::MissingTablespace {
                    space: id,
                    name: name.unwrap_or_else(|| "no FILE_ record".into()),
                    n_pages,
                });
            }
            Some(sp) => {
                let noted = scan.spaces.get(&id).and_then(|n| n.crypt);
                crypt::check_deferred(sp, noted, options.keys.as_deref())?;
                if let Some(reason) = sp.key_error.clone() {
                    let what = sp.path.display().to_string();
                    return Err(PrepareError::Key { what, reason });
                }
            }
        }
    }
    // Spaces whose records are applied (a set, so `spaces` can be renamed below).
    let applied_ids: FxHashSet<SpaceId> = spaces
        .keys()
        .filter(|id| !scan.spaces.get(id).is_some_and(|n| n.deleted))
        .copied()
        .collect();
    let applied = |id: SpaceId| applied_ids.contains(&id);

    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(n) = options.threads {
            b = b.num_threads(n);
        }
        b.build().map_err(|e| PrepareError::Unsupported {
            what: format!("cannot start worker threads: {e}"),
        })?
    };
    let prefetch = spaces::prefetch(&spaces, &scan.page_list);
    // Every backup page the log reads is validated before the first write: a corrupt
    // page fails the prepare with the directory as it was (mariadb-backup: "Unable to
    // apply log to corrupted page").
    let checked = pool.install(|| {
        check::pages_read_by_log(
            &spaces,
            &scan.page_list,
            |id| check::read_by_log(&scan, applied, id),
            options.force_recovery,
        )
    })?;
    let pages_checked = checked.pages;
    progress.event(Event::PagesChecked {
        pages: pages_checked,
    });
    // innodb_force_recovery: these keep their bytes and get none of their records.
    let skipped: FxHashSet<PageId> = checked.corrupt.iter().map(|(id, _)| *id).collect();
    for (id, what) in &checked.corrupt {
        if let Some(sp) = spaces.get(&id.space) {
            progress.event(Event::CorruptPageSkipped {
                path: &sp.path,
                space: id.space,
                page_no: id.page_no,
                what,
            });
        }
    }
    let mut listed = corrupted::read(dir)?;
    if let Some(listed) = listed.as_mut() {
        listed.check_before(&scan, &spaces, applied)?;
    }

    // The checks passed: the DDL plan runs, and its journal is gone before the first
    // page is written, so the page journal (replayed at the start of the next prepare,
    // before the DDL journal is looked at) only ever names files by their names after
    // the plan.
    ddl.execute(progress)?;
    for sp in spaces.values_mut() {
        if let Some(then) = ddl.after(&sp.path) {
            sp.file.renamed(then.clone());
            sp.path = then;
        }
    }

    // Sizes from the log: undo truncation first, then growth (§4.4, §5.5).
    for (id, note) in &scan.spaces {
        let Some(sp) = spaces.get(id).filter(|_| applied(*id)) else {
            continue;
        };
        let len = sp
            .file
            .len()
            .map_err(|e| PrepareError::io("stat", &sp.path, e))?;
        let phys = sp.phys as u64;
        let mut target = len;
        if let Some((_, trim_pages)) = note.trim {
            target = u64::from(note.size.unwrap_or(trim_pages)) * phys;
        }
        if let Some(size) = note.size {
            target = target.max(u64::from(size) * phys);
        }
        if target != len {
            sp.file
                .set_len(target)
                .map_err(|e| PrepareError::io("resize", &sp.path, e))?;
            progress.event(Event::FileExtended {
                path: &sp.path,
                from_pages: len / phys,
                to_pages: target / phys,
            });
        }
    }

    let mut summary = PrepareSummary {
        already_prepared: false,
        checkpoint_lsn: log.checkpoint_lsn(),
        end_lsn,
        n_mtrs: scan.n_mtrs,
        n_records: scan.n_records,
        n_batches,
        pages_checked,
        corrupt_pages_skipped: skipped.len() as u64,
        ..Default::default()
    };
    // How pass 2 filters each space's records.
    let mut rules: FxHashMap<SpaceId, SpaceRule> = FxHashMap::default();
    for &id in scan.pages.keys().chain(scan.spaces.keys()) {
        rules.insert(
            id,
            SpaceRule {
                applied: applied(id),
                // Records before a TRIM_PAGES or a FILE_DELETE are obsolete.
                trim: scan
                    .spaces
                    .get(&id)
                    .and_then(|n| n.trim.map(|(lsn, _)| lsn).max(n.deleted_at)),
            },
        );
    }
    // One batch in memory at a time, with the whole budget: its two halves are
    // collected in parallel, then its pages are applied by the pool.
    let mut spare: Vec<u8> = Vec::new();
    let mut journal = Journal::with_redone(dir, options.crash_point, redone);
    let max_phys = spaces.values().map(|sp| sp.phys).max().unwrap_or(1);
    let chunk_pages = options
        .crash_point
        .and_then(|c| c.chunk_pages)
        .unwrap_or(JOURNAL_CHUNK_BYTES / max_phys)
        .max(1);
    for (index, batch) in scan.batches.iter().enumerate() {
        let blog: BatchLog =
            log.collect(std::mem::take(&mut spare), batch, &rules, &scan.discard)?;
        let keys: Vec<(PageId, PageSlots)> = blog.pages();
        let crypt_keys = options.keys.as_deref().map(|k| (k, options.encrypt_tables));
        crypt::resolve_deferred(&spaces, crypt_keys, |sp, id| {
            match keys.binary_search_by_key(&id, |(k, _)| *k) {
                Ok(i) => apply_page(&log, sp, id, &blog, &keys[i].1),
                Err(_) => Ok(None),
            }
        })?;
        progress.event(Event::BatchStarted {
            index,
            n_batches,
            start_lsn: batch.start,
            end_lsn: batch.end,
            n_pages: keys.len(),
        });
        let total = keys.len();
        let done = AtomicUsize::new(0);
        let mut written = 0u64;
        // Chunk n + 1 is applied while chunk n goes through the journal (the pages of
        // a batch are distinct); the batch's last chunk is written before the next
        // batch reads pages.
        let apply_chunk = |chunk: &[(PageId, PageSlots)]| {
            chunk
                .par_iter()
                .filter_map(|(id, slot)| {
                    let sp = spaces.get(&id.space)?;
                    let page = if skipped.contains(id) {
                        Ok(None)
                    } else {
                        apply_page(&log, sp, *id, &blog, slot)
                    };
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n / PROGRESS_EVERY != (n - 1) / PROGRESS_EVERY || n == total {
                        progress.event(Event::PagesApplied { done: n, total });
                    }
                    // Unchanged pages are not written.
                    Some(page.transpose()?.map(|bytes| PageWrite {
                        sp,
                        space: id.space,
                        page_no: id.page_no.0,
                        bytes,
                    }))
                })
                .collect::<Result<Vec<_>, PrepareError>>()
        };
        let mut pending: Vec<PageWrite<'_>> = Vec::new();
        for chunk in keys.chunks(chunk_pages) {
            let (next, wrote) =
                pool.install(|| rayon::join(|| apply_chunk(chunk), || journal.write(&pending)));
            wrote?;
            written += pending.len() as u64;
            pending = next?;
        }
        journal.write(&pending)?;
        written += pending.len() as u64;
        drop(pending);
        summary.pages_written += written;
        summary.pages_not_written += total as u64 - written;
        drop(keys);
        spare = blog.into_buf();
    }

    summary.pages_written += page_compressed::zero_freed_pages(
        &spaces,
        &scan.freed,
        applied,
        &mut journal,
        chunk_pages,
    )?;
    summary.pages_unjournaled = journal.unjournaled;
    journal.finish()?;
    if let Some(listed) = listed {
        listed.finish(dir, &scan, &spaces, progress)?;
    }

    if let Some(prefetch) = prefetch {
        prefetch.finish();
    }

    // Everything durable before the log is replaced and the backup marked prepared: the
    // pages written, and the files as the backup or an extraction left them (never fsynced
    // one by one). One syncfs per filesystem rather than an fsync per data file, which cost
    // seconds with thousands of tablespaces.
    let mut dirs: Vec<PathBuf> = vec![dir.to_path_buf()];
    dirs.extend(
        spaces
            .values()
            .filter_map(|sp| sp.path.parent().map(Path::to_path_buf)),
    );
    dirs.sort();
    dirs.dedup();
    backup_meta::sync_filesystems(dirs.iter().map(PathBuf::as_path))
        .map_err(|(d, e)| PrepareError::io("sync the filesystem of", &d, e))?;
    for d in &dirs {
        File::open(d)
            .and_then(|f| f.sync_all())
            .map_err(|e| PrepareError::io("fsync directory", d, e))?;
    }
    // As mariadb-backup: the position InnoDB recorded, before the backup is marked
    // prepared (a prepare killed after it runs again and rewrites it).
    // Written even when InnoDB recorded none (`"\t0\n"`), as mariadb-backup 10.11 does.
    let pos = binlog::recorded_position(&spaces, page_size)?;
    progress.event(Event::BinlogPosition {
        file: &pos.file,
        position: pos.position,
    });
    pos.write(&dir.join(XTRABACKUP_BINLOG_POS_INNODB), FileMode::Fopen)?;
    if checkpoints.recover_binlog_info {
        // A `--binlog-info=LOCKLESS` backup: mariadb-backup writes the same position as
        // the backup's binlog position.
        BinlogInfo {
            file: pos.file.clone(),
            position: pos.position,
            gtid: None,
        }
        .write(&dir.join(XTRABACKUP_BINLOG_INFO), FileMode::Fopen)?;
    }
    summary.binlog_pos_innodb = (!pos.file.is_empty()).then_some(pos);
    let first_lsn = Lsn(end_lsn.0.saturating_sub(PREPARED_LOG_MTR_LEN));
    let new_log = prepared_log(first_lsn).map_err(|source| PrepareError::LogHeader {
        path: log.path.clone(),
        source,
    })?;
    drop(log);
    backup_meta::write_atomic(&dir.join(IB_LOGFILE0), &new_log, FileMode::Datasink)?;
    let prepared = Checkpoints {
        backup_type: BackupType::LogApplied,
        // mariadb-backup writes whether *this* run has `--binlog-info=LOCKLESS`: a prepare
        // never does (the position was recovered above).
        recover_binlog_info: false,
        ..out
    };
    prepared.write(&cp_path, FileMode::Datasink)?;
    progress.event(Event::Finished { end_lsn });
    Ok(summary)
}

/// Reads (unless INIT/FREE) and validates, applies with the page-LSN rule (§5.2) and
/// stamps one page; returns the page to write, if it changed.
fn apply_page(
    log: &Log,
    sp: &Space,
    id: PageId,
    blog: &BatchLog,
    slot: &PageSlots,
) -> Result<Option<Vec<u8>>, PrepareError> {
    let mut page = vec![0u8; sp.phys];
    let at = u64::from(id.page_no.0) * sp.phys as u64;
    let page_lsn = if slot.init {
        Lsn(0)
    } else {
        read_page(&sp.file, &mut page, at).map_err(|e| PrepareError::io("read", &sp.path, e))?;
        // Checked before the first write too; this catches what that check leaves to
        // the apply (trimmed spaces) and pages of earlier batches.
        check::page(sp, id.page_no, &page)?;
        // Stored as the server writes: compressed, then encrypted; read in reverse.
        if let Some(c) = sp.crypt.get() {
            c.decrypt(&sp.path, id.page_no, &mut page)?;
        }
        page = page_compressed::plaintext(sp, id.page_no, page)?;
        let mut lsn = [0u8; FIL_PAGE_LSN_LEN];
        lsn.copy_from_slice(&page[FIL_PAGE_LSN..FIL_PAGE_LSN + FIL_PAGE_LSN_LEN]);
        Lsn(u64::from_be_bytes(lsn))
    };
    let mut last_applied: Option<Lsn> = None;
    for group in blog.groups(slot) {
        if group.start < page_lsn {
            continue; // already in the page
        }
        let mut changed = false;
        for rec in blog.records(id, &group) {
            let apply_err = |source| PrepareError::Apply {
                path: sp.path.clone(),
                lsn: group.start,
                source,
            };
            // Pass 2 decoded the same bytes in memory: this cannot fail, but is
            // reported rather than trusted.
            let rec = rec.map_err(|e| log.record_error(e, group.start, group.end))?;
            let effect = apply_record(&mut page, id, sp.compressed, &rec).map_err(apply_err)?;
            changed |= effect == Effect::Changed;
        }
        if changed {
            last_applied = Some(group.end);
        }
    }
    let Some(lsn) = last_applied else {
        return Ok(None);
    };
    stamp_page(&mut page, lsn, sp.format).map_err(|check| PrepareError::DataFile {
        path: sp.path.clone(),
        what: format!("page {}: {}", id.page_no, check.what),
    })?;
    let mut page = page_compressed::stored_image(sp, id.page_no, page);
    if let Some(c) = sp.crypt.get() {
        c.encrypt(&sp.path, id.page_no, &mut page)?;
    }
    Ok(Some(page))
}

/// Reads a page; bytes beyond the end of the file read as zero.
pub(crate) fn read_page(
    file: &sysfiles::SpaceFile,
    buf: &mut [u8],
    at: u64,
) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], at + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf[done..].fill(0);
    Ok(())
}
