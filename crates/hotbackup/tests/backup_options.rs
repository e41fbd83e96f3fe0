//! The `--backup` options around replication and bookkeeping, against real servers:
//!
//! * a GTID replica of a primary under load, backed up with `--slave-info --safe-slave-backup`:
//!   `xtrabackup_slave_info` has mariadb-backup's shape and exactly the position the backup
//!   holds (the restored server's `gtid_slave_pos` equals it), the restored backup becomes a
//!   replica of the same primary from that file and ends identical to it, and the replica's
//!   SQL thread runs again after every backup, also after failed ones (a temporary table that
//!   stays open past `--safe-slave-backup-timeout`, a statement refused under BLOCK_COMMIT);
//! * on a primary: `--slave-info` and `--galera-info` write no file and do not fail,
//!   `--binlog-info=OFF` takes no binlog position, `--history[=name]` records the backup in
//!   `mysql.mariadb_backup_history` with mariadb-backup's statements, and fails clearly (on a
//!   complete backup) without the privilege; `--slave-info` without SLAVE MONITOR fails
//!   before anything is copied.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{backup_command, change_master, hotbackup, primary_and_replica, Backup};
use testkit::mysql::prelude::Queryable;
use testkit::{TestDir, TestServer, Tool, WriteLoad, WriteLoadOptions};

const CHECKPOINTS: &str = "xtrabackup_checkpoints";
const SLAVE_INFO: &str = "xtrabackup_slave_info";
const EXIT_FAILURE: i32 = 1;

/// Longest a backup here may take before the test calls it a hang.
const BACKUP_LIMIT: Duration = Duration::from_secs(90);

/// How a backup ended.
struct Ended {
    code: Option<i32>,
    stderr: String,
}

impl Ended {
    fn assert_ok(&self) {
        assert_eq!(self.code, Some(0), "the backup failed:\n{}", self.stderr);
        assert!(self.stderr.contains("completed OK!"), "{}", self.stderr);
    }

    /// Exit `code`, no panic, every needle in the message.
    fn assert_failed(&self, code: i32, needles: &[&str]) {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}; stderr:\n{}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        let fatal = self
            .stderr
            .find("FATAL ERROR")
            .map(|at| &self.stderr[at..])
            .unwrap_or_else(|| panic!("no FATAL ERROR in:\n{}", self.stderr));
        for needle in needles {
            assert!(fatal.contains(needle), "no {needle:?} in:\n{fatal}");
        }
    }
}

/// `hotbackup --no-defaults --backup --target-dir=<target> --socket=... --user=<user> <extra>`,
/// killed (and failed) after [`BACKUP_LIMIT`].
fn backup(server: &TestServer, target: &Path, user: &str, extra: &[&str]) -> Ended {
    let cmd = backup_command(server.socket_path(), target, user, extra);
    let ended = Backup::spawn(cmd, target.with_extension("stderr")).wait(BACKUP_LIMIT);
    Ended {
        code: ended.status.code(),
        stderr: ended.stderr,
    }
}

/// A column of `SHOW SLAVE STATUS`, by name.
fn slave_status(replica: &TestServer, column: &str) -> String {
    let rows: Vec<testkit::mysql::Row> = replica.query_rows("SHOW SLAVE STATUS").unwrap();
    let row = rows.first().expect("the server is a replica");
    let value: Option<String> = row.get(column).unwrap_or(None);
    value.unwrap_or_default()
}

fn assert_sql_thread_running(replica: &TestServer, after: &str) {
    // START SLAVE SQL_THREAD returns before the thread reports itself running.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let running = slave_status(replica, "Slave_SQL_Running");
        if running == "Yes" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the replica's SQL thread is '{running}' after {after} (last error: {})",
            slave_status(replica, "Last_SQL_Error")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `replica` has applied everything `primary` has binlogged.
fn wait_caught_up(primary: &TestServer, replica: &TestServer) {
    let pos: String = primary
        .query_one("SELECT @@GLOBAL.gtid_binlog_pos")
        .unwrap();
    let waited: i64 = replica
        .query_one(&format!("SELECT MASTER_GTID_WAIT('{pos}', 30)"))
        .unwrap();
    assert_eq!(
        waited,
        0,
        "the replica did not reach {pos} within 30 s: IO '{}' SQL '{}' {}",
        slave_status(replica, "Slave_IO_Running"),
        slave_status(replica, "Slave_SQL_Running"),
        slave_status(replica, "Last_Error")
    );
}

#[test]
fn replica_backup_with_slave_info_and_safe_slave_backup() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let (primary, replica, port) = primary_and_replica(&mariadb, "");
    let schema = testkit::create_mixed_schema(&primary, "shop", 300).unwrap();
    wait_caught_up(&primary, &replica);
    assert_sql_thread_running(&replica, "setup");
    let dir = TestDir::new("backup-options-replica").unwrap();

    // 1. A replicated temporary table stays open: --safe-slave-backup gives up after its
    //    timeout (3 s: one attempt), fails with exit 1, and the SQL thread runs again.
    let mut temp_session = primary.conn().unwrap();
    temp_session
        .query_drop(
            "SET SESSION binlog_format='STATEMENT'; \
             CREATE TEMPORARY TABLE shop.tmp_open (a INT) ENGINE=InnoDB; \
             INSERT INTO shop.tmp_open VALUES (1)",
        )
        .unwrap();
    wait_caught_up(&primary, &replica);
    let open: (String, u64) = replica
        .query_one("SHOW STATUS LIKE 'Slave_open_temp_tables'")
        .unwrap();
    assert_eq!(open.1, 1, "the temporary table must be open on the replica");
    let target = dir.path().join("timeout");
    let ended = backup(
        &replica,
        &target,
        "root",
        &["--safe-slave-backup", "--safe-slave-backup-timeout=3"],
    );
    ended.assert_failed(
        EXIT_FAILURE,
        &[
            "Slave_open_temp_tables did not become zero after 3 seconds",
            "--safe-slave-backup-timeout",
        ],
    );
    assert!(ended.stderr.contains("Slave open temp tables: 1"));
    assert!(ended.stderr.contains("(0 attempts remaining)"));
    assert!(!target.join(CHECKPOINTS).exists());
    assert_sql_thread_running(&replica, "a --safe-slave-backup timeout");
    // Its session ends: the primary logs DROP TEMPORARY TABLE, the replica closes it.
    drop(temp_session);
    wait_caught_up(&primary, &replica);

    // 2. A backup that fails after it stopped the SQL thread (a user without BINLOG MONITOR,
    //    refused at SHOW MASTER STATUS under BLOCK_COMMIT): the SQL thread runs again.
    replica
        .exec(
            "SET SESSION sql_log_bin=0; CREATE USER bk@localhost; \
             GRANT RELOAD, PROCESS, SLAVE MONITOR, REPLICATION SLAVE ADMIN ON *.* TO bk@localhost; \
             SET SESSION sql_log_bin=1",
        )
        .unwrap();
    let target = dir.path().join("refused");
    let ended = backup(
        &replica,
        &target,
        "bk",
        &[
            "--slave-info",
            "--safe-slave-backup",
            "--skip-check-privileges",
        ],
    );
    ended.assert_failed(
        EXIT_FAILURE,
        &[
            "SHOW MASTER STATUS",
            "GRANT BINLOG MONITOR ON *.*",
            "incomplete",
        ],
    );
    assert!(ended.stderr.contains("Slave is safe to backup."));
    assert!(!target.join(CHECKPOINTS).exists());
    assert_sql_thread_running(&replica, "a backup that failed under BLOCK_COMMIT");

    // 3. The real thing, while the primary is written to.
    let load = WriteLoad::start(&primary, WriteLoadOptions::for_schema(&schema)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let target = dir.path().join("backup");
    let ended = backup(
        &replica,
        &target,
        "root",
        &["--slave-info", "--safe-slave-backup"],
    );
    let stats = load.stop().unwrap();
    ended.assert_ok();
    assert!(stats.total_ops() > 0, "{stats:?}");
    assert_sql_thread_running(&replica, "a successful backup");
    for line in [
        "Slave open temp tables: 0",
        "Slave is safe to backup.",
        "MySQL slave binlog position: gtid_slave_pos '",
        "; master '' master_use_gtid = slave_pos",
    ] {
        assert!(
            ended.stderr.contains(line),
            "no {line:?} in:\n{}",
            ended.stderr
        );
    }
    // mariadb-backup's shape (files/replica/xtrabackup_slave_info.gtid).
    let info = fs::read_to_string(target.join(SLAVE_INFO)).unwrap();
    let lines: Vec<&str> = info.lines().collect();
    assert!(info.ends_with(";\n"), "{info:?}");
    assert_eq!(lines.len(), 2, "{info:?}");
    let gtid = lines[0]
        .strip_prefix("SET GLOBAL gtid_slave_pos = '")
        .and_then(|r| r.strip_suffix("';"))
        .unwrap_or_else(|| panic!("first line: {info:?}"));
    assert!(
        gtid.split(',').all(|g| g.split('-').count() == 3),
        "not a GTID list: {gtid:?}"
    );
    assert_eq!(lines[1], "CHANGE MASTER TO master_use_gtid = slave_pos;");
    assert!(target.join(CHECKPOINTS).exists());
    // The replica's own binlog position, too (log_slave_updates).
    assert!(target.join("xtrabackup_binlog_info").exists());

    // 4. The backup becomes a new replica of the primary from the file alone, and ends
    //    identical to it.
    let tool = Tool::Hotbackup(hotbackup().to_path_buf());
    tool.prepare(&mariadb, &target).unwrap();
    let restore_dir = TestDir::new("backup-options-restored").unwrap();
    let datadir = restore_dir.path().join("data");
    tool.copy_back(&mariadb, &target, &datadir).unwrap();
    let restored = mariadb
        .server()
        .name("restored")
        .server_id(3)
        .existing_datadir(&datadir)
        .start()
        .unwrap();
    let failures = restored.check_table_all().unwrap();
    assert!(failures.is_empty(), "CHECK TABLE failed: {failures:?}");
    // mysql.gtid_slave_pos is InnoDB: the restored position is the one the file names.
    let restored_pos: String = restored
        .query_one("SELECT @@GLOBAL.gtid_slave_pos")
        .unwrap();
    assert_eq!(restored_pos, gtid, "the slave info must match the data");
    restored
        .exec(&format!("{}; {info} START SLAVE", change_master(port)))
        .unwrap();
    wait_caught_up(&primary, &restored);
    assert_eq!(
        restored.checksum_all().unwrap(),
        primary.checksum_all().unwrap(),
        "the restored replica differs from the primary after catching up"
    );
}

#[test]
fn primary_backup_options() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb
        .server()
        .name("opts")
        .binlog(true)
        .general_log(true)
        .start()
        .unwrap();
    testkit::create_mixed_schema(&server, "shop", 50).unwrap();
    server
        .exec(
            "CREATE USER bk@localhost; GRANT RELOAD, PROCESS, BINLOG MONITOR ON *.* TO bk@localhost",
        )
        .unwrap();
    let dir = TestDir::new("backup-options-primary").unwrap();
    let general_log = server.general_log_path().to_path_buf();
    let log_len = || fs::metadata(&general_log).map(|m| m.len()).unwrap_or(0);
    let sql_since = |from: u64| {
        let text = fs::read(&general_log).unwrap_or_default();
        let text = String::from_utf8_lossy(text.get(from as usize..).unwrap_or_default());
        text.lines()
            .filter_map(|l| l.split_once("Query\t").map(|(_, q)| q.to_string()))
            .collect::<Vec<String>>()
    };

    // 1. --slave-info, --safe-slave-backup and --galera-info on a server that is neither a
    //    replica nor a Galera node: no file, no error, no STOP SLAVE. --binlog-info=OFF: no
    //    binlog position at all.
    //    --history=nightly: the row and xtrabackup_info carry the name.
    let from = log_len();
    let target = dir.path().join("off");
    let ended = backup(
        &server,
        &target,
        "root",
        &[
            "--slave-info",
            "--safe-slave-backup",
            "--galera-info",
            "--binlog-info=OFF",
            "--history=nightly",
            "--innodb-log-checkpoint-now",
        ],
    );
    ended.assert_ok();
    // --innodb-log-checkpoint-now asks the server, as mariadb-backup (MariaDB's mtr test
    // full_backup); a server without the variable would only be warned about.
    assert!(
        sql_since(from)
            .iter()
            .any(|q| q == "SET GLOBAL innodb_log_checkpoint_now=ON"),
        "no checkpoint asked for"
    );
    assert!(
        ended.stderr.contains("Initiating checkpoint\n")
            && ended.stderr.contains("Finished waiting for checkpoint\n"),
        "{}",
        ended.stderr
    );
    for file in [
        SLAVE_INFO,
        "xtrabackup_galera_info",
        "donor_galera_info",
        "xtrabackup_binlog_info",
    ] {
        assert!(!target.join(file).exists(), "{file} must not be written");
    }
    assert!(ended.stderr.contains(
        "This means that the server is not a replication slave. Ignoring the --slave-info option"
    ));
    assert!(ended
        .stderr
        .contains("Warning: failed to get master wsrep state from SHOW STATUS."));
    assert!(ended.stderr.contains(
        "Not checking slave open temp tables for --safe-slave-backup because host is not a slave"
    ));
    let info = fs::read_to_string(target.join("xtrabackup_info")).unwrap();
    assert!(info.contains("\nname = nightly\n"), "{info}");
    assert!(info.contains("\nbinlog_pos = \n"), "{info}");
    let sent = sql_since(from);
    assert!(
        !sent.iter().any(|q| q == "SHOW MASTER STATUS"),
        "--binlog-info=OFF sent SHOW MASTER STATUS: {sent:?}"
    );
    assert!(
        !sent.iter().any(|q| q.contains("STOP SLAVE")),
        "STOP SLAVE on a primary: {sent:?}"
    );
    for expected in [
        "SHOW VARIABLES LIKE 'gtid_slave_pos'",
        "SHOW ALL SLAVES STATUS",
        "SHOW STATUS",
    ] {
        assert!(sent.iter().any(|q| q == expected), "{expected} not sent");
    }
    // The three --history statements, after BACKUP STAGE END.
    let end = sent.iter().position(|q| q == "BACKUP STAGE END").unwrap();
    let history: Vec<&String> = sent[end..]
        .iter()
        .filter(|q| q.contains("mariadb_backup_history"))
        .collect();
    assert_eq!(history.len(), 3, "{history:?}");
    assert!(history[0].starts_with("ALTER TABLE IF EXISTS mysql.mariadb_backup_history MODIFY"));
    assert!(history[1].starts_with("CREATE TABLE IF NOT EXISTS mysql.mariadb_backup_history("));
    assert!(history[2].starts_with("insert into mysql.mariadb_backup_history(uuid, name,"));
    let uuid = info_value(&info, "uuid");
    let row: (String, Option<String>, u64, String, String) = server
        .query_one(&format!(
            "SELECT name, binlog_pos, innodb_to_lsn, format, tool_command FROM mysql.mariadb_backup_history WHERE uuid = '{uuid}'"
        ))
        .unwrap();
    assert_eq!(row.0, "nightly");
    assert_eq!(row.1, None, "no binlog position: NULL");
    assert_eq!(row.2.to_string(), info_value(&info, "innodb_to_lsn"));
    assert_eq!(row.3, "file");
    assert_eq!(row.4, info_value(&info, "tool_command"));

    // 2. Defaults: the binlog position is taken, and --history without a name records ''.
    let target = dir.path().join("history");
    let ended = backup(&server, &target, "root", &["--history"]);
    ended.assert_ok();
    assert!(target.join("xtrabackup_binlog_info").exists());
    let info = fs::read_to_string(target.join("xtrabackup_info")).unwrap();
    assert!(info.contains("\nname = \n"), "{info}");
    let row: (String, Option<String>) = server
        .query_one(&format!(
            "SELECT name, binlog_pos FROM mysql.mariadb_backup_history WHERE uuid = '{}'",
            info_value(&info, "uuid")
        ))
        .unwrap();
    assert_eq!(row.0, "");
    assert_eq!(
        row.1.as_deref(),
        Some(info_value(&info, "binlog_pos").as_str())
    );
    assert!(row
        .1
        .unwrap_or_default()
        .starts_with("filename 'mysql-bin."));

    // 3. --history without the privilege: the backup is complete, the command fails (1, a
    //    missing privilege, as mariadb-backup) and says both.
    let target = dir.path().join("history-denied");
    let ended = backup(&server, &target, "bk", &["--history"]);
    ended.assert_failed(
        EXIT_FAILURE,
        &[
            "mysql.mariadb_backup_history",
            "GRANT ALTER, CREATE, INSERT ON mysql.mariadb_backup_history TO 'bk'@'localhost'",
            "is complete",
        ],
    );
    assert!(!ended.stderr.contains("incomplete"), "{}", ended.stderr);
    assert!(target.join(CHECKPOINTS).exists(), "the files are complete");

    // 4. --slave-info without SLAVE MONITOR: mariadb-backup's warning, then a failure before
    //    anything is copied (exit 1, as mariadb-backup). The target directory exists, empty,
    //    as mariadb-backup leaves it (MariaDB's test backup_grants removes it).
    let target = dir.path().join("slave-info-denied");
    let ended = backup(&server, &target, "bk", &["--slave-info"]);
    ended.assert_failed(
        EXIT_FAILURE,
        &["SHOW ALL SLAVES STATUS", "GRANT SLAVE MONITOR ON *.*"],
    );
    assert!(ended
        .stderr
        .contains("Warning: missing required privilege SLAVE MONITOR on *.*"));
    assert_eq!(
        fs::read_dir(&target).unwrap().count(),
        0,
        "nothing may be written"
    );
}

/// The value of `key = value` in `xtrabackup_info`.
fn info_value(info: &str, key: &str) -> String {
    let prefix = format!("{key} = ");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key} in {info}"))
        .to_string()
}
