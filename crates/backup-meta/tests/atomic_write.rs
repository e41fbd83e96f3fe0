//! The atomic write helpers: content, permission modes (0640 at most, whatever the umask),
//! no temporary file left behind, no-clobber variant, errors carrying the path.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use backup_meta::*;

/// A fresh empty directory under the target dir, unique per test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("backup-meta-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The process umask, read without changing it (Linux ≥ 4.7 reports it in /proc).
fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .expect("Umask line in /proc/self/status");
    u32::from_str_radix(line.trim(), 8).unwrap()
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn checkpoints() -> Checkpoints {
    Checkpoints {
        backup_type: BackupType::FullBackuped,
        from_lsn: 0,
        to_lsn: 302195,
        last_lsn: 306926,
        recover_binlog_info: false,
    }
}

#[test]
fn write_creates_private_files() {
    let dir = scratch("modes");
    let target = dir.join(names::XTRABACKUP_CHECKPOINTS);
    checkpoints().write(&target, FileMode::Datasink).unwrap();
    assert_eq!(
        fs::read(&target).unwrap(),
        fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/full/xtrabackup_checkpoints"
        ))
        .unwrap()
    );
    assert_eq!(mode_of(&target), 0o640 & !umask());

    let pos = dir.join(names::XTRABACKUP_BINLOG_POS_INNODB);
    BinlogPosInnodb {
        file: "./mysql-bin.000001".into(),
        position: 79960,
    }
    .write(&pos, FileMode::Fopen)
    .unwrap();
    // mariadb-backup's fopen gives 0644 here with umask 022; a backup is never world-readable.
    assert_eq!(mode_of(&pos), 0o640 & !umask());

    // Only the two targets exist: no temporary file remains.
    assert_eq!(
        names_in(&dir),
        [
            names::XTRABACKUP_BINLOG_POS_INNODB,
            names::XTRABACKUP_CHECKPOINTS
        ]
    );
}

#[test]
fn replace_keeps_content_atomic_and_permissions() {
    let dir = scratch("replace");
    let target = dir.join(names::XTRABACKUP_CHECKPOINTS);
    checkpoints().write(&target, FileMode::Datasink).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();

    // What --prepare does: rewrite with backup_type = log-applied. fopen("w") on the existing
    // file keeps its mode, and so do we.
    let mut prepared = checkpoints();
    prepared.backup_type = BackupType::LogApplied;
    prepared.write(&target, FileMode::Fopen).unwrap();
    assert_eq!(Checkpoints::read(&target).unwrap(), prepared);
    assert_eq!(mode_of(&target), 0o600);
    assert_eq!(names_in(&dir), [names::XTRABACKUP_CHECKPOINTS]);

    // A looser existing file (mariadb-backup's fopen with umask 022, or 002) is tightened.
    fs::set_permissions(&target, fs::Permissions::from_mode(0o664)).unwrap();
    prepared.write(&target, FileMode::Fopen).unwrap();
    assert_eq!(mode_of(&target), 0o640);
}

#[test]
fn write_new_refuses_existing_target() {
    let dir = scratch("new");
    let target = dir.join(names::XTRABACKUP_CHECKPOINTS);
    fs::write(&target, "stray").unwrap();
    let err = checkpoints()
        .write_new(&target, FileMode::Datasink)
        .unwrap_err();
    assert!(err.is_already_exists(), "{err}");
    assert!(
        err.to_string().contains(&target.display().to_string()),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "stray");
    assert_eq!(names_in(&dir), [names::XTRABACKUP_CHECKPOINTS]);
}

#[test]
fn write_new_creates_missing_target() {
    let dir = scratch("new-ok");
    let target = dir.join("zoo_t_innodb.ibd.meta");
    let meta = DeltaMeta {
        page_size: 16384,
        zip_size: 0,
        space_id: Some(8),
    };
    meta.write_new(&target, FileMode::Datasink).unwrap();
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        "page_size = 16384\nzip_size = 0 \nspace_id = 8\n"
    );
    assert_eq!(mode_of(&target), 0o640 & !umask());
    assert_eq!(names_in(&dir), ["zoo_t_innodb.ibd.meta"]);
}

#[test]
fn errors_carry_the_path() {
    let dir = scratch("errors");
    // Directory does not exist: creating the temporary file fails; nothing is created.
    let missing = dir.join("no-such-dir").join(names::XTRABACKUP_INFO);
    let err = write_atomic(&missing, b"x", FileMode::Datasink).unwrap_err();
    assert!(matches!(err, MetaError::Io { .. }), "{err}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");

    // Reading a missing file.
    let err = Checkpoints::read(&dir.join(names::XTRABACKUP_CHECKPOINTS)).unwrap_err();
    assert!(err.is_not_found());
    assert!(
        err.to_string().contains(names::XTRABACKUP_CHECKPOINTS),
        "{err}"
    );

    // Parse errors name the file and the line.
    let bad = dir.join(names::XTRABACKUP_CHECKPOINTS);
    fs::write(
        &bad,
        "backup_type = full-backuped\nfrom_lsn = zero\nto_lsn = 1\n",
    )
    .unwrap();
    let err = Checkpoints::read(&bad).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&bad.display().to_string()) && text.contains("line 2"),
        "{text}"
    );
    assert!(matches!(
        err,
        MetaError::Parse {
            source: ParseError::InvalidValue { line: 2, .. },
            ..
        }
    ));

    // Not UTF-8.
    fs::write(&bad, b"backup_type = \xff\n").unwrap();
    let err = Checkpoints::read(&bad).unwrap_err();
    assert!(matches!(
        err,
        MetaError::Parse {
            source: ParseError::NotUtf8 { offset: 14 },
            ..
        }
    ));

    // Target is a directory: rename fails, the temporary file is removed.
    let as_dir = dir.join("is-a-dir");
    fs::create_dir(&as_dir).unwrap();
    fs::write(as_dir.join("keep"), "").unwrap();
    let err = write_atomic(&as_dir, b"x", FileMode::Datasink).unwrap_err();
    assert!(err.to_string().contains("is-a-dir"), "{err}");
    assert_eq!(names_in(&dir), ["is-a-dir", names::XTRABACKUP_CHECKPOINTS]);
}

#[test]
fn concurrent_writers_never_collide() {
    let dir = scratch("concurrent");
    let target = dir.join(names::XTRABACKUP_INFO);
    std::thread::scope(|s| {
        for i in 0..8u64 {
            let target = &target;
            s.spawn(move || {
                for j in 0..20u64 {
                    let mut c = checkpoints();
                    c.to_lsn = i * 1000 + j;
                    c.write(target, FileMode::Datasink).unwrap();
                }
            });
        }
    });
    // Whatever won, the file is complete and parses.
    Checkpoints::read(&target).unwrap();
    assert_eq!(names_in(&dir), [names::XTRABACKUP_INFO]);
}
