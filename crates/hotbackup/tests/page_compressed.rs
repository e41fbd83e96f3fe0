//! page_compressed tablespaces through prepare, with mariadb-backup as the oracle: a
//! server with page_compressed tables (at the default level and at levels 1 and 9, rows
//! inserted, updated, deleted; tables created, filled, renamed and dropped in a loop) is
//! backed up by hotbackup and by mariadb-backup while rows change. Each backup is
//! prepared by both tools; the data files must hold the same pages (byte-identical, or,
//! where a page is stored compressed and the compressors differ, the same page once
//! decompressed), and hotbackup's prepare of either backup, restored, must pass
//! `CHECK TABLE` and, after the binlog replay, have every table's checksum equal to the
//! source's. full_crc32: zlib at 16k, lz4 at 4k, lzma (written uncompressed) at 16k,
//! snappy at 64k, bzip2 at 16k; legacy (innodb_checksum_algorithm=crc32, zlib and lz4 pages) at 64k,
//! where both tools write uncompressed pages and every page is identical; lzo at 4k. Then
//! a page that does not decompress: refused.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use innodb::page::checksum::crc32c;
use innodb::page::{PageCompression, SpaceFlags};
use testkit::{PageSize, TestDir, TestServer, Tool, WriteLoad, WriteLoadOptions};

fn hotbackup() -> Tool {
    Tool::Hotbackup(Path::new(env!("CARGO_BIN_EXE_hotbackup")).to_path_buf())
}

/// The column layout `WriteLoad` writes (testkit's mixed schema).
const COLUMNS: &str = "id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, \
     c VARCHAR(100) NOT NULL, d DATETIME NULL, f DOUBLE NULL, txt TEXT NULL, \
     b MEDIUMBLOB NULL, KEY k_idx (k)";

struct Case {
    page_size: PageSize,
    /// `innodb_checksum_algorithm` of the source.
    checksum: &'static str,
    /// `innodb_compression_algorithm` at start, and (legacy pages record it per page)
    /// the one set before the load.
    algorithms: [&'static str; 2],
}

impl Case {
    fn server_options(&self) -> Vec<String> {
        vec![
            "plugin_load_add=provider_lz4".into(),
            "plugin_load_add=provider_lzma".into(),
            "plugin_load_add=provider_snappy".into(),
            "plugin_load_add=provider_lzo".into(),
            "plugin_load_add=provider_bzip2".into(),
            format!("innodb_checksum_algorithm={}", self.checksum),
            format!("innodb_compression_algorithm={}", self.algorithms[0]),
        ]
    }
}

fn start_source(mariadb: &testkit::MariaDb, case: &Case) -> TestServer {
    let builder = case
        .server_options()
        .iter()
        .fold(mariadb.server(), |b, line| b.option(line));
    let source = builder
        .name("pc-src")
        .page_size(case.page_size)
        .binlog(true)
        .start()
        .unwrap();
    source
        .exec("CREATE DATABASE pc; CREATE DATABASE IF NOT EXISTS test")
        .unwrap();
    for (table, options) in [
        ("t_default", "PAGE_COMPRESSED=1"),
        ("t_level1", "PAGE_COMPRESSED=1 PAGE_COMPRESSION_LEVEL=1"),
        ("t_level9", "PAGE_COMPRESSED=1 PAGE_COMPRESSION_LEVEL=9"),
    ] {
        source
            .exec(&format!(
                "CREATE TABLE pc.{table} ({COLUMNS}) ENGINE=InnoDB {options}"
            ))
            .unwrap();
        source
            .exec(&format!(
                "INSERT INTO pc.{table} (k, c, d, f, txt, b) SELECT seq % 1009, \
                 CONCAT('row-', seq), NOW(), seq / 7, REPEAT(MD5(seq), 1 + seq % 30), \
                 IF(seq % 5 = 0, REPEAT(UNHEX(MD5(seq)), 1 + seq % 300), NULL) \
                 FROM pc.seq_1_to_3000"
            ))
            .unwrap();
    }
    source
        .exec(&format!(
            "SET GLOBAL innodb_compression_algorithm = {}",
            case.algorithms[1]
        ))
        .unwrap();
    flush(&source);
    source
}

/// Writes every dirty page (compressed) so that the backup's log starts after the
/// tables were filled: prepare then reads compressed pages rather than rebuilding them.
fn flush(source: &TestServer) {
    source
        .exec(
            "SET GLOBAL innodb_max_dirty_pages_pct_lwm=0.001, GLOBAL innodb_max_dirty_pages_pct=0",
        )
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, dirty): (String, u64) = source
            .query_one("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")
            .unwrap();
        if dirty == 0 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    source
        .exec("SET GLOBAL innodb_max_dirty_pages_pct=90, GLOBAL innodb_max_dirty_pages_pct_lwm=0")
        .unwrap();
}

fn load(source: &TestServer) -> WriteLoad {
    let options = WriteLoadOptions {
        tables: ["t_default", "t_level1", "t_level9"]
            .iter()
            .map(|t| format!("pc.{t}"))
            .collect(),
        ddl_db: None,
        max_duration: Duration::from_secs(120),
        pause: Duration::ZERO,
        seed: 0x9c_0001,
        lock_wait_timeout_secs: 10,
    };
    let load = WriteLoad::start(source, options).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    load
}

/// CREATE (page_compressed), fill, RENAME and DROP tables in `pc` until `stop`;
/// returns how many tables were created.
fn ddl_loop(source: &TestServer, stop: &AtomicBool) -> u64 {
    let mut created = 0;
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let steps = [
            format!(
                "CREATE TABLE pc.d_{i} (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB \
                 PAGE_COMPRESSED=1"
            ),
            format!(
                "INSERT INTO pc.d_{i} SELECT seq, REPEAT(MD5(seq + {i}), 1 + seq % 20) \
                 FROM pc.seq_1_to_400"
            ),
            format!("RENAME TABLE pc.d_{i} TO pc.r_{i}"),
            format!("DROP TABLE IF EXISTS pc.r_{}", i.saturating_sub(3)),
        ];
        for (n, sql) in steps.iter().enumerate() {
            if source.exec(sql).is_ok() && n == 0 {
                created += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    created
}

/// How two prepared copies compare.
#[derive(Debug, Default)]
struct Compared {
    identical: u64,
    /// Equal once decompressed (the two compressors' bytes differ).
    same_plaintext: u64,
    /// Pages hotbackup stored compressed.
    ours_compressed: u64,
}

/// Compares every data file of `theirs` (mariadb-backup's prepare) and `ours` page by
/// page; panics naming the first pages that differ.
fn compare(theirs: &Path, ours: &Path, page_size: usize) -> Compared {
    let files = testkit::data_files(theirs).unwrap();
    assert_eq!(files, testkit::data_files(ours).unwrap(), "data files");
    let mut out = Compared::default();
    let mut diffs = vec![];
    for rel in &files {
        let a = std::fs::read(theirs.join(rel)).unwrap();
        let b = std::fs::read(ours.join(rel)).unwrap();
        assert_eq!(a.len(), b.len(), "{}: size", rel.display());
        let flags = u32::from_be_bytes(b[54..58].try_into().unwrap());
        let codec = SpaceFlags::parse(flags)
            .ok()
            .and_then(|f| PageCompression::for_space(&f, 6));
        for (n, (pa, pb)) in a.chunks(page_size).zip(b.chunks(page_size)).enumerate() {
            let plain = |p: &[u8]| {
                let d = codec.as_ref()?.decompress(p).ok()?;
                d.is_some().then_some(d)?
            };
            if plain(pb).is_some() {
                out.ours_compressed += 1;
            }
            if pa == pb {
                out.identical += 1;
                continue;
            }
            let (da, db) = (
                plain(pa).unwrap_or_else(|| pa.to_vec()),
                plain(pb).unwrap_or_else(|| pb.to_vec()),
            );
            // The server compresses a plaintext whose checksum field it has not
            // stamped (full_crc32): the last 4 bytes are left out.
            if codec.is_some() && da[..page_size - 4] == db[..page_size - 4] {
                out.same_plaintext += 1;
            } else {
                let first = da.iter().zip(&db).position(|(x, y)| x != y);
                diffs.push(format!(
                    "{} page {n} (compressed: theirs {}, ours {}; types {:02x?} {:02x?}; \
                     plaintexts differ from byte {first:?})",
                    rel.display(),
                    plain(pa).is_some(),
                    plain(pb).is_some(),
                    &pa[24..26],
                    &pb[24..26],
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "pages differ: {:?}",
        &diffs[..diffs.len().min(20)]
    );
    out
}

fn run(case: Case) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let page_size = case.page_size.bytes() as usize;
    let source = start_source(&mariadb, &case);
    let options = case.server_options();
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let running = load(&source);
    let dir = TestDir::new("page-compressed").unwrap();
    let ours = dir.path().join("hotbackup");
    let theirs = dir.path().join("mariadb-backup");
    let stop = AtomicBool::new(false);
    let created = std::thread::scope(|s| {
        let ddl = s.spawn(|| ddl_loop(&source, &stop));
        hotbackup()
            .backup(&source, &ours, &["--parallel=2"])
            .unwrap();
        Tool::MariaBackup.backup(&source, &theirs, &[]).unwrap();
        stop.store(true, Ordering::Relaxed);
        ddl.join().unwrap()
    });
    let stats = running.stop().unwrap();
    assert!(
        stats.total_ops() > 0 && created > 0,
        "{stats:?}, {created} created"
    );

    for (what, backup) in [("hotbackup's backup", &ours), ("mariadb-backup's", &theirs)] {
        let by_them = dir
            .path()
            .join(format!("{}-by-mariadb-backup", backup.display()));
        testkit::copy_dir(backup, &by_them).unwrap();
        // mariadb-backup's prepare loads the provider plugins backup-my.cnf names: both
        // tools' backups name them (from the server's plugins).
        let cnf = std::fs::read_to_string(by_them.join("backup-my.cnf")).unwrap();
        assert!(
            cnf.contains("plugin_load=") && cnf.contains("provider_lz4=provider_lz4"),
            "{what}: backup-my.cnf names no provider plugin:\n{cnf}"
        );
        Tool::MariaBackup.prepare(&mariadb, &by_them).unwrap();
        let stderr = hotbackup().prepare(&mariadb, backup).unwrap();
        assert!(stderr.contains("completed OK!"), "{stderr}");
        let compared = compare(&by_them, backup, page_size);
        eprintln!(
            "{what}, {:?} {}: {compared:?}",
            case.page_size, case.checksum
        );
        if case.checksum == "crc32" {
            // Legacy pages: both tools write them uncompressed.
            assert_eq!(compared.same_plaintext, 0, "{compared:?}");
        }
        let report =
            testkit::restore_and_verify_with(&mariadb, &hotbackup(), &source, backup, &options)
                .unwrap();
        assert!(report.tables_compared >= 3, "{report:?}");
    }
}

#[test]
fn full_crc32_zlib_16k() {
    run(Case {
        page_size: PageSize::K16,
        checksum: "full_crc32",
        algorithms: ["zlib", "zlib"],
    });
}

#[test]
fn full_crc32_lz4_4k() {
    run(Case {
        page_size: PageSize::K4,
        checksum: "full_crc32",
        algorithms: ["lz4", "lz4"],
    });
}

/// lzma has a decoder here but no encoder: the changed pages are written uncompressed.
#[test]
fn full_crc32_lzma_16k() {
    run(Case {
        page_size: PageSize::K16,
        checksum: "full_crc32",
        algorithms: ["lzma", "lzma"],
    });
}

#[test]
fn full_crc32_snappy_64k() {
    run(Case {
        page_size: PageSize::K64,
        checksum: "full_crc32",
        algorithms: ["snappy", "snappy"],
    });
}

/// lzo: read by hotbackup's own decoder, written uncompressed (no encoder).
#[test]
fn full_crc32_lzo_4k() {
    run(Case {
        page_size: PageSize::K4,
        checksum: "full_crc32",
        algorithms: ["lzo", "lzo"],
    });
}

#[test]
fn full_crc32_bzip2_16k() {
    run(Case {
        page_size: PageSize::K16,
        checksum: "full_crc32",
        algorithms: ["bzip2", "bzip2"],
    });
}

#[test]
fn legacy_zlib_then_lz4_64k() {
    run(Case {
        page_size: PageSize::K64,
        checksum: "crc32",
        algorithms: ["zlib", "lz4"],
    });
}

/// A page of a compressed page_compressed image that does not decompress is a corrupt
/// page: exit 8 naming file, space and page, and nothing written.
#[test]
fn undecompressable_page_is_refused_before_any_write() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let case = Case {
        page_size: PageSize::K16,
        checksum: "full_crc32",
        algorithms: ["zlib", "zlib"],
    };
    let source = start_source(&mariadb, &case);
    // The tables are flushed (compressed); the load's changes are in the backup's log.
    let running = load(&source);
    let dir = TestDir::new("page-compressed-bad").unwrap();
    let backup = dir.path().join("b");
    hotbackup().backup(&source, &backup, &[]).unwrap();
    running.stop().unwrap();
    let file = backup.join("pc/t_default.ibd");
    let mut bytes = std::fs::read(&file).unwrap();
    // Every compressed page's stream damaged and its checksum re-stamped, so that only
    // decompression can tell; the load changed some of them.
    let mut damaged = 0;
    for page in bytes.chunks_mut(16384).skip(1) {
        if page[24] & 0x80 == 0 {
            continue;
        }
        let s = usize::from(page[25]) * 256;
        page[40..48].copy_from_slice(b"garbage!");
        let crc = crc32c(&page[..s - 4]);
        page[s - 4..s].copy_from_slice(&crc.to_be_bytes());
        damaged += 1;
    }
    assert!(damaged > 0, "the backup holds compressed pages");
    std::fs::write(&file, &bytes).unwrap();
    let before = testkit::file_snapshot(&backup);
    let err = hotbackup()
        .prepare(&mariadb, &backup)
        .unwrap_err()
        .to_string();
    assert!(err.contains("exit status: 8"), "{err}");
    assert!(
        err.contains("t_default.ibd: page") && err.contains("is corrupt (page_compressed"),
        "{err}"
    );
    assert!(testkit::file_snapshot(&backup) == before, "nothing written");
}
