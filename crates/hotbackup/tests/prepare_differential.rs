//! `hotbackup --prepare` against `mariadb-backup --prepare` on the same backup: a backup taken
//! by mariadb-backup under sysbench load plus REDUNDANT, COMPACT, DYNAMIC and COMPRESSED
//! tables and DDL in a loop is copied; one copy is prepared by each tool, and every data file
//! must be byte-identical page by page (any difference names the file and page). The copy
//! prepared by hotbackup is then restored and checked against the source. A partial backup
//! (`--databases`, the written `mix` schema left out) must prepare identically too: its log
//! changes tablespaces it has no file for. `xtrabackup_binlog_pos_innodb` must be the same in
//! every binlog state: binlog off, on without an InnoDB commit since, after commits, after a
//! rotation with and without a commit in the new file.

use std::path::Path;

use testkit::{PageSize, Scenario, TestDir, Tool};

fn hotbackup() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hotbackup"))
}

fn differential(page_size: PageSize) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let scenario = Scenario::start(&mariadb, page_size).unwrap();
    let source = &scenario.source;
    let load = scenario.load().unwrap();

    let dir = TestDir::new("prepare-diff").unwrap();
    let theirs = dir.path().join("prepared-by-mariadb-backup");
    Tool::MariaBackup.backup(source, &theirs, &[]).unwrap();
    let stats = load.stop().unwrap();

    let ours = dir.path().join("prepared-by-hotbackup");
    testkit::copy_dir(&theirs, &ours).unwrap();
    Tool::MariaBackup.prepare(&mariadb, &theirs).unwrap();
    Tool::Hotbackup(hotbackup().to_path_buf())
        .prepare(&mariadb, &ours)
        .unwrap();
    let pages = testkit::compare_prepared(&theirs, &ours, page_size.bytes() as usize).unwrap();
    let report = testkit::restore_and_verify(&mariadb, &Tool::MariaBackup, source, &ours).unwrap();
    eprintln!("{page_size:?}: {pages} pages identical; {report:?}; load {stats:?}");
}

#[test]
fn prepare_4k_is_byte_identical_to_mariadb_backup() {
    differential(PageSize::K4);
}

#[test]
fn prepare_16k_is_byte_identical_to_mariadb_backup() {
    differential(PageSize::K16);
}

#[test]
fn prepare_64k_is_byte_identical_to_mariadb_backup() {
    differential(PageSize::K64);
}

#[test]
fn partial_backup_prepares_like_mariadb_backup() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let scenario = Scenario::start(&mariadb, PageSize::K16).unwrap();
    let source = &scenario.source;
    let load = scenario.load().unwrap();
    let dir = TestDir::new("prepare-partial").unwrap();
    let theirs = dir.path().join("prepared-by-mariadb-backup");
    Tool::MariaBackup
        .backup(source, &theirs, &["--databases=sbtest mysql"])
        .unwrap();
    load.stop().unwrap();
    assert!(
        !theirs.join("mix").exists(),
        "the mix schema must be left out of the partial backup"
    );
    let ours = dir.path().join("prepared-by-hotbackup");
    testkit::copy_dir(&theirs, &ours).unwrap();
    Tool::MariaBackup.prepare(&mariadb, &theirs).unwrap();
    let stderr = Tool::Hotbackup(hotbackup().to_path_buf())
        .prepare(&mariadb, &ours)
        .unwrap();
    assert!(stderr.contains("partial = Y"), "{stderr}");
    assert!(stderr.contains("has no file"), "{stderr}");
    let pages = testkit::compare_prepared(&theirs, &ours, 16384).unwrap();
    eprintln!("partial: {pages} pages identical");
}

/// Backs `server` up with mariadb-backup, prepares a copy with each tool, and returns the
/// `xtrabackup_binlog_pos_innodb` both wrote (compared with the data files).
fn binlog_pos_of_both(
    mariadb: &testkit::MariaDb,
    server: &testkit::TestServer,
    case: &str,
    backup_args: &[&str],
) -> String {
    let dir = TestDir::new(&format!("binlog-pos-{case}")).unwrap();
    let theirs = dir.path().join("mariadb-backup");
    Tool::MariaBackup
        .backup(server, &theirs, backup_args)
        .unwrap();
    let ours = dir.path().join("hotbackup");
    testkit::copy_dir(&theirs, &ours).unwrap();
    Tool::MariaBackup.prepare(mariadb, &theirs).unwrap();
    let stderr = Tool::Hotbackup(hotbackup().to_path_buf())
        .prepare(mariadb, &ours)
        .unwrap();
    testkit::compare_prepared(&theirs, &ours, 16384).unwrap_or_else(|e| panic!("{case}: {e}"));
    // `--binlog-info=LOCKLESS` (recover_binlog_info = 1): prepare writes xtrabackup_binlog_info.
    let read_if = |d: &Path| std::fs::read_to_string(d.join("xtrabackup_binlog_info")).ok();
    assert_eq!(
        read_if(&theirs),
        read_if(&ours),
        "{case}: xtrabackup_binlog_info"
    );
    let pos = std::fs::read_to_string(ours.join("xtrabackup_binlog_pos_innodb"))
        .unwrap_or_else(|e| panic!("{case}: xtrabackup_binlog_pos_innodb: {e}"));
    let (file, offset) = pos.trim_end().split_once('\t').unwrap();
    assert!(
        stderr.contains(&format!("Last binlog file {file}, position {offset}")),
        "{case}: {stderr}"
    );
    pos
}

#[test]
fn binlog_pos_innodb_like_mariadb_backup_in_every_binlog_state() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    // Binlog off: InnoDB never records a position; both write "\t0\n".
    let off = mariadb
        .server()
        .name("binlog-off")
        .page_size(PageSize::K16)
        .binlog(false)
        .start()
        .unwrap();
    off.exec(
        "CREATE DATABASE IF NOT EXISTS test; CREATE TABLE test.t (a INT PRIMARY KEY) ENGINE=InnoDB",
    )
    .unwrap();
    off.exec("INSERT INTO test.t VALUES (1),(2)").unwrap();
    assert_eq!(binlog_pos_of_both(&mariadb, &off, "off", &[]), "\t0\n");
    drop(off);

    let on = mariadb
        .server()
        .name("binlog-on")
        .page_size(PageSize::K16)
        .binlog(true)
        .start()
        .unwrap();
    // No InnoDB commit through the binlog yet.
    assert_eq!(binlog_pos_of_both(&mariadb, &on, "no-commit", &[]), "\t0\n");
    on.exec(
        "CREATE DATABASE IF NOT EXISTS test; CREATE TABLE test.t (a INT PRIMARY KEY) ENGINE=InnoDB",
    )
    .unwrap();
    on.exec("INSERT INTO test.t VALUES (1),(2)").unwrap();
    let first = binlog_pos_of_both(&mariadb, &on, "commit", &[]);
    assert!(first.starts_with("./mysql-bin.000001\t"), "{first:?}");
    // A rotation without a commit since: still the old file's position.
    on.exec("FLUSH BINARY LOGS").unwrap();
    assert_eq!(binlog_pos_of_both(&mariadb, &on, "rotated", &[]), first);
    on.exec("INSERT INTO test.t VALUES (3)").unwrap();
    let second = binlog_pos_of_both(&mariadb, &on, "rotated-commit", &[]);
    assert!(second.starts_with("./mysql-bin.000002\t"), "{second:?}");
    // LOCKLESS: no SHOW MASTER STATUS at backup; prepare writes InnoDB's position as the
    // backup's binlog position.
    let lockless = binlog_pos_of_both(&mariadb, &on, "lockless", &["--binlog-info=LOCKLESS"]);
    assert_eq!(lockless, second);
}
