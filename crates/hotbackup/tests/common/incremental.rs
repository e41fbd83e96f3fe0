//! Helpers for the incremental-backup tests (shared with the prepare side's tests): preparing
//! a chain with a tool, and reading the page lists of a backup's deltas.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use testkit::MariaDb;

/// `<tool> --prepare --target-dir=base`, then `--prepare --target-dir=base
/// --incremental-dir=inc` for each incremental in order (the base is changed in place).
pub fn prepare_chain(tool: &Path, base: &Path, incrementals: &[&Path]) {
    run_prepare(tool, base, None);
    for inc in incrementals {
        run_prepare(tool, base, Some(inc));
    }
}

/// The real `mariadb-backup`.
pub fn mariadb_backup(mariadb: &MariaDb) -> PathBuf {
    mariadb.backup_program().unwrap().to_path_buf()
}

/// `TOOL --defaults-file=BASE/backup-my.cnf --prepare --target-dir=BASE
/// [--incremental-dir=INC]`, stdin closed.
pub fn prepare_command(tool: &Path, base: &Path, inc: Option<&Path>) -> Command {
    let mut cmd = Command::new(tool);
    cmd.arg(format!(
        "--defaults-file={}",
        base.join("backup-my.cnf").display()
    ))
    .arg("--prepare")
    .arg(format!("--target-dir={}", base.display()));
    if let Some(inc) = inc {
        cmd.arg(format!("--incremental-dir={}", inc.display()));
    }
    cmd.stdin(Stdio::null());
    cmd
}

fn run_prepare(tool: &Path, base: &Path, inc: Option<&Path>) {
    let mut cmd = prepare_command(tool, base, inc);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `.delta` under `dir` (root and one level down): its name without `.delta` →
/// the page numbers it holds. The `.meta` beside it must exist and give the page size.
pub fn delta_pages(dir: &Path) -> BTreeMap<String, Vec<u32>> {
    let mut out = BTreeMap::new();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for e in std::fs::read_dir(&path).unwrap() {
                files.push(e.unwrap().path());
            }
        } else {
            files.push(path);
        }
    }
    for path in files {
        let Some(name) = path.to_str().and_then(|p| p.strip_suffix(".delta")) else {
            continue;
        };
        let meta_text = std::fs::read_to_string(format!("{name}.meta"))
            .unwrap_or_else(|e| panic!("{name}.meta: {e}"));
        let page_size: usize = meta_text
            .lines()
            .find_map(|l| l.strip_prefix("page_size = "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut reader = delta::DeltaReader::new(&bytes[..], page_size).unwrap();
        let mut pages = Vec::new();
        while let Some(c) = reader
            .next_cluster()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        {
            pages.extend_from_slice(c.page_numbers);
        }
        let rel = Path::new(name)
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        out.insert(rel, pages);
    }
    out
}

/// `key = value` of a backup's `xtrabackup_checkpoints`.
pub fn checkpoint(dir: &Path, key: &str) -> String {
    let text = std::fs::read_to_string(dir.join("xtrabackup_checkpoints")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in {text}"))
        .to_string()
}
