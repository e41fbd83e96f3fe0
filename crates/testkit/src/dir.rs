//! Temporary directories for servers and backups, removed on drop unless asked to keep them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

/// Env var: set to `1` (or `true`) to keep every test directory for post-mortem debugging.
pub const KEEP_TEST_DIRS_ENV: &str = "HOTBACKUP_KEEP_TEST_DIRS";

/// Env var: base directory for test directories instead of [`std::env::temp_dir`].
/// Keep it short: the server's unix socket lives inside and must stay under 100 characters.
pub const TEST_TMPDIR_ENV: &str = "HOTBACKUP_TEST_TMPDIR";

/// Whether [`KEEP_TEST_DIRS_ENV`] asks to keep test directories.
pub fn keep_test_dirs() -> bool {
    std::env::var(KEEP_TEST_DIRS_ENV)
        .map(|v| v == "1" || v.eq_ignore_ascii_case("true"))
        .unwrap_or(false)
}

/// A fresh directory, removed with everything in it when dropped (unless
/// `HOTBACKUP_KEEP_TEST_DIRS=1`, then its path is printed instead).
#[derive(Debug)]
pub struct TestDir {
    path: PathBuf,
    keep: bool,
}

impl TestDir {
    /// Creates `<base>/hb-<prefix>-<pid>-<n>-<nanos>` where base is `$HOTBACKUP_TEST_TMPDIR`
    /// or the system temp dir. The name is short on purpose (socket path limit).
    pub fn new(prefix: &str) -> Result<Self> {
        let base = std::env::var_os(TEST_TMPDIR_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        Self::new_in(&base, prefix)
    }

    /// Like [`TestDir::new`] but under `base`, which is created if missing.
    pub fn new_in(base: &Path, prefix: &str) -> Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // Nanos make names unique across processes that reuse a PID.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos() % 1_000_000)
            .unwrap_or(0);
        std::fs::create_dir_all(base)
            .with_context(|| format!("cannot create test base directory {}", base.display()))?;
        let path = base.join(format!("hb-{prefix}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir(&path)
            .with_context(|| format!("cannot create test directory {}", path.display()))?;
        Ok(Self {
            path,
            keep: keep_test_dirs(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory, which from now on is the caller's to remove (for tests that remove
    /// it themselves, or keep it to look at after a failure).
    pub fn into_path(mut self) -> PathBuf {
        let path = std::mem::take(&mut self.path);
        std::mem::forget(self);
        path
    }

    /// Keeps the directory after drop regardless of the env var (e.g. for a failing test).
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("testkit: keeping test directory {}", self.path.display());
            return;
        }
        if let Err(err) = std::fs::remove_dir_all(&self.path) {
            eprintln!(
                "testkit: warning: cannot remove test directory {}: {err}",
                self.path.display()
            );
        }
    }
}

/// Every file under `dir` (recursively), by its path relative to `dir`, with its contents:
/// take one before and one after an operation and compare them with [`differing_files`].
///
/// # Panics
/// If a directory or file cannot be read (a test helper: the panic names the path).
pub fn file_snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    file_names(dir)
        .into_iter()
        .map(|rel| {
            let p = dir.join(&rel);
            let bytes =
                std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (rel, bytes)
        })
        .collect()
}

/// Every file under `dir` (recursively), by its path relative to `dir`, sorted.
///
/// # Panics
/// If a directory cannot be read (a test helper: the panic names the path).
pub fn file_names(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()));
        for entry in entries {
            let p = entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()))
                .path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out
}

/// The names present in only one of two [`file_snapshot`]s or with other contents, sorted.
pub fn differing_files(
    a: &BTreeMap<String, Vec<u8>>,
    b: &BTreeMap<String, Vec<u8>>,
) -> Vec<String> {
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .filter(|n| a.get(*n) != b.get(*n))
        .cloned()
        .collect()
}

/// Panics unless the files under `dir` are exactly those of `expected` (a
/// [`file_snapshot`]), with a message that starts with `what` and names the files that
/// differ.
pub fn assert_same_files(expected: &BTreeMap<String, Vec<u8>>, dir: &Path, what: &str) {
    let differ = differing_files(expected, &file_snapshot(dir));
    assert!(differ.is_empty(), "{what}: {differ:?}");
}
