//! `hotbackup --prepare`: applies a backup's redo log to its data files so that they
//! form one consistent snapshot, byte for byte as `mariadb-backup --prepare` 10.11 does
//! (`shared/docs/redo-format.md` §5, §7, §9.3, §9.4).
//!
//! ```text
//! xtrabackup_checkpoints ─ full-backuped? ──────────────────────────────── log-applied: no-op
//! ib_logfile0 ─ pass 1: header, checkpoint, every mtr checked, FILE_CHECKPOINT at end_lsn,
//!               names/deletes/sizes/flags, batch boundaries for the memory budget
//! .del/.ren/.new ─ processed (idempotent)
//! ibdata1, undoNNN, *.ibd ─ mapped by space id (deferred page 0 → FILE_ name); extended
//! per batch: pass 2 collects page records (INIT/FREE discard rule) → pages in parallel:
//!            read (unless INIT/FREE) → page-LSN rule → apply → LSN + checksum → write
//! fsync data files → xtrabackup_binlog_pos_innodb (the binlog position InnoDB recorded)
//! → new 12,304-byte ib_logfile0 (atomic) → xtrabackup_checkpoints with
//! backup_type = log-applied (atomic): the last write marks the backup prepared
//! ```
//!
//! Crash safety: data pages are written in place, but applying is idempotent thanks
//! to the page-LSN rule, and the log is replaced and the backup marked prepared only
//! after every page is durable. A killed prepare is simply run again. A log that fails
//! any check is refused before any file is touched.
#![deny(missing_docs)]

mod binlog;
mod ddl;
mod error;
mod hash;
mod log;
mod progress;
mod spaces;
mod sysfiles;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use backup_meta::{BackupType, BinlogPosInnodb, Checkpoints, FileMode, MetaFile};
use innodb::apply::{apply_record, stamp_page, Effect};
use innodb::page::fil::FIL_PAGE_LSN;
use innodb::redo::prepared_log;
use innodb::redo::record::PageId;
use innodb::{Lsn, SpaceId};
use rayon::prelude::*;

pub use error::PrepareError;
pub use progress::{DdlAction, Event, NoProgress, Progress};

use hash::FxHashMap;
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
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            use_memory: DEFAULT_USE_MEMORY,
            threads: None,
            page_size: None,
            ignore_missing_tablespaces: false,
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
    /// The binlog position of the last InnoDB commit in the backup, as recorded in
    /// the rollback segments (written to `xtrabackup_binlog_pos_innodb`).
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
            return Err(PrepareError::NotABackup {
                dir: dir.to_path_buf(),
                missing,
            });
        }
    }
    let cp_path = dir.join(XTRABACKUP_CHECKPOINTS);
    let checkpoints = Checkpoints::read(&cp_path)?;
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

    // Pass 1 before anything changes: a bad log leaves the directory untouched.
    let log = Log::open(&dir.join(IB_LOGFILE0))?;
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
    let n_batches = scan.batches.len();
    progress.event(Event::LogScanned {
        checkpoint_lsn: log.checkpoint_lsn(),
        end_lsn,
        n_mtrs: scan.n_mtrs,
        n_records: scan.n_records,
        n_batches,
    });

    ddl::process(dir, progress)?;
    let page_size = match options.page_size {
        Some(s) => s,
        None => spaces::server_page_size(dir)?,
    };
    let spaces = spaces::open_spaces(dir, page_size, &scan.spaces, progress)?;

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
                if let Some(what) = sp.unsupported {
                    return Err(PrepareError::Unsupported {
                        what: format!("{}: the log changes a {what}", sp.path.display()),
                    });
                }
            }
        }
    }
    let applied =
        |id: SpaceId| spaces.contains_key(&id) && !scan.spaces.get(&id).is_some_and(|n| n.deleted);

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

    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(n) = options.threads {
            b = b.num_threads(n);
        }
        b.build().map_err(|e| PrepareError::Unsupported {
            what: format!("cannot start worker threads: {e}"),
        })?
    };
    let mut summary = PrepareSummary {
        already_prepared: false,
        checkpoint_lsn: log.checkpoint_lsn(),
        end_lsn,
        n_mtrs: scan.n_mtrs,
        n_records: scan.n_records,
        n_batches,
        ..Default::default()
    };
    // How pass 2 filters each space's records.
    let mut rules: FxHashMap<SpaceId, SpaceRule> = FxHashMap::default();
    for &id in scan.pages.keys().chain(scan.spaces.keys()) {
        rules.insert(
            id,
            SpaceRule {
                applied: applied(id),
                trim: scan
                    .spaces
                    .get(&id)
                    .and_then(|n| n.trim.map(|(lsn, _)| lsn)),
            },
        );
    }
    let prefetch = spaces::prefetch(&spaces, &scan.page_list);
    // One batch in memory at a time, with the whole budget: its two halves are
    // collected in parallel, then its pages are applied by the pool.
    let mut spare: Vec<u8> = Vec::new();
    for (index, batch) in scan.batches.iter().enumerate() {
        let blog: BatchLog =
            log.collect(std::mem::take(&mut spare), batch, &rules, &scan.discard)?;
        let keys: Vec<(PageId, PageSlots)> = blog.pages();
        progress.event(Event::BatchStarted {
            index,
            n_batches,
            start_lsn: batch.start,
            end_lsn: batch.end,
            n_pages: keys.len(),
        });
        let total = keys.len();
        let done = AtomicUsize::new(0);
        let written = AtomicUsize::new(0);
        pool.install(|| {
            keys.par_iter().try_for_each(|(id, slot)| {
                let Some(sp) = spaces.get(&id.space) else {
                    return Ok(());
                };
                if apply_page(&log, sp, *id, &blog, slot)? {
                    written.fetch_add(1, Ordering::Relaxed);
                }
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n / PROGRESS_EVERY != (n - 1) / PROGRESS_EVERY || n == total {
                    progress.event(Event::PagesApplied { done: n, total });
                }
                Ok::<(), PrepareError>(())
            })
        })?;
        let written = written.into_inner() as u64;
        summary.pages_written += written;
        summary.pages_not_written += total as u64 - written;
        drop(keys);
        spare = blog.into_buf();
    }

    if let Some(handle) = prefetch {
        // Advisory only: its outcome does not matter.
        let _ = handle.join();
    }

    // Everything durable before the log is replaced and the backup marked prepared.
    let mut dirs: Vec<PathBuf> = vec![dir.to_path_buf()];
    for sp in spaces.values() {
        sp.file
            .sync_all()
            .map_err(|e| PrepareError::io("fsync", &sp.path, e))?;
        if let Some(parent) = sp.path.parent() {
            dirs.push(parent.to_path_buf());
        }
    }
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        File::open(d)
            .and_then(|f| f.sync_all())
            .map_err(|e| PrepareError::io("fsync directory", d, e))?;
    }
    // As mariadb-backup: the position InnoDB recorded, before the backup is marked
    // prepared (a prepare killed after it runs again and rewrites it).
    summary.binlog_pos_innodb = binlog::recorded_position(&spaces, page_size)?;
    if let Some(pos) = &summary.binlog_pos_innodb {
        progress.event(Event::BinlogPosition {
            file: &pos.file,
            position: pos.position,
        });
        pos.write(&dir.join(XTRABACKUP_BINLOG_POS_INNODB), FileMode::Fopen)?;
    }
    let first_lsn = Lsn(end_lsn.0.saturating_sub(PREPARED_LOG_MTR_LEN));
    let new_log = prepared_log(first_lsn).map_err(|source| PrepareError::LogHeader {
        path: log.path.clone(),
        source,
    })?;
    drop(log);
    backup_meta::write_atomic(&dir.join(IB_LOGFILE0), &new_log, FileMode::Datasink)?;
    let prepared = Checkpoints {
        backup_type: BackupType::LogApplied,
        ..checkpoints
    };
    prepared.write(&cp_path, FileMode::Datasink)?;
    progress.event(Event::Finished { end_lsn });
    Ok(summary)
}

/// Reads (unless INIT/FREE), applies with the page-LSN rule (§5.2) and writes one
/// page; returns whether it was written.
fn apply_page(
    log: &Log,
    sp: &Space,
    id: PageId,
    blog: &BatchLog,
    slot: &PageSlots,
) -> Result<bool, PrepareError> {
    let mut page = vec![0u8; sp.phys];
    let at = u64::from(id.page_no.0) * sp.phys as u64;
    let page_lsn = if slot.init {
        Lsn(0)
    } else {
        read_page(&sp.file, &mut page, at).map_err(|e| PrepareError::io("read", &sp.path, e))?;
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
        return Ok(false);
    };
    stamp_page(&mut page, lsn, sp.format).map_err(|check| PrepareError::DataFile {
        path: sp.path.clone(),
        what: format!("page {}: {}", id.page_no, check.what),
    })?;
    sp.file
        .write_all_at(&page, at)
        .map_err(|e| PrepareError::io("write", &sp.path, e))?;
    Ok(true)
}

/// Reads a page; bytes beyond the end of the file read as zero.
fn read_page(file: &sysfiles::SpaceFile, buf: &mut [u8], at: u64) -> std::io::Result<()> {
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
