//! `hotbackup --decompress` on backups made by `mariadb-backup --backup --compress`: the
//! decompressed backup prepares and restores to the source's data; a damaged `.qp`, `.lz4`
//! or `.zst` fails with exit 8 naming the file and offset and leaves everything in place; an
//! existing output is never overwritten; files the real `lz4`/`zstd` tools made are read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use testkit::{MariaDb, TestDir, TestServer, Tool, WriteLoad, WriteLoadOptions};

fn hotbackup() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hotbackup"))
}

fn decompress(target: &Path, extra: &[&str]) -> Output {
    Command::new(hotbackup())
        .arg("--no-defaults")
        .arg("--decompress")
        .arg(format!("--target-dir={}", target.display()))
        .args(extra)
        .output()
        .unwrap()
}

/// Every file under `dir` whose name ends with `suffix`, relative to `dir`, sorted.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, rel: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let rel = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &rel, suffix, out);
            } else if e.file_name().to_string_lossy().ends_with(suffix) {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, Path::new(""), suffix, &mut out);
    out.sort();
    out
}

/// A small source with binlog and the mixed tables, backed up by mariadb-backup with
/// `--compress` while a write load runs.
fn compressed_backup(mariadb: &MariaDb, dir: &TestDir) -> (TestServer, PathBuf) {
    let source = mariadb.server().name("src").binlog(true).start().unwrap();
    let schema = testkit::create_mixed_schema(&source, "mix", 200).unwrap();
    let load = WriteLoad::start(&source, WriteLoadOptions::for_schema(&schema)).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let target = dir.path().join("backup");
    Tool::MariaBackup
        .backup(&source, &target, &["--compress", "--compress-threads=2"])
        .unwrap();
    load.stop().unwrap();
    (source, target)
}

#[test]
fn mariadb_backup_compressed_backup_decompresses_prepares_and_restores() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("decompress").unwrap();
    let (source, target) = compressed_backup(&mariadb, &dir);
    let archives = files_ending(&target, ".qp");
    assert!(archives.len() > 10, "{archives:?}");

    let out = decompress(&target, &["--remove-original", "--parallel=2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("completed OK!"), "{stderr}");
    assert!(files_ending(&target, ".qp").is_empty(), "{stderr}");
    assert!(files_ending(&target, ".hotbackup-tmp").is_empty());
    for qp in &archives {
        let name = qp.to_str().unwrap().strip_suffix(".qp").unwrap();
        assert!(
            target.join(name).is_file(),
            "{name} missing after --decompress"
        );
        assert!(
            stderr.contains(&format!("decompressing ./{}", qp.display())),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("Removing ./{}", qp.display())),
            "{stderr}"
        );
    }

    Tool::Hotbackup(hotbackup().to_path_buf())
        .prepare(&mariadb, &target)
        .unwrap();
    let report =
        testkit::restore_and_verify(&mariadb, &Tool::MariaBackup, &source, &target).unwrap();
    eprintln!("{} archives; {report:?}", archives.len());
}

#[test]
fn damaged_archive_exits_8_and_nothing_is_removed_or_overwritten() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("decompress-bad").unwrap();
    let source = mariadb.server().name("src").start().unwrap();
    source
        .exec(
            "CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB;\
             INSERT INTO d.t SELECT seq, REPEAT('abc', seq % 300) FROM d.seq_1_to_3000;",
        )
        .unwrap();
    let target = dir.path().join("backup");
    Tool::MariaBackup
        .backup(&source, &target, &["--compress"])
        .unwrap();
    drop(source);

    // Damage one byte in the middle of the second block of ibdata1.qp.
    let victim = target.join("ibdata1.qp");
    let mut bytes = std::fs::read(&victim).unwrap();
    let second = bytes
        .windows(8)
        .enumerate()
        .filter(|(_, w)| w == b"NEWBNEWB")
        .nth(1)
        .map(|(at, _)| at)
        .unwrap();
    let block_at = second + 20;
    bytes[block_at + 40] ^= 0x55;
    std::fs::write(&victim, &bytes).unwrap();
    let before = files_ending(&target, ".qp");

    let out = decompress(&target, &["--remove-original"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} is damaged: block checksum mismatch",
            victim.display()
        )) && stderr.contains(&format!("at byte {block_at}")),
        "{stderr}"
    );
    assert!(
        std::fs::read(&victim).unwrap() == bytes,
        "the damaged archive was changed"
    );
    assert!(
        !target.join("ibdata1").exists(),
        "partial output under the final name"
    );
    assert!(files_ending(&target, ".hotbackup-tmp").is_empty());

    // Files decompressed before the failure are complete; their archives are gone only
    // because --remove-original was given.
    let after = files_ending(&target, ".qp");
    assert!(after.contains(&PathBuf::from("ibdata1.qp")));
    for qp in before.iter().filter(|p| !after.contains(p)) {
        let name = qp.to_str().unwrap().strip_suffix(".qp").unwrap();
        assert!(target.join(name).is_file(), "{name}");
    }

    // An archive whose output exists: refused before anything is written, the file kept.
    std::fs::write(target.join("extra.qp"), qpress_archive(b"extra", b"new")).unwrap();
    std::fs::write(target.join("extra"), b"old").unwrap();
    let out = decompress(&target, &["--remove-original"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("extra already exists and is never overwritten"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(target.join("extra")).unwrap(), b"old");
    assert_eq!(files_ending(&target, ".qp").len(), after.len() + 1);
}

/// mariadb-backup 10.11 refuses names it would pass to a shell (MDEV-39565): exit 1, nothing
/// written.
#[test]
fn unsafe_file_name_is_refused_before_anything_is_written() {
    let dir = TestDir::new("decompress-name").unwrap();
    let good = dir.path().join("good.qp");
    std::fs::write(&good, qpress_archive(b"good", b"payload")).unwrap();
    std::fs::write(dir.path().join("a;touch b.qp"), b"foo\n").unwrap();
    let out = decompress(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("FATAL ERROR: invalid file name ./a;touch b.qp"),
        "{stderr}"
    );
    assert!(!dir.path().join("good").exists());
    assert!(!dir.path().join("b.qp").exists());

    // A temporary file left by a killed run is replaced, never published.
    std::fs::remove_file(dir.path().join("a;touch b.qp")).unwrap();
    std::fs::write(dir.path().join(".good.hotbackup-tmp"), b"partial").unwrap();
    let out = decompress(dir.path(), &["--remove-original"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(dir.path().join("good")).unwrap(), b"payload");
    assert!(!good.exists());
    assert!(!dir.path().join(".good.hotbackup-tmp").exists());
}

fn qpress_archive(name: &[u8], data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut c = qpress::Compressor::new(Vec::new(), name, qpress::DEFAULT_CHUNK_SIZE).unwrap();
    c.write_all(data).unwrap();
    c.finish().unwrap()
}

/// `NAME.lz4` / `NAME.zst` from the real `lz4` / `zstd` tools (default options, and linked
/// lz4 blocks) and from hotbackup's own frames: decompressed, originals removed.
#[test]
fn lz4_and_zstd_files_of_the_real_tools_and_ours_decompress() {
    let dir = TestDir::new("decompress-frames").unwrap();
    let data: Vec<u8> = (0..1_500_000u32).map(|i| ((i / 5) % 199) as u8).collect();
    let mut made = Vec::new();
    for (tool, args, name) in [
        ("lz4", &["-q", "-f"][..], "a.ibd"),
        ("lz4", &["-q", "-f", "-BD"], "b.ibd"),
        ("zstd", &["-q", "-f", "-3"], "c.ibd"),
    ] {
        let plain = dir.path().join(name);
        std::fs::write(&plain, &data).unwrap();
        let compressed = dir.path().join(format!(
            "{name}.{}",
            if tool == "lz4" { "lz4" } else { "zst" }
        ));
        let mut cmd = Command::new(tool);
        cmd.args(args).arg(&plain);
        if tool == "zstd" {
            cmd.arg("-o");
        }
        match cmd.arg(&compressed).status() {
            Ok(s) => assert!(s.success(), "{tool} {args:?}"),
            Err(e) => {
                eprintln!("{tool} not run ({e}): skipped");
                std::fs::remove_file(&plain).unwrap();
                continue;
            }
        }
        std::fs::remove_file(&plain).unwrap();
        made.push(name);
    }
    for (codec, name) in [
        (sink::Codec::Lz4, "d.MYD"),
        (sink::Codec::Zstd { level: 1 }, "e.MYD"),
    ] {
        let sink =
            sink::CompressSink::new(Box::new(sink::DirSink::new(dir.path())), codec, 65536, 2)
                .unwrap();
        let mut f = sink::Sink::create(&sink, Path::new(name)).unwrap();
        f.write_all(&data).unwrap();
        f.close().unwrap();
        made.push(name);
    }
    let out = decompress(dir.path(), &["--remove-original", "--parallel=2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in made {
        assert!(
            std::fs::read(dir.path().join(name)).unwrap() == data,
            "{name}"
        );
    }
    assert!(files_ending(dir.path(), ".lz4").is_empty());
    assert!(files_ending(dir.path(), ".zst").is_empty());
}

/// A damaged or cut `.lz4` / `.zst`: exit 8 naming the file and the byte offset of the
/// damaged frame; the file is kept and no output is left.
#[test]
fn damaged_lz4_and_zstd_files_exit_8_naming_file_and_offset() {
    let data: Vec<u8> = (0..300_000u32).map(|i| ((i / 3) % 101) as u8).collect();
    for (codec, suffix) in [
        (sink::Codec::Lz4, "lz4"),
        (sink::Codec::Zstd { level: 1 }, "zst"),
    ] {
        let dir = TestDir::new(&format!("decompress-bad-{suffix}")).unwrap();
        let sink =
            sink::CompressSink::new(Box::new(sink::DirSink::new(dir.path())), codec, 65536, 1)
                .unwrap();
        let mut f = sink::Sink::create(&sink, Path::new("t.ibd")).unwrap();
        f.write_all(&data).unwrap();
        f.close().unwrap();
        let victim = dir.path().join(format!("t.ibd.{suffix}"));
        let good = std::fs::read(&victim).unwrap();
        // The second frame starts after the first: find it by its magic number.
        let magic: &[u8] = if suffix == "lz4" {
            &[0x04, 0x22, 0x4D, 0x18]
        } else {
            &[0x28, 0xB5, 0x2F, 0xFD]
        };
        let second = good
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == magic)
            .nth(1)
            .map(|(at, _)| at)
            .unwrap();
        let mut flipped = good.clone();
        flipped[second + 40] ^= 0x55;
        for (bytes, says) in [
            (flipped, format!("at byte {second}")),
            (
                good[..good.len() - 3].to_vec(),
                "file ends inside".to_string(),
            ),
        ] {
            std::fs::write(&victim, &bytes).unwrap();
            let out = decompress(dir.path(), &["--remove-original"]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(8), "{suffix}: {stderr}");
            assert!(
                stderr.contains(&format!("{} is damaged: ", victim.display()))
                    && stderr.contains(&says),
                "{suffix}: {stderr}"
            );
            assert!(
                std::fs::read(&victim).unwrap() == bytes,
                "{suffix}: file changed"
            );
            assert!(!dir.path().join("t.ibd").exists(), "{suffix}: output left");
            assert!(files_ending(dir.path(), ".hotbackup-tmp").is_empty());
        }
    }
}
