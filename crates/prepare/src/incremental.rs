//! `--prepare --target-dir=BASE --incremental-dir=INC`: applies an incremental backup onto
//! its prepared base, as mariadb-backup 10.11 does (page-format.md §14,
//! mariadb-backup-behavior.md §4.2), so that a chain of incrementals applies one after
//! another.
//!
//! ```text
//! checks: BASE log-applied, INC incremental, INC from_lsn = BASE to_lsn (or this very
//!         apply interrupted: hotbackup_incremental_apply in BASE names INC)
//! INC: .del/.ren/.new and every .delta/.meta read ── inc_dir (in memory: INC is never changed)
//! BASE: each delta's tablespace found by name, else by space id, else created; every
//!       other .ibd removed (dropped tables) ── layout (a checked rename/remove plan)
//! every .delta read whole and its pages validated ── apply::check
//! meanwhile, on another thread: INC's ib_logfile0 read whole (pass 1) ── crate::scan_log
//! ── nothing written before this line ──
//! hotbackup_incremental_apply written (names INC and its LSNs)
//! plan run from the DDL journal; INC's .new copied in; delta pages written at their
//! offsets (files grown to FSP_SIZE of page 0), fsynced ── apply
//! INC's ib_logfile0 applied to BASE (the ordinary prepare: page-LSN rule, journal but for
//! the delta pages, see redone), BASE's checkpoints take INC's to_lsn/last_lsn
//! ── crate::apply_scanned
//! non-InnoDB files: BASE's removed, INC's copied ── others
//! hotbackup_incremental_apply removed
//! ```
//!
//! Crash safety: the incremental directory is only read, so every step before the log
//! apply is re-done from it by the next run: a delta page is a whole page image from an
//! unchanged file, written again over whatever a killed run left (torn or not); renames
//! and removals go through the DDL journal and the layout computed again from the result
//! is the same. The marker file stays from before the first write until the last step;
//! while it is there, only the same apply is accepted on BASE (a plain `--prepare` and
//! any other incremental are refused), and it is re-run from the start, or from the
//! non-InnoDB files once the checkpoints say the log was applied.
//!
//! Unlike 10.11, INC is not consumed (10.11 deletes its `.delta` files and moves its
//! `.new` files out): it can be applied to another copy of the base, and an apply
//! repeated on the same base is refused by its LSNs instead of "succeeding" silently.

mod apply;
mod inc_dir;
mod layout;
mod marker;
mod others;
mod redone;

use std::path::Path;

use backup_meta::{BackupType, Checkpoints, MetaFile};

use crate::error::PrepareError;
use crate::handles::{data_file_capacity, Handles};
use crate::progress::{Event, Progress};
use crate::{
    apply_scanned, journal, PrepareOptions, PrepareSummary, IB_LOGFILE0, XTRABACKUP_CHECKPOINTS,
};

pub use marker::MARKER;

/// `innodb_corrupted_pages`: pages a backup could not copy intact.
const CORRUPTED_PAGES: &str = "innodb_corrupted_pages";

/// What an incremental apply did, beyond the log apply's summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncrementalSummary {
    /// The log apply (all zero when a resumed apply had already applied the log).
    pub log: PrepareSummary,
    /// `.delta` files applied.
    pub deltas: u64,
    /// Pages written from them.
    pub delta_pages: u64,
    /// Tablespaces created (made since the base).
    pub created: u64,
    /// Delta pages that could not be validated before they were written: pages of a
    /// tablespace made since the base whose delta has no page 0 (no flags to check with).
    pub unverified_pages: u64,
    /// An interrupted apply of the same incremental was finished.
    pub resumed: bool,
}

/// Applies the incremental backup `inc` onto the prepared backup `base`. See the module
/// documentation for the steps.
pub fn prepare_incremental(
    base: &Path,
    inc: &Path,
    options: &PrepareOptions,
    progress: &dyn Progress,
) -> Result<IncrementalSummary, PrepareError> {
    let base_cp = read_checkpoints(base)?;
    let inc_cp = read_checkpoints(inc)?;
    if inc_cp.backup_type != BackupType::Incremental {
        return Err(PrepareError::NotIncremental {
            inc: inc.to_path_buf(),
            backup_type: inc_cp.backup_type.as_str().to_string(),
        });
    }
    if !inc.join(IB_LOGFILE0).is_file() {
        return Err(PrepareError::NotABackup {
            dir: inc.to_path_buf(),
            missing: IB_LOGFILE0,
        });
    }
    let resumed = match marker::read(base)? {
        Some(m) if m.is_for(inc, &inc_cp) => true,
        Some(m) => {
            return Err(PrepareError::IncrementalInterrupted {
                base: base.to_path_buf(),
                inc: m.inc,
                marker: base.join(MARKER),
            })
        }
        None => false,
    };
    let log_applied = base_cp.backup_type == BackupType::LogApplied
        && base_cp.to_lsn == inc_cp.to_lsn
        && base_cp.last_lsn == inc_cp.last_lsn;
    if resumed {
        progress.event(Event::IncrementalResumed { inc });
    } else {
        if base_cp.backup_type != BackupType::LogApplied {
            return Err(PrepareError::IncrementalNeedsPreparedBase {
                base: base.to_path_buf(),
                backup_type: base_cp.backup_type.as_str().to_string(),
            });
        }
        if log_applied {
            return Err(PrepareError::IncrementalAlreadyApplied {
                base: base.to_path_buf(),
                inc: inc.to_path_buf(),
                to_lsn: inc_cp.to_lsn,
                last_lsn: inc_cp.last_lsn,
            });
        }
        if inc_cp.from_lsn != base_cp.to_lsn {
            return Err(PrepareError::IncrementalLsnMismatch {
                base: base.to_path_buf(),
                base_to_lsn: base_cp.to_lsn,
                inc: inc.to_path_buf(),
                inc_from_lsn: inc_cp.from_lsn,
            });
        }
    }
    let mut summary = IncrementalSummary {
        resumed,
        ..Default::default()
    };
    if !(resumed && log_applied) {
        if inc.join(CORRUPTED_PAGES).exists() {
            return Err(PrepareError::Unsupported {
                what: format!(
                    "{} lists pages the incremental backup could not copy intact; applying \
                     such an incremental is not supported: take a new incremental backup",
                    inc.join(CORRUPTED_PAGES).display()
                ),
            });
        }
        let handles = Handles::new(data_file_capacity(options.open_files_limit));
        // What a killed run left half-done is finished first, so the layout below is
        // computed on whole files.
        match journal::recover(base, &handles)? {
            journal::Recovered::None => {}
            journal::Recovered::Replayed(pages) => progress.event(Event::JournalReplayed { pages }),
            journal::Recovered::Discarded => progress.event(Event::JournalDiscarded),
        }
        crate::ddl::finish_interrupted(base, progress)?;

        // Every check before the first write; the log's pass 1 (it reads only INC's
        // log) meanwhile, on its own thread.
        let log_path = inc.join(IB_LOGFILE0);
        let (deltas_checked, scanned) = std::thread::scope(|s| {
            let scan = s.spawn(|| crate::scan_log(&log_path, &inc_cp, options));
            let deltas_checked = (|| {
                let incd = inc_dir::read(inc)?;
                let layout = layout::plan(base, &incd)?;
                let checked = apply::check(&incd, &layout, options.threads)?;
                Ok::<_, PrepareError>((incd, layout, checked))
            })();
            let scanned = scan
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (deltas_checked, scanned)
        });
        let (incd, layout, checked) = deltas_checked?;
        let scanned = scanned?;
        summary.unverified_pages = checked.iter().map(|c| c.unverified).sum();
        let delta_pages = redone::DeltaPages::new(
            &incd,
            &layout,
            checked.into_iter().map(|c| c.numbers).collect(),
        );

        if !resumed {
            marker::write(base, inc, &inc_cp)?;
        }
        layout.execute(base, progress)?;
        let applied = apply::deltas(
            base,
            &incd,
            &layout,
            &handles,
            options.threads,
            options.delta_crash_point,
            progress,
        )?;
        summary.deltas = applied.deltas;
        summary.delta_pages = applied.pages;
        summary.created = applied.created;
        drop(handles);

        // 10.11 moves to_lsn/last_lsn forward only; last_lsn also moves when the
        // checkpoint did not (from_lsn = to_lsn), so that the same incremental is
        // recognised as applied.
        let out = Checkpoints {
            to_lsn: base_cp.to_lsn.max(inc_cp.to_lsn),
            last_lsn: inc_cp.last_lsn,
            ..base_cp.clone()
        };
        // The log apply journals only the pages that are not delta pages: a re-run
        // writes the delta pages whole again before it applies the log (`redone`).
        let redone = |path: &Path, space, page_no| delta_pages.contains(path, space, page_no);
        summary.log = apply_scanned(
            base,
            scanned,
            &inc_cp,
            out,
            options,
            Some(&redone),
            progress,
        )?;
    }
    let (removed, copied) = others::replace(base, inc, options.threads)?;
    progress.event(Event::IncrementalFilesCopied { removed, copied });
    marker::remove(base)?;
    Ok(summary)
}

/// Refuses a plain `--prepare` of a base that an interrupted incremental apply left
/// half-changed.
pub(crate) fn refuse_interrupted(dir: &Path) -> Result<(), PrepareError> {
    match marker::read(dir)? {
        None => Ok(()),
        Some(m) => Err(PrepareError::IncrementalInterrupted {
            base: dir.to_path_buf(),
            inc: m.inc,
            marker: dir.join(MARKER),
        }),
    }
}

fn read_checkpoints(dir: &Path) -> Result<Checkpoints, PrepareError> {
    let path = dir.join(XTRABACKUP_CHECKPOINTS);
    if !path.is_file() {
        if dir.join(format!("{XTRABACKUP_CHECKPOINTS}.qp")).is_file() {
            return Err(PrepareError::Compressed {
                dir: dir.to_path_buf(),
                file: XTRABACKUP_CHECKPOINTS,
            });
        }
        return Err(PrepareError::NotABackup {
            dir: dir.to_path_buf(),
            missing: XTRABACKUP_CHECKPOINTS,
        });
    }
    Ok(Checkpoints::read(&path)?)
}
