//! The standard every backup is held to: prepare, restore into a fresh datadir, start a server
//! on it, `CHECK TABLE` everything, replay the source's binlog from the position the backup
//! recorded, and compare every table's `CHECKSUM TABLE` with the source.
//!
//! Which tool prepares and restores is the caller's choice ([`Tool`]), so the same check
//! proves hotbackup's own modes and the cross-tool cases (a hotbackup backup prepared by
//! mariadb-backup and the reverse).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};

use crate::binaries::MariaDb;
use crate::dir::TestDir;
use crate::server::TestServer;

/// The binlog coordinate a backup recorded in `xtrabackup_binlog_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinlogPos {
    /// Binlog file name.
    pub file: String,
    /// Position in it.
    pub position: u64,
}

/// Reads `<backup>/xtrabackup_binlog_info` (`file<TAB>pos[<TAB>gtid]`).
pub fn read_binlog_info(backup: &Path) -> Result<BinlogPos> {
    let path = backup.join("xtrabackup_binlog_info");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut fields = text.trim_end().split('\t');
    let file = fields.next().unwrap_or_default().to_string();
    let position = fields
        .next()
        .and_then(|p| p.parse().ok())
        .with_context(|| format!("{}: no position in {text:?}", path.display()))?;
    ensure!(!file.is_empty(), "{}: no file name", path.display());
    Ok(BinlogPos { file, position })
}

/// A tool that prepares or restores a backup.
#[derive(Clone, Debug)]
pub enum Tool {
    /// The real `mariadb-backup` (the oracle).
    MariaBackup,
    /// hotbackup, at this path.
    Hotbackup(PathBuf),
}

impl Tool {
    fn command(&self, mariadb: &MariaDb) -> Result<Command> {
        Ok(match self {
            Tool::MariaBackup => Command::new(mariadb.backup_program()?),
            Tool::Hotbackup(path) => Command::new(path),
        })
    }

    /// `--backup` of `server` into `target` (plus `extra` options); returns stderr, or an
    /// error with its tail when the tool fails.
    pub fn backup(&self, server: &TestServer, target: &Path, extra: &[&str]) -> Result<String> {
        let mut cmd = match self {
            Tool::MariaBackup => server.mariadb_backup_command()?,
            Tool::Hotbackup(path) => {
                let mut cmd = Command::new(path);
                cmd.arg("--no-defaults")
                    .arg(format!("--socket={}", server.socket_path().display()))
                    .arg("--user=root");
                cmd
            }
        };
        cmd.arg("--backup")
            .arg(format!("--target-dir={}", target.display()))
            .args(extra);
        run(cmd, "backup")
    }

    /// `--prepare` of `backup`, reading only its own `backup-my.cnf`; returns its stderr.
    pub fn prepare(&self, mariadb: &MariaDb, backup: &Path) -> Result<String> {
        let mut cmd = self.command(mariadb)?;
        cmd.arg(format!(
            "--defaults-file={}",
            backup.join("backup-my.cnf").display()
        ))
        .arg("--prepare")
        .arg(format!("--target-dir={}", backup.display()));
        run(cmd, "prepare")
    }

    /// `--copy-back` of `backup` into the empty `datadir`.
    pub fn copy_back(&self, mariadb: &MariaDb, backup: &Path, datadir: &Path) -> Result<()> {
        let mut cmd = self.command(mariadb)?;
        cmd.arg(format!(
            "--defaults-file={}",
            backup.join("backup-my.cnf").display()
        ))
        .arg("--copy-back")
        .arg(format!("--target-dir={}", backup.display()))
        .arg(format!("--datadir={}", datadir.display()));
        run(cmd, "copy-back").map(drop)
    }
}

fn run(mut cmd: Command, what: &str) -> Result<String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        // A tool that fails without a word on stderr may have said why on stdout: keep it
        // (stderr stays last, so callers can still match its final line).
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stdout = stdout.trim();
        let stdout = match stdout.is_empty() {
            true => String::new(),
            false => format!("\nstdout: {}\nstderr:", tail_chars(stdout, 2000)),
        };
        bail!(
            "{what} failed ({}): {shown}{stdout}\n{}",
            out.status,
            tail.join("\n")
        );
    }
    Ok(String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The last `max` bytes of `text` (on a char boundary).
fn tail_chars(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// Replays the source's binlog from `from` to its end into `into` (`mariadb-binlog | mariadb`).
pub fn replay_binlog(
    mariadb: &MariaDb,
    source: &TestServer,
    from: &BinlogPos,
    into: &TestServer,
) -> Result<()> {
    replay_binlog_of(mariadb, source, from, into, None)
}

/// [`replay_binlog`], keeping only the changes of `database` when given
/// (`mariadb-binlog --database`: a partial restore).
pub fn replay_binlog_of(
    mariadb: &MariaDb,
    source: &TestServer,
    from: &BinlogPos,
    into: &TestServer,
    database: Option<&str>,
) -> Result<()> {
    let logs: Vec<(String, u64)> = source
        .query_rows("SHOW BINARY LOGS")
        .context("SHOW BINARY LOGS")?;
    let start = logs
        .iter()
        .position(|(name, _)| *name == from.file)
        .with_context(|| format!("binlog {} is not on the source any more", from.file))?;
    let files: Vec<PathBuf> = logs[start..]
        .iter()
        .map(|(name, _)| source.datadir().join(name))
        .collect();
    let client = mariadb.client.clone().context(
        "the mariadb client is needed to replay the binlog (apt-get install mariadb-client)",
    )?;
    let binlog_tool = client
        .parent()
        .map(|d| d.join("mariadb-binlog"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("mariadb-binlog"));
    let dump = Command::new(&binlog_tool)
        .arg(format!("--start-position={}", from.position))
        .args(database.map(|db| format!("--database={db}")))
        .args(&files)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", binlog_tool.display()))?;
    ensure!(
        dump.status.success(),
        "mariadb-binlog failed: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let mut apply = Command::new(&client)
        .arg("--no-defaults")
        .arg(format!("--socket={}", into.socket_path().display()))
        .arg("--user=root")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", client.display()))?;
    apply
        .stdin
        .take()
        .context("no stdin for the mariadb client")?
        .write_all(&dump.stdout)
        .context("writing the binlog into the mariadb client")?;
    let out = apply.wait_with_output()?;
    ensure!(
        out.status.success(),
        "replaying the binlog failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// What a restore proved.
#[derive(Debug)]
pub struct RestoreReport {
    /// Tables that passed `CHECK TABLE`.
    pub tables_checked: usize,
    /// User tables whose checksums matched the source after binlog replay.
    pub tables_compared: usize,
    /// Where the backup said the binlog was.
    pub binlog: BinlogPos,
}

/// Restores `backup` (already prepared) with `tool` into a fresh datadir, starts a server,
/// checks every table, replays the binlog from the backup's position and compares every user
/// table's checksum with `source` (whose load must have stopped). The restored server is
/// stopped before returning.
pub fn restore_and_verify(
    mariadb: &MariaDb,
    tool: &Tool,
    source: &TestServer,
    backup: &Path,
) -> Result<RestoreReport> {
    restore_and_verify_with(mariadb, tool, source, backup, &[] as &[&str])
}

/// [`restore_and_verify`] with extra `[mysqld]` lines for the restored server (the
/// compression provider plugins or the key management the source had loaded).
pub fn restore_and_verify_with(
    mariadb: &MariaDb,
    tool: &Tool,
    source: &TestServer,
    backup: &Path,
    options: &[impl AsRef<str>],
) -> Result<RestoreReport> {
    let binlog = read_binlog_info(backup)?;
    let dir = TestDir::new("restore")?;
    let datadir = dir.path().join("data");
    tool.copy_back(mariadb, backup, &datadir)?;
    let mut builder = mariadb.server().name("restored").existing_datadir(&datadir);
    for line in options {
        builder = builder.option(line.as_ref());
    }
    let restored = builder
        .start()
        .context("the server did not start on the restored datadir")?;
    let failures = restored.check_table_all()?;
    ensure!(failures.is_empty(), "CHECK TABLE failed: {failures:?}");
    let tables_checked = restored
        .query_one::<u64>(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN ('information_schema','performance_schema') AND TABLE_TYPE='BASE TABLE'",
        )? as usize;
    replay_binlog(mariadb, source, &binlog, &restored)?;
    let expected = source.checksum_all()?;
    let got = restored.checksum_all()?;
    let diff = differences(&expected, &got);
    ensure!(
        diff.is_empty(),
        "after replaying the binlog from {binlog:?}, tables differ from the source:\n{}",
        diff.join("\n")
    );
    Ok(RestoreReport {
        tables_checked,
        tables_compared: expected.len(),
        binlog,
    })
}

fn differences(expected: &BTreeMap<String, u64>, got: &BTreeMap<String, u64>) -> Vec<String> {
    let mut out = Vec::new();
    for (table, sum) in expected {
        match got.get(table) {
            None => out.push(format!("  {table}: missing in the restore")),
            Some(g) if g != sum => out.push(format!("  {table}: checksum {g}, source {sum}")),
            Some(_) => {}
        }
    }
    for table in got.keys() {
        if !expected.contains_key(table) {
            out.push(format!("  {table}: exists only in the restore"));
        }
    }
    out
}

/// Copies a directory tree (files and directories only), like `cp -r`.
pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))?
    {
        let entry = entry?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)
                .with_context(|| format!("cannot copy {} to {}", src.display(), dst.display()))?;
        }
    }
    Ok(())
}

/// InnoDB data files of a (prepared) backup, relative: `ibdata*`, `undo*`, `**/*.ibd`.
pub fn data_files(dir: &Path) -> Result<Vec<PathBuf>> {
    fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in std::fs::read_dir(root.join(rel))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel_path = rel.join(&name);
            if entry.file_type()?.is_dir() {
                walk(root, &rel_path, out)?;
            } else if name.ends_with(".ibd")
                || (rel.as_os_str().is_empty()
                    && (name.starts_with("ibdata") || name.starts_with("undo")))
            {
                out.push(rel_path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, Path::new(""), &mut out)?;
    out.sort();
    Ok(out)
}

/// Compares every InnoDB data file of two prepared backups page by page (`page_size` bytes)
/// plus `ib_logfile0` and `xtrabackup_checkpoints`; returns the number of pages compared, or
/// an error naming each differing file and page (at most 20 listed).
pub fn compare_prepared(expected: &Path, got: &Path, page_size: usize) -> Result<u64> {
    compare_prepared_where(expected, got, page_size, |_| true)
}

/// [`compare_prepared`] with the pages of only the data files (relative paths) that `keep`
/// accepts compared; every data file must still exist in both. For files whose bytes may
/// legitimately differ (page_compressed: another compressor).
pub fn compare_prepared_where(
    expected: &Path,
    got: &Path,
    page_size: usize,
    keep: impl Fn(&Path) -> bool,
) -> Result<u64> {
    let files_expected = data_files(expected)?;
    let files_got = data_files(got)?;
    ensure!(
        files_expected == files_got,
        "different data files:\n  expected {files_expected:?}\n  got      {files_got:?}"
    );
    let mut pages = 0u64;
    let mut diffs = Vec::new();
    for rel in files_expected.iter().filter(|r| keep(r)) {
        let a = std::fs::read(expected.join(rel))?;
        let b = std::fs::read(got.join(rel))?;
        if a.len() != b.len() {
            diffs.push(format!(
                "  {}: size {} vs {}",
                rel.display(),
                a.len(),
                b.len()
            ));
        }
        for (idx, (pa, pb)) in a.chunks(page_size).zip(b.chunks(page_size)).enumerate() {
            pages += 1;
            if pa != pb {
                diffs.push(format!("  {} page {idx}", rel.display()));
            }
        }
    }
    // Written by prepare (both tools write the binlog position file, `\t0\n` without one).
    let read_if_there = |path: PathBuf| match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    };
    for name in [
        "ib_logfile0",
        "xtrabackup_checkpoints",
        "xtrabackup_binlog_pos_innodb",
    ] {
        let a = read_if_there(expected.join(name))?;
        let b = read_if_there(got.join(name))?;
        if a != b {
            let show = |v: &Option<Vec<u8>>| match v {
                None => "missing".to_string(),
                Some(b) if b.len() <= 200 => format!("{:?}", String::from_utf8_lossy(b)),
                Some(b) => format!("{} bytes", b.len()),
            };
            diffs.push(format!("  {name} differs: {} vs {}", show(&a), show(&b)));
        }
    }
    if !diffs.is_empty() {
        let n = diffs.len();
        diffs.truncate(20);
        bail!(
            "{n} difference(s) between {} and {} ({pages} pages compared):\n{}",
            expected.display(),
            got.display(),
            diffs.join("\n")
        );
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binlog_info_is_parsed_with_and_without_gtid() {
        let dir = TestDir::new("binlog-info").unwrap();
        std::fs::write(
            dir.path().join("xtrabackup_binlog_info"),
            "mysql-bin.000002\t342\t0-1-37,7-7-7\n",
        )
        .unwrap();
        assert_eq!(
            read_binlog_info(dir.path()).unwrap(),
            BinlogPos {
                file: "mysql-bin.000002".into(),
                position: 342
            }
        );
        std::fs::write(dir.path().join("xtrabackup_binlog_info"), "b.000001\t4\n").unwrap();
        assert_eq!(read_binlog_info(dir.path()).unwrap().position, 4);
    }

    #[test]
    fn differences_name_each_table() {
        let a: BTreeMap<String, u64> = [("d.t".to_string(), 1), ("d.u".to_string(), 2)].into();
        let b: BTreeMap<String, u64> = [("d.t".to_string(), 1), ("d.v".to_string(), 3)].into();
        let diff = differences(&a, &b);
        assert_eq!(diff.len(), 2, "{diff:?}");
        assert!(diff[0].contains("d.u") && diff[1].contains("d.v"));
    }

    #[test]
    fn a_failing_tool_shows_its_stdout_and_ends_with_its_stderr() {
        // (script, must contain, must not contain)
        let cases = [
            (
                "echo out-why; echo err-last >&2; exit 1",
                "stdout: out-why",
                "",
            ),
            ("echo err-last >&2; exit 1", "err-last", "stdout:"),
        ];
        for (script, contains, lacks) in cases {
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(script);
            let err = format!("{:#}", run(cmd, "backup").unwrap_err());
            assert!(
                err.contains("exit status: 1") && err.contains(contains),
                "{err}"
            );
            assert!(lacks.is_empty() || !err.contains(lacks), "{err}");
            assert!(err.trim_end().ends_with("err-last"), "{err}");
        }
        assert_eq!(tail_chars("aé", 1), "");
        assert_eq!(tail_chars("abc", 2), "bc");
    }
}
