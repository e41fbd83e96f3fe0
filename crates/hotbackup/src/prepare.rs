//! `hotbackup --prepare`: applies the copied redo log so the backup is one consistent
//! snapshot. The work is in the `prepare` crate; this renders its progress and errors.

use std::sync::atomic::{AtomicUsize, Ordering};

use prepare::{Event, PrepareError, PrepareOptions, Progress};

use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;
use crate::options::Options;

/// Runs `--prepare` on `--target-dir`.
pub fn run(opts: &Options, log: &Log) -> Result<(), Failure> {
    let target =
        std::path::absolute(&opts.target_dir).map_err(|e| Failure::io(&opts.target_dir, e))?;
    if let Some(inc) = &opts.incremental_dir {
        return crate::prepare_incremental::run(opts, log, &target, inc);
    }
    let force_recovery = opts.innodb_force_recovery >= 1;
    if force_recovery {
        // mariadb-backup's line (its mtr test looks for it), then what it means here.
        log.info(&format!(
            "innodb_force_recovery = {}",
            opts.innodb_force_recovery
        ));
        log.info(FORCE_RECOVERY_WARNING);
    }
    // Before anything is changed: a missing or wrong server binary leaves the backup as is.
    let export = match opts.export {
        true => Some(crate::export::check(&target)?),
        false => None,
    };
    // A partial backup (--databases, --tables...) lacks the files of the tables it left
    // out, while its log still changes them: their records are skipped, as mariadb-backup
    // does ("All redo log for this file will be ignored"). In a full backup a missing
    // tablespace is damage, and an error.
    let partial = is_partial(&target);
    if partial {
        log.info(
            "xtrabackup_info says partial = Y: redo for tablespaces not in the backup is skipped",
        );
    }
    let keys = crate::keys::for_prepare(&opts.key_management, &target)?;
    let options = PrepareOptions {
        use_memory: opts.use_memory.max(8 << 20),
        keys: keys.load()?,
        encrypt_tables: keys.encrypt_tables,
        ignore_missing_tablespaces: partial,
        force_recovery,
        crash_point: test_crash_point(),
        ..PrepareOptions::default()
    };
    let progress = LogProgress::new(log);
    let summary = prepare::prepare(&target, &options, &progress)
        .map_err(|e| crate::keys::explain(e, &keys))
        .map_err(failure)?;
    if summary.already_prepared {
        log.info("This target seems to be already prepared; nothing to do.");
    } else {
        log.info(&format!(
            "Applied {} mini-transactions ({} records) from LSN {} to {}; {} pages written",
            summary.n_mtrs,
            summary.n_records,
            summary.checkpoint_lsn,
            summary.end_lsn,
            summary.pages_written
        ));
    }
    if let Some(server) = &export {
        crate::export::run(server, opts, &target, log)?;
    }
    if summary.corrupt_pages_skipped > 0 {
        // mariadb-backup ends with "completed OK!" here; a script waiting for that line
        // must not take this backup for a sound one. Exit 0: the prepare did what was asked.
        log.info(&format!(
            "completed with innodb_force_recovery=1, but the backup is NOT consistent: {} \
             corrupt page(s) were left without their redo log (named above). Restore it only \
             to salvage data, run CHECK TABLE on every table, and take a new backup.",
            summary.corrupt_pages_skipped
        ));
        return Ok(());
    }
    log.info("completed OK!");
    Ok(())
}

/// Prepares the copy of a backup that `--restore-tables` made in `dir` (the user's backup
/// is never prepared behind their back). The copy holds only the selected databases, so redo
/// for the tablespaces it lacks is skipped, as for a partial backup.
pub(crate) fn prepare_copy(
    dir: &std::path::Path,
    opts: &Options,
    log: &Log,
) -> Result<(), Failure> {
    let options = PrepareOptions {
        use_memory: opts.use_memory.max(8 << 20),
        ignore_missing_tablespaces: true,
        ..PrepareOptions::default()
    };
    let summary = prepare::prepare(dir, &options, &LogProgress::new(log)).map_err(failure)?;
    log.info(&format!(
        "Restore : prepared the copy: {} mini-transactions applied from LSN {} to {}",
        summary.n_mtrs, summary.checkpoint_lsn, summary.end_lsn
    ));
    Ok(())
}

/// What `--innodb-force-recovery=1` does here. mariadb-backup also skips malformed log
/// records and tablespaces without a file; hotbackup keeps refusing those (exit 8).
const FORCE_RECOVERY_WARNING: &str = "Warning: innodb_force_recovery=1: a corrupt page the \
     redo log reads is left as it is, without its log records, instead of failing the \
     prepare; if there is one, the prepared backup is NOT consistent (said again at the \
     end). A malformed log record or a missing tablespace still stops the prepare (exit 8).";

/// Test hook (not an option): `HOTBACKUP_TEST_PREPARE_CRASH=N` aborts the process at
/// the N-th page write of the prepare (journal and in place counted together),
/// `N,torn` after writing half of it; `,delta` / `,other` count only the in-place writes
/// of an incremental's delta pages / of the other pages; `,page=SPACE:PAGE` only the
/// in-place writes of that page; the crash-safety tests kill prepare this way.
pub(crate) fn test_crash_point() -> Option<prepare::CrashPoint> {
    crash_point_from_env("HOTBACKUP_TEST_PREPARE_CRASH")
}

/// A test hook's crash point from the environment variable `var`
/// (`N[,torn][,delta|,other][,page=SPACE:PAGE]`).
pub(crate) fn crash_point_from_env(var: &str) -> Option<prepare::CrashPoint> {
    parse_crash_point(&std::env::var(var).ok()?)
}

fn parse_crash_point(v: &str) -> Option<prepare::CrashPoint> {
    let mut parts = v.split(',');
    let n = parts.next()?;
    let (mut torn, mut only_redone, mut only_page) = (false, None, None);
    for p in parts {
        match p {
            "torn" => torn = true,
            "delta" => only_redone = Some(true),
            "other" => only_redone = Some(false),
            _ => {
                let (space, page) = p.strip_prefix("page=")?.split_once(':')?;
                only_page = Some((space.parse().ok()?, page.parse().ok()?));
            }
        }
    }
    Some(prepare::CrashPoint {
        after_writes: n.trim().parse().ok()?,
        torn,
        abort: true,
        journal_limit: None,
        chunk_pages: None,
        only_redone,
        only_page,
    })
}

/// Whether `xtrabackup_info` in `target` marks a partial backup. Unreadable or absent
/// counts as full: the strict reading.
fn is_partial(target: &std::path::Path) -> bool {
    use backup_meta::MetaFile;
    backup_meta::XtrabackupInfo::read(&target.join("xtrabackup_info")).is_ok_and(|i| i.partial)
}

pub(crate) fn failure(e: PrepareError) -> Failure {
    let code = match &e {
        PrepareError::NotABackup { .. }
        | PrepareError::Compressed { .. }
        | PrepareError::NotIncremental { .. }
        | PrepareError::IncrementalNeedsPreparedBase { .. }
        | PrepareError::IncrementalLsnMismatch { .. }
        | PrepareError::IncrementalAlreadyApplied { .. }
        | PrepareError::IncrementalInterrupted { .. } => Code::WrongState,
        // A key the backup needs and the options do not give.
        PrepareError::Key { .. } => Code::Usage,
        // A metadata file that was read but does not follow its format is damage to the
        // backup; failing to read or write one (EACCES, ENOSPC) stays an I/O error.
        PrepareError::Meta(backup_meta::MetaError::Parse { .. }) => {
            return Failure::new(Code::BackupCorrupt, format!("the backup is damaged: {e}"))
        }
        PrepareError::Io { .. } | PrepareError::Meta(_) => Code::Io,
        PrepareError::Unsupported { .. } => Code::Failure,
        _ => Code::BackupCorrupt,
    };
    Failure::new(code, e.to_string())
}

pub(crate) struct LogProgress<'a> {
    log: &'a Log,
    last_percent: AtomicUsize,
}

impl<'a> LogProgress<'a> {
    pub(crate) fn new(log: &'a Log) -> Self {
        LogProgress {
            log,
            last_percent: AtomicUsize::new(usize::MAX),
        }
    }
}

impl Progress for LogProgress<'_> {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::AlreadyPrepared => {}
            Event::JournalReplayed { pages } => self.log.info(&format!(
                "An interrupted prepare left {pages} page(s) in {}: written in place",
                prepare::JOURNAL
            )),
            Event::JournalDiscarded => self.log.info(&format!(
                "An interrupted prepare left an incomplete {}: removed (none of its pages had been written)",
                prepare::JOURNAL
            )),
            Event::CorruptedPageFixed {
                name,
                page_no,
                zeroed,
                ..
            } => self.log.info(&format!(
                "Corrupted page {page_no} of tablespace {name} was successfully fixed{}",
                if zeroed { " (free: zeroed)" } else { " (rebuilt by the log)" }
            )),
            Event::PagesChecked { pages } => self.log.info(&format!(
                "{pages} page(s) the log reads checked"
            )),
            Event::CorruptPageSkipped {
                path,
                space,
                page_no,
                what,
            } => self.log.info(&format!(
                "Warning: innodb_force_recovery=1: unable to apply log to corrupted page \
                 {page_no} of tablespace {space} in file {}: {what}; the page is left as it \
                 is, without its log records",
                path.display()
            )),
            Event::LogScanned {
                checkpoint_lsn,
                end_lsn,
                n_mtrs,
                n_batches,
                ..
            } => self.log.info(&format!(
                "Redo log from LSN {checkpoint_lsn} to {end_lsn}: {n_mtrs} mini-transactions, {n_batches} batch(es)"
            )),
            Event::Ddl { action, from, to } => match to {
                Some(to) => self.log.info(&format!(
                    "{action:?} {} to {}",
                    from.display(),
                    to.display()
                )),
                None => self.log.info(&format!("{action:?} {}", from.display())),
            },
            Event::Deferred { path, space } => self.log.info(&format!(
                "{} (tablespace {space}) is rebuilt from the log",
                path.display()
            )),
            Event::Unidentified { path } => self.log.info(&format!(
                "Warning: {} has an empty first page and no name in the log; left as it is",
                path.display()
            )),
            Event::MissingSkipped { space, n_pages } => self.log.info(&format!(
                "Warning: tablespace {space} has no file; {n_pages} page(s) of log skipped"
            )),
            Event::FileExtended { .. } => {}
            Event::DeltaApplied {
                delta,
                target,
                pages,
                created,
            } => self.log.info(&format!(
                "Applied {} to {}{}: {pages} page(s)",
                delta.display(),
                target.display(),
                if created { " (created)" } else { "" }
            )),
            Event::IncrementalResumed { inc } => self.log.info(&format!(
                "An interrupted apply of {} is run again",
                inc.display()
            )),
            Event::IncrementalFilesCopied { removed, copied } => self.log.info(&format!(
                "Non-InnoDB files: {removed} of the target removed, {copied} copied from the incremental"
            )),
            Event::BatchStarted {
                index,
                n_batches,
                n_pages,
                ..
            } => {
                self.last_percent.store(usize::MAX, Ordering::Relaxed);
                self.log.info(&format!(
                    "Applying batch {}/{n_batches}: {n_pages} pages",
                    index + 1
                ));
                self.log
                    .progress_start("Applying pages", crate::log::Unit::Items, n_pages as u64);
            }
            Event::PagesApplied { done, total } => {
                self.log.progress_set(done as u64, total as u64);
                let percent = (done * 10 / total.max(1)) * 10;
                if self.last_percent.swap(percent, Ordering::Relaxed) != percent {
                    self.log.info(&format!("recovered pages: {percent}%"));
                }
            }
            Event::BinlogPosition { file, position } => {
                self.log.progress_end();
                self.log
                    .info(&format!("Last binlog file {file}, position {position}"))
            }
            Event::Finished { end_lsn } => {
                self.log.progress_end();
                self.log
                    .info(&format!("Prepared: consistent at LSN {end_lsn}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_crash_point;

    #[test]
    fn crash_point_suffixes() {
        for (text, want) in [
            ("3", Some((3, false, None, None))),
            ("0,torn,other", Some((0, true, Some(false), None))),
            ("2,delta", Some((2, false, Some(true), None))),
            ("0,torn,page=5:3", Some((0, true, None, Some((5, 3))))),
            ("x", None),
            ("1,sideways", None),
            ("1,page=5", None),
            ("1,page=5:x", None),
        ] {
            let got = parse_crash_point(text)
                .map(|c| (c.after_writes, c.torn, c.only_redone, c.only_page));
            assert_eq!(got, want, "{text}");
        }
    }
}
