//! `xtrabackup_slave_info` (`--slave-info` on a replica): SQL that points a new replica at the
//! same primary position as the backed-up replica.
//!
//! mariadb-backup 10.11 builds it from `gtid_slave_pos` and one row of `SHOW ALL SLAVES STATUS`
//! per replication connection (`Show_slave_status` in `backup_mysql.cc`):
//!
//! * if `gtid_slave_pos` is non-empty and at least one connection has `Using_Gtid` other than
//!   `No`, the file starts with `SET GLOBAL gtid_slave_pos = '<pos>';`;
//! * then one line per connection: `CHANGE MASTER [<'name'> ]TO master_use_gtid = slave_pos;`
//!   when `gtid_slave_pos` is non-empty and that connection uses GTID, else
//!   `CHANGE MASTER [<'name'> ]TO MASTER_LOG_FILE='<Relay_Master_Log_File>',
//!   MASTER_LOG_POS=<Exec_Master_Log_Pos>;`.
//!
//! Values are quoted without escaping, as mariadb-backup does. No rows means no file. The MySQL
//! 5.6 `gtid_purged` form is not produced by MariaDB servers and not supported here.

use crate::error::{excerpt, ParseError};
use crate::scan::parse_u64;
use crate::MetaFile;

/// One replication connection's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourcePosition {
    /// `CHANGE MASTER ... TO master_use_gtid = slave_pos;`: resume from `gtid_slave_pos`.
    SlavePos,
    /// `CHANGE MASTER ... TO MASTER_LOG_FILE='file', MASTER_LOG_POS=position;`
    FilePos {
        /// The primary's binlog file (`Relay_Master_Log_File`).
        file: String,
        /// Position executed in it (`Exec_Master_Log_Pos`).
        position: u64,
    },
}

/// One `CHANGE MASTER` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationSource {
    /// Multi-source connection name; empty for the default connection (no name is printed).
    pub connection_name: String,
    /// Where that connection resumes.
    pub position: SourcePosition,
}

/// The content of `xtrabackup_slave_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveInfo {
    /// Value for the leading `SET GLOBAL gtid_slave_pos = '...';` line, if written.
    pub set_gtid_slave_pos: Option<String>,
    /// The `CHANGE MASTER` lines, in `SHOW ALL SLAVES STATUS` order (at least one).
    pub sources: Vec<ReplicationSource>,
}

/// The columns of one `SHOW ALL SLAVES STATUS` row that mariadb-backup uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveStatusRow {
    /// `Connection_name`.
    pub connection_name: String,
    /// `Relay_Master_Log_File`.
    pub relay_master_log_file: String,
    /// `Exec_Master_Log_Pos`.
    pub exec_master_log_pos: u64,
    /// `Using_Gtid`: `No`, `Slave_Pos` or `Current_Pos`.
    pub using_gtid: String,
}

impl SlaveInfo {
    /// Builds the file content from `gtid_slave_pos` and the status rows with mariadb-backup's
    /// rules. Returns `None` when there are no rows (not a replica: no file is written).
    pub fn from_status(gtid_slave_pos: &str, rows: &[SlaveStatusRow]) -> Option<SlaveInfo> {
        if rows.is_empty() {
            return None;
        }
        let uses_gtid = |row: &SlaveStatusRow| row.using_gtid != "No";
        let have_pos = !gtid_slave_pos.is_empty();
        let set_gtid_slave_pos =
            (have_pos && rows.iter().any(uses_gtid)).then(|| gtid_slave_pos.to_string());
        let sources = rows
            .iter()
            .map(|row| ReplicationSource {
                connection_name: row.connection_name.clone(),
                position: if have_pos && uses_gtid(row) {
                    SourcePosition::SlavePos
                } else {
                    SourcePosition::FilePos {
                        file: row.relay_master_log_file.clone(),
                        position: row.exec_master_log_pos,
                    }
                },
            })
            .collect();
        Some(SlaveInfo {
            set_gtid_slave_pos,
            sources,
        })
    }

    /// The text mariadb-backup logs as `MySQL slave binlog position: <text>`, e.g.
    /// `master '' filename 'mysql-bin.000002' position '4805'` or
    /// `gtid_slave_pos '0-1-47'; master '' master_use_gtid = slave_pos`.
    pub fn log_text(&self) -> String {
        let mut chunks = Vec::new();
        if let Some(pos) = &self.set_gtid_slave_pos {
            chunks.push(format!("gtid_slave_pos '{pos}'"));
        }
        for source in &self.sources {
            let identity = format!("master '{}'", source.connection_name);
            chunks.push(match &source.position {
                SourcePosition::SlavePos => format!("{identity} master_use_gtid = slave_pos"),
                SourcePosition::FilePos { file, position } => {
                    format!("{identity} filename '{file}' position '{position}'")
                }
            });
        }
        chunks.join("; ")
    }
}

const SET_PREFIX: &str = "SET GLOBAL gtid_slave_pos = '";
const SET_SUFFIX: &str = "';";
const CHANGE_PREFIX: &str = "CHANGE MASTER ";
const USE_GTID: &str = "TO master_use_gtid = slave_pos;";
const FILE_PREFIX: &str = "TO MASTER_LOG_FILE='";
const POS_INFIX: &str = "', MASTER_LOG_POS=";

impl MetaFile for SlaveInfo {
    const WHAT: &'static str = "xtrabackup_slave_info";

    fn parse(text: &str) -> Result<Self, ParseError> {
        if text.is_empty() {
            return Err(ParseError::Empty);
        }
        let Some(body) = text.strip_suffix('\n') else {
            return Err(ParseError::Expected {
                line: text.split('\n').count(),
                expected: "a newline at the end of the file".into(),
                found: excerpt(text.rsplit('\n').next().unwrap_or("")),
            });
        };
        let lines = body.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        let mut set_gtid_slave_pos = None;
        let mut sources = Vec::new();
        for (line_no, line) in lines {
            if line_no == 1 && line.starts_with("SET ") {
                let value = line
                    .strip_prefix(SET_PREFIX)
                    .and_then(|r| r.strip_suffix(SET_SUFFIX))
                    .ok_or_else(|| ParseError::Expected {
                        line: line_no,
                        expected: format!("`{SET_PREFIX}<gtid>{SET_SUFFIX}`"),
                        found: excerpt(line),
                    })?;
                set_gtid_slave_pos = Some(value.to_string());
                continue;
            }
            sources.push(parse_change_master(line_no, line)?);
        }
        if sources.is_empty() {
            return Err(ParseError::MissingKey {
                key: "CHANGE MASTER".into(),
            });
        }
        Ok(SlaveInfo {
            set_gtid_slave_pos,
            sources,
        })
    }

    fn render(&self) -> String {
        let mut out = String::new();
        if let Some(pos) = &self.set_gtid_slave_pos {
            out.push_str(SET_PREFIX);
            out.push_str(pos);
            out.push_str(SET_SUFFIX);
            out.push('\n');
        }
        for source in &self.sources {
            out.push_str(CHANGE_PREFIX);
            if !source.connection_name.is_empty() {
                out.push('\'');
                out.push_str(&source.connection_name);
                out.push_str("' ");
            }
            match &source.position {
                SourcePosition::SlavePos => out.push_str(USE_GTID),
                SourcePosition::FilePos { file, position } => {
                    out.push_str(FILE_PREFIX);
                    out.push_str(file);
                    out.push_str(POS_INFIX);
                    out.push_str(&position.to_string());
                    out.push(';');
                }
            }
            out.push('\n');
        }
        out
    }
}

fn parse_change_master(line_no: usize, line: &str) -> Result<ReplicationSource, ParseError> {
    let expected = |what: &str| ParseError::Expected {
        line: line_no,
        expected: what.into(),
        found: excerpt(line),
    };
    let rest = line
        .strip_prefix(CHANGE_PREFIX)
        .ok_or_else(|| expected("`CHANGE MASTER `"))?;
    // A named connection is printed as `'name' ` before `TO`.
    let (connection_name, rest) = if let Some(quoted) = rest.strip_prefix('\'') {
        let end = quoted
            .find("' TO ")
            .ok_or_else(|| expected("`'<connection name>' TO`"))?;
        (quoted[..end].to_string(), &quoted[end + 2..])
    } else {
        (String::new(), rest)
    };
    let position = if rest == USE_GTID {
        SourcePosition::SlavePos
    } else {
        let file_and_pos = rest
            .strip_prefix(FILE_PREFIX)
            .and_then(|r| r.strip_suffix(';'))
            .ok_or_else(|| {
                expected("`TO master_use_gtid = slave_pos;` or `TO MASTER_LOG_FILE='...', MASTER_LOG_POS=N;`")
            })?;
        let split = file_and_pos
            .rfind(POS_INFIX)
            .ok_or_else(|| expected("`', MASTER_LOG_POS=`"))?;
        let pos_text = &file_and_pos[split + POS_INFIX.len()..];
        let position = parse_u64(pos_text).map_err(|reason| ParseError::InvalidValue {
            line: line_no,
            key: "MASTER_LOG_POS".into(),
            value: pos_text.into(),
            reason: reason.into(),
        })?;
        SourcePosition::FilePos {
            file: file_and_pos[..split].to_string(),
            position,
        }
    };
    Ok(ReplicationSource {
        connection_name,
        position,
    })
}
