//! `hotbackup --backup` when things go wrong. Every case runs the real binary against a real
//! throwaway `mariadbd` and holds the failure to the house rules (`design.md`): the documented
//! exit code, a message naming the thing (socket, user, privilege, directory, file) and what to
//! do, never a panic, never a hang, and never a target that looks complete: a failed backup has
//! no `xtrabackup_checkpoints`, the file written last to mark a backup complete.
//!
//! Slow backups are made with `--throttle=1` (one read batch per second, so every tablespace
//! takes about a second) and a few dozen small tables; the test watches the backup's log (its
//! stderr, written to a file) to act at a known point of the copy.
//!
//! The overwritten-redo case (exit 5) is not here: through the binary it is not reproducible on
//! demand (the tailer polls every 10 ms while the log moves and reads 2 MiB per poll, far faster
//! than a small test server writes); `crates/redo-tailer/tests` covers it deterministically
//! with a stalled tailer.

mod common;

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{backup_command, create_small_tables, run_backup, Backup, Ended};
use testkit::mysql::prelude::Queryable;
use testkit::{PageSize, TestDir, Tool};

const CHECKPOINTS: &str = "xtrabackup_checkpoints";

/// Exit codes, as `hotbackup --help` documents them.
const EXIT_FAILURE: i32 = 1;
const EXIT_CONNECTION: i32 = 3;
const EXIT_REDO_OVERWRITTEN: i32 = 5;
const EXIT_IO: i32 = 6;
const EXIT_WRONG_STATE: i32 = 7;

/// How long any backup in this file may run before the test calls it a hang.
const BACKUP_LIMIT: Duration = Duration::from_secs(90);

/// The failure contract: exit `code`, every needle in the FATAL ERROR message, no panic, and
/// no completion mark in `target`.
fn assert_failed(ended: &Ended, code: i32, needles: &[&str], target: &Path) -> String {
    let stderr = &ended.stderr;
    assert_eq!(
        ended.status.code(),
        Some(code),
        "expected exit {code}, got {:?}; stderr:\n{stderr}",
        ended.status
    );
    assert!(
        !stderr.contains("panicked"),
        "hotbackup panicked:\n{stderr}"
    );
    let fatal = stderr
        .lines()
        .find(|l| l.contains("FATAL ERROR:"))
        .map(|l| {
            // The message may go on over several lines (e.g. SHOW GRANTS output).
            let start = stderr.find(l).unwrap_or(0);
            stderr[start..].to_string()
        })
        .unwrap_or_else(|| panic!("no FATAL ERROR line in:\n{stderr}"));
    for needle in needles {
        assert!(
            fatal.contains(needle),
            "the message does not mention {needle:?}:\n{fatal}"
        );
    }
    assert!(
        !target.join(CHECKPOINTS).exists(),
        "a failed backup must not carry {CHECKPOINTS}: {} looks complete",
        target.display()
    );
    fatal
}

/// No `*.hotbackup-tmp*` file anywhere under `dir` (`--copy-back` would skip it, but a
/// backup must not carry one).
fn assert_no_temp_files(dir: &Path) {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                !name.contains("hotbackup-tmp"),
                "temporary file left: {}",
                e.path().display()
            );
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                pending.push(e.path());
            }
        }
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// Case 1: nothing listens on the socket.
#[test]
fn server_not_running_exits_3_naming_the_socket() {
    let dir = TestDir::new("faults-nosrv").unwrap();
    let socket = dir.path().join("nosuch.sock");
    let target = dir.path().join("bk");
    let ended = run_backup(
        backup_command(&socket, &target, "root", &[]),
        dir.path(),
        "nosrv",
        BACKUP_LIMIT,
    );
    assert_failed(
        &ended,
        EXIT_CONNECTION,
        &[&socket.display().to_string(), "Is the server running?"],
        &target,
    );
    assert!(!target.exists(), "the target must not be created");
}

/// Case 2: the server refuses the login (wrong password, unknown user); the right password
/// with the documented grants works.
#[test]
fn refused_login_exits_3_naming_the_user() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("flogin").start().unwrap();
    server
        .exec(
            "CREATE USER 'bk'@'localhost' IDENTIFIED BY 'x';\
             GRANT RELOAD, PROCESS ON *.* TO 'bk'@'localhost'",
        )
        .unwrap();
    let dir = TestDir::new("faults-login").unwrap();

    let target = dir.path().join("wrong-password");
    let ended = run_backup(
        backup_command(server.socket_path(), &target, "bk", &["--password=wrong"]),
        dir.path(),
        "wrong-password",
        BACKUP_LIMIT,
    );
    assert_failed(
        &ended,
        EXIT_CONNECTION,
        &["'bk'@'localhost'", "using password: YES", "--password"],
        &target,
    );
    assert!(!target.exists(), "the target must not be created");

    let target = dir.path().join("unknown-user");
    let ended = run_backup(
        backup_command(server.socket_path(), &target, "nosuchuser", &[]),
        dir.path(),
        "unknown-user",
        BACKUP_LIMIT,
    );
    assert_failed(
        &ended,
        EXIT_CONNECTION,
        &["'nosuchuser'@'localhost'", "--user"],
        &target,
    );
    assert!(!target.exists(), "the target must not be created");

    // The same user with the right password: the grants the checks ask for are enough.
    let target = dir.path().join("right-password");
    let ended = run_backup(
        backup_command(server.socket_path(), &target, "bk", &["--password=x"]),
        dir.path(),
        "right-password",
        BACKUP_LIMIT,
    );
    assert!(
        ended.status.success() && target.join(CHECKPOINTS).exists(),
        "a backup as bk with RELOAD, PROCESS failed:\n{}",
        ended.stderr
    );
}

/// Case 3: missing privileges are found before anything is written, in mariadb-backup's
/// words and with its exit code (1); with the binlog on, BINLOG MONITOR is required too.
/// With --no-lock neither RELOAD nor PROCESS is needed (as in mariadb-backup): the LSN then
/// comes from SHOW STATUS and the log flush is InnoDB's own.
#[test]
fn missing_privileges_exit_1_before_copying() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("fpriv").binlog(true).start().unwrap();
    server
        .exec(
            "CREATE USER 'usage_only'@'localhost' IDENTIFIED BY 'Us4ge-pw';\
             CREATE USER 'no_binlog'@'localhost';\
             GRANT RELOAD, PROCESS ON *.* TO 'no_binlog'@'localhost'",
        )
        .unwrap();
    let dir = TestDir::new("faults-priv").unwrap();

    let target = dir.path().join("usage-only");
    let ended = run_backup(
        backup_command(
            server.socket_path(),
            &target,
            "usage_only",
            &["--password=Us4ge-pw"],
        ),
        dir.path(),
        "usage-only",
        BACKUP_LIMIT,
    );
    // SHOW GRANTS is quoted in the message, but never the password hash it shows.
    let hash: String = server.query_one("SELECT PASSWORD('Us4ge-pw')").unwrap();
    assert!(
        !ended.stderr.contains(&hash[1..]),
        "the password hash {hash} was printed:\n{}",
        ended.stderr
    );
    assert!(
        ended.stderr.contains("IDENTIFIED BY PASSWORD '<redacted>'"),
        "{}",
        ended.stderr
    );
    assert_failed(
        &ended,
        EXIT_FAILURE,
        &[
            "'usage_only'@'localhost'",
            "Error: missing required privilege RELOAD on *.*",
            "Error: missing required privilege PROCESS on *.*",
            "Current privileges, as reported by 'SHOW GRANTS': \n  1.GRANT USAGE ON *.* TO",
            // The binlog is on, so BINLOG MONITOR is missing too.
            "GRANT RELOAD, PROCESS, BINLOG MONITOR ON *.* TO 'usage_only'@'localhost'",
            "Nothing was copied",
        ],
        &target,
    );
    assert!(
        entries(&target).is_empty(),
        "nothing may be copied: {:?}",
        entries(&target)
    );

    let target = dir.path().join("no-binlog-monitor");
    let ended = run_backup(
        backup_command(server.socket_path(), &target, "no_binlog", &[]),
        dir.path(),
        "no-binlog-monitor",
        BACKUP_LIMIT,
    );
    let message = assert_failed(
        &ended,
        EXIT_FAILURE,
        &[
            "Nothing was copied",
            "'no_binlog'@'localhost'",
            "BINLOG MONITOR",
            "GRANT BINLOG MONITOR ON *.* TO 'no_binlog'@'localhost'",
        ],
        &target,
    );
    let first_line = message
        .lines()
        .find(|l| l.contains("missing required privilege"))
        .unwrap_or_default();
    assert!(
        !first_line.contains("RELOAD") && !first_line.contains("PROCESS"),
        "only BINLOG MONITOR is missing: {message}"
    );
    assert!(
        entries(&target).is_empty(),
        "nothing may be copied: {:?}",
        entries(&target)
    );

    // --no-lock needs neither RELOAD nor PROCESS (nor BINLOG MONITOR without a binlog
    // position): a USAGE-only account backs up, and no privilege is reported missing.
    let target = dir.path().join("usage-only-no-lock");
    let ended = run_backup(
        backup_command(
            server.socket_path(),
            &target,
            "usage_only",
            &["--password=Us4ge-pw", "--no-lock", "--binlog-info=OFF"],
        ),
        dir.path(),
        "usage-only-no-lock",
        BACKUP_LIMIT,
    );
    assert!(
        ended.status.success() && target.join(CHECKPOINTS).exists(),
        "a --no-lock backup as a USAGE-only user failed:\n{}",
        ended.stderr
    );
    assert!(
        !ended.stderr.contains("missing required privilege"),
        "{}",
        ended.stderr
    );
}

/// Case 4: a target with anything in it, or a regular file, is refused untouched.
#[test]
fn unusable_target_exits_7_untouched() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("ftarget").start().unwrap();
    let dir = TestDir::new("faults-target").unwrap();

    let target = dir.path().join("not-empty");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("notes.txt"), b"keep me").unwrap();
    fs::create_dir(target.join("old")).unwrap();
    let ended = run_backup(
        backup_command(server.socket_path(), &target, "root", &[]),
        dir.path(),
        "not-empty",
        BACKUP_LIMIT,
    );
    assert_failed(
        &ended,
        EXIT_WRONG_STATE,
        &[
            &target.display().to_string(),
            "not empty",
            "empty directory",
        ],
        &target,
    );
    assert_eq!(
        entries(&target),
        ["notes.txt", "old"],
        "nothing may be added"
    );
    assert_eq!(fs::read(target.join("notes.txt")).unwrap(), b"keep me");
    assert!(entries(&target.join("old")).is_empty());

    let target = dir.path().join("a-file");
    fs::write(&target, b"not a directory").unwrap();
    let ended = run_backup(
        backup_command(server.socket_path(), &target, "root", &[]),
        dir.path(),
        "a-file",
        BACKUP_LIMIT,
    );
    assert_failed(
        &ended,
        EXIT_WRONG_STATE,
        &[
            &target.display().to_string(),
            "not a directory",
            "--target-dir",
        ],
        &target,
    );
    assert_eq!(fs::read(&target).unwrap(), b"not a directory");
}

/// Case 5: the server is SIGKILLed while tablespaces are being copied. The backup must notice
/// promptly (not after copying every remaining file), say the server went away, and exit 3.
#[test]
fn server_killed_mid_backup_fails_promptly() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let mut server = mariadb.server().name("fkill").start().unwrap();
    create_small_tables(&server, "slow", 30);
    // On disk before the backup (the shutdown flushes them): a table whose page 0 is not
    // written yet is left to its `.new` copy under BLOCK_DDL and not copied (throttled) now.
    server.stop().unwrap();
    server.restart().unwrap();
    let dir = TestDir::new("faults-kill").unwrap();
    let target = dir.path().join("bk");
    let mut backup = Backup::spawn(
        backup_command(server.socket_path(), &target, "root", &["--throttle=1"]),
        dir.path().join("kill.stderr"),
    );
    backup.wait_for_line(Duration::from_secs(60), |l| {
        l.contains("Copying") && l.contains("/slow/t02.ibd")
    });
    server.kill9().unwrap();
    let killed = Instant::now();
    let ended = backup.wait(BACKUP_LIMIT);
    let took = killed.elapsed();
    let message = assert_failed(
        &ended,
        EXIT_CONNECTION,
        &[
            "went away during the backup",
            &server.socket_path().display().to_string(),
            &target.display().to_string(),
            "incomplete",
        ],
        &target,
    );
    // About 25 tablespaces were left, each a second at --throttle=1: a backup that only
    // noticed at the next BACKUP STAGE would take that long.
    assert!(
        took < Duration::from_secs(10),
        "the backup took {took:?} to notice the server was gone:\n{}",
        ended.stderr
    );
    assert!(
        !ended.stderr.contains("/slow/t29.ibd"),
        "the backup kept copying after the server died: {message}"
    );
}

/// Mounts a tmpfs of `size` on `dir` (root only); unmounts on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs {
            dir: dir.to_path_buf(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Something still has a file open there: detach it lazily rather than leak it.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Case 6: the target file system fills up. A 4 MiB tmpfs cannot hold the 12 MiB `ibdata1`,
/// nor 6 MiB of fresh redo log; whichever write hits ENOSPC first must be named. (A tmpfs is
/// the real thing, ENOSPC from the kernel; `RLIMIT_FSIZE` would give EFBIG or SIGXFSZ
/// instead, a different path.)
#[test]
fn disk_full_exits_6_naming_the_file() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("faults-full").unwrap();
    let mount_point = dir.path().join("small");
    let tmpfs = match Tmpfs::mount(&mount_point, "4m") {
        Ok(t) => t,
        Err(why) => {
            assert!(
                !testkit::ci_requires_mariadb(),
                "CI=true: the disk-full case needs a tmpfs mount (run as root): {why}"
            );
            eprintln!(
                "SKIPPED disk_full_exits_6_naming_the_file: cannot mount a small tmpfs ({why}); \
                 run as root to test the disk-full path"
            );
            return;
        }
    };
    let server = mariadb.server().name("ffull").start().unwrap();
    // First with an idle server (little redo since its checkpoint): the page copy fills the
    // disk. Then after writing 6 MiB that the redo copy must take first: typically the redo
    // log copy (ib_logfile0) is what fills it. Either way the file must be named.
    for (name, load) in [
        ("idle", None),
        (
            "after-load",
            Some(
                "CREATE DATABASE big; CREATE TABLE big.t (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB;\
                 INSERT INTO big.t SELECT seq, REPEAT(MD5(seq), 64) FROM big.seq_1_to_3000",
            ),
        ),
    ] {
        if let Some(sql) = load {
            server.exec(sql).unwrap();
            let rows: u64 = server.query_one("SELECT COUNT(*) FROM big.t").unwrap();
            assert_eq!(rows, 3000);
        }
        let target = mount_point.join(name);
        let ended = run_backup(
            backup_command(server.socket_path(), &target, "root", &[]),
            dir.path(),
            name, BACKUP_LIMIT);
        let message = assert_failed(
            &ended,
            EXIT_IO,
            &["No space left on device", "disk is full", "--target-dir"],
            &target,
        );
        let first_line = message.lines().next().unwrap_or_default();
        assert!(
            first_line.contains(&format!("{}/", target.display())),
            "{name}: the message must name the file that could not be written:\n{message}"
        );
        // Make room for the next case; the partial backup is ours to remove.
        fs::remove_dir_all(&target).unwrap();
    }
    drop(tmpfs);
}

/// Case 7: tables dropped while the InnoDB copy runs. Tables that existed before the
/// backup's checkpoint (known space ids): one already copied (needs a `.del`), one being or
/// just copied, one not reached yet (absent). A table created just before the backup (copied
/// before its first page was written, so without a known space id), copied and then dropped
/// (needs a `.del` too). The backup succeeds, mariadb-backup prepares it, no dropped table
/// is left behind, and the restored server matches the source.
#[test]
fn table_dropped_mid_copy_is_handled() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let mut source = mariadb
        .server()
        .name("fdrop")
        .page_size(PageSize::K4)
        .binlog(true)
        .start()
        .unwrap();
    create_small_tables(&source, "drops", 12);
    // A clean restart flushes every page: these tables are older than any checkpoint.
    source.stop().unwrap();
    source.restart().unwrap();
    create_small_tables(&source, "fresh", 3);
    let dir = TestDir::new("faults-drop").unwrap();
    let target = dir.path().join("bk");
    let mut backup = Backup::spawn(
        backup_command(source.socket_path(), &target, "root", &["--throttle=1"]),
        dir.path().join("drop.stderr"),
    );
    // One copy thread, files in name order: a "Copying" line for t04 means t03 is done.
    backup.wait_for_line(Duration::from_secs(60), |l| {
        l.contains("Copying") && l.contains("/drops/t04.ibd")
    });
    source
        .exec("DROP TABLE drops.t03; DROP TABLE drops.t04; DROP TABLE drops.t10")
        .unwrap();
    backup.wait_for_line(Duration::from_secs(60), |l| {
        l.contains("Copying") && l.contains("/fresh/t01.ibd")
    });
    source.exec("DROP TABLE fresh.t00").unwrap();
    let ended = backup.wait(BACKUP_LIMIT);
    assert!(
        ended.status.success(),
        "the backup failed ({:?}):\n{}",
        ended.status,
        ended.stderr
    );
    assert!(!ended.stderr.contains("panicked"), "{}", ended.stderr);
    let drops = target.join("drops");
    let fresh = target.join("fresh");
    let listing = || format!("drops/ {:?}, fresh/ {:?}", entries(&drops), entries(&fresh));
    assert!(
        drops.join("t03.del").exists(),
        "t03 was copied, then dropped: it needs t03.del; {}",
        listing()
    );
    assert!(
        !drops.join("t04.ibd").exists() || drops.join("t04.del").exists(),
        "t04 was dropped while copied: {}",
        listing()
    );
    assert!(
        !drops.join("t10.ibd").exists(),
        "t10 was dropped before it was reached: {}",
        listing()
    );
    assert!(
        !fresh.join("t00.ibd").exists() || fresh.join("t00.del").exists(),
        "fresh.t00 was copied, then dropped: {}",
        listing()
    );
    for gone in [
        "drops/t03.frm",
        "drops/t04.frm",
        "drops/t10.frm",
        "fresh/t00.frm",
    ] {
        assert!(
            !target.join(gone).exists(),
            "{gone} of a dropped table copied"
        );
    }

    Tool::MariaBackup.prepare(&mariadb, &target).unwrap();
    for gone in [
        "drops/t03.ibd",
        "drops/t04.ibd",
        "drops/t10.ibd",
        "fresh/t00.ibd",
    ] {
        assert!(
            !target.join(gone).exists(),
            "{gone} is still there after prepare: {}",
            listing()
        );
    }
    let report =
        testkit::restore_and_verify(&mariadb, &Tool::MariaBackup, &source, &target).unwrap();
    assert!(report.tables_compared >= 11, "{report:?}");
}

/// Case 8: the server overwrites redo log the backup has not copied yet. A tailer falling
/// behind is made deterministic by freezing the whole `hotbackup` process (SIGSTOP, as an
/// overloaded machine might deschedule it) while the server writes twice its 4 MiB log;
/// after SIGCONT the redo copy must see that it lost log, and the backup must stop with
/// exit 5 and the advice to increase innodb_log_file_size.
#[test]
fn redo_overwritten_exits_5() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb
        .server()
        .name("fredo")
        .log_file_size(4 << 20)
        .start()
        .unwrap();
    create_small_tables(&server, "slow", 20);
    server
        .exec("CREATE TABLE slow.big (id INT PRIMARY KEY, v VARCHAR(300)) ENGINE=InnoDB")
        .unwrap();
    let dir = TestDir::new("faults-redo").unwrap();
    let target = dir.path().join("bk");
    let mut backup = Backup::spawn(
        backup_command(server.socket_path(), &target, "root", &["--throttle=1"]),
        dir.path().join("redo.stderr"),
    );
    backup.wait_for_line(Duration::from_secs(60), |l| {
        l.contains("Copying") && l.contains("/slow/t01.ibd")
    });
    // SAFETY: kill(2) on the PID of our own child, which has not been reaped yet.
    assert_eq!(unsafe { libc::kill(backup.pid(), libc::SIGSTOP) }, 0);
    let lsn = || -> u64 {
        server
            .query_one("SELECT CAST(VARIABLE_VALUE AS UNSIGNED) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_LSN_CURRENT'")
            .unwrap()
    };
    // (A panic here kills the stopped backup through `Backup`'s drop.)
    let before = lsn();
    for round in 0..4 {
        server
            .exec(&format!(
                "INSERT INTO slow.big SELECT seq + {}, REPEAT(MD5(seq), 8) FROM slow.seq_1_to_10000",
                round * 10000
            ))
            .unwrap();
    }
    let written = lsn() - before;
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(backup.pid(), libc::SIGCONT) }, 0);
    assert!(
        written > 8 << 20,
        "the load wrote only {written} bytes of redo; it must wrap the 4 MiB log twice"
    );
    let ended = backup.wait(BACKUP_LIMIT);
    assert_failed(
        &ended,
        EXIT_REDO_OVERWRITTEN,
        &[
            "redo log overwritten",
            "ib_logfile0",
            "Increase innodb_log_file_size",
            "incomplete",
        ],
        &target,
    );
}

/// Case 9: the backup is interrupted (SIGTERM, then SIGINT as Ctrl-C) while it holds
/// `BACKUP STAGE START`: it ends within 5 s with exit 1 and a message naming the signal. The
/// target has no completion mark and no temporary file, and the server holds no backup lock
/// afterwards: another backup can start and DDL runs.
#[test]
fn interrupted_backup_leaves_no_lock_and_no_mark() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("fsig").start().unwrap();
    create_small_tables(&server, "slow", 12);
    let dir = TestDir::new("faults-signal").unwrap();
    for (signal, name) in [(libc::SIGTERM, "sigterm"), (libc::SIGINT, "sigint")] {
        let target = dir.path().join(name);
        let mut backup = Backup::spawn(
            backup_command(server.socket_path(), &target, "root", &["--throttle=1"]),
            dir.path().join(format!("{name}.stderr")),
        );
        backup.wait_for_line(Duration::from_secs(60), |l| {
            l.contains("Copying") && l.contains("/slow/t01.ibd")
        });
        // The backup holds its stage: a second one cannot start.
        let mut other = server.conn().unwrap();
        other.query_drop("SET SESSION lock_wait_timeout=1").unwrap();
        assert!(
            other.query_drop("BACKUP STAGE START").is_err(),
            "{name}: BACKUP STAGE START succeeded although the backup holds its stage"
        );
        // SAFETY: kill(2) on the PID of our own child, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(backup.pid(), signal) }, 0);
        let signalled = Instant::now();
        let ended = backup.wait(Duration::from_secs(30));
        let took = signalled.elapsed();
        assert!(
            took < Duration::from_secs(5),
            "{name}: ended {took:?} after the signal"
        );
        assert_eq!(ended.status.signal(), None, "{name}: killed by the signal");
        let signal_name = name.to_ascii_uppercase();
        assert_failed(
            &ended,
            EXIT_FAILURE,
            &[&format!("interrupted by {signal_name}"), "incomplete"],
            &target,
        );
        assert_no_temp_files(&target);

        // The server notices the closed connections and releases the stage.
        let mut other = server.conn().unwrap();
        other
            .query_drop("SET SESSION lock_wait_timeout=20")
            .unwrap();
        other
            .query_drop("BACKUP STAGE START")
            .unwrap_or_else(|e| panic!("{name}: the backup stage is still held: {e}"));
        other.query_drop("BACKUP STAGE BLOCK_COMMIT").unwrap();
        other.query_drop("BACKUP STAGE END").unwrap();
        other
            .query_drop(
                "CREATE TABLE slow.after (id INT PRIMARY KEY) ENGINE=InnoDB;\
                 INSERT INTO slow.after VALUES (1); DROP TABLE slow.after",
            )
            .unwrap_or_else(|e| panic!("{name}: DDL blocked after the interrupted backup: {e}"));
    }
}

/// MyRocks data cannot be copied by hotbackup (mariadb-backup copies it by default): a server
/// with a `#rocksdb` directory is refused before anything is written, and only
/// `--skip-rocksdb-backup` takes a backup without it.
#[test]
fn myrocks_data_is_refused_unless_skipped() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("frocks").start().unwrap();
    let rocks = server.datadir().join("#rocksdb");
    std::fs::create_dir_all(&rocks).unwrap();
    std::fs::write(rocks.join("CURRENT"), "MANIFEST-000001\n").unwrap();
    let dir = TestDir::new("faults-rocks").unwrap();

    let target = dir.path().join("refused");
    let ended = run_backup(
        backup_command(server.socket_path(), &target, "root", &[]),
        dir.path(),
        "refused",
        BACKUP_LIMIT,
    );
    assert_failed(
        &ended,
        EXIT_FAILURE,
        &["MyRocks", "#rocksdb", "--skip-rocksdb-backup"],
        &target,
    );
    assert!(
        !target.exists(),
        "nothing may be written: {}",
        target.display()
    );

    let target = dir.path().join("skipped");
    let ended = run_backup(
        backup_command(
            server.socket_path(),
            &target,
            "root",
            &["--skip-rocksdb-backup"],
        ),
        dir.path(),
        "skipped",
        BACKUP_LIMIT,
    );
    assert_eq!(ended.status.code(), Some(0), "{}", ended.stderr);
    assert!(target.join(CHECKPOINTS).exists());
}
