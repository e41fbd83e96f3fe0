//! `hotbackup --backup` ended from outside, against real servers:
//!
//! * the server is SIGSTOPped while `BACKUP STAGE BLOCK_DDL` waits for a DDL: the backup
//!   fails with exit 3 within the documented bound (30 s of silence + a few seconds), says
//!   that the server stopped answering, and leaves no `xtrabackup_checkpoints`;
//! * a `--safe-slave-backup` backup of a replica gets SIGTERM while it copies one large file:
//!   it exits 1 within 5 s, leaves no temporary file, and the replica's SQL thread runs again;
//! * `--startup-wait-timeout` (`--ftwrl-wait-timeout`) as in mariadb-backup 10.11: a
//!   `LOCK TABLES` holder makes `BACKUP STAGE START` time out, a running statement makes the
//!   startup wait give up, both with exit 1 before anything is copied.

mod common;

use std::fs;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use common::{backup_command, create_small_tables, run_backup, Backup, Ended};
use testkit::mysql::prelude::Queryable;
use testkit::{TestDir, TestServer};

const CHECKPOINTS: &str = "xtrabackup_checkpoints";
const EXIT_FAILURE: i32 = 1;
const EXIT_CONNECTION: i32 = 3;

/// The documented bound: `SERVER_SILENCE` (30 s) + ping interval + cleanup.
const FROZEN_BOUND: Duration = Duration::from_secs(38);

/// SIGSTOPs a server; SIGCONT on drop, so that a failing test never leaves it stopped.
struct Frozen(libc::pid_t);

impl Frozen {
    fn freeze(server: &TestServer) -> Frozen {
        let pid = server.pid().unwrap() as libc::pid_t;
        // SAFETY: kill(2) on the test server's PID.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

fn assert_fatal(status: ExitStatus, stderr: &str, code: i32, needles: &[&str], target: &Path) {
    assert_eq!(status.code(), Some(code), "{status:?}:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let fatal = &stderr[stderr
        .find("FATAL ERROR")
        .unwrap_or_else(|| panic!("no FATAL ERROR:\n{stderr}"))..];
    for needle in needles {
        assert!(fatal.contains(needle), "no {needle:?} in:\n{fatal}");
    }
    assert!(!target.join(CHECKPOINTS).exists(), "{stderr}");
}

fn assert_no_temp_files(dir: &Path) {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(!name.contains("hotbackup-tmp"), "{}", e.path().display());
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                pending.push(e.path());
            }
        }
    }
}

#[test]
fn frozen_server_at_block_ddl_fails_with_exit_3_within_the_bound() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("ifrozen").start().unwrap();
    create_small_tables(&server, "d", 4);
    let dir = TestDir::new("interrupt-frozen").unwrap();
    let target = dir.path().join("bk");
    let mut backup = Backup::spawn(
        backup_command(server.socket_path(), &target, "root", &["--throttle=1"]),
        dir.path().join("frozen.stderr"),
    );
    // Once BACKUP STAGE START is held (the Aria logs are copied right after it), a DDL that
    // runs for 20 s: BLOCK_DDL waits for it, legitimately (a DDL running before START would
    // make START wait instead). The throttled copy leaves it seconds to start.
    backup.wait_for("Copied Aria log", Duration::from_secs(60));
    let mut ddl = server.conn().unwrap();
    let blocker = std::thread::spawn(move || {
        ddl.query_drop("CREATE TABLE d.slow ENGINE=InnoDB AS SELECT SLEEP(20) AS s")
    });
    backup.wait_for("Starting BACKUP STAGE BlockDdl", Duration::from_secs(60));
    // Let the statement reach the server and start waiting for the DDL.
    std::thread::sleep(Duration::from_millis(300));
    let frozen = Frozen::freeze(&server);
    let stopped = Instant::now();
    let Ended { status, stderr } = backup.wait(Duration::from_secs(120));
    let took = stopped.elapsed();
    drop(frozen);
    let _ = blocker.join();
    assert!(
        took < FROZEN_BOUND,
        "exit {took:?} after the freeze:\n{stderr}"
    );
    assert_fatal(
        status,
        &stderr,
        EXIT_CONNECTION,
        &["stopped answering", "BACKUP STAGE BLOCK_DDL", "incomplete"],
        &target,
    );
    assert!(!stderr.contains("os error 11"), "{stderr}");
    assert!(!stderr.contains("CodecError"), "{stderr}");
    // The server runs on: it answers and holds no backup stage.
    let mut other = server.conn().unwrap();
    other
        .query_drop("SET SESSION lock_wait_timeout=20")
        .unwrap();
    other.query_drop("BACKUP STAGE START").unwrap();
    other.query_drop("BACKUP STAGE END").unwrap();
}

#[test]
fn sigterm_on_a_replica_restarts_the_sql_thread_and_leaves_no_temp_file() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let (_primary, replica, _) = common::primary_and_replica(&mariadb, "i");
    // One large table on the replica only: copying it with --throttle=1 (one 640-page batch
    // per second) takes longer than the stopper's grace, so the process is ended by it.
    replica
        .exec(
            "SET SESSION sql_log_bin=0; CREATE DATABASE local; \
             CREATE TABLE local.big (id INT PRIMARY KEY, v VARCHAR(2000)) ENGINE=InnoDB; \
             INSERT INTO local.big SELECT seq, REPEAT('x', 1500) FROM local.seq_1_to_60000",
        )
        .unwrap();
    let running = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let rows: Vec<testkit::mysql::Row> = replica.query_rows("SHOW SLAVE STATUS").unwrap();
            let sql: Option<String> = rows[0].get("Slave_SQL_Running").unwrap_or(None);
            if sql.as_deref() == Some("Yes") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the SQL thread is {sql:?} {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    running("before the backup");
    let dir = TestDir::new("interrupt-replica").unwrap();
    let target = dir.path().join("bk");
    let mut backup = Backup::spawn(
        backup_command(
            replica.socket_path(),
            &target,
            "root",
            &["--safe-slave-backup", "--throttle=1"],
        ),
        dir.path().join("replica.stderr"),
    );
    backup.wait_for("/local/big.ibd", Duration::from_secs(60));
    // The SQL thread is stopped by the backup now.
    let rows: Vec<testkit::mysql::Row> = replica.query_rows("SHOW SLAVE STATUS").unwrap();
    let sql: Option<String> = rows[0].get("Slave_SQL_Running").unwrap_or(None);
    assert_eq!(sql.as_deref(), Some("No"), "--safe-slave-backup stopped it");
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(backup.pid(), libc::SIGTERM) }, 0);
    let signalled = Instant::now();
    let Ended { status, stderr } = backup.wait(Duration::from_secs(60));
    let took = signalled.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "ended {took:?} after SIGTERM:\n{stderr}"
    );
    assert_fatal(
        status,
        &stderr,
        EXIT_FAILURE,
        &["interrupted by SIGTERM", "incomplete"],
        &target,
    );
    assert!(stderr.contains("Restarting slave SQL thread."), "{stderr}");
    assert_no_temp_files(&target);
    running("after the interrupted backup");
}

#[test]
fn startup_wait_timeout_bounds_backup_stage_start() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("istartup").start().unwrap();
    create_small_tables(&server, "d", 1);
    let dir = TestDir::new("interrupt-startup").unwrap();

    // mariadb-backup's backup_lock_wait_timeout.test: LOCK TABLES ... WRITE held by an idle
    // session; BACKUP STAGE START times out after --ftwrl-wait-timeout seconds.
    let mut holder = server.conn().unwrap();
    holder.query_drop("BEGIN").unwrap();
    holder.query_drop("LOCK TABLES d.t00 WRITE").unwrap();
    let target = dir.path().join("locked");
    let started = Instant::now();
    let Ended { status, stderr } = run_backup(
        backup_command(
            server.socket_path(),
            &target,
            "root",
            &["--ftwrl-wait-timeout=1"],
        ),
        dir.path(),
        "locked",
        Duration::from_secs(60),
    );
    assert!(started.elapsed() < Duration::from_secs(20), "{stderr}");
    assert_fatal(
        status,
        &stderr,
        EXIT_FAILURE,
        &["BACKUP STAGE START", "--startup-wait-timeout=1"],
        &target,
    );
    assert!(stderr.contains("Waiting 1 seconds for queries"), "{stderr}");
    holder.query_drop("UNLOCK TABLES").unwrap();
    holder.query_drop("COMMIT").unwrap();

    // A running statement: the startup wait gives up ("Unable to obtain lock").
    let mut sleeper = server.conn().unwrap();
    let sleeping = std::thread::spawn(move || sleeper.query_drop("SELECT SLEEP(6)"));
    std::thread::sleep(Duration::from_millis(300));
    let target = dir.path().join("busy");
    let Ended { status, stderr } = run_backup(
        backup_command(
            server.socket_path(),
            &target,
            "root",
            &["--startup-wait-timeout=2"],
        ),
        dir.path(),
        "busy",
        Duration::from_secs(60),
    );
    assert_fatal(
        status,
        &stderr,
        EXIT_FAILURE,
        &["Unable to obtain lock", "SELECT SLEEP(6)"],
        &target,
    );
    assert!(stderr.contains("Waiting for query"), "{stderr}");
    sleeping.join().unwrap().unwrap();

    // Nothing in the way: the same option lets the backup through.
    let target = dir.path().join("free");
    let Ended { status, stderr } = run_backup(
        backup_command(
            server.socket_path(),
            &target,
            "root",
            &["--startup-wait-timeout=2"],
        ),
        dir.path(),
        "free",
        Duration::from_secs(120),
    );
    assert!(status.success(), "{stderr}");
    assert!(target.join(CHECKPOINTS).exists());
}
