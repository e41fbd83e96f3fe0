//! `hotbackup --prepare` against `mariadb-backup --prepare` on the same backup: a backup taken
//! by mariadb-backup under sysbench load plus REDUNDANT, COMPACT, DYNAMIC and COMPRESSED
//! tables and DDL in a loop is copied; one copy is prepared by each tool, and every data file
//! must be byte-identical page by page (any difference names the file and page). The copy
//! prepared by hotbackup is then restored and checked against the source.

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
