//! Partial backups (`--databases`, `--databases-file`, `--databases-exclude`, `--tables`,
//! `--tables-file`, `--tables-exclude`, and the server's `ignore_db_dirs`) against a real
//! server, with mariadb-backup 10.11 as the oracle:
//!
//! * for many filter combinations (partitions, MyISAM, Aria, an encoded name, an empty
//!   database, a trigger), hotbackup's backup holds exactly the files mariadb-backup's holds;
//! * under write load to tables in and out of the filter, hotbackup's partial backup is
//!   prepared page-identically by both tools, and mariadb-backup's partial backup too; the
//!   restore holds the included tables with the source's content (see
//!   [`partial_backup_under_load_restores_the_included_tables`] for how that is checked);
//! * bad values are exit 2 before anything is written; `partial = Y` in `xtrabackup_info`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use testkit::{TestDir, TestServer, Tool};

use common::hotbackup;

/// Names in the database directories of a backup (`db/file`): root files (ibdata1,
/// metadata, logs) do not depend on the filter. `t.new` counts as `t.ibd`: a table created
/// since the last checkpoint whose page 0 is not written yet is copied later as `t.new` by
/// both tools, and hotbackup also keeps its first copy as `t.ibd` (see ARCHITECTURE.md,
/// page-copier), which `.new` replaces at prepare.
fn db_files(root: &Path) -> BTreeSet<String> {
    testkit::file_names(root)
        .into_iter()
        .filter(|n| n.contains('/'))
        .map(|n| match n.strip_suffix(".new") {
            Some(stem) => format!("{stem}.ibd"),
            None => n,
        })
        .collect()
}

fn info(root: &Path) -> String {
    std::fs::read_to_string(root.join("xtrabackup_info")).unwrap()
}

fn schema(server: &TestServer) {
    // One statement at a time: an error in a multi-statement string can go unnoticed.
    let sql = "CREATE DATABASE IF NOT EXISTS test; CREATE DATABASE test2; CREATE DATABASE db2; CREATE DATABASE `my-db`;
             CREATE TABLE test.t1 (i INT PRIMARY KEY) ENGINE=InnoDB;
             CREATE TABLE test.t2 (i INT PRIMARY KEY) ENGINE=InnoDB;
             CREATE TABLE test.t21 (i INT PRIMARY KEY) ENGINE=InnoDB;
             INSERT INTO test.t1 VALUES (1); INSERT INTO test.t21 VALUES (1);
             CREATE TABLE test.p (i INT) ENGINE=InnoDB PARTITION BY RANGE (i)
               (PARTITION p1 VALUES LESS THAN (100), PARTITION p2 VALUES LESS THAN (200),
                PARTITION p3 VALUES LESS THAN (MAXVALUE));
             INSERT INTO test.p VALUES (1), (101), (201);
             CREATE TABLE test.m1 (i INT) ENGINE=MyISAM; INSERT INTO test.m1 VALUES (1);
             CREATE TABLE test.a1 (i INT) ENGINE=Aria; INSERT INTO test.a1 VALUES (1);
             CREATE TABLE test.mp (i INT) ENGINE=MyISAM PARTITION BY HASH (i) PARTITIONS 2;
             CREATE TABLE test.c1 (i INT NOT NULL) ENGINE=CSV;
             CREATE TRIGGER test.trg1 BEFORE INSERT ON test.t1 FOR EACH ROW SET NEW.i = NEW.i;
             CREATE TABLE test2.t1 (i INT PRIMARY KEY) ENGINE=InnoDB;
             CREATE TABLE db2.t1 (i INT PRIMARY KEY) ENGINE=InnoDB;
             CREATE TABLE db2.m (i INT) ENGINE=MyISAM;
             CREATE TABLE `my-db`.`t-1` (i INT PRIMARY KEY) ENGINE=InnoDB";
    for statement in sql.split(';') {
        server.exec(statement).unwrap();
    }
    // Databases the server knows only as directories: an empty one, and one the server
    // ignores (ignore_db_dirs).
    std::fs::create_dir(server.datadir().join("db5")).unwrap();
    std::fs::create_dir(server.datadir().join("db3")).unwrap();
    std::fs::write(server.datadir().join("db3/x.frm"), b"not a table").unwrap();
}

#[test]
fn same_files_as_mariadb_backup() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("partial-files").unwrap();
    let server = mariadb
        .server()
        .name("partial-files")
        .option("ignore-db-dirs=db3")
        .start()
        .unwrap();
    schema(&server);
    let lists = dir.path().join("lists");
    std::fs::create_dir(&lists).unwrap();
    let tables_file = lists.join("tables");
    std::fs::write(&tables_file, "test.t1\ndb2.m\ntest.p\n").unwrap();
    let databases_file = lists.join("databases");
    std::fs::write(&databases_file, "test2\nmy@002ddb\ntest.m1\n").unwrap();
    let tf = format!("--tables-file={}", tables_file.display());
    let df = format!("--databases-file={}", databases_file.display());
    let cases: Vec<Vec<&str>> = vec![
        vec![],
        vec!["--tables=test.*1"],
        vec!["--tables=^test[.]p#P#p2$"],
        vec!["--tables=^test[.](p|mp|a1|c1)$"],
        vec!["--tables-exclude=test.*2", "--databases-exclude=db2"],
        vec!["--tables-exclude=^test[.]"],
        vec!["--databases=test db2.m"],
        vec!["--databases=test.t1 my@002ddb"],
        vec!["--databases=test", "--databases-exclude=test.t1"],
        vec!["--databases-exclude=db2.t1"],
        vec!["--databases=mysql test2", "--tables=^test[.]m"],
        vec![&tf],
        vec![&df],
        vec![&df, "--tables-exclude=t1$"],
    ];
    let ours = Tool::Hotbackup(hotbackup().to_path_buf());
    let mut failures = Vec::new();
    for (n, args) in cases.iter().enumerate() {
        let (a, b) = (
            dir.path().join(format!("{n}-ours")),
            dir.path().join(format!("{n}-theirs")),
        );
        ours.backup(&server, &a, args).unwrap();
        Tool::MariaBackup.backup(&server, &b, args).unwrap();
        let (got, expected) = (db_files(&a), db_files(&b));
        if got != expected {
            failures.push(format!(
                "{args:?}: only hotbackup {:?}, only mariadb-backup {:?}",
                got.difference(&expected).collect::<Vec<_>>(),
                expected.difference(&got).collect::<Vec<_>>()
            ));
        }
        if args.is_empty() {
            for name in [
                "my@002ddb/t@002d1.ibd",
                "test/p#P#p3.ibd",
                "test/mp#P#p1.MYD",
                "test/trg1.TRN",
                "test/t1.TRG",
                "test/c1.CSV",
                "test/a1.MAD",
                "db2/m.MYD",
                "db5/db.opt",
            ] {
                assert!(got.contains(name), "{name} not in the full backup: {got:?}");
            }
        }
        let partial = if args.is_empty() { "N" } else { "Y" };
        for root in [&a, &b] {
            assert!(
                info(root).contains(&format!("partial = {partial}\n")),
                "{args:?}: {}",
                root.display()
            );
        }
        // The root files do not depend on the filter: both tools' full sets agree there.
        let root_files = |r: &Path| {
            testkit::file_names(r)
                .into_iter()
                .filter(|n| !n.contains('/'))
                .collect::<BTreeSet<_>>()
        };
        assert!(root_files(&a).contains("ibdata1") && root_files(&a).contains("ib_logfile0"));
        std::fs::remove_dir_all(&a).unwrap();
        std::fs::remove_dir_all(&b).unwrap();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_filters_are_usage_errors_before_anything_is_written() {
    let dir = TestDir::new("partial-usage").unwrap();
    let target = dir.path().join("t");
    let tables_file = dir.path().join("tables");
    std::fs::write(&tables_file, "test\n").unwrap();
    for (arg, expected) in [
        (
            "--tables=test.(t1".to_string(),
            "--tables: invalid regular expression `test.(t1`: Unmatched ( or \\(",
        ),
        (
            "--tables-exclude=a,[b".to_string(),
            "--tables-exclude: invalid regular expression `[b`",
        ),
        (
            "--databases=a/b".to_string(),
            "--databases: name `a/b` is not valid",
        ),
        (
            format!("--tables-file={}", tables_file.display()),
            "`test` is not a fully qualified name",
        ),
        (
            format!("--databases-file={}", dir.path().join("missing").display()),
            "--databases-file: cannot read",
        ),
    ] {
        // No server: the filters are checked before connecting.
        let out = Command::new(hotbackup())
            .args([
                "--no-defaults",
                "--backup",
                "--socket=/nonexistent/socket",
                &format!("--target-dir={}", target.display()),
                &arg,
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{arg}: {stderr}");
        assert!(stderr.contains(expected), "{arg}: {stderr}");
        assert!(!target.exists(), "{arg}: the target was created");
    }
}

/// Writes to `inc.*` and `exc.*` in turn until `stop`, one database per transaction with
/// that database as the default one, so that `mariadb-binlog --database=inc` keeps exactly
/// the `inc` changes (binlog_format=ROW).
fn load(server: &TestServer, stop: &AtomicBool, done: &AtomicU64) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        for db in ["inc", "exc"] {
            let t = n % 3;
            server
                .exec(&format!(
                    "USE {db}; BEGIN; INSERT INTO t{t} (v) VALUES (REPEAT('x', {len}));
                     UPDATE t{t} SET v = CONCAT(v, 'u') WHERE id % 1000 = {u};
                     DELETE FROM t{t} WHERE id % 11 = {m} AND id < {n}; COMMIT",
                    len = 100 + n % 400,
                    // A few rows per transaction: rewriting a seventh of every table each
                    // time made ~60 MB/s of redo, and mariadb-backup (which polls its log
                    // once a second) lost the race with the 64 MiB log now and then.
                    u = n % 1000,
                    m = n % 7,
                ))
                .unwrap();
        }
        done.store(n, Ordering::Relaxed);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Stops the load when dropped, also when the test panics (a scoped thread that never ends
/// would hang the test instead of failing it).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Replays `source`'s binlog from the backup's position into `into`, keeping only the
/// changes of database `db`.
fn replay_database(
    mariadb: &testkit::MariaDb,
    source: &TestServer,
    backup: &Path,
    db: &str,
    into: &TestServer,
) {
    let pos = testkit::read_binlog_info(backup).unwrap();
    testkit::replay_binlog_of(mariadb, source, &pos, into, Some(db)).unwrap();
}

/// The sound check for a partial restore: the source's binlog (ROW format) replayed from the
/// backup's position with `mariadb-binlog --database=inc` holds every later change of the
/// included database and nothing of the excluded one (each load transaction writes one
/// database, which is its default database), so after the replay every included table must
/// have the source's `CHECKSUM TABLE`; the excluded tables must be absent from the restore.
#[test]
fn partial_backup_under_load_restores_the_included_tables() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("partial-load").unwrap();
    let server = mariadb
        .server()
        .name("partial-load")
        .log_file_size(64 << 20)
        .binlog(true)
        .option("binlog-format=ROW")
        .start()
        .unwrap();
    server.exec("CREATE DATABASE inc").unwrap();
    server.exec("CREATE DATABASE exc").unwrap();
    for db in ["inc", "exc"] {
        for t in 0..3 {
            server
                .exec(&format!(
                    "CREATE TABLE {db}.t{t} (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT) ENGINE=InnoDB"
                ))
                .unwrap();
            server
                .exec(&format!(
                    "INSERT INTO {db}.t{t} (v) SELECT REPEAT('s', seq % 500) FROM {db}.seq_1_to_2000"
                ))
                .unwrap();
        }
    }
    server
        .exec("CREATE TABLE inc.m (i INT) ENGINE=MyISAM")
        .unwrap();
    server.exec("INSERT INTO inc.m VALUES (1), (2)").unwrap();

    let ours_dir = dir.path().join("ours");
    let theirs_dir = dir.path().join("theirs");
    let filter = ["--databases-exclude=exc"];
    let ours = Tool::Hotbackup(hotbackup().to_path_buf());
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    std::thread::scope(|s| {
        let writer = s.spawn(|| load(&server, &stop, &done));
        let _stop = StopOnDrop(&stop);
        while done.load(Ordering::Relaxed) < 20 {
            assert!(!writer.is_finished(), "the load stopped");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let before = done.load(Ordering::Relaxed);
        ours.backup(&server, &ours_dir, &filter).unwrap();
        Tool::MariaBackup
            .backup(&server, &theirs_dir, &filter)
            .unwrap();
        let during = done.load(Ordering::Relaxed) - before;
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        assert!(during > 0, "the load wrote nothing during the backups");
    });
    for root in [&ours_dir, &theirs_dir] {
        assert!(info(root).contains("partial = Y\n"));
        let names = testkit::file_names(root);
        assert!(names.iter().all(|n| !n.starts_with("exc/")), "{names:?}");
        // A table whose page 0 the server has not flushed yet is copied as `.new` under
        // BLOCK_DDL (both tools), not as `.ibd`.
        assert!(
            (names.contains("inc/t0.ibd") || names.contains("inc/t0.new"))
                && names.contains("inc/m.MYD"),
            "{}: {names:?}",
            root.display()
        );
    }

    // Each backup prepared by both tools: page-identical (the redo for the excluded
    // tablespaces is skipped by both).
    for (name, backup) in [("ours", &ours_dir), ("theirs", &theirs_dir)] {
        let by_them = dir
            .path()
            .join(format!("{name}-prepared-by-mariadb-backup"));
        testkit::copy_dir(backup, &by_them).unwrap();
        Tool::MariaBackup.prepare(&mariadb, &by_them).unwrap();
        ours.prepare(&mariadb, backup).unwrap();
        let pages = testkit::compare_prepared(&by_them, backup, 16384)
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert!(pages > 0);
        std::fs::remove_dir_all(&by_them).unwrap();
    }

    // Restore hotbackup's backup, replay what happened to `inc` since, compare with the source.
    let restore = dir.path().join("restore");
    ours.copy_back(&mariadb, &ours_dir, &restore).unwrap();
    let restored = mariadb
        .server()
        .name("partial-restored")
        .existing_datadir(&restore)
        .start()
        .unwrap();
    let failures: Vec<_> = restored
        .check_table_all()
        .unwrap()
        .into_iter()
        .filter(|f| !format!("{f:?}").contains("`exc`"))
        .collect();
    assert!(failures.is_empty(), "CHECK TABLE: {failures:?}");
    replay_database(&mariadb, &server, &ours_dir, "inc", &restored);
    for t in ["inc.t0", "inc.t1", "inc.t2", "inc.m"] {
        assert_eq!(
            restored.checksum_table(t).unwrap(),
            server.checksum_table(t).unwrap(),
            "{t} after the replay"
        );
    }
    for t in ["exc.t0", "exc.t1", "exc.t2"] {
        assert!(
            restored.checksum_table(t).is_err(),
            "{t} is in the restore of a backup that excluded it"
        );
    }
}

/// Tables created while a partial backup copies obey its filter: the included one is in the
/// backup (as `.new`) and in the prepared result, the excluded one nowhere.
#[test]
fn tables_created_during_the_backup_obey_the_filter() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("partial-ddl").unwrap();
    let server = mariadb.server().name("partial-ddl").start().unwrap();
    common::create_small_tables(&server, "test", 3);
    let target = dir.path().join("b");
    // --throttle=1: each table takes about a second, time to create tables meanwhile.
    let cmd = common::backup_command(
        server.socket_path(),
        &target,
        "root",
        &["--throttle=1", "--tables-exclude=_out$"],
    );
    let mut backup = common::Backup::spawn(cmd, dir.path().join("backup.stderr"));
    backup.wait_for("test/t00.ibd", std::time::Duration::from_secs(60));
    for t in ["new_in", "new_out"] {
        server
            .exec(&format!(
                "CREATE TABLE test.{t} (i INT PRIMARY KEY) ENGINE=InnoDB"
            ))
            .unwrap();
        server
            .exec(&format!("INSERT INTO test.{t} VALUES (1), (2), (3)"))
            .unwrap();
    }
    let ended = backup.wait(std::time::Duration::from_secs(120));
    assert!(ended.status.success(), "{}", ended.stderr);
    let names = testkit::file_names(&target);
    assert!(
        names.contains("test/new_in.new") && names.contains("test/new_in.frm"),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("new_out")),
        "an excluded table created during the backup is in it: {names:?}"
    );
    let ours = Tool::Hotbackup(hotbackup().to_path_buf());
    ours.prepare(&mariadb, &target).unwrap();
    let names = testkit::file_names(&target);
    assert!(names.contains("test/new_in.ibd"), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("new_out")), "{names:?}");
}

/// A partial backup as an xbstream holds the files of the same backup into a directory.
#[test]
fn partial_stream_holds_the_same_files() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("partial-stream").unwrap();
    let server = mariadb.server().name("partial-stream").start().unwrap();
    schema(&server);
    let filter = ["--tables=test.*1", "--tables-exclude=^test[.]t21$"];
    let plain = dir.path().join("plain");
    Tool::Hotbackup(hotbackup().to_path_buf())
        .backup(&server, &plain, &filter)
        .unwrap();
    let stream = dir.path().join("backup.xb");
    let out = Command::new(hotbackup())
        .args([
            "--no-defaults",
            "--backup",
            "--stream=xbstream",
            &format!("--socket={}", server.socket_path().display()),
            "--user=root",
            &format!("--target-dir={}", dir.path().join("unused").display()),
        ])
        .args(filter)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stream).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let extracted = dir.path().join("extracted");
    std::fs::create_dir(&extracted).unwrap();
    let x = Command::new(env!("CARGO_BIN_EXE_hbstream"))
        .arg("-x")
        .arg("-C")
        .arg(&extracted)
        .stdin(std::fs::File::open(&stream).unwrap())
        .output()
        .unwrap();
    assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stderr));
    assert_eq!(db_files(&extracted), db_files(&plain));
    let names = db_files(&extracted);
    assert!(
        names.contains("test/t1.ibd") && !names.contains("test/t21.ibd"),
        "{names:?}"
    );
    assert!(info(&extracted).contains("partial = Y\n"));
}
