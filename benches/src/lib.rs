//! Helpers shared by the criterion benchmarks under `benches/benches/`:
//! locating the repository's fixtures (`testdata/`),
//! gunzipping the redo samples, unpacking the backup archives and copying directories.
//!
//! The fixtures are the repository's `testdata/`, not copies in this crate: they are the
//! same files the `innodb` and `prepare` tests check against, so a benchmark never measures
//! an input that the tests do not also vouch for. When one is missing, every helper fails
//! with the path it looked at.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

/// The repository's `testdata/` (`$HOTBACKUP_TESTDATA` overrides).
pub fn testdata_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("HOTBACKUP_TESTDATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata"),
    };
    ensure!(
        dir.join("pages/README.md").is_file() && dir.join("redo/README.md").is_file(),
        "benchmark fixtures missing: expected testdata/ (pages/ and redo/) at {} \
         (the repository's own, or set HOTBACKUP_TESTDATA)",
        dir.display()
    );
    Ok(dir)
}

/// The bytes of `testdata/<rel>`, gunzipped when the name ends in `.gz`.
pub fn read_fixture(rel: &str) -> Result<Vec<u8>> {
    let path = testdata_dir()?.join(rel);
    let raw = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if rel.ends_with(".gz") {
        gunzip(&raw).with_context(|| format!("cannot gunzip {}", path.display()))
    } else {
        Ok(raw)
    }
}

/// Decompresses a gzip stream.
pub fn gunzip(raw: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(raw).read_to_end(&mut out)?;
    Ok(out)
}

/// Unpacks `testdata/<rel>` (a `.tgz`) into `dest` with `tar`.
pub fn extract_fixture(rel: &str, dest: &Path) -> Result<()> {
    let archive = testdata_dir()?.join(rel);
    std::fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(dest)
        .status()
        .context("cannot run tar")?;
    ensure!(
        status.success(),
        "tar xzf {} -C {} failed ({status})",
        archive.display(),
        dest.display()
    );
    Ok(())
}

/// Copies the tree `from` into `to` (created), regular files and directories only.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))?
    {
        let entry = entry.with_context(|| format!("cannot list {}", from.display()))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot stat {}", src.display()))?;
        if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst)
                .with_context(|| format!("cannot copy {} to {}", src.display(), dst.display()))?;
        } else {
            bail!("{} is neither a file nor a directory", src.display());
        }
    }
    Ok(())
}

/// A scratch directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// Creates `<tmp>/hotbackup-bench-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> Result<Scratch> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "hotbackup-bench-{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        // A leftover of a killed run with the same pid would otherwise be mixed in.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Scratch(path))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
