//! The pages of each `.delta` written onto its tablespace file of the base, as 10.11's
//! `xtrabackup_apply_delta`: page n at byte n × page size; page 0 grows the file to its
//! FSP_SIZE (never shrinks it; the system tablespace through its last file, only for
//! the first file's delta); a tablespace made since the base starts as a zero file of
//! 4 pages. Deltas are independent files: they are checked, and then applied, in
//! parallel, each read a few pages at a time ([`PIECE_BYTES`], whatever the size of its
//! clusters: 64 MiB at 16k, 1 GiB at 64k).
//!
//! [`check`] runs before anything is written: every delta is read whole (its structure
//! by `delta::DeltaReader`, errors naming the byte offset), and every page is validated
//! with the copier's validator (checksum, page number; doublewrite pages of the system
//! tablespace skipped), built from the delta's own page 0 or else the base file's.
//! The backup tool validated those pages when it read them; this catches a delta
//! damaged since, which would otherwise be written into the base. Pages of a
//! tablespace made since the base whose delta lacks page 0 cannot be validated (no
//! flags); they are counted.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use backup_meta::in_order;
use delta::DeltaReader;
use innodb::page::fil::FIL_PAGE_SPACE_ID;
use innodb::page::fsp::{FSP_HEADER_OFFSET, FSP_SIZE};
use innodb::page::{PageValidator, PageVerdict, ValidationOptions};
use innodb::PageNo;

use super::inc_dir::{Delta, IncDir};
use super::layout::{Layout, Target};
use crate::error::PrepareError;
use crate::handles::Handles;
use crate::journal::CrashPoint;
use crate::progress::{Event, Progress};
use crate::spaces::{be32, server_page_size};
use crate::sysfiles::{system_file_names, SpaceFile};

/// Pages of a tablespace file made by the apply before its delta is written (10.11's
/// FIL_IBD_FILE_INITIAL_SIZE, in logical pages).
const INITIAL_PAGES: u64 = 4;

/// Bytes of a delta read at a time (one buffer per thread, reused).
const PIECE_BYTES: usize = 2 << 20;

fn piece_pages(d: &Delta) -> usize {
    PIECE_BYTES / d.meta.page_size as usize
}

/// What [`check`] found in one delta.
#[derive(Clone, Debug, Default)]
pub(super) struct Checked {
    /// Pages that could not be validated (no page 0 anywhere).
    pub(super) unverified: u64,
    /// The page numbers of its pages, in the delta's order.
    pub(super) numbers: Vec<u32>,
}

/// What [`deltas`] did.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Applied {
    pub(super) deltas: u64,
    pub(super) pages: u64,
    pub(super) created: u64,
}

fn open_delta(d: &Delta) -> Result<DeltaReader<File>, PrepareError> {
    let file = File::open(&d.path).map_err(|e| PrepareError::io("open", &d.path, e))?;
    DeltaReader::new(file, d.meta.page_size as usize).map_err(|e| delta_err(d, e))
}

fn delta_err(d: &Delta, e: delta::DeltaError) -> PrepareError {
    match e {
        delta::DeltaError::Io(e) => PrepareError::io("read", &d.path, e),
        e => PrepareError::Delta {
            path: d.path.clone(),
            what: e.to_string(),
        },
    }
}

/// The validator of the base file's page 0, if it has a usable one.
fn base_validator(path: &Path, page_size: usize) -> Result<Option<PageValidator>, PrepareError> {
    let file = File::open(path).map_err(|e| PrepareError::io("open", path, e))?;
    let mut page0 = vec![0u8; page_size];
    match file.read_exact_at(&mut page0, 0) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(PrepareError::io("read page 0 of", path, e)),
    }
    Ok(PageValidator::from_page0(&page0, ValidationOptions::default()).ok())
}

/// Checks one delta whole; see the module documentation.
fn check_one(d: &Delta, target: &Target) -> Result<Checked, PrepareError> {
    let phys = d.meta.page_size as usize;
    let mut validator = match &target.page0_from {
        Some(p) => base_validator(p, phys)?,
        None => None,
    };
    let mut reader = open_delta(d)?;
    let mut out = Checked::default();
    let mut has_page0 = false;
    while let Some(cluster) = reader
        .next_pages(piece_pages(d))
        .map_err(|e| delta_err(d, e))?
    {
        for (i, (n, page)) in cluster.pages().enumerate() {
            let at = cluster.page_offset(i);
            let bad = |what: String| PrepareError::Delta {
                path: d.path.clone(),
                what: format!("page {n} (at byte {at} of the delta): {what}"),
            };
            // The delta's page 0 is the newer one (an ibdataN's "page 0" is not the
            // system tablespace's: the base's ibdata1 gives that one).
            has_page0 |= n == 0;
            if n == 0 && d.meta.space_id != Some(0) {
                let v = PageValidator::from_page0(page, ValidationOptions::default())
                    .map_err(|e| bad(format!("page 0 does not parse: {e}")))?;
                if let Some(id) = d.meta.space_id {
                    if v.space_id().0 != id {
                        return Err(bad(format!(
                            "is page 0 of tablespace {}, but the .meta says tablespace {id}",
                            v.space_id()
                        )));
                    }
                }
                validator = Some(v);
            }
            out.numbers.push(n);
            let Some(v) = &validator else {
                out.unverified += 1;
                continue;
            };
            if v.page_size() != phys {
                return Err(PrepareError::Delta {
                    path: d.path.clone(),
                    what: format!(
                        "its .meta says pages of {phys} bytes, but the tablespace has pages of {}",
                        v.page_size()
                    ),
                });
            }
            if let PageVerdict::Corrupt(c) = v.validate(page, PageNo(n)) {
                return Err(bad(format!("corrupt: {c}")));
            }
        }
    }
    if target.create && !has_page0 {
        // A tablespace made after the base's checkpoint and before the incremental's
        // has its page 0 flushed by then, so it is in the delta; without it the file
        // would be written without a header (10.11 writes it so, and the table is lost).
        return Err(PrepareError::Delta {
            path: d.path.clone(),
            what: format!(
                "is for a tablespace the base does not have ({}), but has no page 0 to \
                 create it from",
                target.path.display()
            ),
        });
    }
    Ok(out)
}

/// Reads and validates every delta of `inc`; nothing is written.
pub(super) fn check(
    inc: &IncDir,
    layout: &Layout,
    threads: Option<usize>,
) -> Result<Vec<Checked>, PrepareError> {
    each_delta(inc, layout, threads, check_one)
}

/// Runs `f` on every (delta, target) on `threads` threads, in list order, each delta and
/// page 0 of the file it goes onto read ahead (thousands of small deltas on a cold cache:
/// one random read at a time otherwise); after a failure the others are skipped. Results
/// in the deltas' order.
fn each_delta<T: Send>(
    inc: &IncDir,
    layout: &Layout,
    threads: Option<usize>,
    f: impl Fn(&Delta, &Target) -> Result<T, PrepareError> + Sync,
) -> Result<Vec<T>, PrepareError> {
    let pairs: Vec<(&Delta, &Target)> = inc.deltas.iter().zip(&layout.targets).collect();
    let threads = in_order::threads_or_cpus(threads);
    in_order::try_run_ahead(
        threads,
        &pairs,
        |(d, t)| {
            // The head of a delta: the kernel's own read-ahead follows a large one.
            let mut files = vec![(d.path.clone(), vec![(0, in_order::HEAD)])];
            if let Some(page0) = &t.page0_from {
                files.push((page0.clone(), vec![(0, u64::from(d.meta.page_size))]));
            }
            files
        },
        |_, (d, t)| f(d, t),
    )
}

/// Writes one delta onto its file; returns the pages written.
fn apply_one(
    base: &Path,
    d: &Delta,
    target: &Target,
    logical: u64,
    handles: &Arc<Handles>,
    crash: Option<CrashPoint>,
    writes: &AtomicU64,
) -> Result<u64, PrepareError> {
    let path = &target.path;
    let phys = u64::from(d.meta.page_size);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(target.create)
        .mode(0o640)
        .open(path)
        .map_err(|e| PrepareError::io("open for writing", path, e))?;
    let len = |f: &File| {
        f.metadata()
            .map(|m| m.len())
            .map_err(|e| PrepareError::io("stat", path, e))
    };
    let grow = |f: &File, size: u64| -> Result<(), PrepareError> {
        if len(f)? < size {
            f.set_len(size)
                .map_err(|e| PrepareError::io("extend", path, e))?;
        }
        Ok(())
    };
    if target.create {
        grow(&file, INITIAL_PAGES * logical)?;
    }
    let system0 = base.join(&system_file_names(base)[0]);
    let mut reader = open_delta(d)?;
    let mut pages = 0u64;
    while let Some(cluster) = reader
        .next_pages(piece_pages(d))
        .map_err(|e| delta_err(d, e))?
    {
        let numbers = cluster.page_numbers;
        if numbers.first() == Some(&0) {
            let page0 = &cluster.data[..phys as usize];
            let n_pages = u64::from(be32(page0, FSP_HEADER_OFFSET + FSP_SIZE));
            if be32(page0, FIL_PAGE_SPACE_ID) != 0 {
                grow(&file, n_pages * phys)?;
            } else if *path == system0 {
                // The system tablespace grows through its last file.
                let sys = SpaceFile::open_for_writing(handles, base, path)
                    .map_err(|e| PrepareError::io("open for writing", path, e))?;
                let now = sys.len().map_err(|e| PrepareError::io("stat", path, e))?;
                if now < n_pages * phys {
                    sys.set_len(n_pages * phys)
                        .map_err(|e| PrepareError::io("extend", path, e))?;
                }
            }
        }
        if let Some(c) = crash {
            for (n, page) in cluster.pages() {
                let done = writes.fetch_add(1, Ordering::SeqCst);
                let at = u64::from(n) * phys;
                if done == c.after_writes {
                    if c.torn {
                        file.write_all_at(&page[..page.len() / 2], at)
                            .map_err(|e| PrepareError::io("write", path, e))?;
                    }
                    if c.abort {
                        std::process::abort();
                    }
                    return Err(PrepareError::CrashPoint { writes: done });
                }
                file.write_all_at(page, at)
                    .map_err(|e| PrepareError::io("write", path, e))?;
            }
            pages += numbers.len() as u64;
            continue;
        }
        // Runs of consecutive page numbers are one write.
        let mut i = 0;
        while i < numbers.len() {
            let mut j = i + 1;
            while j < numbers.len() && numbers[j] == numbers[j - 1] + 1 {
                j += 1;
            }
            let bytes = &cluster.data[i * phys as usize..j * phys as usize];
            file.write_all_at(bytes, u64::from(numbers[i]) * phys)
                .map_err(|e| PrepareError::io("write", path, e))?;
            i = j;
        }
        pages += numbers.len() as u64;
    }
    // Not fsynced here: the log apply fsyncs every tablespace file and its directory
    // before the checkpoints move, and until then a crash re-runs this.
    Ok(pages)
}

/// Applies every delta (checked by [`check`]) onto the base, after the layout ran.
pub(super) fn deltas(
    base: &Path,
    inc: &IncDir,
    layout: &Layout,
    handles: &Arc<Handles>,
    threads: Option<usize>,
    crash: Option<CrashPoint>,
    progress: &dyn Progress,
) -> Result<Applied, PrepareError> {
    let logical = server_page_size(base)? as u64;
    let writes = AtomicU64::new(0);
    let pages: Vec<u64> = each_delta(inc, layout, threads, |d, t| {
        let n = apply_one(base, d, t, logical, handles, crash, &writes)?;
        progress.event(Event::DeltaApplied {
            delta: &d.path,
            target: &t.path,
            pages: n,
            created: t.create,
        });
        Ok(n)
    })?;
    Ok(Applied {
        deltas: pages.len() as u64,
        pages: pages.iter().sum(),
        created: layout.targets.iter().filter(|t| t.create).count() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_meta::DeltaMeta;
    use innodb::page::{write_checksum, ChecksumFormat};

    const P: usize = 16384;

    /// A valid full_crc32 16k page `n` of tablespace 9 (page 0: FSP header, 8 pages).
    fn page(n: u32) -> Vec<u8> {
        let mut p = vec![0u8; P];
        p[4..8].copy_from_slice(&n.to_be_bytes());
        p[16..24].copy_from_slice(&0x1234u64.to_be_bytes());
        p[24..26].copy_from_slice(&(if n == 0 { 8u16 } else { 17855 }).to_be_bytes());
        p[34..38].copy_from_slice(&9u32.to_be_bytes());
        if n == 0 {
            p[38..42].copy_from_slice(&9u32.to_be_bytes());
            p[46..50].copy_from_slice(&8u32.to_be_bytes());
            p[54..58].copy_from_slice(&0x15u32.to_be_bytes());
        }
        p[P - 8..P - 4].copy_from_slice(&0x1234u32.to_be_bytes());
        write_checksum(&mut p, ChecksumFormat::FullCrc32).unwrap();
        p
    }

    /// A delta of `pages` in `dir`, with its target (to be created).
    fn delta(dir: &Path, pages: &[(u32, Vec<u8>)]) -> (Delta, Target) {
        let path = dir.join("t.ibd.delta");
        let mut out = Vec::new();
        let mut w = delta::DeltaWriter::new(P).unwrap();
        let mut emit = |b: &[u8]| -> Result<(), delta::DeltaError> {
            out.extend_from_slice(b);
            Ok(())
        };
        for (n, p) in pages {
            w.push(*n, p, &mut emit).unwrap();
        }
        w.finish(&mut emit).unwrap();
        std::fs::write(&path, &out).unwrap();
        let d = Delta {
            name: "d/t".into(),
            user: true,
            path,
            meta: DeltaMeta {
                page_size: P as u32,
                zip_size: 0,
                space_id: Some(9),
            },
        };
        let t = Target {
            path: dir.join("t.ibd"),
            page0_from: None,
            create: true,
        };
        (d, t)
    }

    #[test]
    fn a_new_tablespace_is_checked_then_written_at_its_offsets() {
        let dir = testkit::TestDir::new("inc-apply").unwrap();
        let (d, t) = delta(dir.path(), &[(0, page(0)), (3, page(3))]);
        let c = check_one(&d, &t).unwrap();
        assert_eq!((c.numbers.len(), c.unverified), (2, 0));
        std::fs::write(dir.path().join("ibdata1"), page(0)).unwrap();
        let handles = Handles::new(16);
        let n = apply_one(
            dir.path(),
            &d,
            &t,
            P as u64,
            &handles,
            None,
            &AtomicU64::new(0),
        );
        assert_eq!(n.unwrap(), 2);
        let file = std::fs::read(&t.path).unwrap();
        // Grown to FSP_SIZE (8 pages), pages at n × P, the rest zero.
        assert_eq!(file.len(), 8 * P);
        assert_eq!(&file[..P], &page(0)[..]);
        assert_eq!(&file[3 * P..4 * P], &page(3)[..]);
        assert!(file[P..3 * P].iter().all(|b| *b == 0));
    }

    #[test]
    fn damaged_deltas_are_refused_before_any_write() {
        let dir = testkit::TestDir::new("inc-apply-bad").unwrap();
        let mut bad = page(3);
        bad[100] ^= 1;
        let (d, t) = delta(dir.path(), &[(0, page(0)), (3, bad)]);
        let err = check_one(&d, &t).unwrap_err().to_string();
        assert!(
            err.contains("page 3 (at byte 32768 of the delta): corrupt"),
            "{err}"
        );
        // A page written under another number.
        let (d, t) = delta(dir.path(), &[(0, page(0)), (4, page(3))]);
        let err = check_one(&d, &t).unwrap_err().to_string();
        assert!(err.contains("page 4 (at byte 32768"), "{err}");
        // A tablespace to create without its page 0.
        let (d, t) = delta(dir.path(), &[(3, page(3))]);
        let err = check_one(&d, &t).unwrap_err().to_string();
        assert!(err.contains("has no page 0"), "{err}");
        assert!(!t.path.exists(), "nothing written");
    }
}
