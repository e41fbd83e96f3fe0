//! Helpers shared by the `hotbackup` integration tests: the binary, a backup command line,
//! a running backup whose stderr goes to a file the test can watch, small tables to back
//! up, and a primary with a GTID replica.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use testkit::TestServer;

pub mod encryption;
pub mod incremental;

/// The `hotbackup` binary cargo built for these tests.
pub fn hotbackup() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hotbackup"))
}

/// `hotbackup --no-defaults --backup --target-dir=<target> --socket=<socket> --user=<user>
/// <extra>`, with stdin and stdout closed.
pub fn backup_command(socket: &Path, target: &Path, user: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(hotbackup());
    cmd.arg("--no-defaults")
        .arg("--backup")
        .arg(format!("--target-dir={}", target.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--user={user}"))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    cmd
}

/// A running `hotbackup`, its stderr going to a file the test can watch; killed on drop,
/// so that a failing test never leaves a backup running against a server being removed.
pub struct Backup {
    child: Option<Child>,
    log: PathBuf,
}

/// How a backup ended.
pub struct Ended {
    pub status: ExitStatus,
    pub stderr: String,
}

impl Backup {
    /// Starts `cmd` with its stderr in the file `log`.
    pub fn spawn(mut cmd: Command, log: PathBuf) -> Backup {
        cmd.stderr(fs::File::create(&log).unwrap());
        Backup {
            child: Some(cmd.spawn().unwrap()),
            log,
        }
    }

    pub fn pid(&self) -> libc::pid_t {
        self.child.as_ref().map_or(0, |c| c.id() as libc::pid_t)
    }

    /// What the backup has written to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn has_exited(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => child.try_wait().unwrap().is_some(),
            None => true,
        }
    }

    /// Waits until the log has a line for which `accept` is true; panics (with the log) if
    /// the backup ends or `timeout` passes first. Returns that line.
    pub fn wait_for_line(&mut self, timeout: Duration, accept: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.stderr();
            if let Some(line) = text.lines().find(|l| accept(l)) {
                return line.to_string();
            }
            assert!(
                !self.has_exited(),
                "the backup ended before the expected point:\n{text}"
            );
            assert!(
                Instant::now() < deadline,
                "the backup did not reach the expected point within {timeout:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for a log line containing `needle` (see [`Backup::wait_for_line`]).
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) {
        self.wait_for_line(timeout, |l| l.contains(needle));
    }

    /// Waits for the end; a backup still running after `limit` is killed and is a failure.
    pub fn wait(mut self, limit: Duration) -> Ended {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "hotbackup hung: still running after {limit:?}; killed. Log:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ended {
            status,
            stderr: self.stderr(),
        }
    }
}

/// Runs `cmd` to its end (a failure after `limit`), its stderr in `<dir>/<name>.stderr`.
pub fn run_backup(cmd: Command, dir: &Path, name: &str, limit: Duration) -> Ended {
    Backup::spawn(cmd, dir.join(format!("{name}.stderr"))).wait(limit)
}

impl Drop for Backup {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `n` small InnoDB tables `db.t00`…: with `--throttle=1` each takes about a second to copy.
pub fn create_small_tables(server: &TestServer, db: &str, n: usize) {
    let mut sql = format!("CREATE DATABASE IF NOT EXISTS {db};");
    for i in 0..n {
        sql.push_str(&format!(
            "CREATE TABLE {db}.t{i:02} (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB;\
             INSERT INTO {db}.t{i:02} VALUES (1, REPEAT('x', 200)), (2, 'y');"
        ));
    }
    server.exec(&sql).unwrap();
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for a test).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `CHANGE MASTER TO` the primary at 127.0.0.1:`port` as the `repl` user.
pub fn change_master(port: u16) -> String {
    format!(
        "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={port}, MASTER_USER='repl', MASTER_PASSWORD='replpw', MASTER_CONNECT_RETRY=1"
    )
}

/// A primary (binlog, TCP port returned) and a GTID replica of it, which replicates as
/// `repl`; their server names start with `prefix`.
pub fn primary_and_replica(
    mariadb: &testkit::MariaDb,
    prefix: &str,
) -> (TestServer, TestServer, u16) {
    let port = free_port();
    let primary = mariadb
        .server()
        .name(&format!("{prefix}primary"))
        .binlog(true)
        .server_id(1)
        .tcp_port(port)
        .start()
        .unwrap();
    let replica = mariadb
        .server()
        .name(&format!("{prefix}replica"))
        .binlog(true)
        .server_id(2)
        .start()
        .unwrap();
    // The replica starts from the primary's position now: what install-db wrote is not
    // replayed (the replica has it already).
    let start: String = primary
        .query_one("SELECT @@GLOBAL.gtid_binlog_pos")
        .unwrap();
    replica
        .exec(&format!(
            "SET GLOBAL gtid_slave_pos = '{start}'; {}, MASTER_USE_GTID=slave_pos; START SLAVE",
            change_master(port)
        ))
        .unwrap();
    primary
        .exec(
            "CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'replpw'; \
             GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'",
        )
        .unwrap();
    (primary, replica, port)
}
