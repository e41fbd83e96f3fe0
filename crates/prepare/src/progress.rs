//! Progress and warnings, reported to the caller (libraries never print).

use std::path::Path;

use innodb::{Lsn, PageNo, SpaceId};

/// Receives what the prepare does. Called from worker threads too, hence `Sync`.
pub trait Progress: Sync {
    /// One event.
    fn event(&self, event: Event<'_>);
}

/// A [`Progress`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _event: Event<'_>) {}
}

/// What a DDL marker file made the prepare do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DdlAction {
    /// `.del`: the tablespace file was removed (or was already gone).
    Removed,
    /// `.ren`: the tablespace file was renamed.
    Renamed,
    /// `.ren` chain: an existing destination was moved aside to `<name>.ibd#`.
    MovedAside,
    /// `.new`: the new copy replaced the tablespace file.
    Replaced,
}

/// Something worth telling the user.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// `backup_type = log-applied` already: nothing was done.
    AlreadyPrepared,
    /// The log was read and checked from `checkpoint_lsn` to `end_lsn`.
    LogScanned {
        /// Where applying starts.
        checkpoint_lsn: Lsn,
        /// Where the log ends.
        end_lsn: Lsn,
        /// Mini-transactions.
        n_mtrs: u64,
        /// Records.
        n_records: u64,
        /// Batches the memory budget needs.
        n_batches: usize,
    },
    /// `--incremental-dir`: a `.delta` was written onto its tablespace file.
    DeltaApplied {
        /// The `.delta` file.
        delta: &'a Path,
        /// The tablespace file of the base.
        target: &'a Path,
        /// Pages written.
        pages: u64,
        /// The file was created (a tablespace made since the base).
        created: bool,
    },
    /// `--incremental-dir`: an apply of this incremental that was interrupted is run again.
    IncrementalResumed {
        /// The incremental directory.
        inc: &'a Path,
    },
    /// `--incremental-dir`: the base's non-InnoDB files were replaced by the incremental's.
    IncrementalFilesCopied {
        /// Files of the base removed.
        removed: usize,
        /// Files copied from the incremental.
        copied: usize,
    },
    /// A DDL marker file was processed.
    Ddl {
        /// What was done.
        action: DdlAction,
        /// The file acted on.
        from: &'a Path,
        /// The new name, if any.
        to: Option<&'a Path>,
    },
    /// A prepare killed while writing pages left a complete journal: its pages were
    /// written in place before anything else.
    JournalReplayed {
        /// Pages written.
        pages: usize,
    },
    /// A prepare killed while writing its journal left it incomplete: it was removed
    /// (no page of it had been written in place).
    JournalDiscarded,
    /// A page listed in `innodb_corrupted_pages` needs nothing more: free (zeroed), rebuilt
    /// by the log, or in a tablespace dropped during the backup.
    CorruptedPageFixed {
        /// Tablespace name as listed.
        name: &'a str,
        /// Its id.
        space: SpaceId,
        /// The page.
        page_no: PageNo,
        /// It was free and is now all zero.
        zeroed: bool,
    },
    /// Every backup page the log reads was validated.
    PagesChecked {
        /// Pages read and validated.
        pages: u64,
    },
    /// A file with an all-zero page 0 was identified by its FILE_ record name.
    Deferred {
        /// The file.
        path: &'a Path,
        /// Its tablespace id.
        space: SpaceId,
    },
    /// A file with an all-zero page 0 and no FILE_ record: left untouched.
    Unidentified {
        /// The file.
        path: &'a Path,
    },
    /// Records for a tablespace without a file were skipped (only with
    /// `ignore_missing_tablespaces`).
    MissingSkipped {
        /// The id.
        space: SpaceId,
        /// Pages with records.
        n_pages: usize,
    },
    /// With `force_recovery`: a corrupt page the log reads was left as it is, without
    /// its records (mariadb-backup: "Unable to apply log to corrupted page").
    CorruptPageSkipped {
        /// The data file.
        path: &'a Path,
        /// Its tablespace.
        space: SpaceId,
        /// The page.
        page_no: PageNo,
        /// What the validator found.
        what: &'a str,
    },
    /// A data file was extended to the size the log gives.
    FileExtended {
        /// The file.
        path: &'a Path,
        /// Pages before.
        from_pages: u64,
        /// Pages after.
        to_pages: u64,
    },
    /// A batch of pages is about to be applied.
    BatchStarted {
        /// 0-based.
        index: usize,
        /// Number of batches.
        n_batches: usize,
        /// First LSN of the batch.
        start_lsn: Lsn,
        /// End LSN of the batch.
        end_lsn: Lsn,
        /// Pages with records in the batch.
        n_pages: usize,
    },
    /// Pages of the current batch done so far.
    PagesApplied {
        /// Done.
        done: usize,
        /// Of.
        total: usize,
    },
    /// The binlog position InnoDB recorded with its last commit in the backup (written
    /// to `xtrabackup_binlog_pos_innodb`).
    BinlogPosition {
        /// Binlog file name as stored (usually `./name`).
        file: &'a str,
        /// Offset in that file.
        position: u64,
    },
    /// The new `ib_logfile0` and `xtrabackup_checkpoints` were written.
    Finished {
        /// End LSN of the applied log.
        end_lsn: Lsn,
    },
}
