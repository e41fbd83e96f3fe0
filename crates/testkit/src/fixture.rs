//! The repository's test data (`testdata/`, `tools/`): where it is, and its sample archives
//! unpacked into fresh directories.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::dir::TestDir;

/// The repository root (its `testdata/` and `tools/`).
///
/// # Panics
/// If `testdata/redo` is not there, naming where it was looked for.
pub fn repo_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    assert!(
        dir.join("testdata/redo/README.md").is_file(),
        "the repository's test data is missing: expected testdata/redo under {}",
        dir.display()
    );
    dir
}

/// Unpacks the `.tgz` archive `testdata/redo/<archive>` into a fresh directory named after
/// `tag` (kept after the test: the caller removes it) and returns that directory.
///
/// # Panics
/// If the directory cannot be made or `tar xzf` fails.
pub fn extract_redo_sample(archive: &str, tag: &str) -> PathBuf {
    let dir = TestDir::new(tag)
        .unwrap_or_else(|e| panic!("{e:#}"))
        .into_path();
    let tgz = repo_dir().join("testdata/redo").join(archive);
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&tgz)
        .arg("-C")
        .arg(&dir)
        .status()
        .unwrap_or_else(|e| panic!("cannot run tar: {e}"));
    assert!(status.success(), "tar xzf {} failed", tgz.display());
    dir
}
