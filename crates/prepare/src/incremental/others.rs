//! The non-InnoDB files of an incremental replace the base's, as 10.11's
//! `ibx_cleanup_full_backup` and `ibx_copy_incremental_over_full` do: in every database
//! directory of the base, each file whose name does not end in `ibd`, `delta` or `meta`
//! is removed; from the incremental's database directories, files ending in one of
//! [`DB_EXTENSIONS`] are copied in; at the top, `aria_log*`, `aws-kms-key*`, `*.mrn*`
//! and [`SUPPLEMENTARY`]; database directories left empty that the incremental does not
//! have are removed (DROP DATABASE). Every copy goes through a temporary name, fsync and
//! rename, so a killed apply leaves whole files and the next run does it all again.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use backup_meta::in_order;

use crate::error::PrepareError;

/// Name endings of the database directories' files that are copied (10.11's list; it
/// matches without the dot).
const DB_EXTENSIONS: &[&str] = &[
    "frm", "isl", "MYD", "MYI", "MAD", "MAI", "MRG", "TRG", "TRN", "ARM", "ARZ", "CSM", "CSV",
    "opt", "par",
];
/// Name endings of the database directories' files of the base that stay.
const KEPT: &[&str] = &["ibd", "delta", "meta"];
/// Top-level files copied when the incremental has them.
const SUPPLEMENTARY: &[&str] = &[
    "xtrabackup_binlog_info",
    "xtrabackup_galera_info",
    "donor_galera_info",
    "xtrabackup_slave_info",
    "xtrabackup_info",
    "ib_lru_dump",
];
/// Suffix of a copy being made.
const TEMP_SUFFIX: &str = ".hotbackup-copy";

fn is_top_level_copied(name: &str) -> bool {
    name.starts_with("aria_log")
        || name.starts_with("aws-kms-key")
        || name.contains(".mrn")
        || SUPPLEMENTARY.contains(&name)
}

/// Copies `src` to `dst` whole: a temporary file next to `dst` (mode 0640) renamed over
/// `dst`; fsynced first when `sync` (else the caller makes it durable before the step
/// after it; until then a crash re-runs the copy, as the marker says).
pub(super) fn copy_file(src: &Path, dst: &Path, sync: bool) -> Result<(), PrepareError> {
    let mut tmp = dst.as_os_str().to_owned();
    tmp.push(TEMP_SUFFIX);
    let tmp = PathBuf::from(tmp);
    let mut from = fs::File::open(src).map_err(|e| PrepareError::io("open", src, e))?;
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o640)
        .open(&tmp)
        .map_err(|e| PrepareError::io("create", &tmp, e))?;
    io::copy(&mut from, &mut to).map_err(|e| PrepareError::io("copy to", &tmp, e))?;
    if sync {
        to.sync_all()
            .map_err(|e| PrepareError::io("fsync", &tmp, e))?;
    }
    drop(to);
    fs::rename(&tmp, dst).map_err(|e| PrepareError::io("rename to", dst, e))
}

fn files_of(dir: &Path) -> Result<Vec<String>, PrepareError> {
    let mut out = vec![];
    for e in fs::read_dir(dir).map_err(|e| PrepareError::io("list", dir, e))? {
        let e = e.map_err(|err| PrepareError::io("list", dir, err))?;
        if e.file_type().is_ok_and(|t| t.is_file()) {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}

fn subdirs_of(dir: &Path) -> Result<BTreeSet<String>, PrepareError> {
    let mut out = BTreeSet::new();
    for e in fs::read_dir(dir).map_err(|e| PrepareError::io("list", dir, e))? {
        let e = e.map_err(|err| PrepareError::io("list", dir, err))?;
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.insert(e.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(out)
}

fn sync_dir(dir: &Path) -> Result<(), PrepareError> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| PrepareError::io("fsync directory", dir, e))
}

/// Whether two files have the same bytes (a file that cannot be read differs).
fn same_content(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) if x.len() == y.len() => {}
        _ => return false,
    }
    matches!((fs::read(a), fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

/// Replaces the base's non-InnoDB files by the incremental's; returns (files removed,
/// files copied). The result is 10.11's (every such file of the base removed, the
/// incremental's copied in); a file whose bytes are already those of the incremental's
/// is left alone, and the copies run in parallel.
pub(super) fn replace(
    base: &Path,
    inc: &Path,
    threads: Option<usize>,
) -> Result<(usize, usize), PrepareError> {
    let threads = in_order::threads_or_cpus(threads);
    let base_dirs = subdirs_of(base)?;
    let inc_dirs = subdirs_of(inc)?;
    // (source in the incremental, file of the base), by relative path.
    let mut wanted: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut wanted_names: BTreeSet<String> = BTreeSet::new();
    for db in &inc_dirs {
        for f in files_of(&inc.join(db))? {
            if DB_EXTENSIONS.iter().any(|x| f.ends_with(x)) {
                wanted.push((inc.join(db).join(&f), base.join(db).join(&f)));
                wanted_names.insert(format!("{db}/{f}"));
            }
        }
    }
    for f in files_of(inc)? {
        if is_top_level_copied(&f) {
            wanted.push((inc.join(&f), base.join(&f)));
        }
    }
    let mut removed = 0;
    // Directories whose entries changed.
    let mut touched: BTreeSet<PathBuf> = BTreeSet::new();
    let mut empty_before = BTreeSet::new();
    for db in &base_dirs {
        let d = base.join(db);
        let files = files_of(&d)?;
        if files.is_empty() && fs::read_dir(&d).is_ok_and(|mut r| r.next().is_none()) {
            empty_before.insert(db.clone());
        }
        for f in files {
            if KEPT.iter().any(|k| f.ends_with(k)) || wanted_names.contains(&format!("{db}/{f}")) {
                continue;
            }
            let p = d.join(&f);
            match fs::remove_file(&p) {
                Ok(()) => {
                    removed += 1;
                    touched.insert(d.clone());
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(PrepareError::io("remove", &p, e)),
            }
        }
    }
    // 10.11 removes every directory of the base that was empty before, and a database
    // directory the incremental has keeps its place.
    for db in &empty_before {
        let d = base.join(db);
        fs::remove_dir(&d).map_err(|e| PrepareError::io("remove directory", &d, e))?;
    }
    for db in &inc_dirs {
        let to = base.join(db);
        let has_files = wanted.iter().any(|(_, b)| b.parent() == Some(to.as_path()));
        if has_files && !to.is_dir() {
            match fs::DirBuilder::new().mode(0o700).create(&to) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(PrepareError::io("create directory", &to, e)),
            }
        }
    }
    // In list order on the threads, both files of each pair read ahead: thousands of
    // small cold files are otherwise one random read at a time.
    let copied: Vec<bool> = in_order::try_run_ahead(
        threads,
        &wanted,
        |(from, to)| {
            vec![
                (from.clone(), vec![(0, in_order::HEAD)]),
                (to.clone(), vec![(0, in_order::HEAD)]),
            ]
        },
        |_, (from, to)| {
            if same_content(from, to) {
                return Ok(false);
            }
            copy_file(from, to, true).map(|()| true)
        },
    )?;
    // DROP DATABASE between the backups: an empty directory the incremental lacks.
    for db in &base_dirs {
        let d = base.join(db);
        let empty = fs::read_dir(&d).is_ok_and(|mut r| r.next().is_none());
        if empty && !inc_dirs.contains(db) {
            fs::remove_dir(&d).map_err(|e| PrepareError::io("remove directory", &d, e))?;
        }
    }
    // The copies were fsynced; the names (copies, removals, directories) now.
    let mut dirs: BTreeSet<PathBuf> = touched;
    for ((_, to), c) in wanted.iter().zip(&copied) {
        if let (true, Some(d)) = (*c, to.parent()) {
            dirs.insert(d.to_path_buf());
        }
    }
    dirs.insert(base.to_path_buf());
    for d in dirs.iter().filter(|d| d.is_dir()) {
        sync_dir(d)?;
    }
    Ok((removed, copied.iter().filter(|c| **c).count()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_incremental_files_replace_the_base_ones() {
        let base = testkit::TestDir::new("inc-others-base").unwrap();
        let inc = testkit::TestDir::new("inc-others-inc").unwrap();
        let put = |root: &Path, f: &str, content: &str| {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        };
        for (f, c) in [
            ("xtrabackup_info", "base"),
            ("ibdata1", "base"),
            ("d/t.ibd", "base"),
            ("d/t.frm", "base"),
            ("d/old.frm", "base"),
            ("d/m.MYD", "base"),
            ("dropped/x.frm", "base"),
            ("aria_log.00000001", "base"),
        ] {
            put(base.path(), f, c);
        }
        fs::create_dir(base.path().join("empty")).unwrap();
        for (f, c) in [
            ("xtrabackup_info", "inc"),
            ("ibdata1.delta", "inc"),
            ("backup-my.cnf", "inc"),
            ("d/t.frm", "inc"),
            ("d/t.ibd.delta", "inc"),
            ("d/m.MYD", "inc"),
            ("d/new.opt", "inc"),
            ("n/db.opt", "inc"),
            ("aria_log.00000001", "inc"),
        ] {
            put(inc.path(), f, c);
        }
        fs::create_dir(inc.path().join("empty")).unwrap();
        let (removed, copied) = replace(base.path(), inc.path(), Some(2)).unwrap();
        assert_eq!((removed, copied), (2, 6));
        let got = testkit::file_snapshot(base.path());
        let want: Vec<(&str, &str)> = vec![
            ("aria_log.00000001", "inc"),
            ("d/m.MYD", "inc"),
            ("d/new.opt", "inc"),
            ("d/t.frm", "inc"),
            ("d/t.ibd", "base"),
            ("ibdata1", "base"),
            ("n/db.opt", "inc"),
            ("xtrabackup_info", "inc"),
        ];
        let got: Vec<(String, String)> = got
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
            .collect();
        let want: Vec<(String, String)> = want
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
        assert!(!base.path().join("dropped").exists());
        assert!(
            !base.path().join("empty").exists(),
            "10.11 removes empty directories"
        );
        // Run again (a resumed apply): the same result, nothing to do.
        assert_eq!(replace(base.path(), inc.path(), Some(2)).unwrap(), (0, 0));
        assert_eq!(
            testkit::file_snapshot(base.path()).len(),
            8,
            "a second run changes nothing"
        );
    }
}
