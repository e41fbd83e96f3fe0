//! Locating the MariaDB and sysbench programs, and the rule for when they are missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::server::ServerBuilder;

/// Directories searched after `$PATH`: Debian puts `mariadbd` in `/usr/sbin`, which is not on
/// a normal user's PATH, and tarball installs live under `/usr/local/mysql`.
const EXTRA_BIN_DIRS: &[&str] = &[
    "/usr/sbin",
    "/usr/bin",
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/local/mysql/bin",
];

/// Env var naming a directory searched before everything else (e.g. a MariaDB build tree).
const BIN_DIR_ENV: &str = "HOTBACKUP_MARIADB_BIN_DIR";

/// The MariaDB programs a test needs, found on this machine.
#[derive(Debug, Clone)]
pub struct MariaDb {
    /// The server, `mariadbd` (or `mysqld` on old layouts).
    pub mariadbd: PathBuf,
    /// `mariadb-install-db` (or `mysql_install_db`), which creates a new datadir.
    pub install_db: PathBuf,
    /// The command-line client `mariadb`, if installed (handy for debugging, not required).
    pub client: Option<PathBuf>,
    /// `mariadb-backup`, the reference implementation hotbackup is checked against.
    pub backup: Option<PathBuf>,
    /// First line of `mariadbd --version`, e.g. `mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 ...`.
    pub version_line: String,
}

impl MariaDb {
    /// A [`ServerBuilder`] that uses these programs.
    pub fn server(&self) -> ServerBuilder {
        ServerBuilder::new().binaries(self.clone())
    }

    /// `mariadb-backup`, or an error that says to install it.
    pub fn backup_program(&self) -> Result<&Path> {
        self.backup.as_deref().context(
            "mariadb-backup not found; install it (Debian: apt-get install mariadb-backup)",
        )
    }
}

/// Finds an executable by name: `$HOTBACKUP_MARIADB_BIN_DIR`, then `$PATH`, then the usual
/// system directories.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os(BIN_DIR_ENV) {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.extend(EXTRA_BIN_DIRS.iter().map(PathBuf::from));
    for name in names {
        for dir in &dirs {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Some(candidate);
            }
        }
    }
    None
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Looks for the MariaDB programs; an error says which one is missing and how to install it.
pub fn find_mariadb() -> Result<MariaDb> {
    let install_hint = "install MariaDB 10.11 (Debian: apt-get install mariadb-server \
                        mariadb-client mariadb-backup) or set HOTBACKUP_MARIADB_BIN_DIR";
    let Some(mariadbd) = find_program(&["mariadbd", "mysqld"]) else {
        bail!("mariadbd not found in $PATH or /usr/sbin; {install_hint}");
    };
    let Some(install_db) = find_program(&["mariadb-install-db", "mysql_install_db"]) else {
        bail!("mariadb-install-db not found in $PATH or /usr/bin; {install_hint}");
    };
    let output = Command::new(&mariadbd)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {} --version", mariadbd.display()))?;
    if !output.status.success() {
        bail!(
            "{} --version failed ({}): {}",
            mariadbd.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let version_line = String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    Ok(MariaDb {
        mariadbd,
        install_db,
        client: find_program(&["mariadb", "mysql"]),
        backup: find_program(&["mariadb-backup", "mariabackup"]),
        version_line,
    })
}

/// Whether this run is CI (`CI=true` or `CI=1`), where a missing MariaDB is a failure.
pub fn ci_requires_mariadb() -> bool {
    std::env::var("CI")
        .map(|v| v.eq_ignore_ascii_case("true") || v == "1")
        .unwrap_or(false)
}

/// The one place that decides what a test does when MariaDB is missing (house rule 8).
///
/// Returns the programs when they are installed. When they are not: under `CI=true` this
/// **panics** (the test fails), otherwise it prints a loud warning and returns `None` so the
/// test can return early:
///
/// ```no_run
/// let Some(mariadb) = testkit::require_mariadb() else { return };
/// ```
pub fn require_mariadb() -> Option<MariaDb> {
    match find_mariadb() {
        Ok(found) => Some(found),
        Err(err) => missing("MariaDB", &format!("{err:#}")),
    }
}

/// Finds `sysbench`; same rule as [`require_mariadb`] (fail under `CI=true`, else skip loudly).
pub fn require_sysbench() -> Option<PathBuf> {
    match find_sysbench() {
        Ok(found) => Some(found),
        Err(err) => missing("sysbench", &format!("{err:#}")),
    }
}

/// Looks for `sysbench`; an error says how to install it.
pub fn find_sysbench() -> Result<PathBuf> {
    find_program(&["sysbench"])
        .context("sysbench not found in $PATH; install it (Debian: apt-get install sysbench)")
}

fn missing<T>(what: &str, why: &str) -> Option<T> {
    if ci_requires_mariadb() {
        panic!(
            "{what} is required under CI=true; install mariadb-server, mariadb-client, \
             mariadb-backup and sysbench (10.11) on the CI machine. Cause: {why}"
        );
    }
    eprintln!();
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!("!!! SKIPPING TEST: {what} is not installed ({why})");
    eprintln!("!!! This test would FAIL under CI=true.");
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    None
}
