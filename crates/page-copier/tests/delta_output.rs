//! The copier's delta output (incremental backup) against mariadb-backup 10.11's own deltas
//! (`testdata/pages/inc4k_*`): a live file rebuilt from a delta's pages is copied back into
//! the same delta bytes and the same `.meta`; pages not newer than the base stay out; a table
//! whose page 0 is not written yet writes nothing.

use std::path::{Path, PathBuf};

use delta::DeltaReader;
use innodb::Lsn;
use page_copier::{copy_tablespace, CopyOptions, NoProgress, Output, Source, SourceKind};

/// `from_lsn` of the incremental the fixtures come from (`inc4k_xtrabackup_checkpoints`).
const FROM_LSN: u64 = 4249980;
const PAGE: usize = 4096;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/pages")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotbackup-delta-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// (page number, page) of every page of a delta.
fn pages_of(delta: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let mut reader = DeltaReader::new(delta, PAGE).unwrap();
    let mut pages = Vec::new();
    while let Some(c) = reader.next_cluster().unwrap() {
        pages.extend(c.pages().map(|(n, p)| (n, p.to_vec())));
    }
    pages
}

/// A live file holding `pages` at their numbers, zeros elsewhere (zero pages are valid).
fn live_file(pages: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let last = pages.iter().map(|p| p.0).max().unwrap() as usize;
    let mut file = vec![0u8; (last + 1) * PAGE];
    for (n, p) in pages {
        file[*n as usize * PAGE..(*n as usize + 1) * PAGE].copy_from_slice(p);
    }
    file
}

fn lsn_of(page: &[u8]) -> u64 {
    u64::from_be_bytes(page[16..24].try_into().unwrap())
}

/// Copies `file` as `db/t.ibd` with a delta output after `after`; returns the report, the
/// `.delta` and the `.meta` written (None when absent).
fn copy_delta(
    name: &str,
    file: &[u8],
    after: u64,
) -> (page_copier::CopyReport, Option<Vec<u8>>, Option<Vec<u8>>) {
    let work = scratch(name);
    let live = work.join("t.ibd");
    std::fs::write(&live, file).unwrap();
    let source = Source {
        path: live,
        dest: PathBuf::from("db/t.ibd"),
        kind: SourceKind::Table,
        output: Output::Delta { after: Lsn(after) },
    };
    let report = copy_tablespace(
        &source,
        &sink::DirSink::new(work.join("backup")),
        &CopyOptions::default(),
        None,
        None,
        &NoProgress,
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let delta = std::fs::read(work.join("backup/db/t.ibd.delta")).ok();
    let meta = std::fs::read(work.join("backup/db/t.ibd.meta")).ok();
    assert!(
        !work.join("backup/db/t.ibd").exists(),
        "{name}: a delta copy wrote the whole file"
    );
    std::fs::remove_dir_all(work).unwrap();
    (report, delta, meta)
}

#[test]
fn mariadb_backups_deltas_are_reproduced_byte_for_byte() {
    for name in ["inc4k_t_plain.ibd", "inc4k_t_big.ibd"] {
        let expected = fixture(&format!("{name}.delta"));
        let pages = pages_of(&expected);
        let (report, delta, meta) = copy_delta(name, &live_file(&pages), FROM_LSN);
        assert!(
            delta.as_deref() == Some(&expected[..]),
            "{name}: delta differs"
        );
        assert_eq!(
            meta.as_deref(),
            Some(&fixture(&format!("{name}.meta"))[..]),
            "{name}: .meta differs"
        );
        assert_eq!(report.delta_pages, pages.len() as u64, "{name}");
        assert!(!report.left_out && !report.deferred, "{name}");
    }
}

#[test]
fn only_pages_newer_than_the_base_go_in() {
    let pages = pages_of(&fixture("inc4k_t_big.ibd.delta"));
    let file = live_file(&pages);
    let mut lsns: Vec<u64> = pages.iter().map(|(_, p)| lsn_of(p)).collect();
    lsns.sort_unstable();
    for after in [lsns[0] - 1, lsns[lsns.len() / 2], lsns[lsns.len() - 1]] {
        let (report, delta, _) = copy_delta("filter", &file, after);
        let got: Vec<u32> = pages_of(&delta.unwrap()).iter().map(|p| p.0).collect();
        let want: Vec<u32> = pages
            .iter()
            .filter(|(_, p)| lsn_of(p) > after)
            .map(|p| p.0)
            .collect();
        assert_eq!(got, want, "after {after}");
        assert_eq!(report.delta_pages, want.len() as u64);
    }
    // Nothing newer: one empty final cluster (mariadb-backup's 1-page delta).
    let (_, delta, _) = copy_delta("none", &file, lsns[lsns.len() - 1]);
    let delta = delta.unwrap();
    assert_eq!(delta.len(), PAGE);
    assert_eq!(&delta[..8], b"XTRA\xff\xff\xff\xff");
}

#[test]
fn a_table_whose_page_0_is_not_written_writes_nothing() {
    let (report, delta, meta) = copy_delta("deferred", &vec![0u8; 4 * 16384], 0);
    assert!(report.deferred && report.left_out);
    assert_eq!((delta, meta), (None, None));
}

/// With `--log-innodb-page-corruption`, a page that stays corrupt goes into the delta
/// whatever its LSN (as mariadb-backup's `wf_incremental`), and is reported.
#[test]
fn a_recorded_corrupt_page_goes_into_the_delta() {
    let work = scratch("corrupt");
    let source = Source {
        path: Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/pages/corrupt_fcrc32_16k_plain.ibd"),
        dest: PathBuf::from("db/t.ibd"),
        kind: SourceKind::Table,
        // No page is newer than this: only the corrupt one may go in.
        output: Output::Delta {
            after: Lsn(u64::MAX),
        },
    };
    let options = CopyOptions {
        log_corruption: true,
        retry_delay: std::time::Duration::from_millis(1),
        ..CopyOptions::default()
    };
    let report = copy_tablespace(
        &source,
        &sink::DirSink::new(work.join("backup")),
        &options,
        None,
        None,
        &NoProgress,
    )
    .unwrap();
    let corrupt: Vec<u32> = report.corrupt_pages.iter().map(|c| c.page_no.0).collect();
    assert!(corrupt.contains(&3), "{corrupt:?}");
    let delta = std::fs::read(work.join("backup/db/t.ibd.delta")).unwrap();
    let mut reader = DeltaReader::new(&delta[..], 16384).unwrap();
    let cluster = reader.next_cluster().unwrap().unwrap();
    assert_eq!(cluster.page_numbers, &corrupt[..]);
    assert_eq!(report.delta_pages, corrupt.len() as u64);
    std::fs::remove_dir_all(work).unwrap();
}
