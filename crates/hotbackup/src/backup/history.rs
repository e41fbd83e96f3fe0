//! `--history[=name]`: the backup's `xtrabackup_info` as a row of
//! `mysql.mariadb_backup_history`, with mariadb-backup 10.11's three statements, byte for
//! byte (`mariabackup-samples/backup-history.general.log`). They are written to the binlog and
//! replicate, as mariadb-backup's do.
//!
//! hotbackup sends them once the backup is complete (`xtrabackup_checkpoints` written), so a
//! row never describes a backup that failed; if they fail, the backup can still be used and
//! the message says so. (mariadb-backup sends them after `xtrabackup_info`, before its
//! completion, and also leaves complete files behind when they fail.)

use backup_meta::XtrabackupInfo;
use server::{ServerError, Session};

/// mariadb-backup's first statement: older tables had `format ENUM('file','tar','xbstream')`.
pub const ALTER: &str = "ALTER TABLE IF EXISTS mysql.mariadb_backup_history MODIFY format ENUM('file', 'tar', 'mbstream') DEFAULT NULL";

/// mariadb-backup's table definition.
pub const CREATE: &str = "CREATE TABLE IF NOT EXISTS mysql.mariadb_backup_history(uuid VARCHAR(40) NOT NULL PRIMARY KEY,name VARCHAR(255) DEFAULT NULL,tool_name VARCHAR(255) DEFAULT NULL,tool_command TEXT DEFAULT NULL,tool_version VARCHAR(255) DEFAULT NULL,ibbackup_version VARCHAR(255) DEFAULT NULL,server_version VARCHAR(255) DEFAULT NULL,start_time TIMESTAMP NULL DEFAULT NULL,end_time TIMESTAMP NULL DEFAULT NULL,lock_time BIGINT UNSIGNED DEFAULT NULL,binlog_pos VARCHAR(128) DEFAULT NULL,innodb_from_lsn BIGINT UNSIGNED DEFAULT NULL,innodb_to_lsn BIGINT UNSIGNED DEFAULT NULL,partial ENUM('Y', 'N') DEFAULT NULL,incremental ENUM('Y', 'N') DEFAULT NULL,format ENUM('file', 'tar', 'mbstream') DEFAULT NULL,compressed ENUM('Y', 'N') DEFAULT NULL) CHARACTER SET utf8 ENGINE=innodb";

/// The `insert` for `info`; `quote` quotes a string literal for the session
/// ([`Session::quote_string`]). `start`/`end` are unix seconds. An empty `binlog_pos` (no
/// binlog position taken) is `NULL`, as mariadb-backup's NULL `mysql_binlog_position`.
pub fn insert_statement(
    info: &XtrabackupInfo,
    start: i64,
    end: i64,
    quote: &dyn Fn(&str) -> String,
) -> String {
    let yes_no = |b: bool| if b { "'Y'" } else { "'N'" };
    let binlog_pos = if info.binlog_pos.is_empty() {
        "NULL".to_string()
    } else {
        quote(&info.binlog_pos)
    };
    format!(
        "insert into mysql.mariadb_backup_history(uuid, name, tool_name, tool_command, tool_version,ibbackup_version, server_version, start_time, end_time,lock_time, binlog_pos, innodb_from_lsn, innodb_to_lsn,partial, incremental, format, compressed) values({},{},{},{},{},{},{},from_unixtime({start}),from_unixtime({end}),{},{binlog_pos},{},{},{},{},{},{})",
        quote(&info.uuid),
        quote(&info.name),
        quote(&info.tool_name),
        quote(&info.tool_command),
        quote(&info.tool_version),
        quote(&info.ibbackup_version),
        quote(&info.server_version),
        info.lock_time,
        info.innodb_from_lsn,
        info.innodb_to_lsn,
        yes_no(info.partial),
        yes_no(info.incremental),
        quote(info.format.as_str()),
        yes_no(info.compressed),
    )
}

/// Sends the three statements.
pub fn record(
    main: &mut Session,
    info: &XtrabackupInfo,
    start: i64,
    end: i64,
) -> Result<(), ServerError> {
    main.exec(ALTER)?;
    main.exec(CREATE)?;
    let insert = {
        let session: &Session = main;
        insert_statement(info, start, end, &|s| session.quote_string(s))
    };
    main.exec(&insert)
}

/// Which column finds the base of an incremental backup (`--incremental-history-name`,
/// `--incremental-history-uuid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    /// The series name (`--history=NAME` of the earlier backups).
    Name,
    /// One backup's uuid.
    Uuid,
}

impl By {
    /// The column, also the word mariadb-backup's messages use.
    pub fn column(self) -> &'static str {
        match self {
            By::Name => "name",
            By::Uuid => "uuid",
        }
    }
}

/// mariadb-backup 10.11's query for the base LSN of an incremental backup (the latest
/// `innodb_to_lsn` of the series or uuid); `quote` as for [`insert_statement`].
pub fn base_lsn_query(by: By, value: &str, quote: &dyn Fn(&str) -> String) -> String {
    format!(
        "SELECT innodb_to_lsn FROM mysql.mariadb_backup_history WHERE {} = {} AND innodb_to_lsn IS NOT NULL ORDER BY innodb_to_lsn DESC LIMIT 1",
        by.column(),
        quote(value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_meta::StreamFormat;

    /// The values of the sample run (`backup-history.general.log`).
    fn sample() -> XtrabackupInfo {
        XtrabackupInfo {
            uuid: "10cb495d-e5de-11f1-b91c-02fc00000001".into(),
            name: String::new(),
            tool_name: "mariadb-backup".into(),
            tool_command: "--defaults-file=src/my.cnf --backup --target-dir=bk/hist --history"
                .into(),
            tool_version: "10.11.19-MariaDB".into(),
            ibbackup_version: "10.11.19-MariaDB".into(),
            server_version: "10.11.19-MariaDB-0+deb12u1-log".into(),
            start_time: "2026-11-21 19:02:14".into(),
            end_time: "2026-11-21 19:02:15".into(),
            lock_time: 0,
            binlog_pos: "filename 'mysql-bin.000002', position '342', GTID of the last change '0-1-37,7-7-7'".into(),
            innodb_from_lsn: 0,
            innodb_to_lsn: 302195,
            partial: false,
            incremental: false,
            format: StreamFormat::File,
            compressed: false,
        }
    }

    #[test]
    fn the_statements_are_mariadb_backups() {
        let log = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/samples/backup-history.general.log"
        ))
        .expect("testdata/samples/backup-history.general.log (mariadb-backup's own statements)");
        let sent: Vec<&str> = log
            .lines()
            .filter_map(|l| l.split_once("Query\t").map(|(_, q)| q))
            .collect();
        let quote = |s: &str| server::quote_string(s, false);
        let insert = insert_statement(&sample(), 1795287734, 1795287735, &quote);
        for statement in [ALTER, CREATE, insert.as_str()] {
            assert!(
                sent.contains(&statement),
                "not in the sample log: {statement}"
            );
        }
    }

    #[test]
    fn no_binlog_position_is_null_and_flags_are_y() {
        let mut info = sample();
        info.binlog_pos.clear();
        info.name = "nightly's".into();
        info.partial = true;
        info.format = StreamFormat::Mbstream;
        let quote = |s: &str| server::quote_string(s, false);
        let insert = insert_statement(&info, 1, 2, &quote);
        assert!(
            insert.contains(",0,NULL,0,302195,'Y','N','mbstream','N')"),
            "{insert}"
        );
        assert!(insert.contains(",'nightly\\'s',"), "{insert}");
    }

    #[test]
    fn the_base_lookup_is_mariadb_backups() {
        let quote = |s: &str| server::quote_string(s, false);
        assert_eq!(
            base_lsn_query(By::Name, "night'ly", &quote),
            "SELECT innodb_to_lsn FROM mysql.mariadb_backup_history WHERE name = 'night\\'ly' AND innodb_to_lsn IS NOT NULL ORDER BY innodb_to_lsn DESC LIMIT 1"
        );
        assert!(base_lsn_query(By::Uuid, "u-1", &quote).contains("WHERE uuid = 'u-1' AND"));
    }
}
