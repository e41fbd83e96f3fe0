//! `hotbackup --backup --compress[=quicklz|lz4|zstd]`: under write load, into a directory and
//! as an xbstream, at 4k, 16k and 64k pages, the compressed files decompress (our decoders,
//! `--decompress`; the real `lz4`/`zstd` tools read ours) into a backup both tools prepare
//! (page-identical) and that restores to the source's data; every file but
//! `xtrabackup_checkpoints` is compressed, as mariadb-backup 10.11 does, and the names match
//! an uncompressed backup's.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use sink::Codec;
use testkit::{PageSize, Scenario, TestDir, Tool};

use common::hotbackup;

/// The files of a compressed backup that are not compressed.
fn plain_files(root: &Path) -> BTreeSet<String> {
    testkit::file_names(root)
        .into_iter()
        .filter(|f| Codec::for_file(f.as_bytes()).is_none())
        .collect()
}

/// The names with `.qp` taken off.
fn without_qp(names: &BTreeSet<String>) -> BTreeSet<String> {
    names
        .iter()
        .map(|n| n.strip_suffix(".qp").unwrap_or(n).to_string())
        .collect()
}

/// (d): every compressed file is whole for our decoder (a `.qp` holds the file's base name);
/// `xtrabackup_info` says `compressed`; the real `lz4`/`zstd` tool, when installed, reads
/// `ibdata1` as we do.
fn check_compressed(root: &Path, codec: Codec) {
    if codec != Codec::Quicklz {
        return check_frames(root, codec);
    }
    let mut count = 0;
    for name in testkit::file_names(root)
        .iter()
        .filter(|n| n.ends_with(".qp"))
    {
        let archive = std::fs::read(root.join(name)).unwrap();
        let summary = qpress::decompress(&archive[..], &mut std::io::sink())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let base = Path::new(name.strip_suffix(".qp").unwrap())
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .as_bytes()
            .to_vec();
        assert_eq!(summary.name, base, "{name}");
        count += 1;
    }
    assert!(count > 10, "only {count} archives");
    let archive = std::fs::read(root.join("xtrabackup_info.qp")).unwrap();
    let mut info = Vec::new();
    qpress::decompress(&archive[..], &mut info).unwrap();
    let info = String::from_utf8(info).unwrap();
    assert!(info.contains("\ncompressed = compressed\n"), "{info}");
}

/// [`check_compressed`] for lz4 and zstd.
fn check_frames(root: &Path, codec: Codec) {
    let suffix = codec.suffix();
    let mut count = 0;
    for name in testkit::file_names(root)
        .iter()
        .filter(|n| n.ends_with(suffix))
    {
        let file = std::fs::read(root.join(name)).unwrap();
        sink::codec::decompress(codec, &file[..], &mut std::io::sink())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        count += 1;
    }
    assert!(count > 10, "only {count} {suffix} files");
    let file = std::fs::read(root.join(format!("xtrabackup_info{suffix}"))).unwrap();
    let mut info = Vec::new();
    sink::codec::decompress(codec, &file[..], &mut info).unwrap();
    let info = String::from_utf8(info).unwrap();
    assert!(info.contains("\ncompressed = compressed\n"), "{info}");

    let file = std::fs::read(root.join(format!("ibdata1{suffix}"))).unwrap();
    let mut ours = Vec::new();
    sink::codec::decompress(codec, &file[..], &mut ours).unwrap();
    let tool = codec.name();
    match Command::new(tool)
        .args(["-d", "-c"])
        .arg(root.join(format!("ibdata1{suffix}")))
        .stderr(Stdio::inherit())
        .output()
    {
        Ok(out) => {
            assert!(out.status.success(), "{tool} -d failed");
            assert!(
                out.stdout == ours,
                "{tool} -d reads ibdata1 otherwise than we do"
            );
        }
        Err(e) => eprintln!("{tool} not run ({e}): the external check is skipped"),
    }
}

/// `hotbackup --decompress --remove-original` of `target`, which must succeed.
fn decompress(target: &Path) {
    let out = Command::new(hotbackup())
        .args(["--no-defaults", "--decompress", "--remove-original"])
        .arg(format!("--target-dir={}", target.display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        plain_files(target) == testkit::file_names(target),
        "{stderr}"
    );
}

/// (a), (c), (d): a compressed backup under load into a directory, names as an uncompressed
/// backup's and by mariadb-backup's rule, decompressed, prepared by both tools, restored.
#[test]
fn compressed_backup_under_load_decompresses_prepares_and_restores() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let scenario = Scenario::start(&mariadb, PageSize::K16).unwrap();
    let source = &scenario.source;
    let dir = TestDir::new("compress-e2e").unwrap();
    let ours = Tool::Hotbackup(hotbackup().to_path_buf());
    let target = dir.path().join("compressed");
    let extra = dir.path().join("extra");
    let load = scenario.load().unwrap();
    let stderr = ours
        .backup(
            source,
            &target,
            &[
                "--compress",
                "--compress-threads=2",
                "--parallel=2",
                &format!("--extra-lsndir={}", extra.display()),
            ],
        )
        .unwrap();
    let stats = load.stop().unwrap();
    assert!(stats.total_ops() > 0, "the load must have run: {stats:?}");
    assert!(stderr.contains("completed OK!"), "{stderr}");

    // As mariadb-backup 10.11: only the completion mark is plain; --extra-lsndir is plain.
    assert_eq!(
        plain_files(&target),
        BTreeSet::from(["xtrabackup_checkpoints".to_string()])
    );
    for f in ["ibdata1", "ib_logfile0", "backup-my.cnf", "xtrabackup_info"] {
        assert!(target.join(format!("{f}.qp")).is_file(), "{f}.qp missing");
    }
    assert!(testkit::file_names(&target)
        .iter()
        .any(|f| f.ends_with(".MAD.qp")));
    assert!(testkit::file_names(&target)
        .iter()
        .any(|f| f.ends_with(".MYD.qp")));
    assert!(testkit::file_names(&target)
        .iter()
        .any(|f| f.starts_with("aria_log.")));
    let lsn = std::fs::read_to_string(extra.join("xtrabackup_info")).unwrap();
    assert!(lsn.contains("\ncompressed = compressed\n"), "{lsn}");
    check_compressed(&target, Codec::Quicklz);

    // (c) On the quiet server: the same names as an uncompressed backup, and the same rule
    // as mariadb-backup --compress (everything but xtrabackup_checkpoints compressed).
    let quiet = dir.path().join("quiet-compressed");
    let plain = dir.path().join("quiet-plain");
    let theirs = dir.path().join("quiet-mariadb-backup");
    ours.backup(
        source,
        &quiet,
        &["--compress", "--compress-chunk-size=4096"],
    )
    .unwrap();
    ours.backup(source, &plain, &[]).unwrap();
    Tool::MariaBackup
        .backup(source, &theirs, &["--compress"])
        .unwrap();
    assert_eq!(
        without_qp(&testkit::file_names(&quiet)),
        testkit::file_names(&plain)
    );
    assert_eq!(plain_files(&theirs), plain_files(&quiet));
    let (a, b) = (
        without_qp(&testkit::file_names(&theirs)),
        testkit::file_names(&plain),
    );
    eprintln!(
        "names only mariadb-backup wrote: {:?}; only hotbackup: {:?}",
        a.difference(&b).collect::<Vec<_>>(),
        b.difference(&a).collect::<Vec<_>>()
    );
    check_compressed(&quiet, Codec::Quicklz);
    for d in [&quiet, &plain, &theirs] {
        std::fs::remove_dir_all(d).unwrap();
    }

    decompress(&target);
    let by_them = dir.path().join("prepared-by-mariadb-backup");
    testkit::copy_dir(&target, &by_them).unwrap();
    ours.prepare(&mariadb, &target).unwrap();
    Tool::MariaBackup.prepare(&mariadb, &by_them).unwrap();
    let pages = testkit::compare_prepared(&by_them, &target, 16384).unwrap();
    std::fs::remove_dir_all(&by_them).unwrap();
    let report = testkit::restore_and_verify(&mariadb, &ours, source, &target).unwrap();
    eprintln!("{pages} pages identical; {report:?}; load {stats:?}");
    assert!(report.tables_compared >= 6, "{report:?}");
}

/// (b): `--stream=xbstream --compress` (quicklz) under load at 16k pages, extracted by the
/// real `mbstream -x`, decompressed, prepared and restored.
#[test]
fn compressed_stream_under_load_extracts_decompresses_and_restores() {
    stream_under_load(PageSize::K16, Codec::Quicklz, &["--compress"]);
}

/// As the quicklz stream, with `--compress=lz4` at 64k pages.
#[test]
fn lz4_stream_at_64k_pages_under_load_extracts_decompresses_and_restores() {
    stream_under_load(PageSize::K64, Codec::Lz4, &["--compress=lz4"]);
}

/// A backup taken under load with `compress` (and `--compress-threads=2`) into a directory:
/// only `xtrabackup_checkpoints` plain, every file whole, decompressed, prepared by both
/// tools (page-identical), restored and verified.
fn directory_under_load(page: PageSize, codec: Codec, compress: &[&str]) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let scenario = Scenario::start(&mariadb, page).unwrap();
    let source = &scenario.source;
    let dir = TestDir::new("compress-dir").unwrap();
    let ours = Tool::Hotbackup(hotbackup().to_path_buf());
    let target = dir.path().join("compressed");
    let load = scenario.load().unwrap();
    let mut args = compress.to_vec();
    args.extend(["--compress-threads=2", "--parallel=2"]);
    let stderr = ours.backup(source, &target, &args).unwrap();
    let stats = load.stop().unwrap();
    assert!(stats.total_ops() > 0, "the load must have run: {stats:?}");
    assert!(stderr.contains("completed OK!"), "{stderr}");
    assert_eq!(
        plain_files(&target),
        BTreeSet::from(["xtrabackup_checkpoints".to_string()])
    );
    check_compressed(&target, codec);
    decompress(&target);
    let by_them = dir.path().join("prepared-by-mariadb-backup");
    testkit::copy_dir(&target, &by_them).unwrap();
    ours.prepare(&mariadb, &target).unwrap();
    Tool::MariaBackup.prepare(&mariadb, &by_them).unwrap();
    let pages = testkit::compare_prepared(&by_them, &target, page.bytes() as usize).unwrap();
    std::fs::remove_dir_all(&by_them).unwrap();
    let report = testkit::restore_and_verify(&mariadb, &ours, source, &target).unwrap();
    eprintln!("{pages} pages identical; {report:?}; load {stats:?}");
    assert!(report.tables_compared >= 6, "{report:?}");
}

/// `--compress=zstd` into a directory at 4k pages.
#[test]
fn zstd_backup_at_4k_pages_under_load_decompresses_prepares_and_restores() {
    directory_under_load(PageSize::K4, Codec::Zstd { level: 1 }, &["--compress=zstd"]);
}

/// `--stream=xbstream` with `compress` (and `--compress-threads=2`) under load, extracted by
/// the real `mbstream -x`, decompressed, prepared and restored.
fn stream_under_load(page: PageSize, codec: Codec, compress: &[&str]) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let scenario = Scenario::start(&mariadb, page).unwrap();
    let source = &scenario.source;
    let dir = TestDir::new("compress-stream").unwrap();
    let extracted = dir.path().join("extracted");
    std::fs::create_dir_all(&extracted).unwrap();
    let load = scenario.load().unwrap();
    let mut mbstream = Command::new("mbstream")
        .arg("-x")
        .arg("-C")
        .arg(&extracted)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mbstream (mariadb-backup's extractor) is needed");
    let pipe = mbstream.stdin.take().unwrap();
    let out = Command::new(hotbackup())
        .arg("--no-defaults")
        .arg("--backup")
        .arg("--stream=xbstream")
        .args(compress)
        .arg("--compress-threads=2")
        .arg(format!(
            "--target-dir={}",
            dir.path().join("unused").display()
        ))
        .arg(format!("--socket={}", source.socket_path().display()))
        .arg("--user=root")
        .stdin(Stdio::null())
        .stdout(pipe)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let extracted_ok = mbstream.wait_with_output().unwrap();
    let stats = load.stop().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(extracted_ok.status.success(), "mbstream -x failed");
    assert!(stats.total_ops() > 0, "the load must have run: {stats:?}");
    assert_eq!(
        plain_files(&extracted),
        BTreeSet::from(["xtrabackup_checkpoints".to_string()])
    );
    check_compressed(&extracted, codec);
    decompress(&extracted);
    let info = std::fs::read_to_string(extracted.join("xtrabackup_info")).unwrap();
    assert!(
        info.contains("\nformat = mbstream\ncompressed = compressed\n"),
        "{info}"
    );
    let ours = Tool::Hotbackup(hotbackup().to_path_buf());
    ours.prepare(&mariadb, &extracted).unwrap();
    let report = testkit::restore_and_verify(&mariadb, &ours, source, &extracted).unwrap();
    eprintln!("{report:?}; load {stats:?}");
    assert!(report.tables_compared >= 6, "{report:?}");
}

/// Values that cannot be honoured are usage errors (exit 2) before anything is written.
#[test]
fn unsupported_compression_values_exit_2_and_write_nothing() {
    let dir = TestDir::new("compress-usage").unwrap();
    let target = dir.path().join("target");
    for (args, says) in [
        (
            &["--compress=bzip2"][..],
            "Invalid --compress argument: bzip2 (use quicklz, lz4 or zstd)",
        ),
        (
            &["--compress", "--compress-chunk-size=5G"],
            "--compress-chunk-size=5368709120 is more than a qpress block holds",
        ),
        (
            &["--compress=lz4", "--compress-chunk-size=8M"],
            "--compress-chunk-size=8388608 is more than an lz4 block holds (4194304 bytes)",
        ),
    ] {
        let out = Command::new(hotbackup())
            .args(["--no-defaults", "--backup", "--socket=/nonexistent"])
            .arg(format!("--target-dir={}", target.display()))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
        assert!(!target.exists(), "{args:?}");
    }
}
