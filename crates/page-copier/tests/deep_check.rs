//! The caller's further page check (`CopyOptions::deep_check`, `--extended-validation`): it
//! sees page 0 and every page with content, a page it rejects is re-read like a torn one
//! (each retry reported) and then fails the copy or is recorded, and a tablespace it cannot
//! check fails the copy before anything is written.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use innodb::page::PageValidator;
use innodb::PageNo;
use page_copier::{
    copy_tablespace, CopyError, CopyOptions, DeepCheck, Output, Progress, Source, SourceKind,
    SpaceCheck,
};

/// Rejects the listed pages; `Err` from `for_space` when `refuse` is set.
#[derive(Debug, Default)]
struct Reject {
    pages: Vec<u32>,
    refuse: Option<String>,
    page0_len: Mutex<Option<usize>>,
}

struct RejectSpace(Vec<u32>);

impl SpaceCheck for RejectSpace {
    fn check(&self, _page: &[u8], page_no: PageNo) -> Option<String> {
        self.0
            .contains(&page_no.0)
            .then(|| format!("page {} rejected", page_no.0))
    }
}

impl DeepCheck for Reject {
    fn for_space(
        &self,
        _validator: &PageValidator,
        page0: Option<&[u8]>,
    ) -> Result<Option<Box<dyn SpaceCheck>>, String> {
        *self.page0_len.lock().unwrap() = page0.map(<[u8]>::len);
        if let Some(why) = &self.refuse {
            return Err(why.clone());
        }
        Ok(Some(Box::new(RejectSpace(self.pages.clone()))))
    }
}

#[derive(Default)]
struct Retries(Mutex<Vec<(u32, String)>>);

impl Progress for Retries {
    fn copied(&self, _: &Path, _: u64) {}
    fn warn(&self, _: &str) {}
    fn retrying(&self, _: &Path, page_no: PageNo, reason: &str) {
        self.0.lock().unwrap().push((page_no.0, reason.to_string()));
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotbackup-deep-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn source() -> Source {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pages/fcrc32_16k_plain.ibd");
    Source {
        path,
        dest: PathBuf::from("db/t.ibd"),
        kind: SourceKind::Table,
        output: Output::Whole,
    }
}

fn options(check: Arc<Reject>, log_corruption: bool) -> CopyOptions {
    CopyOptions {
        retry_delay: Duration::from_millis(1),
        log_corruption,
        deep_check: Some(check),
        ..CopyOptions::default()
    }
}

#[test]
fn a_page_the_check_rejects_is_reread_then_fails_the_copy() {
    let dest = scratch("fails");
    let check = Arc::new(Reject {
        pages: vec![3],
        ..Reject::default()
    });
    let progress = Retries::default();
    let sink = sink::DirSink::new(&dest);
    match copy_tablespace(
        &source(),
        &sink,
        &options(check.clone(), false),
        None,
        None,
        &progress,
    ) {
        Err(CopyError::Corrupt {
            page_no,
            reads,
            reason,
            ..
        }) => {
            assert_eq!((page_no, reads), (PageNo(3), 10));
            assert_eq!(reason, "page 3 rejected");
        }
        other => panic!("expected page 3 corrupt, got {other:?}"),
    }
    let retries = progress.0.lock().unwrap();
    assert_eq!(retries.len(), 9, "{retries:?}");
    assert!(retries
        .iter()
        .all(|(p, r)| *p == 3 && r == "page 3 rejected"));
    assert_eq!(
        *check.page0_len.lock().unwrap(),
        Some(16384),
        "page 0 handed over"
    );
    std::fs::remove_dir_all(dest).unwrap();
}

#[test]
fn with_log_corruption_a_rejected_page_is_recorded() {
    let dest = scratch("recorded");
    let check = Arc::new(Reject {
        pages: vec![2, 3],
        ..Reject::default()
    });
    let report = copy_tablespace(
        &source(),
        &sink::DirSink::new(&dest),
        &options(check, true),
        None,
        None,
        &Retries::default(),
    )
    .unwrap();
    let pages: Vec<u32> = report.corrupt_pages.iter().map(|c| c.page_no.0).collect();
    assert_eq!(pages, [2, 3]);
    std::fs::remove_dir_all(dest).unwrap();
}

#[test]
fn a_tablespace_the_check_cannot_handle_fails_before_writing() {
    let dest = scratch("refused");
    let check = Arc::new(Reject {
        refuse: Some("key id 7 is not in the key file".into()),
        ..Reject::default()
    });
    let src = source();
    match copy_tablespace(
        &src,
        &sink::DirSink::new(&dest),
        &options(check, false),
        None,
        None,
        &Retries::default(),
    ) {
        Err(CopyError::Unverifiable { reason, .. }) => {
            assert_eq!(reason, "key id 7 is not in the key file")
        }
        other => panic!("expected Unverifiable, got {other:?}"),
    }
    assert!(!dest.join(&src.dest).exists(), "nothing written");
    std::fs::remove_dir_all(dest).unwrap();
}

#[test]
fn pages_the_check_accepts_copy_as_without_it() {
    let dest = scratch("accepts");
    let check = Arc::new(Reject::default());
    let src = source();
    let report = copy_tablespace(
        &src,
        &sink::DirSink::new(&dest),
        &options(check, false),
        None,
        None,
        &Retries::default(),
    )
    .unwrap();
    assert_eq!(report.rereads, 0);
    assert_eq!(
        std::fs::read(dest.join(&src.dest)).unwrap(),
        std::fs::read(&src.path).unwrap()
    );
    std::fs::remove_dir_all(dest).unwrap();
}
