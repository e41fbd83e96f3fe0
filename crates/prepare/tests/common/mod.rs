//! Helpers shared by the prepare integration tests: the sample backups of
//! `testdata/redo`, extracted into fresh directories, and page comparisons.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use prepare::{Event, Progress};

/// Extracts a sample archive of `testdata/redo` into a fresh directory.
pub fn extract(archive: &str, tag: &str) -> PathBuf {
    testkit::extract_redo_sample(archive, &format!("prepare-{tag}"))
}

#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<String>>);

impl Progress for Recorder {
    fn event(&self, e: Event<'_>) {
        self.0.lock().unwrap().push(format!("{e:?}"));
    }
}

/// Data files (ibdata1, undo*, */*.ibd) relative to `dir`, with their contents.
pub fn data_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut visit = |p: &Path| {
        let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name == "ibdata1" || name.starts_with("undo") || name.ends_with(".ibd") {
            out.insert(rel, fs::read(p).unwrap());
        }
    };
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            for s in fs::read_dir(&p).unwrap() {
                visit(&s.unwrap().path());
            }
        } else {
            visit(&p);
        }
    }
    out
}

/// Physical page size of a data file from its page 0 flags.
pub fn phys_page_size(file: &[u8]) -> usize {
    let flags = u32::from_be_bytes(file[54..58].try_into().unwrap());
    let zip_ssize = (flags >> 1) & 0xF;
    if flags & 0x10 == 0 && zip_ssize != 0 {
        512 << zip_ssize
    } else {
        4096
    }
}

/// Compares every page of every data file; returns (pages compared, differences).
pub fn compare(ours: &Path, theirs: &Path) -> (usize, Vec<String>) {
    let a = data_files(ours);
    let b = data_files(theirs);
    let mut diffs = vec![];
    let mut pages = 0;
    let names: Vec<&String> = a.keys().chain(b.keys()).collect();
    for name in names.into_iter().collect::<std::collections::BTreeSet<_>>() {
        let (Some(x), Some(y)) = (a.get(name), b.get(name)) else {
            diffs.push(format!("{name}: present in only one directory"));
            continue;
        };
        if x.len() != y.len() {
            diffs.push(format!("{name}: size {} vs {}", x.len(), y.len()));
        }
        let ps = phys_page_size(y);
        for (i, (pa, pb)) in x.chunks(ps).zip(y.chunks(ps)).enumerate() {
            pages += 1;
            if pa != pb {
                let first = pa.iter().zip(pb).position(|(u, v)| u != v).unwrap_or(0);
                diffs.push(format!("{name}: page {i} differs (first byte {first})"));
            }
        }
    }
    (pages, diffs)
}

/// The 4k sample before prepare with its one DDL marker (`w/t_small.new`) already
/// applied, so that a prepare changes only pages, the log and metadata.
pub fn sample(tag: &str) -> PathBuf {
    let dir = as_taken(tag);
    fs::rename(dir.join("w/t_small.new"), dir.join("w/t_small.ibd")).unwrap();
    dir
}

/// The 4k sample before prepare as the backup left it: `w/t_small.new` (a table
/// created during the backup) not yet in place.
pub fn as_taken(tag: &str) -> PathBuf {
    extract("backup4k_small_before_prepare.tgz", tag)
}
