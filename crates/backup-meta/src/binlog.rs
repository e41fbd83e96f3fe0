//! `xtrabackup_binlog_info` (written by `--backup`) and `xtrabackup_binlog_pos_innodb`
//! (written by `--prepare`).

use crate::error::{excerpt, ParseError};
use crate::scan::parse_u64;
use crate::MetaFile;

/// The content of `xtrabackup_binlog_info`: the binlog coordinates of the backup, taken from
/// `SHOW MASTER STATUS` and `gtid_current_pos` while commits were blocked.
///
/// mariadb-backup 10.11 writes `"%s\t%s\t%s\n"` (file, position, GTID) when the server reports a
/// GTID position (`gtid_current_pos` non-empty, or MySQL's `gtid_mode=ON`), and `"%s\t%s\n"`
/// otherwise. The same values give the `binlog_pos` text of `xtrabackup_info` and of the log
/// line `MySQL binlog position: ...` ([`BinlogInfo::binlog_pos_text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogInfo {
    /// Binlog file name, e.g. `mysql-bin.000002` (as `SHOW MASTER STATUS` reports it).
    pub file: String,
    /// Byte position in that file.
    pub position: u64,
    /// `gtid_current_pos`, e.g. `0-1-37,7-7-7`; `None` for the two-column form.
    pub gtid: Option<String>,
}

impl BinlogInfo {
    /// The text stored as `binlog_pos` in `xtrabackup_info`:
    /// `filename 'F', position 'P', GTID of the last change 'G'`, or without the GTID part.
    pub fn binlog_pos_text(&self) -> String {
        match &self.gtid {
            Some(gtid) => format!(
                "filename '{}', position '{}', GTID of the last change '{}'",
                self.file, self.position, gtid
            ),
            None => format!("filename '{}', position '{}'", self.file, self.position),
        }
    }
}

impl MetaFile for BinlogInfo {
    const WHAT: &'static str = "xtrabackup_binlog_info";

    fn parse(text: &str) -> Result<Self, ParseError> {
        let fields = single_line_fields(text)?;
        let (file, position, gtid) = match fields.as_slice() {
            [file, position] => (*file, *position, None),
            [file, position, gtid] => (*file, *position, Some((*gtid).to_string())),
            _ => {
                return Err(ParseError::Expected {
                    line: 1,
                    expected: "2 or 3 tab-separated fields (file, position[, GTID])".into(),
                    found: excerpt(text),
                })
            }
        };
        Ok(BinlogInfo {
            file: parse_file_name(file)?,
            position: parse_position(position)?,
            gtid,
        })
    }

    fn render(&self) -> String {
        match &self.gtid {
            Some(gtid) => format!("{}\t{}\t{}\n", self.file, self.position, gtid),
            None => format!("{}\t{}\n", self.file, self.position),
        }
    }
}

/// The content of `xtrabackup_binlog_pos_innodb`: the binlog position InnoDB recorded for its
/// last committed transaction, found by `--prepare` (`"%s\t%llu\n"`, e.g.
/// `./mysql-bin.000001\t79960\n`; `\t0\n` when InnoDB recorded none). It can be older than
/// the backup's real position; see [`BinlogInfo`] for that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogPosInnodb {
    /// Binlog file name as InnoDB stored it (usually with a `./` prefix); empty when none.
    pub file: String,
    /// Byte position.
    pub position: u64,
}

impl MetaFile for BinlogPosInnodb {
    const WHAT: &'static str = "xtrabackup_binlog_pos_innodb";

    fn parse(text: &str) -> Result<Self, ParseError> {
        let fields = single_line_fields(text)?;
        match fields.as_slice() {
            // Empty when InnoDB recorded no position: mariadb-backup writes `"\t0\n"`.
            [file, position] => Ok(BinlogPosInnodb {
                file: file.to_string(),
                position: parse_position(position)?,
            }),
            _ => Err(ParseError::Expected {
                line: 1,
                expected: "2 tab-separated fields (file, position)".into(),
                found: excerpt(text),
            }),
        }
    }

    fn render(&self) -> String {
        format!("{}\t{}\n", self.file, self.position)
    }
}

/// Splits a one-line, newline-terminated file into its tab-separated fields.
fn single_line_fields(text: &str) -> Result<Vec<&str>, ParseError> {
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let Some(line) = text.strip_suffix('\n') else {
        return Err(ParseError::Expected {
            line: 1,
            expected: "a newline at the end of the line".into(),
            found: excerpt(text),
        });
    };
    if let Some(nl) = line.find('\n') {
        return Err(ParseError::Trailing {
            line: 2,
            found: excerpt(&line[nl + 1..]),
        });
    }
    Ok(line.split('\t').collect())
}

fn parse_file_name(file: &str) -> Result<String, ParseError> {
    if file.is_empty() {
        return Err(ParseError::InvalidValue {
            line: 1,
            key: "file".into(),
            value: String::new(),
            reason: "empty binlog file name".into(),
        });
    }
    Ok(file.to_string())
}

fn parse_position(position: &str) -> Result<u64, ParseError> {
    parse_u64(position).map_err(|reason| ParseError::InvalidValue {
        line: 1,
        key: "position".into(),
        value: position.into(),
        reason: reason.into(),
    })
}
