//! Extraction tests: good streams at several parallelisms, each rejected stream, and a
//! backup-like stream cut at every byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::chunk;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("xbstream-extract-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn payload(s: &mut Vec<u8>, flags: u8, path: &str, offset: u64, data: &[u8]) {
    chunk::payload_header(s, flags, path, offset, data);
    s.extend_from_slice(data);
}

fn run(stream: &[u8], dir: &Path, parallel: usize) -> Result<Summary, ExtractError> {
    extract(
        stream,
        dir,
        &Options {
            parallel,
            on_file: &|_| {},
        },
    )
}

/// Every regular file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A stream shaped like mariadb-backup's: the log opened first, data files (one rewritten in
/// place through a seek), a rename and a remove, the log closed, then the checkpoints,
/// `backup-my.cnf` and `xtrabackup_info`.
fn backup_like() -> Vec<u8> {
    let mut s = Vec::new();
    payload(&mut s, 0, "ib_logfile0", 0, b"log-part-1");
    payload(&mut s, 0, "db/t.ibd", 0, &[7u8; 3000]);
    payload(&mut s, 0, "db/old.frm", 0, b"frm");
    chunk::eof(&mut s, "db/old.frm");
    payload(&mut s, FLAG_REWRITE, "ibdata1", 0, b"0123456789");
    chunk::seek(&mut s, "ibdata1", 2);
    payload(&mut s, FLAG_REWRITE, "ibdata1", 2, b"xy");
    chunk::seek(&mut s, "ibdata1", 10);
    payload(&mut s, FLAG_REWRITE, "ibdata1", 10, b"ab");
    chunk::eof(&mut s, "ibdata1");
    payload(&mut s, 0, "db/t.ibd", 3000, &[8u8; 100]);
    chunk::eof(&mut s, "db/t.ibd");
    payload(&mut s, 0, "db/gone.frm", 0, b"x");
    chunk::eof(&mut s, "db/gone.frm");
    chunk::rename(&mut s, "db/old.frm", "db/new.frm");
    chunk::remove(&mut s, "db/gone.frm");
    payload(&mut s, 0, "ib_logfile0", 10, b"-part-2");
    chunk::eof(&mut s, "ib_logfile0");
    let cp: &[u8] = b"backup_type = full-backuped\n";
    payload(&mut s, 0, "xtrabackup_checkpoints", 0, cp);
    chunk::eof(&mut s, "xtrabackup_checkpoints");
    payload(&mut s, 0, "backup-my.cnf", 0, b"[mysqld]\n");
    chunk::eof(&mut s, "backup-my.cnf");
    payload(
        &mut s,
        0,
        "xtrabackup_info",
        0,
        b"tool_name = mariabackup\n",
    );
    chunk::eof(&mut s, "xtrabackup_info");
    s
}

fn backup_like_files() -> BTreeMap<String, Vec<u8>> {
    let mut t = vec![7u8; 3000];
    t.extend_from_slice(&[8u8; 100]);
    [
        ("ib_logfile0", b"log-part-1-part-2".to_vec()),
        ("db/t.ibd", t),
        ("db/new.frm", b"frm".to_vec()),
        ("backup-my.cnf", b"[mysqld]\n".to_vec()),
        ("xtrabackup_info", b"tool_name = mariabackup\n".to_vec()),
        ("ibdata1", b"01xy456789ab".to_vec()),
        (
            "xtrabackup_checkpoints",
            b"backup_type = full-backuped\n".to_vec(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[test]
fn a_backup_like_stream_extracts_at_every_parallelism() {
    for parallel in [1, 2, 4] {
        let d = tmp(&format!("good{parallel}"));
        let s = run(&backup_like(), &d, parallel).unwrap();
        assert_eq!(s.files, 8, "parallel {parallel}");
        assert_eq!(files(&d), backup_like_files(), "parallel {parallel}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn a_cut_stream_never_leaves_checkpoints_and_always_fails() {
    let full = backup_like();
    let d = tmp("cut");
    for cut in 0..full.len() {
        let r = run(&full[..cut], &d, 2);
        assert!(r.is_err(), "cut at {cut} of {} succeeded", full.len());
        assert!(r.unwrap_err().is_damaged(), "cut at {cut}");
        assert!(
            !d.join("xtrabackup_checkpoints").exists(),
            "cut at {cut} left xtrabackup_checkpoints"
        );
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::create_dir(&d).unwrap();
    }
    std::fs::remove_dir_all(&d).unwrap();
}

fn rename_of_open() -> Vec<u8> {
    let mut s = Vec::new();
    payload(&mut s, 0, "a", 0, b"x");
    chunk::rename(&mut s, "a", "b");
    s
}

/// Each rejected stream: (name, stream, damaged?, words the message must hold).
#[test]
fn rejected_streams() {
    let one = |path: &str| {
        let mut s = Vec::new();
        payload(&mut s, 0, path, 0, b"data");
        chunk::eof(&mut s, path);
        s
    };
    let mut bad_crc = one("db/t.ibd");
    bad_crc[14 + 8 + 20] ^= 0xff;
    let mut unknown = one("a");
    unknown[9] = b'Q';
    let mut out_of_order = Vec::new();
    payload(&mut out_of_order, 0, "f", 0, b"abc");
    payload(&mut out_of_order, 0, "f", 5, b"def");
    let mut unfinished = one("done");
    payload(&mut unfinished, 0, "db/half.ibd", 0, b"abc");
    let mut bad_rename = one("a");
    chunk::rename(&mut bad_rename, "a", "../b");
    let cases: Vec<(&str, Vec<u8>, bool, &[&str])> = vec![
        (
            "dotdot",
            one("../../data.dat"),
            true,
            &["'..'", "../../data.dat"],
        ),
        (
            "inner dotdot",
            one("db/../../x"),
            true,
            &["'..'", "offset 0"],
        ),
        ("absolute", one("/tmp/x"), true, &["absolute", "/tmp/x"]),
        (
            "empty component",
            one("a//b"),
            true,
            &["empty path component"],
        ),
        ("crc", bad_crc, true, &["CRC-32", "db/t.ibd", "offset 0"]),
        (
            "unknown type",
            unknown,
            true,
            &["unknown chunk type 0x51", "offset 0"],
        ),
        (
            "out of order",
            out_of_order,
            true,
            &["offset 5", "continues at 3", "'f'"],
        ),
        (
            "unfinished",
            unfinished,
            true,
            &["db/half.ibd", "cut short"],
        ),
        (
            "rename of open",
            rename_of_open(),
            true,
            &["still being written"],
        ),
        ("unsafe rename", bad_rename, true, &["../b"]),
        ("empty", Vec::new(), true, &["empty"]),
    ];
    for (name, stream, damaged, words) in cases {
        let d = tmp("rejected");
        let e = run(&stream, &d.join("."), 1).expect_err(name);
        let msg = e.to_string();
        assert_eq!(e.is_damaged(), damaged, "{name}: {msg}");
        for w in words {
            assert!(msg.contains(w), "{name}: '{w}' not in: {msg}");
        }
        assert!(!std::env::temp_dir().join("data.dat").exists(), "{name}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn an_existing_file_is_replaced_only_with_the_rewrite_flag() {
    for (flags, want_ok) in [(0, false), (FLAG_REWRITE, true)] {
        for path in ["f", "xtrabackup_checkpoints"] {
            let d = tmp("exists");
            std::fs::write(d.join(path), b"old").unwrap();
            let mut s = Vec::new();
            payload(&mut s, flags, path, 0, b"new");
            chunk::eof(&mut s, path);
            if path == "xtrabackup_checkpoints" {
                for other in &BACKUP_FILES[1..] {
                    payload(&mut s, 0, other, 0, b"x");
                    chunk::eof(&mut s, other);
                }
            }
            let r = run(&s, &d, 1);
            assert_eq!(r.is_ok(), want_ok, "{path} flags {flags}: {r:?}");
            let want: &[u8] = if want_ok { b"new" } else { b"old" };
            assert_eq!(std::fs::read(d.join(path)).unwrap(), want, "{path}");
            if let Err(e) = r {
                assert!(matches!(e, ExtractError::Exists { .. }), "{e}");
                assert!(e.to_string().contains(path), "{e}");
            }
            std::fs::remove_dir_all(&d).unwrap();
        }
    }
}

#[test]
fn a_symlink_in_the_directory_cannot_redirect_a_write() {
    let d = tmp("symlink");
    let outside = tmp("symlink-outside");
    std::os::unix::fs::symlink(&outside, d.join("db")).unwrap();
    let mut s = Vec::new();
    payload(&mut s, 0, "db/t.ibd", 0, b"x");
    chunk::eof(&mut s, "db/t.ibd");
    let e = run(&s, &d, 1).unwrap_err();
    assert!(matches!(e, ExtractError::Io { .. }), "{e}");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    std::fs::remove_dir_all(&d).unwrap();
    std::fs::remove_dir_all(&outside).unwrap();
}
