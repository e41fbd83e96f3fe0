//! Server layouts from MariaDB's mariabackup suite that hotbackup used to fail on:
//! a system tablespace in two files, the first at an absolute path (`absolute_ibdata_paths`),
//! and a server started with `--skip-innodb` (`skip_innodb`). Each is backed up and prepared
//! through the binary and must complete.

use std::path::Path;
use std::process::{Command, Stdio};

use testkit::TestDir;

fn hotbackup(args: &[String]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hotbackup"))
        .arg("--no-defaults")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn backup_and_prepare(socket: &Path, target: &Path) {
    let (code, log) = hotbackup(&[
        "--backup".into(),
        format!("--target-dir={}", target.display()),
        format!("--socket={}", socket.display()),
        "--user=root".into(),
    ]);
    assert_eq!(code, Some(0), "backup:\n{log}");
    assert!(target.join("xtrabackup_checkpoints").is_file());
    let (code, log) = hotbackup(&[
        "--prepare".into(),
        format!("--target-dir={}", target.display()),
    ]);
    assert_eq!(code, Some(0), "prepare:\n{log}");
}

/// `innodb_data_file_path=/abs/sys_first:12M;ibdata_second:12M:autoextend`: the backup holds
/// both under their base names and prepare applies the log to the tablespace spread over them
/// (it used to open `ibdata1` only).
#[test]
fn a_system_tablespace_in_two_files_one_absolute() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let outside = TestDir::new("abs-ibdata").unwrap();
    let first = outside.path().join("sys_first");
    let server = mariadb
        .server()
        .name("two-ibdata")
        .option("innodb_data_home_dir=")
        .option(&format!(
            "innodb_data_file_path={}:12M;ibdata_second:12M:autoextend",
            first.display()
        ))
        .start()
        .unwrap();
    assert!(
        first.is_file(),
        "the server did not create {}",
        first.display()
    );
    // Changes in the system tablespace (undo, dictionary) after the checkpoint.
    server
        .exec(
            "CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB; \
             INSERT INTO d.t SELECT seq, REPEAT('x', 500) FROM d.seq_1_to_2000",
        )
        .unwrap();
    let dir = TestDir::new("two-ibdata-backup").unwrap();
    let target = dir.path().join("b");
    backup_and_prepare(server.socket_path(), &target);
    for name in ["sys_first", "ibdata_second"] {
        assert!(target.join(name).is_file(), "{name} is not in the backup");
    }
    assert!(!target.join("ibdata1").exists());
    let cnf = std::fs::read_to_string(target.join("backup-my.cnf")).unwrap();
    assert!(
        cnf.contains("innodb_data_file_path=sys_first:12M;ibdata_second:12M:autoextend\n"),
        "{cnf}"
    );
}

/// A server running without InnoDB shows no innodb_* variable and answers no InnoDB LSN
/// query: the backup takes the InnoDB files as they are and the settings from the files.
#[test]
fn a_server_without_innodb() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let mut first = mariadb.server().name("with-innodb").start().unwrap();
    first
        .exec(
            "CREATE DATABASE d; CREATE TABLE d.m (id INT PRIMARY KEY) ENGINE=MyISAM; \
             INSERT INTO d.m VALUES (1), (2)",
        )
        .unwrap();
    first.stop().unwrap();
    let datadir = first.datadir().to_path_buf();
    let server = mariadb
        .server()
        .name("skip-innodb")
        .existing_datadir(&datadir)
        .option("skip-innodb")
        .option("default-storage-engine=MyISAM")
        .start()
        .unwrap();
    let engines: Vec<String> = server
        .query_rows("SELECT SUPPORT FROM information_schema.ENGINES WHERE ENGINE='InnoDB'")
        .unwrap();
    assert_eq!(engines, ["NO"], "InnoDB should be disabled");
    let dir = TestDir::new("skip-innodb-backup").unwrap();
    let target = dir.path().join("b");
    backup_and_prepare(server.socket_path(), &target);
    for name in ["ibdata1", "d/m.MYD", "d/m.frm"] {
        assert!(target.join(name).is_file(), "{name} is not in the backup");
    }
    let cnf = std::fs::read_to_string(target.join("backup-my.cnf")).unwrap();
    assert!(cnf.contains("innodb_page_size=16384\n"), "{cnf}");
    // The second server runs on the first one's datadir: stopped before it is removed.
    drop(server);
    drop(first);
}

/// `aria_log_purge_type=external` leaves Aria log files the server no longer needs for the
/// DBA to delete (`aria_log_dir_path`). mariadb-backup copies them and its prepare's Aria
/// recovery deletes them; hotbackup leaves them out of the backup (the server calls them
/// `free` before the control file is copied), so the restored server lists the same logs.
/// mariadb-backup prepares such a backup too.
#[test]
fn aria_logs_the_server_no_longer_needs_are_left_out() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let aria_options = ["aria-log-file-size=8388608", "aria-log-purge-type=external"];
    let mut builder = mariadb.server().name("aria-free");
    for o in aria_options {
        builder = builder.option(o);
    }
    let server = builder.start().unwrap();
    // 10 MiB through the Aria log: the first 8 MiB file fills and the second is started.
    // One row a statement: an INSERT … SELECT into an empty Aria table is not logged row by row.
    server
        .exec("CREATE DATABASE d; CREATE TABLE d.t (id INT, txt LONGTEXT) ENGINE=Aria")
        .unwrap();
    for id in 0..10 {
        server
            .exec(&format!(
                "INSERT INTO d.t VALUES ({id}, REPEAT({id}, 1048576))"
            ))
            .unwrap();
    }
    server
        .exec("SET GLOBAL aria_checkpoint_interval=DEFAULT")
        .unwrap();
    let logs: Vec<(String, String, String)> = server.query_rows("SHOW ENGINE ARIA LOGS").unwrap();
    let status: Vec<(&str, &str)> = logs
        .iter()
        .map(|(_, name, status)| (&name[name.len() - 17..], status.as_str()))
        .collect();
    assert_eq!(
        status,
        [
            ("aria_log.00000001", "free"),
            ("aria_log.00000002", "in use")
        ]
    );

    let dir = TestDir::new("aria-free-backup").unwrap();
    let target = dir.path().join("b");
    let (code, log) = hotbackup(&[
        "--backup".into(),
        format!("--target-dir={}", target.display()),
        format!("--socket={}", server.socket_path().display()),
        "--user=root".into(),
    ]);
    assert_eq!(code, Some(0), "backup:\n{log}");
    assert!(!target.join("aria_log.00000001").exists(), "{log}");
    assert!(target.join("aria_log.00000002").is_file());
    assert!(log.contains("Not copying Aria log"), "{log}");

    if let Ok(program) = mariadb.backup_program() {
        let copy = dir.path().join("oracle");
        let cp = Command::new("cp")
            .arg("-a")
            .arg(&target)
            .arg(&copy)
            .status();
        assert!(cp.unwrap().success());
        let out = Command::new(program)
            .arg("--prepare")
            .arg(format!("--target-dir={}", copy.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mariadb-backup --prepare:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let (code, log) = hotbackup(&[
        "--prepare".into(),
        format!("--target-dir={}", target.display()),
    ]);
    assert_eq!(code, Some(0), "prepare:\n{log}");
    let datadir = dir.path().join("restored");
    let (code, log) = hotbackup(&[
        "--copy-back".into(),
        format!("--target-dir={}", target.display()),
        format!("--datadir={}", datadir.display()),
    ]);
    assert_eq!(code, Some(0), "copy-back:\n{log}");
    let mut builder = mariadb
        .server()
        .name("aria-free-restored")
        .existing_datadir(&datadir);
    for o in aria_options {
        builder = builder.option(o);
    }
    let restored = builder.start().unwrap();
    let rows: Vec<(u64, u64)> = restored
        .query_rows("SELECT COUNT(*), SUM(LENGTH(txt)) FROM d.t")
        .unwrap();
    assert_eq!(rows, [(10, 10 * 1048576)]);
    restored
        .exec("SET GLOBAL aria_checkpoint_interval=DEFAULT")
        .unwrap();
    let logs: Vec<(String, String, String)> = restored.query_rows("SHOW ENGINE ARIA LOGS").unwrap();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(logs[0].1.ends_with("aria_log.00000002"), "{logs:?}");
    drop(restored);
    drop(server);
}
