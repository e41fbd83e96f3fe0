//! `hbstream`, the extractor shipped with hotbackup, against the real tools: a real
//! `mariadb-backup --backup --stream=xbstream` under DML+DDL is extracted by hbstream
//! (byte-identical to MariaDB's `mbstream -x`, at -p 1 and 4), prepared by hotbackup and
//! restored against the source; the same stream cut at many points always fails and never
//! leaves `xtrabackup_checkpoints`; `hbstream -c` round-trips through the real `mbstream -x`;
//! each stream mbstream lets through is refused with the offset and file named.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use testkit::{TestDir, Tool, WriteLoad, WriteLoadOptions};
use xbstream::chunk;

fn hbstream() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hbstream"))
}

fn hotbackup() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hotbackup"))
}

/// Runs `program args… < stream`.
fn run_with_stdin(program: &Path, args: &[&str], stream: &[u8]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let mut stdin = child.stdin.take().unwrap();
    let data = stream.to_vec();
    // A refusing extractor may exit before reading everything: ignore EPIPE.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn extract(dir: &Path, stream: &[u8], parallel: &str) -> Output {
    std::fs::create_dir_all(dir).unwrap();
    run_with_stdin(
        hbstream(),
        &["-x", "-p", parallel, "-C", dir.to_str().unwrap()],
        stream,
    )
}

fn mbstream() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/mbstream");
    p.exists().then_some(p)
}

/// Stream offsets where chunks start, and the stream's length.
fn boundaries(stream: &[u8]) -> Vec<(u64, String, char)> {
    let mut r = xbstream::reader::Reader::new(stream);
    let mut out = Vec::new();
    while let Some(c) = r.next_chunk().unwrap() {
        let kind = match c.body {
            xbstream::reader::Body::Payload { .. } => 'P',
            xbstream::reader::Body::Eof => 'E',
            xbstream::reader::Body::Seek(_) => 'S',
            xbstream::reader::Body::Remove => 'D',
            xbstream::reader::Body::Rename(_) => 'R',
            xbstream::reader::Body::Ignored(_) => '?',
        };
        out.push((c.at, c.path_lossy(), kind));
    }
    out
}

/// A server with a mixed schema, and mariadb-backup's `--stream=xbstream` (plus `extra`) of it
/// taken under DML and DDL load: the server and the stream's bytes.
fn mariadb_backup_stream_under_load(
    mariadb: &testkit::MariaDb,
    dir: &Path,
    extra: &[&str],
) -> (testkit::TestServer, Vec<u8>) {
    let source = mariadb.server().name("src").binlog(true).start().unwrap();
    let schema = testkit::create_mixed_schema(&source, "mix", 200).unwrap();
    let load = WriteLoad::start(
        &source,
        WriteLoadOptions::for_schema(&schema).with_ddl(&schema),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let out = source
        .mariadb_backup_command()
        .unwrap()
        .arg("--backup")
        .arg("--stream=xbstream")
        .args(extra)
        .arg(format!("--target-dir={}", dir.join("tmp").display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    load.stop().unwrap();
    assert!(
        out.status.success(),
        "mariadb-backup --stream {extra:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (source, out.stdout)
}

#[test]
fn mariadb_backup_stream_extracts_prepares_and_restores() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("hbstream").unwrap();
    let (source, stream) = mariadb_backup_stream_under_load(&mariadb, dir.path(), &[]);
    let chunks = boundaries(&stream);
    let tail: Vec<_> = chunks.iter().rev().take(8).rev().collect();
    eprintln!(
        "stream: {} bytes, {} chunks; last: {tail:?}",
        stream.len(),
        chunks.len()
    );

    // hbstream at -p 1 and -p 4 gives the same files as MariaDB's mbstream.
    let ours = dir.path().join("ours");
    let o = extract(&ours, &stream, "1");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(ours.join("xtrabackup_checkpoints").exists());
    let files = testkit::file_snapshot(&ours);
    let o = extract(&dir.path().join("ours4"), &stream, "4");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    testkit::assert_same_files(&files, &dir.path().join("ours4"), "hbstream -p 4 vs -p 1");
    if let Some(mb) = mbstream() {
        let theirs = dir.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        let o = run_with_stdin(&mb, &["-x", "-C", theirs.to_str().unwrap()], &stream);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        testkit::assert_same_files(&files, &theirs, "hbstream vs mbstream");
    }

    // Cut at every chunk boundary of the last chunks, and inside chunks all along.
    let len = stream.len() as u64;
    let mut cuts: Vec<u64> = chunks.iter().rev().take(12).map(|c| c.0).collect();
    cuts.extend(chunks.iter().rev().take(12).map(|c| c.0 + 9));
    cuts.extend((1..40).map(|i| len * i / 40));
    cuts.extend([0, len - 1]);
    for cut in cuts {
        let d = dir.path().join(format!("cut-{cut}"));
        let o = extract(&d, &stream[..cut as usize], "2");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(8), "cut at {cut}/{len}: {stderr}");
        assert!(
            !d.join("xtrabackup_checkpoints").exists(),
            "cut at {cut}/{len} left xtrabackup_checkpoints: {stderr}"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    // hotbackup prepares what hbstream extracted; the restore matches the source.
    let tool = Tool::Hotbackup(hotbackup());
    tool.prepare(&mariadb, &ours).unwrap();
    let report = testkit::restore_and_verify(&mariadb, &tool, &source, &ours).unwrap();
    eprintln!("{report:?}");
}

/// mariadb-backup `--stream=xbstream --compress` under load → hbstream → hotbackup
/// `--decompress` → hotbackup `--prepare` → restored and verified (issue #13's second chain).
#[test]
fn mariadb_backup_compressed_stream_extracts_decompresses_prepares_and_restores() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("hbstream-qp").unwrap();
    let (source, stream) = mariadb_backup_stream_under_load(&mariadb, dir.path(), &["--compress"]);
    let ours = dir.path().join("ours");
    let o = extract(&ours, &stream, "2");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(ours.join("ibdata1.qp").exists(), "not a compressed backup");
    let o = std::process::Command::new(hotbackup())
        .arg("--decompress")
        .arg("--remove-original")
        .arg(format!("--target-dir={}", ours.display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(ours.join("ibdata1").exists() && !ours.join("ibdata1.qp").exists());
    let tool = Tool::Hotbackup(hotbackup());
    tool.prepare(&mariadb, &ours).unwrap();
    let report = testkit::restore_and_verify(&mariadb, &tool, &source, &ours).unwrap();
    eprintln!("{report:?}");
    assert!(report.tables_compared > 0, "{report:?}");
}

#[test]
fn created_stream_round_trips_through_mbstream() {
    let Some(mb) = mbstream() else {
        assert!(!testkit::ci_requires_mariadb(), "mbstream is missing");
        return;
    };
    let dir = TestDir::new("hbstream-c").unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("db")).unwrap();
    let big: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(src.join("db/t.ibd"), &big).unwrap();
    std::fs::write(src.join("xtrabackup_checkpoints"), b"backup_type = full\n").unwrap();
    std::fs::write(src.join("empty"), b"").unwrap();
    let out = Command::new(hbstream())
        .args(["-c", "-C", src.to_str().unwrap(), "-v"])
        .args(["db/t.ibd", "xtrabackup_checkpoints", "empty"])
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("db/t.ibd"), "-v names the files: {stderr}");
    // mbstream creates only one directory level, as here.
    let dst = dir.path().join("dst");
    std::fs::create_dir(&dst).unwrap();
    let o = run_with_stdin(&mb, &["-x", "-C", dst.to_str().unwrap()], &out.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    testkit::assert_same_files(&testkit::file_snapshot(&src), &dst, "-c | mbstream -x");
}

fn payload(s: &mut Vec<u8>, flags: u8, path: &str, data: &[u8]) {
    chunk::payload_header(s, flags, path, 0, data);
    s.extend_from_slice(data);
}

fn whole(path: &str) -> Vec<u8> {
    let mut s = Vec::new();
    payload(&mut s, 0, path, b"data");
    chunk::eof(&mut s, path);
    s
}

/// Streams mbstream 10.11 extracts with exit 0 (or damaged ones): each is refused with a
/// non-zero exit, a message naming the offset and the file, nothing written outside `-C`,
/// and no `xtrabackup_checkpoints`.
#[test]
fn rejected_streams_exit_non_zero_and_name_the_offset_and_file() {
    let dir = TestDir::new("hbstream-reject").unwrap();
    let first = whole("ok.frm");
    let at = first.len().to_string();
    let with = |tail: Vec<u8>| {
        let mut s = first.clone();
        s.extend_from_slice(&tail);
        s.extend(whole("xtrabackup_checkpoints"));
        s
    };
    let mut crc = whole("db/t.ibd");
    let n = crc.len();
    crc[n - 23] ^= 1; // the last payload byte (the end chunk is 22 bytes)
    let mut unknown = whole("db/t.ibd");
    unknown[9] = b'Q';
    let mut cut = with(Vec::new());
    let mut half = Vec::new();
    payload(&mut half, 0, "ib_logfile0", b"log");
    cut.splice(0..0, half);
    let cut_len = cut.len().to_string();
    let outside = dir.path().join("outside");
    let cases: Vec<(&str, Vec<u8>, i32, Vec<&str>)> = vec![
        (
            "dotdot",
            with(whole("../outside")),
            8,
            vec![&at, "../outside"],
        ),
        (
            "absolute",
            with(whole(outside.to_str().unwrap())),
            8,
            vec![&at, "absolute"],
        ),
        (
            "exists",
            with(whole("present")),
            6,
            vec![&at, "present", "already exists"],
        ),
        ("crc", with(crc), 8, vec![&at, "db/t.ibd", "CRC-32"]),
        (
            "unknown type",
            with(unknown),
            8,
            vec![&at, "unknown chunk type 0x51"],
        ),
        (
            "cut at a chunk boundary",
            cut,
            8,
            vec![&cut_len, "ib_logfile0", "cut short"],
        ),
        ("empty", Vec::new(), 8, vec!["empty"]),
    ];
    for (name, stream, code, words) in cases {
        let target = dir.path().join("t").join(name);
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("present"), b"old").unwrap();
        let o = extract(&target, &stream, "2");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{name}: {stderr}");
        for w in words {
            assert!(stderr.contains(w), "{name}: '{w}' not in {stderr}");
        }
        assert!(!outside.exists(), "{name} wrote outside -C");
        assert!(
            !dir.path().join("t/outside").exists(),
            "{name} wrote outside -C"
        );
        assert!(
            !target.join("xtrabackup_checkpoints").exists(),
            "{name} left xtrabackup_checkpoints"
        );
        assert_eq!(std::fs::read(target.join("present")).unwrap(), b"old");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [&["-x", "-c"][..], &["-z"], &[], &["-c"], &["-x", "file.xb"]] {
        let o = run_with_stdin(hbstream(), args, b"");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
    let o = Command::new(hbstream()).arg("--help").output().unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("--parallel"));
}
