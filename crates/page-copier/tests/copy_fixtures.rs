//! The copier against the real page fixtures in `testdata/pages`: clean files copy
//! byte for byte, corrupt ones fail at the right page (or are recorded), and a page that is
//! torn only for a moment is re-read and copied intact.

use std::path::{Path, PathBuf};
use std::time::Duration;

use innodb::PageNo;
use page_copier::{
    copy_tablespace, CopyError, CopyOptions, NoProgress, Output, Source, SourceKind,
};

fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pages");
    assert!(
        dir.is_dir(),
        "fixture directory {} is missing: the repository's testdata/ is incomplete",
        dir.display()
    );
    dir
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotbackup-copier-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fast_options() -> CopyOptions {
    CopyOptions {
        retry_delay: Duration::from_millis(5),
        ..CopyOptions::default()
    }
}

fn table(path: PathBuf) -> Source {
    let name = path.file_name().unwrap().to_owned();
    Source {
        path,
        dest: PathBuf::from("db").join(name),
        kind: SourceKind::Table,
        output: Output::Whole,
    }
}

#[test]
fn clean_fixtures_copy_byte_for_byte() {
    let dest = scratch("clean");
    let mut n = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".ibd") || name.starts_with("corrupt_") {
            continue;
        }
        let source = table(path.clone());
        let report = copy_tablespace(
            &source,
            &sink::DirSink::new(&dest),
            &fast_options(),
            None,
            None,
            &NoProgress,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let original = std::fs::read(&path).unwrap();
        let copy = std::fs::read(dest.join(&source.dest)).unwrap();
        assert!(original == copy, "{name}: copy differs from the source");
        assert_eq!(report.bytes, original.len() as u64, "{name}");
        assert_eq!(report.rereads, 0, "{name}: clean file needed re-reads");
        assert!(!report.deferred, "{name}");
        n += 1;
    }
    assert!(n >= 10, "expected the clean fixtures, found {n}");
    std::fs::remove_dir_all(dest).unwrap();
}

#[test]
fn corrupt_fixtures_fail_at_the_right_page() {
    let cases: &[(&str, u32)] = &[
        ("corrupt_fcrc32_16k_plain.ibd", 3),
        ("corrupt_legacy_zip8k.ibd", 5),
        ("corrupt_legacy_page_compressed_lzma.ibd", 6),
    ];
    for (name, page) in cases {
        let dest = scratch("corrupt");
        let source = table(fixtures().join(name));
        match copy_tablespace(
            &source,
            &sink::DirSink::new(&dest),
            &fast_options(),
            None,
            None,
            &NoProgress,
        ) {
            Err(CopyError::Corrupt { page_no, reads, .. }) => {
                assert_eq!(page_no, PageNo(*page), "{name}");
                assert_eq!(reads, 10, "{name}");
            }
            other => panic!("{name}: expected corruption at page {page}, got {other:?}"),
        }
        std::fs::remove_dir_all(dest).unwrap();
    }
}

#[test]
fn log_corruption_records_every_bad_page_and_copies_on() {
    let dest = scratch("logcorrupt");
    let source = table(fixtures().join("corrupt_fcrc32_16k_plain.ibd"));
    let options = CopyOptions {
        log_corruption: true,
        ..fast_options()
    };
    let report = copy_tablespace(
        &source,
        &sink::DirSink::new(&dest),
        &options,
        None,
        None,
        &NoProgress,
    )
    .unwrap();
    let pages: Vec<u32> = report.corrupt_pages.iter().map(|c| c.page_no.0).collect();
    assert_eq!(pages, vec![3, 5]);
    let original = std::fs::read(&source.path).unwrap();
    assert_eq!(std::fs::read(dest.join(&source.dest)).unwrap(), original);
    std::fs::remove_dir_all(dest).unwrap();
}

#[test]
fn a_page_torn_for_a_moment_is_reread_and_copied_intact() {
    let work = scratch("torn");
    let clean = std::fs::read(fixtures().join("fcrc32_16k_plain.ibd")).unwrap();
    let live = work.join("live.ibd");
    let mut torn = clean.clone();
    // Second half of page 4 not yet written, as if our read overlapped the server's write.
    torn[4 * 16384 + 8192..5 * 16384].fill(0);
    std::fs::write(&live, &torn).unwrap();
    let fixer = {
        let live = live.clone();
        let clean = clean.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(40));
            // The server's write completes in place (no truncation, as pwrite).
            use std::os::unix::fs::FileExt;
            let f = std::fs::OpenOptions::new().write(true).open(&live).unwrap();
            f.write_all_at(&clean[4 * 16384..5 * 16384], 4 * 16384)
                .unwrap();
        })
    };
    let options = CopyOptions {
        retry_delay: Duration::from_millis(20),
        ..CopyOptions::default()
    };
    let dest = work.join("backup");
    let report = copy_tablespace(
        &table(live),
        &sink::DirSink::new(&dest),
        &options,
        None,
        None,
        &NoProgress,
    )
    .unwrap();
    fixer.join().unwrap();
    assert!(report.rereads >= 1, "the torn page was not re-read");
    assert_eq!(std::fs::read(dest.join("db/live.ibd")).unwrap(), clean);
    std::fs::remove_dir_all(work).unwrap();
}

#[test]
fn an_existing_destination_is_never_overwritten() {
    let dest = scratch("exists");
    let source = table(fixtures().join("fcrc32_4k_plain.ibd"));
    std::fs::create_dir_all(dest.join("db")).unwrap();
    std::fs::write(dest.join(&source.dest), b"precious").unwrap();
    let err = copy_tablespace(
        &source,
        &sink::DirSink::new(&dest),
        &fast_options(),
        None,
        None,
        &NoProgress,
    )
    .expect_err("must refuse to overwrite");
    assert!(matches!(err, CopyError::Write { .. }), "{err:?}");
    assert_eq!(std::fs::read(dest.join(&source.dest)).unwrap(), b"precious");
    std::fs::remove_dir_all(dest).unwrap();
}

#[test]
fn a_dropped_table_is_reported_as_vanished() {
    let dest = scratch("vanished");
    let source = table(dest.join("no_such_table.ibd"));
    let err = copy_tablespace(
        &source,
        &sink::DirSink::new(&dest),
        &fast_options(),
        None,
        None,
        &NoProgress,
    )
    .expect_err("missing file");
    assert!(matches!(err, CopyError::Vanished { .. }), "{err:?}");
    assert!(
        !dest.join(&source.dest).exists(),
        "no destination file for a vanished source"
    );
    std::fs::remove_dir_all(dest).unwrap();
}

#[test]
fn a_deferred_tablespace_is_copied_whole_whatever_its_size() {
    // A table whose creation the server has not flushed: page 0 all zero, size not a
    // multiple of the largest page size. It must be copied byte for byte, unvalidated.
    let work = scratch("deferred");
    let live = work.join("new_table.ibd");
    let mut bytes = vec![0u8; 40960];
    // Page 1 reached the disk before page 0 (the server flushes them independently).
    bytes[16384 + 4..16384 + 8].copy_from_slice(&1u32.to_be_bytes());
    bytes[20000] = 7;
    std::fs::write(&live, &bytes).unwrap();
    let dest = work.join("backup");
    let report = copy_tablespace(
        &table(live),
        &sink::DirSink::new(&dest),
        &fast_options(),
        None,
        None,
        &NoProgress,
    )
    .unwrap();
    assert!(report.deferred);
    assert_eq!(report.bytes, 40960);
    assert_eq!(std::fs::read(dest.join("db/new_table.ibd")).unwrap(), bytes);
    std::fs::remove_dir_all(work).unwrap();
}

#[test]
fn a_large_file_copies_intact_through_the_read_write_pipeline() {
    // Several batches (small batch size) so reading and writing overlap.
    let work = scratch("pipeline");
    let clean = std::fs::read(fixtures().join("fcrc32_16k_encrypted.ibd")).unwrap();
    let live = work.join("big.ibd");
    std::fs::write(&live, &clean).unwrap();
    let options = CopyOptions {
        batch_pages: 3,
        ..fast_options()
    };
    let dest = work.join("backup");
    let report = copy_tablespace(
        &table(live),
        &sink::DirSink::new(&dest),
        &options,
        None,
        None,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(report.pages as usize, clean.len() / 16384);
    assert_eq!(std::fs::read(dest.join("db/big.ibd")).unwrap(), clean);
    std::fs::remove_dir_all(work).unwrap();
}
