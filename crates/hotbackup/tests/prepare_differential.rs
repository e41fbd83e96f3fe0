//! `hotbackup --prepare` against `mariadb-backup --prepare` on the same backup: a backup taken
//! by mariadb-backup under sysbench load plus REDUNDANT, COMPACT, DYNAMIC and COMPRESSED
//! tables and DDL in a loop is copied; one copy is prepared by each tool, and every data file
//! must be byte-identical page by page (any difference names the file and page). The copy
//! prepared by hotbackup is then restored and checked against the source. A partial backup
//! (`--databases`, the written `mix` schema left out) must prepare identically too: its log
//! changes tablespaces it has no file for.

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
