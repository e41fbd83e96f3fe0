//! `xtrabackup_checkpoints`: the backup type and the LSNs that tie a backup to its redo log
//! and to the next incremental.
//!
//! Written by mariadb-backup 10.11 as
//! `"backup_type = %s\nfrom_lsn = %lu\nto_lsn = %lu\nlast_lsn = %lu\nrecover_binlog_info = %d\n"`.
//! It is read back with a sequence of `fscanf` calls (`backup_type = %29s\n`,
//! `from_lsn = %lu\n`, ...), so keys must come in this order, whitespace around `=` and between
//! lines is free (also none), and anything after `recover_binlog_info` is ignored.
//! `last_lsn` and `recover_binlog_info` are optional (defaults 0 and false); the first three keys
//! are mandatory. Unlike mariadb-backup we reject an optional key whose value is present but not
//! a number, instead of silently using the default.

use crate::error::ParseError;
use crate::scan::{parse_i64, parse_u64, Scanner};
use crate::MetaFile;

/// `backup_type`: what state the backup directory is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupType {
    /// `full-backuped`: a full backup, not prepared yet.
    FullBackuped,
    /// `incremental`: an incremental backup (deltas), `from_lsn` is the base's `to_lsn`.
    Incremental,
    /// `log-applied`: prepared (and possibly with incrementals applied).
    LogApplied,
}

impl BackupType {
    /// The word as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupType::FullBackuped => "full-backuped",
            BackupType::Incremental => "incremental",
            BackupType::LogApplied => "log-applied",
        }
    }

    /// Parses the word used in the file.
    pub fn from_word(word: &str) -> Option<Self> {
        match word {
            "full-backuped" => Some(BackupType::FullBackuped),
            "incremental" => Some(BackupType::Incremental),
            "log-applied" => Some(BackupType::LogApplied),
            _ => None,
        }
    }
}

/// The content of `xtrabackup_checkpoints`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoints {
    /// State of the backup.
    pub backup_type: BackupType,
    /// 0 for a full backup; the base's `to_lsn` for an incremental.
    pub from_lsn: u64,
    /// Checkpoint LSN at which the redo copy started; the next incremental's `from_lsn`.
    pub to_lsn: u64,
    /// LSN up to which redo was copied.
    pub last_lsn: u64,
    /// `recover_binlog_info = 1`: written by mariadb-backup only with `--binlog-info=LOCKLESS`.
    pub recover_binlog_info: bool,
}

const KEY_BACKUP_TYPE: &str = "backup_type";
const KEY_FROM_LSN: &str = "from_lsn";
const KEY_TO_LSN: &str = "to_lsn";
const KEY_LAST_LSN: &str = "last_lsn";
const KEY_RECOVER_BINLOG_INFO: &str = "recover_binlog_info";

impl MetaFile for Checkpoints {
    const WHAT: &'static str = "xtrabackup_checkpoints";

    fn parse(text: &str) -> Result<Self, ParseError> {
        if text.is_empty() {
            return Err(ParseError::Empty);
        }
        let mut scan = Scanner::new(text);

        expect_key(&mut scan, KEY_BACKUP_TYPE)?;
        let line = scan.line();
        let word = scan.word();
        // mariadb-backup reads the type with %29s into a 30-byte buffer; longer words cannot
        // be any valid type anyway.
        let backup_type = BackupType::from_word(word).ok_or_else(|| ParseError::InvalidValue {
            line,
            key: KEY_BACKUP_TYPE.into(),
            value: word.into(),
            reason: "expected full-backuped, incremental or log-applied".into(),
        })?;
        scan.skip_space();

        let from_lsn = required_lsn(&mut scan, KEY_FROM_LSN)?;
        let to_lsn = required_lsn(&mut scan, KEY_TO_LSN)?;

        let last_lsn = optional_number(&mut scan, KEY_LAST_LSN, parse_u64)?.unwrap_or(0);
        // mariadb-backup: `recover_binlog_info = (t == 1)`.
        let recover_binlog_info =
            optional_number(&mut scan, KEY_RECOVER_BINLOG_INFO, parse_i64)? == Some(1);

        Ok(Checkpoints {
            backup_type,
            from_lsn,
            to_lsn,
            last_lsn,
            recover_binlog_info,
        })
    }

    fn render(&self) -> String {
        format!(
            "backup_type = {}\nfrom_lsn = {}\nto_lsn = {}\nlast_lsn = {}\nrecover_binlog_info = {}\n",
            self.backup_type.as_str(),
            self.from_lsn,
            self.to_lsn,
            self.last_lsn,
            u8::from(self.recover_binlog_info),
        )
    }
}

/// Matches `key =` (whitespace optional around `=`).
fn expect_key(scan: &mut Scanner<'_>, key: &str) -> Result<(), ParseError> {
    let line = scan.line();
    let found = scan.found();
    if scan.pattern(key) && scan.pattern(" =") {
        Ok(())
    } else {
        Err(ParseError::Expected {
            line,
            expected: format!("`{key} = `"),
            found,
        })
    }
}

fn required_lsn(scan: &mut Scanner<'_>, key: &str) -> Result<u64, ParseError> {
    number_line(scan, key, parse_u64)
}

/// An optional `key = number` line: absent (the next text is not `key`) gives `None`.
fn optional_number<T>(
    scan: &mut Scanner<'_>,
    key: &str,
    parse: fn(&str) -> Result<T, &'static str>,
) -> Result<Option<T>, ParseError> {
    if !scan.rest().starts_with(key) {
        return Ok(None);
    }
    number_line(scan, key, parse).map(Some)
}

/// A `key = number` line that must be next.
fn number_line<T>(
    scan: &mut Scanner<'_>,
    key: &str,
    parse: fn(&str) -> Result<T, &'static str>,
) -> Result<T, ParseError> {
    expect_key(scan, key)?;
    let line = scan.line();
    let token = scan.number_token();
    let value = parse(token).map_err(|reason| ParseError::InvalidValue {
        line,
        key: key.into(),
        value: if token.is_empty() {
            scan.found()
        } else {
            token.into()
        },
        reason: reason.into(),
    })?;
    scan.skip_space();
    Ok(value)
}
