//! What can go wrong in a prepare. Every error names the file, space, page or LSN
//! involved and, where there is one, what the user can do.

use std::io;
use std::path::PathBuf;

use innodb::apply::ApplyError;
use innodb::redo::RedoError;
use innodb::{Lsn, PageNo, SpaceId};

/// An error of [`crate::prepare`].
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Encrypted data (the redo log, a tablespace) and no key for it: no key management
    /// configured, a key id or version missing from the key file.
    #[error("{what}: {reason}")]
    Key {
        /// What needs the key (the log file, the tablespace file).
        what: String,
        /// What is missing and which option sets it.
        reason: String,
    },
    /// The directory lacks a file every backup has.
    #[error("{dir} is not a backup directory: {missing} is missing (was it made by mariadb-backup or hotbackup --backup?)")]
    NotABackup {
        /// The directory given.
        dir: PathBuf,
        /// The file that is missing.
        missing: &'static str,
    },
    /// A `--compress` backup that was not decompressed (`ib_logfile0.qp`, `.lz4` or `.zst`
    /// instead of `ib_logfile0`).
    #[error("{dir} holds a compressed backup ({file}.qp, .lz4 or .zst, no {file}): decompress it first with hotbackup --decompress --target-dir={dir}, then prepare")]
    Compressed {
        /// The directory given.
        dir: PathBuf,
        /// The file found only compressed.
        file: &'static str,
    },
    /// `xtrabackup_checkpoints` could not be read, parsed or written.
    #[error(transparent)]
    Meta(#[from] backup_meta::MetaError),
    /// A file operation failed.
    #[error("cannot {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The header or checkpoint of `ib_logfile0` is unusable.
    #[error("{path}: {source}")]
    LogHeader {
        /// The log file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: RedoError,
    },
    /// The redo log is damaged inside the range that must be applied.
    #[error(
        "{path} is corrupt at LSN {lsn} (file offset {offset}): {reason}; the log must reach LSN \
         {expected_end}. The backup cannot be prepared: take a new backup"
    )]
    CorruptLog {
        /// The log file.
        path: PathBuf,
        /// LSN of the damaged mtr or record.
        lsn: Lsn,
        /// Its offset in the file.
        offset: u64,
        /// What is wrong.
        reason: String,
        /// Where the log should have ended.
        expected_end: Lsn,
    },
    /// No FILE_CHECKPOINT(checkpoint_lsn) at the checkpoint's end_lsn (§2.6).
    #[error(
        "{path}: missing FILE_CHECKPOINT({checkpoint_lsn}) at LSN {end_lsn}: the log does not \
         belong to its checkpoint; take a new backup"
    )]
    MissingFileCheckpoint {
        /// The log file.
        path: PathBuf,
        /// The checkpoint LSN.
        checkpoint_lsn: Lsn,
        /// Where the record should be.
        end_lsn: Lsn,
    },
    /// The log ends before an LSN it must reach.
    #[error(
        "the log was only applied up to LSN {end}, not to {needed} ({what}); take a new backup"
    )]
    LogTooShort {
        /// Where the valid log ends.
        end: Lsn,
        /// The LSN it must reach.
        needed: Lsn,
        /// Which LSN that is.
        what: &'static str,
    },
    /// The log does not end where `xtrabackup_checkpoints` says the copy ended.
    #[error(
        "{path} ends at LSN {end} but xtrabackup_checkpoints says last_lsn = {last_lsn}: the log \
         file was truncated or replaced; take a new backup"
    )]
    LogEndMismatch {
        /// The log file.
        path: PathBuf,
        /// Where the valid log ends.
        end: Lsn,
        /// `last_lsn` of xtrabackup_checkpoints.
        last_lsn: Lsn,
    },
    /// Something this implementation does not handle (yet).
    #[error("unsupported: {what}")]
    Unsupported {
        /// What.
        what: String,
    },
    /// A `.del`/`.ren`/`.new` marker file is malformed.
    #[error("{path}: {what}")]
    DdlFile {
        /// The marker file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A data file is unusable (truncated, bad page 0, wrong page size).
    #[error("{path}: {what}")]
    DataFile {
        /// The data file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Two files claim the same tablespace id.
    #[error("tablespace {space} is in both {first} and {second}; remove the stray copy")]
    DuplicateSpace {
        /// The id.
        space: SpaceId,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// The log changes a tablespace whose file is not in the backup (and not deleted).
    #[error(
        "the log changes {n_pages} pages of tablespace {space} ({name}) but no file of the backup \
         has that id: the backup is incomplete. Copy the file from the backup's source again \
         or take a new backup (a partial backup, which leaves tables out on purpose, says \
         partial = Y in xtrabackup_info and is prepared without them)"
    )]
    MissingTablespace {
        /// The id.
        space: SpaceId,
        /// Its name from FILE_ records, or "no FILE_ record".
        name: String,
        /// Pages that have records.
        n_pages: usize,
    },
    /// A page the log must be read and applied to is corrupt in the backup (checked with
    /// the copier's validator before anything is written).
    #[error(
        "{path}: page {page_no} of tablespace {space} is corrupt ({what}){more_text}: the log \
         cannot be applied to a corrupted page. The backup is damaged: restore from another \
         backup or take a new backup",
        more_text = if *more == 0 { String::new() } else { format!(", and {more} more corrupt page(s)") }
    )]
    CorruptPage {
        /// The data file.
        path: PathBuf,
        /// Its tablespace id.
        space: SpaceId,
        /// The page.
        page_no: PageNo,
        /// What the validator found.
        what: String,
        /// Further corrupt pages found (not named).
        more: usize,
    },
    /// `innodb_corrupted_pages` lists pages the prepare cannot repair.
    #[error(
        "innodb_corrupted_pages: {what}. The backup was taken with \
         --log-innodb-page-corruption and is not consistent: restore from another backup or \
         take a new backup after repairing the source (CHECK TABLE, rebuild the table)"
    )]
    CorruptedPagesListed {
        /// The pages and why they are a problem.
        what: String,
    },
    /// The prepare stopped at a test crash point (`PrepareOptions::crash_point`).
    #[doc(hidden)]
    #[error("prepare stopped at the test crash point after {writes} page writes")]
    CrashPoint {
        /// Page writes done.
        writes: u64,
    },
    /// A record could not be applied to a page.
    #[error("{path}: mtr at LSN {lsn}: {source}; the data file or the log is damaged")]
    Apply {
        /// The data file.
        path: PathBuf,
        /// Start LSN of the mtr.
        lsn: Lsn,
        /// The failed check.
        #[source]
        source: ApplyError,
    },
    /// `--incremental-dir` onto a base that is not prepared (10.11's words first).
    #[error(
        "error: applying incremental backup needs a prepared target. {base} is not prepared \
         (backup_type = {backup_type}): run hotbackup --prepare --target-dir={base} first, \
         then apply the incrementals in order"
    )]
    IncrementalNeedsPreparedBase {
        /// The base directory.
        base: PathBuf,
        /// What its `xtrabackup_checkpoints` says.
        backup_type: String,
    },
    /// `--incremental-dir` names a directory that is not an incremental backup.
    #[error(
        "{inc} is not an incremental backup (backup_type = {backup_type} in its \
         xtrabackup_checkpoints): --incremental-dir takes a backup made with \
         --incremental-basedir or --incremental-lsn"
    )]
    NotIncremental {
        /// The directory given.
        inc: PathBuf,
        /// What its `xtrabackup_checkpoints` says.
        backup_type: String,
    },
    /// The incremental does not start where the base ends (10.11's words first).
    #[error(
        "error: This incremental backup seems not to be proper for the target. Check \
         'to_lsn' of the target and 'from_lsn' of the incremental: the target {base} ends at \
         to_lsn = {base_to_lsn}, the incremental {inc} starts at from_lsn = {inc_from_lsn}. \
         Apply the incrementals in the order they were taken, each once. Nothing was changed"
    )]
    IncrementalLsnMismatch {
        /// The base directory.
        base: PathBuf,
        /// Its `to_lsn`.
        base_to_lsn: u64,
        /// The incremental directory.
        inc: PathBuf,
        /// Its `from_lsn`.
        inc_from_lsn: u64,
    },
    /// The base already holds this incremental.
    #[error(
        "the incremental {inc} is already applied to {base} (both at to_lsn = {to_lsn}, \
         last_lsn = {last_lsn}); nothing was changed"
    )]
    IncrementalAlreadyApplied {
        /// The base directory.
        base: PathBuf,
        /// The incremental directory.
        inc: PathBuf,
        /// The LSNs both share.
        to_lsn: u64,
        /// The end of the log both share.
        last_lsn: u64,
    },
    /// An apply of an incremental onto this base was interrupted: only that apply,
    /// run again, can finish it.
    #[error(
        "{base} is half-way through applying the incremental {inc} (an earlier \
         --prepare --incremental-dir was interrupted; {marker} says so): run hotbackup \
         --prepare --target-dir={base} --incremental-dir={inc} again to finish it. \
         Nothing was changed"
    )]
    IncrementalInterrupted {
        /// The base directory.
        base: PathBuf,
        /// The incremental being applied.
        inc: PathBuf,
        /// The file recording the apply.
        marker: PathBuf,
    },
    /// A `.delta` file (or its `.meta`) of an incremental is damaged.
    #[error(
        "{path}: {what}; the incremental backup is damaged: take a new one. Nothing was changed"
    )]
    Delta {
        /// The `.delta` (or `.meta`) file.
        path: PathBuf,
        /// What is wrong, with the byte offset.
        what: String,
    },
}

impl PrepareError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        PrepareError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
