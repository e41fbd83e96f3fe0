//! Reads and writes the metadata files of a mariadb-backup 10.11 backup directory, byte for
//! byte as mariadb-backup writes them, so that either tool can continue the other's backup.
//!
//! | file | type | written by |
//! |---|---|---|
//! | `xtrabackup_checkpoints` | [`Checkpoints`] | `--backup`; rewritten by `--prepare` |
//! | `xtrabackup_info` | [`XtrabackupInfo`] | `--backup` (last) |
//! | `xtrabackup_binlog_info` | [`BinlogInfo`] | `--backup` |
//! | `xtrabackup_binlog_pos_innodb` | [`BinlogPosInnodb`] | `--prepare` |
//! | `xtrabackup_slave_info` | [`SlaveInfo`] | `--backup --slave-info` on a replica |
//! | `xtrabackup_galera_info` | [`GaleraInfo`] | `--backup --galera-info`; `--prepare` |
//! | `backup-my.cnf` | [`BackupMyCnf`] | `--backup` |
//! | `innodb_corrupted_pages` | [`CorruptedPages`] | `--backup --log-innodb-page-corruption`; `--prepare` |
//! | `<file>.meta` of a delta | [`DeltaMeta`] | incremental `--backup` |
//!
//! Every type implements [`MetaFile`]: `parse(&str)` / `render() -> String` are pure (the
//! binary can stream the rendered text, e.g. into xbstream), and the provided
//! [`MetaFile::read`] / [`MetaFile::write`] / [`MetaFile::write_new`] do the only I/O of the
//! crate: a plain read, and an atomic write (temp file, fsync, rename or link, fsync of the
//! directory) with private permission modes ([`FileMode`], 0640 whatever the umask).
//!
//! Parsers accept what mariadb-backup's readers accept where it has one (`fscanf` whitespace
//! rules for `xtrabackup_checkpoints` and `.meta`, option-file rules for `backup-my.cnf`,
//! `istream` rules for `innodb_corrupted_pages`), reject malformed input with a precise
//! [`ParseError`] (line, key, value), and never panic. For every file written by
//! mariadb-backup, `render(parse(bytes)) == bytes`.
//!
//! Two file-system helpers shared by backup, prepare and copy-back live here too:
//! [`sync_filesystems`] (one `syncfs` per filesystem) and [`ReadAhead`] (a thread that asks
//! the kernel to read ahead of a pass over many small files).
//!
//! Invariants: this crate knows nothing about the server, InnoDB pages or redo; values are plain
//! numbers and strings that the binary fills in. LSNs are `u64`.

#![deny(missing_docs)]

mod atomic;
mod binlog;
mod checkpoints;
mod cnf;
mod corrupted;
mod delta_meta;
mod error;
mod galera;
pub mod in_order;
mod info;
mod readahead;
mod scan;
mod slave;

use std::path::Path;

pub use atomic::{
    read_text, rename_noreplace, sync_filesystems, write_atomic, write_atomic_new, FileMode,
    PRIVATE_FILE_MODE,
};
pub use binlog::{BinlogInfo, BinlogPosInnodb};
pub use checkpoints::{BackupType, Checkpoints};
pub use cnf::{strip_end_comment, BackupMyCnf, CnfOption};
pub use corrupted::{CorruptedPages, CorruptedSpace};
pub use delta_meta::{delta_meta_path, DeltaMeta};
pub use error::{MetaError, ParseError};
pub use galera::GaleraInfo;
pub use info::{
    format_local_timestamp, mask_tool_command, tool_command, StreamFormat, XtrabackupInfo,
    MARIADB_BACKUP_VERSION,
};
pub use readahead::{Ranges, ReadAhead};
pub use slave::{ReplicationSource, SlaveInfo, SlaveStatusRow, SourcePosition};

/// File names inside a backup directory, as mariadb-backup spells them.
pub mod names {
    /// [`crate::Checkpoints`].
    pub const XTRABACKUP_CHECKPOINTS: &str = "xtrabackup_checkpoints";
    /// [`crate::XtrabackupInfo`].
    pub const XTRABACKUP_INFO: &str = "xtrabackup_info";
    /// [`crate::BinlogInfo`].
    pub const XTRABACKUP_BINLOG_INFO: &str = "xtrabackup_binlog_info";
    /// [`crate::BinlogPosInnodb`].
    pub const XTRABACKUP_BINLOG_POS_INNODB: &str = "xtrabackup_binlog_pos_innodb";
    /// [`crate::SlaveInfo`].
    pub const XTRABACKUP_SLAVE_INFO: &str = "xtrabackup_slave_info";
    /// [`crate::GaleraInfo`].
    pub const XTRABACKUP_GALERA_INFO: &str = "xtrabackup_galera_info";
    /// A copy of [`XTRABACKUP_GALERA_INFO`]'s content that `--backup --galera-info` also
    /// writes (same format).
    pub const DONOR_GALERA_INFO: &str = "donor_galera_info";
    /// [`crate::BackupMyCnf`].
    pub const BACKUP_MY_CNF: &str = "backup-my.cnf";
    /// [`crate::CorruptedPages`].
    pub const INNODB_CORRUPTED_PAGES: &str = "innodb_corrupted_pages";
}

/// A metadata file format: pure parse and render, plus provided read/write helpers.
pub trait MetaFile: Sized {
    /// Name used in messages (the usual file name).
    const WHAT: &'static str;

    /// Parses the file's text.
    fn parse(text: &str) -> Result<Self, ParseError>;

    /// The exact bytes mariadb-backup would write for this value.
    fn render(&self) -> String;

    /// Reads and parses `path`; errors name the path.
    fn read(path: &Path) -> Result<Self, MetaError> {
        let text = read_text(path)?;
        Self::parse(&text).map_err(|source| MetaError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Atomically writes the rendered value to `path`, replacing an existing file (whose
    /// permissions are then kept, as `fopen(path, "w")` keeps them).
    fn write(&self, path: &Path, mode: FileMode) -> Result<(), MetaError> {
        write_atomic(path, self.render().as_bytes(), mode)
    }

    /// Atomically creates `path`; fails without touching it if it exists, like
    /// mariadb-backup's `O_EXCL` during `--backup`.
    fn write_new(&self, path: &Path, mode: FileMode) -> Result<(), MetaError> {
        write_atomic_new(path, self.render().as_bytes(), mode)
    }
}
