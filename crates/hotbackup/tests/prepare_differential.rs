//! `hotbackup --prepare` against `mariadb-backup --prepare` on the same backup: a backup taken
//! by mariadb-backup under sysbench load plus REDUNDANT, COMPACT, DYNAMIC and COMPRESSED
//! tables and DDL in a loop is copied; one copy is prepared by each tool, and every data file
//! must be byte-identical page by page (any difference names the file and page). The copy
//! prepared by hotbackup is then restored and checked against the source.

use std::path::Path;
use std::time::Duration;

use testkit::{
    create_mixed_schema, PageSize, Sysbench, TestDir, Tool, WriteLoad, WriteLoadOptions,
};

fn hotbackup() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hotbackup"))
}

fn differential(page_size: PageSize) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let source = mariadb
        .server()
        .name("src")
        .page_size(page_size)
        .binlog(true)
        .log_file_size(32 << 20)
        .start()
        .unwrap();
    let schema = create_mixed_schema(&source, "mix", 300).unwrap();
    let sysbench = Sysbench::new(&source)
        .unwrap()
        .tables(2)
        .table_size(2000)
        .threads(2)
        .time(Duration::from_secs(10));
    sysbench.prepare(&source).unwrap();
    let oltp = sysbench.spawn().unwrap();
    let load = WriteLoad::start(
        &source,
        WriteLoadOptions::for_schema(&schema).with_ddl(&schema),
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(2));

    let dir = TestDir::new("prepare-diff").unwrap();
    let theirs = dir.path().join("prepared-by-mariadb-backup");
    let out = source
        .mariadb_backup_command()
        .unwrap()
        .arg("--backup")
        .arg(format!("--target-dir={}", theirs.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mariadb-backup --backup failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats = load.stop().unwrap();
    oltp.wait().unwrap();

    let ours = dir.path().join("prepared-by-hotbackup");
    testkit::copy_dir(&theirs, &ours).unwrap();
    Tool::MariaBackup.prepare(&mariadb, &theirs).unwrap();
    Tool::Hotbackup(hotbackup().to_path_buf())
        .prepare(&mariadb, &ours)
        .unwrap();
    let pages = testkit::compare_prepared(&theirs, &ours, page_size.bytes() as usize).unwrap();
    let report = testkit::restore_and_verify(&mariadb, &Tool::MariaBackup, &source, &ours).unwrap();
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
