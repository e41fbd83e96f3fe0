//! A live table whose page 0 (the tablespace header) is damaged on disk: the backup must fail
//! with exit 4 naming the file and page 0, after re-reading it, and must not look complete —
//! also with `--log-innodb-page-corruption`, which cannot skip a header. (It used to be taken
//! for a table being created, copied unchecked, and the backup said "completed OK".)
//!
//! The damage is made deterministic: `FLUSH TABLES t FOR EXPORT` writes every page of `t` and
//! waits for purge, `UNLOCK TABLES`, then FSP_SPACE_FLAGS on disk is overwritten. Nothing
//! writes to `t` afterwards, so the server never rewrites page 0 during the test, and its
//! clean copy in the buffer pool keeps the server itself running.

mod common;

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::backup_command;
use testkit::TestDir;

const EXIT_SOURCE_CORRUPT: i32 = 4;
/// FSP_HEADER_OFFSET (38) + FSP_SPACE_FLAGS (16).
const FSP_SPACE_FLAGS_AT: u64 = 54;

fn backup(socket: &Path, target: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = backup_command(socket, target, "root", extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_damaged_page0_fails_the_backup_with_exit_4() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("page0").start().unwrap();
    server
        .exec(
            "CREATE DATABASE d; \
             CREATE TABLE d.good (id INT PRIMARY KEY) ENGINE=InnoDB; \
             INSERT INTO d.good VALUES (1); \
             CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB; \
             INSERT INTO d.t VALUES (1, 'a'), (2, 'b'); \
             FLUSH TABLES d.t FOR EXPORT; UNLOCK TABLES",
        )
        .unwrap();
    let ibd = server.datadir().join("d/t.ibd");
    let file = fs::OpenOptions::new().write(true).open(&ibd).unwrap();
    file.write_all_at(&0xFFFF_FFFFu32.to_be_bytes(), FSP_SPACE_FLAGS_AT)
        .unwrap();
    file.sync_all().unwrap();
    drop(file);

    let dir = TestDir::new("page0").unwrap();
    for (name, extra) in [
        ("plain", &[][..]),
        ("logged", &["--log-innodb-page-corruption"][..]),
    ] {
        let target = dir.path().join(name);
        let (code, stderr) = backup(server.socket_path(), &target, extra);
        assert_eq!(code, Some(EXIT_SOURCE_CORRUPT), "{name}:\n{stderr}");
        let fatal = stderr
            .lines()
            .find(|l| l.contains("FATAL ERROR"))
            .unwrap_or_else(|| panic!("{name}: no FATAL ERROR line:\n{stderr}"));
        for needle in [
            &ibd.display().to_string()[..],
            "page 0 of tablespace",
            "10 reads",
        ] {
            assert!(fatal.contains(needle), "{name}: no {needle:?} in: {fatal}");
        }
        assert!(!stderr.contains("completed OK"), "{name}:\n{stderr}");
        assert!(
            !target.join("xtrabackup_checkpoints").exists(),
            "{name}: a failed backup must not look complete"
        );
    }
}
