//! [`Sysbench`]: `sysbench oltp_read_write` against a [`TestServer`] for a bounded time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::binaries::find_sysbench;
use crate::dir::TestDir;
use crate::process;
use crate::server::{tail_lines, TestServer};
use crate::sql::quote_ident;

/// Extra time a run may take beyond `--time` (connect, warm-up, report) before testkit
/// kills it, so a hung sysbench cannot hang the test.
const RUN_GRACE: Duration = Duration::from_secs(120);

/// Upper bound for `prepare` (creating and filling the tables).
const PREPARE_TIMEOUT: Duration = Duration::from_secs(600);

/// `sysbench oltp_read_write` settings (sysbench 1.0.20 as in Debian 12).
///
/// Defaults are small: 4 tables of 1000 rows, 2 threads, 10 s.
#[derive(Debug, Clone)]
pub struct Sysbench {
    program: PathBuf,
    socket: PathBuf,
    db: String,
    tables: u32,
    table_size: u64,
    threads: u32,
    time: Duration,
    extra_args: Vec<String>,
}

/// Totals from a sysbench run's final report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SysbenchReport {
    /// `transactions:` line.
    pub transactions: u64,
    /// `queries:` total line.
    pub queries: u64,
    /// `ignored errors:` line (lock timeouts and deadlocks sysbench retried).
    pub ignored_errors: u64,
    /// The whole stdout and stderr, for diagnostics.
    pub output: String,
}

impl Sysbench {
    /// Settings for `server` (its socket, user root, database `sbtest`); finds `sysbench`.
    pub fn new(server: &TestServer) -> Result<Self> {
        Ok(Self {
            program: find_sysbench()?,
            socket: server.socket_path().to_path_buf(),
            db: "sbtest".into(),
            tables: 4,
            table_size: 1000,
            threads: 2,
            time: Duration::from_secs(10),
            extra_args: Vec::new(),
        })
    }

    /// Database to use (default `sbtest`); [`Sysbench::prepare`] creates it.
    pub fn db(mut self, db: &str) -> Self {
        self.db = db.to_string();
        self
    }

    /// `--tables` (default 4).
    pub fn tables(mut self, n: u32) -> Self {
        self.tables = n;
        self
    }

    /// `--table-size` rows per table (default 1000).
    pub fn table_size(mut self, rows: u64) -> Self {
        self.table_size = rows;
        self
    }

    /// `--threads` (default 2; the test machines have 2 cores).
    pub fn threads(mut self, n: u32) -> Self {
        self.threads = n;
        self
    }

    /// `--time` of a run (default 10 s; whole seconds, at least 1).
    pub fn time(mut self, time: Duration) -> Self {
        self.time = time;
        self
    }

    /// Extra sysbench argument, e.g. `"--rate=100"` or `"--mysql-storage-engine=myisam"`.
    pub fn arg(mut self, arg: &str) -> Self {
        self.extra_args.push(arg.to_string());
        self
    }

    fn command(&self, phase: &str) -> Command {
        let mut command = Command::new(&self.program);
        command
            .arg("oltp_read_write")
            .arg("--db-driver=mysql")
            .arg(format!("--mysql-socket={}", self.socket.display()))
            .arg("--mysql-user=root")
            .arg("--mysql-password=")
            .arg(format!("--mysql-db={}", self.db))
            .arg(format!("--tables={}", self.tables))
            .arg(format!("--table-size={}", self.table_size))
            .arg(format!("--threads={}", self.threads))
            .arg(format!("--time={}", self.time.as_secs().max(1)))
            .arg("--events=0")
            .args(&self.extra_args)
            .arg(phase)
            .stdin(Stdio::null());
        command
    }

    /// Creates the database (dropping an old one) and runs `sysbench ... prepare`.
    pub fn prepare(&self, server: &TestServer) -> Result<()> {
        let db = quote_ident(&self.db);
        server.exec(&format!(
            "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}"
        ))?;
        let run = SysbenchRun::spawn(self.command("prepare"), "prepare", PREPARE_TIMEOUT)?;
        run.wait().map(|_| ()).context("sysbench prepare")
    }

    /// Runs the workload in the foreground for `time` and returns the report.
    pub fn run(&self) -> Result<SysbenchReport> {
        self.spawn()?.wait()
    }

    /// Starts the workload in the background (e.g. during a backup); see [`SysbenchRun`].
    pub fn spawn(&self) -> Result<SysbenchRun> {
        SysbenchRun::spawn(self.command("run"), "run", self.time + RUN_GRACE)
    }
}

/// A sysbench process; [`SysbenchRun::wait`] for its report. Dropping it kills it by PID.
#[derive(Debug)]
pub struct SysbenchRun {
    child: Option<Child>,
    phase: &'static str,
    deadline: Instant,
    output_path: PathBuf,
    // Holds the output file; removed with it.
    _dir: TestDir,
}

impl SysbenchRun {
    fn spawn(mut command: Command, phase: &'static str, limit: Duration) -> Result<Self> {
        let dir = TestDir::new("sysbench")?;
        let output_path = dir.path().join("output.log");
        let out = std::fs::File::create(&output_path)
            .with_context(|| format!("cannot create {}", output_path.display()))?;
        let err = out
            .try_clone()
            .context("cannot dup the sysbench output file")?;
        command.stdout(out).stderr(err);
        let child = process::spawn_tied(command)?;
        Ok(Self {
            child: Some(child),
            phase,
            deadline: Instant::now() + limit,
            output_path,
            _dir: dir,
        })
    }

    /// PID of the sysbench process, `None` once it has been waited for.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits for sysbench to finish (killing it at its deadline) and parses the report.
    pub fn wait(mut self) -> Result<SysbenchReport> {
        let Some(mut child) = self.child.take() else {
            bail!("sysbench {} was already waited for", self.phase);
        };
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let status = process::wait_timeout(&mut child, remaining)?;
        let output = std::fs::read_to_string(&self.output_path).unwrap_or_default();
        match status {
            None => {
                process::kill_and_reap(&mut child)?;
                bail!(
                    "sysbench {} did not finish in time and was killed; output ends with:\n{}",
                    self.phase,
                    tail_lines(&self.output_path, 20)
                );
            }
            Some(s) if !s.success() => bail!(
                "sysbench {} failed ({s}); output ends with:\n{}",
                self.phase,
                tail_lines(&self.output_path, 20)
            ),
            Some(_) => Ok(parse_report(output)),
        }
    }

    /// Where sysbench's stdout and stderr go.
    pub fn output_path(&self) -> &Path {
        &self.output_path
    }
}

impl Drop for SysbenchRun {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = process::kill_and_reap(&mut child);
        }
    }
}

/// Pulls the totals out of sysbench's "SQL statistics" block; missing lines count as 0
/// (e.g. `prepare` prints none).
fn parse_report(output: String) -> SysbenchReport {
    let number_after = |label: &str| -> u64 {
        output
            .lines()
            .map(str::trim_start)
            .find_map(|line| line.strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    SysbenchReport {
        transactions: number_after("transactions:"),
        queries: number_after("queries:"),
        ignored_errors: number_after("ignored errors:"),
        output: output.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sql_statistics_block_of_sysbench_1_0_20() {
        let output = "SQL statistics:\n    queries performed:\n        read:    38178\n        \
                      write:   10908\n        other:   5454\n        total:   54540\n    \
                      transactions:                        2727   (908.55 per sec.)\n    \
                      queries:                             54540  (18171.09 per sec.)\n    \
                      ignored errors:                      3      (0.00 per sec.)\n    \
                      reconnects:                          0      (0.00 per sec.)\n";
        let report = parse_report(output.to_string());
        assert_eq!(report.transactions, 2727);
        assert_eq!(report.queries, 54540);
        assert_eq!(report.ignored_errors, 3);
        assert_eq!(
            parse_report("Creating table 'sbtest1'...".into()).transactions,
            0
        );
    }
}
