//! The files of a backup: every file hotbackup creates (target, `--extra-lsndir`, and what
//! `--prepare` adds) is 0640 at most and every directory 0750 at most, whatever the umask; a
//! target others can write is warned about; and a damaged `xtrabackup_checkpoints` is "backup
//! damaged" (exit 8) naming the file and line, while one that cannot be read is an I/O error
//! (exit 6), for `--prepare` and `--copy-back` alike.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use testkit::TestDir;

const EXIT_IO: i32 = 6;
const EXIT_BACKUP_CORRUPT: i32 = 8;

fn hotbackup(args: &[String], umask: Option<libc::mode_t>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hotbackup"));
    cmd.arg("--no-defaults").args(args).stdin(Stdio::null());
    if let Some(mask) = umask {
        // SAFETY: umask(2) is async-signal-safe and touches nothing but the child's mask.
        unsafe {
            cmd.pre_exec(move || {
                libc::umask(mask);
                Ok(())
            });
        }
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every entry under `root` (not `root` itself) whose mode is looser than allowed.
fn too_open(root: &Path, found: &mut Vec<String>, counted: &mut usize) {
    for entry in fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        let allowed = if meta.is_dir() { 0o750 } else { 0o640 };
        *counted += 1;
        if mode & !allowed != 0 {
            found.push(format!("{} {mode:04o}", path.display()));
        }
        if meta.is_dir() {
            too_open(&path, found, counted);
        }
    }
}

fn assert_private(dirs: &[&Path], when: &str) {
    let (mut found, mut counted) = (Vec::new(), 0);
    for dir in dirs {
        let mode = fs::metadata(dir).unwrap().permissions().mode() & 0o7777;
        if mode & !0o750 != 0 {
            found.push(format!("{} {mode:04o}", dir.display()));
        }
        too_open(dir, &mut found, &mut counted);
    }
    assert!(
        counted > 10,
        "{when}: only {counted} entries: was anything backed up?"
    );
    assert!(
        found.is_empty(),
        "{when}: looser than 0640/0750:\n{}",
        found.join("\n")
    );
}

#[test]
fn umask_000_still_gives_private_files_and_directories() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("perms").binlog(true).start().unwrap();
    server
        .exec(
            "CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY) ENGINE=InnoDB; \
             INSERT INTO d.t VALUES (1),(2); CREATE TABLE d.a (id INT) ENGINE=Aria; \
             INSERT INTO d.a VALUES (1)",
        )
        .unwrap();
    let dir = TestDir::new("perms").unwrap();
    let target = dir.path().join("nested/backup");
    let extra = dir.path().join("lsn");
    let out = hotbackup(
        &[
            "--backup".into(),
            format!("--target-dir={}", target.display()),
            format!("--extra-lsndir={}", extra.display()),
            format!("--socket={}", server.socket_path().display()),
            "--user=root".into(),
        ],
        Some(0),
    );
    assert!(out.status.success(), "backup failed:\n{}", stderr(&out));
    assert!(
        !stderr(&out).contains("writable by every user"),
        "a directory hotbackup created itself is not exposed:\n{}",
        stderr(&out)
    );
    assert!(extra.join("xtrabackup_checkpoints").is_file());
    assert_private(
        &[&target, &extra, &dir.path().join("nested")],
        "after --backup",
    );

    let out = hotbackup(
        &[
            "--prepare".into(),
            format!("--target-dir={}", target.display()),
        ],
        Some(0),
    );
    assert!(out.status.success(), "prepare failed:\n{}", stderr(&out));
    assert_private(&[&target], "after --prepare");

    // An existing empty target that everybody can write to: it works, with a warning.
    let open = dir.path().join("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let out = hotbackup(
        &[
            "--backup".into(),
            format!("--target-dir={}", open.display()),
            format!("--socket={}", server.socket_path().display()),
            "--user=root".into(),
        ],
        None,
    );
    let text = stderr(&out);
    assert!(out.status.success(), "backup failed:\n{text}");
    assert!(
        text.lines().any(|l| l.contains("Warning:")
            && l.contains(&open.display().to_string())
            && l.contains("writable by every user")),
        "no warning about the world-writable target:\n{text}"
    );
}

/// A prepared-looking backup directory with the given `xtrabackup_checkpoints`.
fn backup_with_checkpoints(dir: &Path, checkpoints: &str) -> PathBuf {
    let backup = dir.join("backup");
    fs::create_dir_all(&backup).unwrap();
    fs::write(backup.join("xtrabackup_checkpoints"), checkpoints).unwrap();
    fs::write(backup.join("ib_logfile0"), vec![0u8; 4096]).unwrap();
    fs::write(
        backup.join("backup-my.cnf"),
        "[mysqld]\ninnodb_page_size=16384\n",
    )
    .unwrap();
    backup
}

fn mode_args(mode: &str, backup: &Path, datadir: &Path) -> Vec<String> {
    let mut args = vec![
        mode.to_string(),
        format!("--target-dir={}", backup.display()),
    ];
    if mode == "--copy-back" {
        args.push(format!("--datadir={}", datadir.display()));
    }
    args
}

#[test]
fn malformed_checkpoints_is_backup_damaged_naming_file_and_line() {
    let cases = [
        ("garbage\n", "line 1"),
        (
            "backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = many\n",
            "line 3",
        ),
        ("backup_type = half-done\n", "line 1"),
    ];
    for mode in ["--prepare", "--copy-back"] {
        for (content, line) in cases {
            let dir = TestDir::new("cp-garbage").unwrap();
            let backup = backup_with_checkpoints(dir.path(), content);
            let out = hotbackup(&mode_args(mode, &backup, &dir.path().join("data")), None);
            let text = stderr(&out);
            assert_eq!(
                out.status.code(),
                Some(EXIT_BACKUP_CORRUPT),
                "{mode} {content:?}:\n{text}"
            );
            let path = backup.join("xtrabackup_checkpoints");
            assert!(
                text.contains(&path.display().to_string()),
                "{mode}:\n{text}"
            );
            assert!(
                text.contains(line),
                "{mode} {content:?}: no {line}:\n{text}"
            );
            assert!(!text.contains("panicked"), "{text}");
        }
    }
}

#[test]
fn unreadable_checkpoints_stays_an_io_error() {
    let running_as_root = unsafe { libc::geteuid() } == 0;
    if running_as_root && !Path::new("/usr/bin/setpriv").exists() {
        panic!("running as root, the test needs setpriv (util-linux) to drop privileges");
    }
    for mode in ["--prepare", "--copy-back"] {
        let dir = TestDir::new("cp-eacces").unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let backup = backup_with_checkpoints(
            dir.path(),
            "backup_type = log-applied\nfrom_lsn = 0\nto_lsn = 1\nlast_lsn = 1\n",
        );
        fs::set_permissions(&backup, fs::Permissions::from_mode(0o755)).unwrap();
        for name in ["ib_logfile0", "backup-my.cnf"] {
            fs::set_permissions(backup.join(name), fs::Permissions::from_mode(0o644)).unwrap();
        }
        let checkpoints = backup.join("xtrabackup_checkpoints");
        fs::set_permissions(&checkpoints, fs::Permissions::from_mode(0o000)).unwrap();
        let args = mode_args(mode, &backup, &dir.path().join("data"));
        let out = if running_as_root {
            // Root reads any file: run as nobody, for whom the file is unreadable.
            Command::new("/usr/bin/setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_hotbackup"))
                .arg("--no-defaults")
                .args(&args)
                .stdin(Stdio::null())
                .output()
                .unwrap()
        } else {
            hotbackup(&args, None)
        };
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(EXIT_IO), "{mode}:\n{text}");
        assert!(
            text.contains(&checkpoints.display().to_string()),
            "{mode}:\n{text}"
        );
    }
}
