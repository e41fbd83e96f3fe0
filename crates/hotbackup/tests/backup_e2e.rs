//! `hotbackup --backup` held to the project's standard, with mariadb-backup as the oracle:
//! a backup taken with `--parallel=2` while sysbench `oltp_read_write` runs and MyISAM/Aria
//! inserts and CREATE/RENAME/DROP TABLE loop is copied twice; one copy is prepared by
//! `mariadb-backup --prepare`, the other by `hotbackup --prepare`, and the two must be
//! byte-identical page by page. The first is restored by `mariadb-backup --copy-back`, the
//! second by `hotbackup --copy-back` (hotbackup alone end to end); each server starts,
//! passes `CHECK TABLE`, and after replaying the source binlog from `xtrabackup_binlog_info`
//! every table's `CHECKSUM TABLE` equals the source's. At 16k the source has a 4 MiB redo
//! log and the copy is throttled, so the log wraps several times during the backup.

use std::path::Path;

use testkit::{PageSize, Scenario, TestDir, Tool};

fn hotbackup() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hotbackup"))
}

/// How the source's redo log relates to the backup.
#[derive(Clone, Copy, Debug)]
enum Redo {
    /// A 32 MiB log: the usual case.
    Roomy,
    /// A 4 MiB log (the smallest MariaDB takes) and a throttled copy, so the log wraps
    /// several times while it is being copied.
    Wrapping,
}

fn backup_under_load_restores_identical(page_size: PageSize, redo: Redo) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let (scenario, args): (_, &[&str]) = match redo {
        Redo::Roomy => (
            Scenario::start(&mariadb, page_size).unwrap(),
            &["--parallel=2"],
        ),
        Redo::Wrapping => (
            Scenario::start_with_log(&mariadb, page_size, 4 << 20).unwrap(),
            &["--parallel=2", "--throttle=3"],
        ),
    };
    let source = &scenario.source;
    let load = scenario.load().unwrap();

    let dir = TestDir::new("backup-e2e").unwrap();
    let backup = dir.path().join("backup");
    let hotbackup_tool = Tool::Hotbackup(hotbackup().to_path_buf());
    let stderr = hotbackup_tool.backup(source, &backup, args).unwrap();
    assert!(stderr.contains("completed OK!"), "{stderr}");
    let redo_bytes = std::fs::metadata(backup.join("ib_logfile0")).unwrap().len() - 12288;
    let wraps = redo_bytes as f64 / ((4 << 20) - 12288) as f64;
    eprintln!("{page_size:?} {redo:?}: {redo_bytes} bytes of redo copied ({wraps:.1} x 4 MiB)");
    if let Redo::Wrapping = redo {
        assert!(
            wraps > 1.0,
            "the 4 MiB log must have wrapped during the copy"
        );
    }
    let stats = load.stop().unwrap();
    assert!(
        stats.total_ops() > 0 && stats.tables_created > 0,
        "the load must have run: {stats:?}"
    );
    for file in [
        "xtrabackup_checkpoints",
        "xtrabackup_info",
        "xtrabackup_binlog_info",
        "backup-my.cnf",
        "ib_logfile0",
        "ibdata1",
    ] {
        assert!(backup.join(file).exists(), "{file} missing in the backup");
    }

    let ours = dir.path().join("prepared-by-hotbackup");
    testkit::copy_dir(&backup, &ours).unwrap();
    Tool::MariaBackup.prepare(&mariadb, &backup).unwrap();
    hotbackup_tool.prepare(&mariadb, &ours).unwrap();
    let pages = testkit::compare_prepared(&backup, &ours, page_size.bytes() as usize).unwrap();
    // The binlog is on: both wrote the same xtrabackup_binlog_pos_innodb (compared above).
    let pos = std::fs::read_to_string(ours.join("xtrabackup_binlog_pos_innodb")).unwrap();
    assert!(pos.starts_with("./mysql-bin.0000"), "{pos:?}");

    let report =
        testkit::restore_and_verify(&mariadb, &Tool::MariaBackup, source, &backup).unwrap();
    eprintln!("{page_size:?}: {pages} pages identical; {report:?}, load {stats:?}");
    assert!(report.tables_compared >= 6, "{report:?}");
    // hotbackup alone: its backup, its prepare, its copy-back.
    let report = testkit::restore_and_verify(&mariadb, &hotbackup_tool, source, &ours).unwrap();
    assert!(report.tables_compared >= 6, "{report:?}");
}

#[test]
fn backup_4k_under_load_restores_identical() {
    backup_under_load_restores_identical(PageSize::K4, Redo::Roomy);
}

/// The redo race: with a 4 MiB log the server rewrites and overwrites it every second or
/// so while the throttled copy runs; every byte of log the backup holds must still be the
/// server's (see the redo-tailer's parse limit).
#[test]
fn backup_16k_with_a_wrapping_log_restores_identical() {
    backup_under_load_restores_identical(PageSize::K16, Redo::Wrapping);
}

#[test]
fn backup_64k_under_load_restores_identical() {
    backup_under_load_restores_identical(PageSize::K64, Redo::Roomy);
}
