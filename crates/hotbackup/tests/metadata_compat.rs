//! hotbackup's metadata files against mariadb-backup's, taken of the same idle server one
//! after the other: every file parses back with `backup-meta`, `backup-my.cnf` and
//! `xtrabackup_binlog_info` are byte-identical, `xtrabackup_checkpoints` and
//! `xtrabackup_info` have the same keys in the same order, and both backups hold the same
//! files (apart from `.new` copies, which depend on when the server last checkpointed).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use backup_meta::{BackupMyCnf, BinlogInfo, Checkpoints, MetaFile, XtrabackupInfo};
use testkit::{create_mixed_schema, PageSize, TestDir, Tool};

fn files(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy();
                // A table created after the last checkpoint is copied as .new by both tools
                // only if the checkpoint did not move in between: compare the table names.
                let rel = rel
                    .strip_suffix(".new")
                    .map_or(rel.to_string(), |stem| format!("{stem}.ibd"));
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

fn keys(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.to_string()))
        .collect()
}

#[test]
fn metadata_matches_mariadb_backup_on_the_same_server() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb
        .server()
        .name("meta")
        .page_size(PageSize::K16)
        .binlog(true)
        .undo_tablespaces(2)
        .start()
        .unwrap();
    create_mixed_schema(&server, "mix", 50).unwrap();
    server
        .exec("SET GLOBAL innodb_log_checkpoint_now=ON")
        .unwrap_or_default();

    let dir = TestDir::new("meta-compat").unwrap();
    let theirs: PathBuf = dir.path().join("mariadb-backup");
    let ours: PathBuf = dir.path().join("hotbackup");
    Tool::MariaBackup.backup(&server, &theirs, &[]).unwrap();
    Tool::Hotbackup(env!("CARGO_BIN_EXE_hotbackup").into())
        .backup(&server, &ours, &[])
        .unwrap();

    // Each file parses back.
    for d in [&theirs, &ours] {
        Checkpoints::read(&d.join("xtrabackup_checkpoints")).unwrap();
        XtrabackupInfo::read(&d.join("xtrabackup_info")).unwrap();
        BinlogInfo::read(&d.join("xtrabackup_binlog_info")).unwrap();
        BackupMyCnf::read(&d.join("backup-my.cnf")).unwrap();
    }
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    for f in ["backup-my.cnf", "xtrabackup_binlog_info"] {
        assert_eq!(read(&theirs, f), read(&ours, f), "{f} differs");
    }
    for f in ["xtrabackup_checkpoints", "xtrabackup_info"] {
        assert_eq!(keys(&read(&theirs, f)), keys(&read(&ours, f)), "{f} keys");
    }
    let a = Checkpoints::read(&theirs.join("xtrabackup_checkpoints")).unwrap();
    let b = Checkpoints::read(&ours.join("xtrabackup_checkpoints")).unwrap();
    assert_eq!(a.backup_type, b.backup_type);
    assert_eq!(a.from_lsn, b.from_lsn);
    // Taken after mariadb-backup's, ours can only be at the same or a later checkpoint (each
    // backup's log flush may make the idle server write one more checkpoint).
    assert!(
        b.to_lsn >= a.to_lsn && b.to_lsn <= b.last_lsn,
        "{a:?} {b:?}"
    );

    let theirs_files = files(&theirs);
    let ours_files = files(&ours);
    let only_theirs: Vec<_> = theirs_files.difference(&ours_files).collect();
    let only_ours: Vec<_> = ours_files.difference(&theirs_files).collect();
    assert!(
        only_theirs.is_empty() && only_ours.is_empty(),
        "file lists differ:\n  only mariadb-backup: {only_theirs:?}\n  only hotbackup: {only_ours:?}"
    );

    // File modes as mariadb-backup: 0640 files, 0700 directories.
    use std::os::unix::fs::PermissionsExt;
    for f in [
        "xtrabackup_checkpoints",
        "ibdata1",
        "mix/t_dynamic.ibd",
        "mix/t_dynamic.frm",
    ] {
        let mode = std::fs::metadata(ours.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o640, "{f}");
    }
    let mode = std::fs::metadata(ours.join("mix"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
}
