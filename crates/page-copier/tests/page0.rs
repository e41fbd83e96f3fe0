//! Page 0 of a source file: only a page 0 the server has not written yet is deferred (copied
//! unvalidated); any other page 0 that does not parse is re-read and then fails the copy,
//! with or without `log_corruption`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use innodb::PageNo;
use page_copier::{
    copy_tablespace, CopyError, CopyOptions, NoProgress, Output, Source, SourceKind,
};

const PAGE: usize = 16384;

fn clean_file() -> Vec<u8> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pages/fcrc32_16k_plain.ibd");
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotbackup-page0-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn options(log_corruption: bool) -> CopyOptions {
    CopyOptions {
        retry_delay: Duration::from_millis(5),
        log_corruption,
        ..CopyOptions::default()
    }
}

/// Copies `bytes` as a live `db/t.ibd`; returns the result and the copy's bytes.
fn copy(
    name: &str,
    bytes: &[u8],
    options: &CopyOptions,
) -> (Result<page_copier::CopyReport, CopyError>, Option<Vec<u8>>) {
    let work = scratch(name);
    let live = work.join("t.ibd");
    std::fs::write(&live, bytes).unwrap();
    let source = Source {
        path: live,
        dest: PathBuf::from("db/t.ibd"),
        kind: SourceKind::Table,
        output: Output::Whole,
    };
    let result = copy_tablespace(
        &source,
        &sink::DirSink::new(work.join("backup")),
        options,
        None,
        None,
        &NoProgress,
    );
    let copied = std::fs::read(work.join("backup/db/t.ibd")).ok();
    std::fs::remove_dir_all(work).unwrap();
    (result, copied)
}

#[test]
fn an_unwritten_page0_is_deferred_and_copied_whole() {
    let clean = clean_file();
    let mut zero_page0 = clean.clone();
    zero_page0[..PAGE].fill(0);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("shorter than a page", vec![0x11; 500]),
        ("page 0 all zero, later pages written", zero_page0),
        ("all zero", vec![0; 4 * PAGE]),
    ];
    for (name, bytes) in cases {
        let (result, copied) = copy("deferred", &bytes, &options(false));
        let report = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(report.deferred, "{name}: not deferred");
        assert_eq!(report.space_id, None, "{name}");
        assert_eq!(copied.as_deref(), Some(&bytes[..]), "{name}: copy differs");
    }
}

#[test]
fn an_unparseable_page0_fails_after_every_reread_even_with_log_corruption() {
    let clean = clean_file();
    let space = u32::from_be_bytes(clean[34..38].try_into().unwrap());
    let mut bad_flags = clean.clone();
    // FSP_SPACE_FLAGS (38 + 16): reserved bits set, as random damage would.
    bad_flags[54..58].copy_from_slice(&0xFFFF_FFFFu32.to_be_bytes());
    let mut garbage = clean.clone();
    for (i, b) in garbage[..PAGE].iter_mut().enumerate() {
        *b = (i * 7 + 3) as u8;
    }
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        ("invalid flags", bad_flags, space.to_string()),
        ("garbage page 0", garbage, "?".to_string()),
    ];
    for (name, bytes, expected_space) in cases {
        for log_corruption in [false, true] {
            let options = options(log_corruption);
            let (result, _) = copy("garbage", &bytes, &options);
            match result {
                Err(e @ CopyError::Corrupt { .. }) => {
                    let message = e.to_string();
                    let CopyError::Corrupt {
                        page_no,
                        reads,
                        space,
                        ..
                    } = e
                    else {
                        unreachable!()
                    };
                    assert_eq!(page_no, PageNo(0), "{name}");
                    assert_eq!(reads, options.max_reads, "{name}: not re-read");
                    assert_eq!(space, expected_space, "{name}");
                    assert!(message.contains("t.ibd: page 0 of tablespace"), "{message}");
                    assert!(message.contains("cannot skip it"), "{message}");
                }
                other => panic!("{name}, log_corruption={log_corruption}: {other:?}"),
            }
        }
    }
}

#[test]
fn a_page0_with_a_bad_checksum_is_never_recorded() {
    let mut bytes = clean_file();
    bytes[PAGE - 100] ^= 0xFF;
    for log_corruption in [false, true] {
        let (result, _) = copy("checksum", &bytes, &options(log_corruption));
        match result {
            Err(CopyError::Corrupt { page_no, .. }) => assert_eq!(page_no, PageNo(0)),
            other => panic!("log_corruption={log_corruption}: {other:?}"),
        }
    }
}

#[test]
fn a_page0_that_becomes_valid_on_a_reread_is_copied() {
    let clean = clean_file();
    let work = scratch("heals");
    let live = work.join("t.ibd");
    let mut torn = clean.clone();
    torn[..4096].fill(0x33);
    std::fs::write(&live, &torn).unwrap();
    let fixer = {
        let (live, head) = (live.clone(), clean[..PAGE].to_vec());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(60));
            use std::os::unix::fs::FileExt;
            let f = std::fs::OpenOptions::new().write(true).open(&live).unwrap();
            f.write_all_at(&head, 0).unwrap();
        })
    };
    let options = CopyOptions {
        retry_delay: Duration::from_millis(30),
        ..CopyOptions::default()
    };
    let source = Source {
        path: live,
        dest: PathBuf::from("db/t.ibd"),
        kind: SourceKind::Table,
        output: Output::Whole,
    };
    let report = copy_tablespace(
        &source,
        &sink::DirSink::new(work.join("backup")),
        &options,
        None,
        None,
        &NoProgress,
    )
    .expect("page 0 healed within the re-reads");
    fixer.join().unwrap();
    assert!(report.rereads >= 1, "page 0 was not re-read");
    assert!(!report.deferred);
    assert!(report.space_id.is_some());
    assert_eq!(std::fs::read(work.join("backup/db/t.ibd")).unwrap(), clean);
    std::fs::remove_dir_all(work).unwrap();
}
