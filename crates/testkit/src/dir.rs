//! Temporary directories for servers and backups, removed on drop unless asked to keep them.

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
