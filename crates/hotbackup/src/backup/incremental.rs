//! The base of an incremental backup — `--incremental-lsn`, `--incremental-basedir` (its
//! `xtrabackup_checkpoints` `to_lsn`) or `--incremental-history-name/uuid` (a row of
//! `mysql.mariadb_backup_history`) — and the checks that refuse a base that cannot be
//! right, all before anything is written.
//!
//! mariadb-backup 10.11 reads the base's `to_lsn` and checks nothing else: a prepared
//! (`log-applied`) base is accepted as it is (its `to_lsn` is still the backup's, or the last
//! incremental's applied onto it), and so is a base from another server. hotbackup accepts
//! the prepared base too, and refuses what cannot give a usable delta: a base without
//! complete `xtrabackup_checkpoints`, a base LSN ahead of the server's current LSN (the base
//! is from another server, or the server's data was replaced since), and a base whose
//! `backup-my.cnf` has another `innodb_page_size` than the server. A base from another
//! server whose LSN happens to be behind cannot be recognised: 10.11 records no server
//! identity in a backup.

use std::path::Path;

use backup_meta::{BackupMyCnf, Checkpoints, MetaFile};
use innodb::Lsn;
use server::{ServerError, Session, Variables};

use super::history;
use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;
use crate::options::IncrementalFrom;

/// The base LSN of the incremental backup `from` asks for, checked against the server.
pub(super) fn resolve(
    from: &IncrementalFrom,
    main: &mut Session,
    vars: &Variables,
    innodb_off: bool,
    log: &Log,
) -> Result<Lsn, Failure> {
    let (lsn, what) = match from {
        IncrementalFrom::Lsn(text) => (parse_lsn(text)?, format!("--incremental-lsn={text}")),
        IncrementalFrom::Basedir(dir) => {
            let lsn = basedir_lsn(dir, vars.get("innodb_page_size"))?;
            (lsn, format!("the base backup {}", dir.display()))
        }
        IncrementalFrom::HistoryName(name) => (
            history_lsn(main, history::By::Name, name, log)?,
            format!("the history series name '{name}'"),
        ),
        IncrementalFrom::HistoryUuid(uuid) => (
            history_lsn(main, history::By::Uuid, uuid, log)?,
            format!("the history uuid '{uuid}'"),
        ),
    };
    if !innodb_off {
        let server = match main.innodb_lsn() {
            Ok(lsn) => lsn,
            Err(e) if e.is_access_denied() => main.innodb_lsns()?.0,
            Err(e) => return Err(e.into()),
        };
        check_not_ahead(lsn, server, &what)?;
    }
    log.info(&format!("incremental backup from {lsn} is enabled."));
    Ok(lsn)
}

/// `--incremental-lsn`: a decimal LSN (mariadb-backup's message for anything else).
fn parse_lsn(text: &str) -> Result<Lsn, Failure> {
    let digits = text.trim_start();
    match digits.parse::<u64>() {
        Ok(n) if digits.bytes().all(|b| b.is_ascii_digit()) => Ok(Lsn(n)),
        _ => Err(Failure::new(
            Code::Usage,
            format!(
                "value '{text}' may be wrong format for incremental option. \
                 --incremental-lsn takes the decimal to_lsn of the base backup \
                 (its xtrabackup_checkpoints)"
            ),
        )),
    }
}

/// The `to_lsn` of the complete backup in `dir`, refusing a directory that is not one.
fn basedir_lsn(dir: &Path, server_page_size: Option<&str>) -> Result<Lsn, Failure> {
    let path = dir.join(backup_meta::names::XTRABACKUP_CHECKPOINTS);
    let checkpoints = Checkpoints::read(&path).map_err(|e| {
        let why = if e.is_not_found() {
            format!("it has no {}", backup_meta::names::XTRABACKUP_CHECKPOINTS)
        } else {
            e.to_string()
        };
        not_a_base(dir, &why)
    })?;
    if let Some(server) = server_page_size.and_then(|s| s.parse::<u64>().ok()) {
        // A base without backup-my.cnf (an --extra-lsndir) or with it compressed says nothing.
        if let Ok(cnf) = BackupMyCnf::read(&dir.join(backup_meta::names::BACKUP_MY_CNF)) {
            check_page_size(dir, cnf.page_size, server)?;
        }
    }
    Ok(Lsn(checkpoints.to_lsn))
}

fn not_a_base(dir: &Path, why: &str) -> Failure {
    Failure::new(
        Code::WrongState,
        format!(
            "--incremental-basedir={}: not a complete backup: {why}. A backup writes {} last, \
             so a directory without a valid one is an incomplete backup or no backup at all; \
             give the directory of a complete backup (or its --extra-lsndir)",
            dir.display(),
            backup_meta::names::XTRABACKUP_CHECKPOINTS
        ),
    )
}

fn check_page_size(dir: &Path, base: u64, server: u64) -> Result<(), Failure> {
    if base == 0 || base == server {
        return Ok(());
    }
    Err(Failure::new(
        Code::WrongState,
        format!(
            "--incremental-basedir={}: the base was taken from a server with \
             innodb_page_size={base}, this server has {server}: it is a backup of another \
             server. Give the base backup of this server, or take a full backup",
            dir.display()
        ),
    ))
}

fn check_not_ahead(base: Lsn, server: Lsn, what: &str) -> Result<(), Failure> {
    if base <= server {
        return Ok(());
    }
    Err(Failure::new(
        Code::WrongState,
        format!(
            "{what} gives base LSN {base}, ahead of this server's current LSN {server}: that \
             base is not of this server's current data (another server, or the data was \
             restored since). An incremental backup on it could not be prepared; give this \
             server's latest backup as the base, or take a full backup"
        ),
    ))
}

/// mariadb-backup's lookup: the highest `innodb_to_lsn` of the series or uuid.
fn history_lsn(
    main: &mut Session,
    by: history::By,
    value: &str,
    log: &Log,
) -> Result<Lsn, Failure> {
    let sql = {
        let session: &Session = main;
        history::base_lsn_query(by, value, &|s| session.quote_string(s))
    };
    let found = main
        .query_rows(&sql)
        .map_err(|e| history_failure(e, by, value))?;
    let lsn = found
        .first()
        .and_then(|row| row.first().cloned().flatten())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match lsn {
        Some(lsn) => {
            log.info(&format!(
                "Found and using lsn: {lsn} for {} {value}",
                by.column()
            ));
            Ok(Lsn(lsn))
        }
        None => Err(Failure::new(
            Code::Failure,
            format!(
                "Error while attempting to find history record for {} {value}: \
                 mysql.mariadb_backup_history has no backup with that {} (and an \
                 innodb_to_lsn). Take a full backup with --history{}, or give the base with \
                 --incremental-basedir",
                by.column(),
                by.column(),
                match by {
                    history::By::Name => format!("={value}"),
                    history::By::Uuid => String::new(),
                }
            ),
        )),
    }
}

fn history_failure(e: ServerError, by: history::By, value: &str) -> Failure {
    let missing_table = matches!(
        &e,
        ServerError::Query {
            code: Some(1146),
            ..
        }
    );
    let denied = e.is_access_denied();
    // The server answered with an error: not a connection problem (mariadb-backup: exit 1).
    let answered = matches!(&e, ServerError::Query { code: Some(_), .. });
    let mut failure = Failure::from(e);
    if answered {
        failure.code = Code::Failure;
    }
    let hint = if missing_table {
        " mysql.mariadb_backup_history does not exist: no backup on this server was taken with \
         --history, so there is no base to find; take a full backup with --history"
            .to_string()
    } else if denied {
        " Reading mysql.mariadb_backup_history needs SELECT on it: GRANT SELECT ON \
         mysql.mariadb_backup_history TO <backup user>"
            .to_string()
    } else {
        String::new()
    };
    failure.message = format!(
        "looking up the base of the incremental backup ({} {value}) failed: {}.{hint}",
        by.column(),
        failure.message
    );
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_lsn_values() {
        for (text, want) in [
            ("0", Some(0)),
            ("4249980", Some(4249980)),
            (" 12", Some(12)),
            ("18446744073709551615", Some(u64::MAX)),
            ("", None),
            ("12x", None),
            ("-1", None),
            ("+5", None),
            ("0x10", None),
            ("18446744073709551616", None),
        ] {
            let got = parse_lsn(text);
            match want {
                Some(n) => assert_eq!(got.ok().map(|l| l.0), Some(n), "{text:?}"),
                None => {
                    let f = got.expect_err(text);
                    assert_eq!(f.code, Code::Usage);
                    assert!(f.message.contains("may be wrong format"), "{}", f.message);
                }
            }
        }
    }

    #[test]
    fn a_base_ahead_of_the_server_or_of_another_page_size_is_refused() {
        assert!(check_not_ahead(Lsn(10), Lsn(10), "x").is_ok());
        assert!(check_not_ahead(Lsn(9), Lsn(10), "x").is_ok());
        let f = check_not_ahead(Lsn(11), Lsn(10), "the base backup /b").unwrap_err();
        assert_eq!(f.code, Code::WrongState);
        assert!(f
            .message
            .contains("/b gives base LSN 11, ahead of this server's current LSN 10"));
        let dir = Path::new("/b");
        assert!(check_page_size(dir, 16384, 16384).is_ok());
        assert!(check_page_size(dir, 0, 16384).is_ok());
        let f = check_page_size(dir, 4096, 16384).unwrap_err();
        assert!(f
            .message
            .contains("innodb_page_size=4096, this server has 16384"));
    }

    #[test]
    fn a_base_without_complete_checkpoints_is_refused() {
        let dir = std::env::temp_dir().join(format!("hotbackup-incbase-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let f = basedir_lsn(&dir, None).unwrap_err();
        assert_eq!(f.code, Code::WrongState);
        assert!(
            f.message.contains("it has no xtrabackup_checkpoints"),
            "{}",
            f.message
        );
        let path = dir.join("xtrabackup_checkpoints");
        std::fs::write(&path, "backup_type = full-backuped\nfrom_lsn = 0\n").unwrap();
        let f = basedir_lsn(&dir, None).unwrap_err();
        assert_eq!(f.code, Code::WrongState);
        assert!(
            f.message.contains("not a complete backup: cannot parse"),
            "{}",
            f.message
        );
        // Any complete base, prepared or not, gives its to_lsn (as mariadb-backup).
        for kind in ["full-backuped", "log-applied", "incremental"] {
            std::fs::write(
                &path,
                format!(
                    "backup_type = {kind}\nfrom_lsn = 0\nto_lsn = 4249980\nlast_lsn = 4249996\n\
                     recover_binlog_info = 0\n"
                ),
            )
            .unwrap();
            assert_eq!(
                basedir_lsn(&dir, Some("16384")).unwrap(),
                Lsn(4249980),
                "{kind}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
