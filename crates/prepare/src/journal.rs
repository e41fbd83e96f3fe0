//! The prepare's doublewrite journal: each chunk of changed pages is written to
//! `hotbackup_prepare.journal` and made durable before any of them is written in place,
//! so that a crash or power loss which tears an in-place page write is repaired by the
//! next prepare, which replays a complete journal before it reads any page.
//!
//! Why: re-applying the log is idempotent by the page-LSN rule only for whole pages. A
//! torn page (new LSN in its first sector, old bytes after it) would be skipped as
//! "already applied" or fail validation, and the backup could not be prepared again.
//!
//! ```text
//! chunk: segment appended (MAGIC, seq, count; entries: path, space, page, bytes;
//!        END, CRC-32C) → fsync journal → pages in place (no fsync)
//! journal past 256 MiB: fsync the data files written since, truncate, fsync
//! end:   fsync the data files written since → remove the journal → fsync the directory
//! start: the complete segments (head, entries, footer, CRC, consecutive seq) are
//!        written in place in order and fsynced; then the journal is removed. A torn
//!        last segment was never followed by an in-place write.
//! ```
//!
//! A page that a re-run rewrites whole before it reads anything ([`Redone`]: the pages
//! of an incremental's deltas, see `incremental`) needs no journal: it is written in place
//! directly, and counted in [`Journal::unjournaled`].

use std::collections::hash_map::Entry as MapEntry;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use innodb::SpaceId;

use crate::error::PrepareError;
use crate::handles::Handles;
use crate::hash::FxHashSet;
use crate::spaces::Space;
use crate::sysfiles::SpaceFile;

/// The journal's name in the backup directory.
pub const JOURNAL: &str = "hotbackup_prepare.journal";
const MAGIC: &[u8; 8] = b"HBPJRNL2";
const END: &[u8; 8] = b"HBPJEND2";
/// Segment head: MAGIC, sequence number (u64), entry count (u32).
const HEAD: usize = 8 + 8 + 4;
/// Entry head: path length (u16), space id, page number, page length (u32 each).
const ENTRY_HEAD: usize = 2 + 4 + 4 + 4;
/// Segment footer: END, CRC-32C of the segment before it.
const FOOTER: usize = 8 + 4;
/// The journal is emptied (after an fsync of the data files written since) when it
/// would grow past this.
const JOURNAL_LIMIT: u64 = 256 << 20;

/// A test hook: stop the prepare at one page write, as a crash would.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashPoint {
    /// Page writes (journal entries and in-place pages, counted together) done before;
    /// `u64::MAX`: none.
    pub after_writes: u64,
    /// Write the first half of that write before stopping (a torn write).
    pub torn: bool,
    /// Abort the process (a real kill) instead of returning an error.
    pub abort: bool,
    /// Empty the journal when it would grow past this many bytes (default 256 MiB).
    pub journal_limit: Option<u64>,
    /// Pages per journal segment (default: 32 MiB of pages).
    pub chunk_pages: Option<usize>,
    /// Count only the in-place writes of pages a re-run rewrites (`Some(true)`: an
    /// incremental's delta pages) or of the other pages (`Some(false)`); `None`: every
    /// write, journal entries included.
    pub only_redone: Option<bool>,
    /// Count only the in-place writes of this page (space id, page number): a test tears
    /// the one page whose repair it checks.
    pub only_page: Option<(u32, u32)>,
}

/// Whether the page `page_no` of tablespace `space`, in the file at `path`, is rewritten
/// whole by any re-run of this prepare before that re-run reads a page: such a page needs
/// no journal, as a torn write of it is overwritten anyway.
pub(crate) type Redone<'d> = &'d (dyn Fn(&Path, SpaceId, u32) -> bool + Sync);

/// One changed page to write.
pub(crate) struct PageWrite<'a> {
    pub(crate) sp: &'a Space,
    pub(crate) space: SpaceId,
    pub(crate) page_no: u32,
    pub(crate) bytes: Vec<u8>,
}

/// The journal of one prepare run: segments appended, one per chunk of pages, each
/// made durable before its pages are written in place.
pub(crate) struct Journal<'d> {
    dir: &'d Path,
    path: PathBuf,
    file: Option<File>,
    /// Where the next segment goes.
    end: u64,
    /// Sequence number of the next segment (consecutive within the file).
    seq: u64,
    limit: u64,
    /// Files written in place since the journal was last emptied.
    dirty: Vec<&'d Space>,
    /// The addresses of `dirty`'s spaces (thousands of tablespaces: no linear search).
    dirty_set: FxHashSet<usize>,
    crash: Option<CrashPoint>,
    writes: u64,
    redone: Option<Redone<'d>>,
    /// Pages written in place without the journal (see [`Redone`]).
    pub(crate) unjournaled: u64,
}

impl<'d> Journal<'d> {
    /// A journal that skips the pages `redone` says a re-run rewrites.
    pub(crate) fn with_redone(
        dir: &'d Path,
        crash: Option<CrashPoint>,
        redone: Option<Redone<'d>>,
    ) -> Journal<'d> {
        Journal {
            redone,
            ..Journal::new(dir, crash)
        }
    }

    pub(crate) fn new(dir: &'d Path, crash: Option<CrashPoint>) -> Journal<'d> {
        Journal {
            dir,
            path: dir.join(JOURNAL),
            file: None,
            end: 0,
            seq: 0,
            limit: crash.and_then(|c| c.journal_limit).unwrap_or(JOURNAL_LIMIT),
            dirty: Vec::new(),
            dirty_set: FxHashSet::default(),
            crash,
            writes: 0,
            redone: None,
            unjournaled: 0,
        }
    }

    fn err(&self, op: &'static str) -> impl Fn(std::io::Error) -> PrepareError + '_ {
        move |e| PrepareError::io(op, &self.path, e)
    }

    /// Makes every page written in place so far durable.
    fn sync_dirty(&mut self) -> Result<(), PrepareError> {
        self.dirty_set.clear();
        for sp in self.dirty.drain(..) {
            sp.file
                .sync_data()
                .map_err(|e| PrepareError::io("fsync", &sp.path, e))?;
        }
        Ok(())
    }

    /// Writes `pages` durably to the journal, then in place; the pages a re-run rewrites
    /// ([`Redone`]) go in place directly.
    pub(crate) fn write(&mut self, pages: &[PageWrite<'d>]) -> Result<(), PrepareError> {
        if let Some(redone) = self.redone {
            let (direct, journaled): (Vec<&PageWrite<'d>>, Vec<&PageWrite<'d>>) = pages
                .iter()
                .partition(|p| redone(&p.sp.path, p.space, p.page_no));
            self.in_place(&direct, true)?;
            self.unjournaled += direct.len() as u64;
            return self.journaled(&journaled);
        }
        self.journaled(&pages.iter().collect::<Vec<_>>())
    }

    /// Writes `pages` in place (no fsync: made durable with the rest by `finish` or when
    /// the journal is emptied); `redone`: they are pages a re-run rewrites.
    fn in_place(&mut self, pages: &[&PageWrite<'d>], redone: bool) -> Result<(), PrepareError> {
        for p in pages {
            let at = u64::from(p.page_no) * p.bytes.len() as u64;
            let page = Some((p.space.0, p.page_no));
            self.counted(&p.sp.file, &p.sp.path, at, &p.bytes, Some(redone), page)?;
            if self.dirty_set.insert(std::ptr::from_ref(p.sp) as usize) {
                self.dirty.push(p.sp);
            }
        }
        Ok(())
    }

    fn journaled(&mut self, pages: &[&PageWrite<'d>]) -> Result<(), PrepareError> {
        if pages.is_empty() {
            return Ok(());
        }
        let file = match self.file.take() {
            Some(f) => f,
            None => {
                let f = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&self.path)
                    .map_err(self.err("create"))?;
                sync_dir(self.dir)?;
                f
            }
        };
        let size: u64 = pages
            .iter()
            .map(|p| (ENTRY_HEAD + p.bytes.len() + p.sp.path.as_os_str().len()) as u64)
            .sum::<u64>()
            + (HEAD + FOOTER) as u64;
        if self.end > 0 && self.end + size > self.limit {
            // Its pages must be durable in place before the journal forgets them.
            self.sync_dirty()?;
            file.set_len(0).map_err(self.err("truncate"))?;
            file.sync_all().map_err(self.err("fsync"))?;
            self.end = 0;
        }
        let mut at = self.end;
        let mut head = Vec::with_capacity(HEAD);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&self.seq.to_be_bytes());
        head.extend_from_slice(&(pages.len() as u32).to_be_bytes());
        let mut crc = crc32c::crc32c(&head);
        file.write_all_at(&head, at).map_err(self.err("write"))?;
        at += head.len() as u64;
        let mut entry = Vec::new();
        for p in pages {
            let rel = p.sp.path.strip_prefix(self.dir).unwrap_or(&p.sp.path);
            let rel = rel.as_os_str().as_bytes();
            entry.clear();
            entry.extend_from_slice(&(rel.len() as u16).to_be_bytes());
            entry.extend_from_slice(&p.space.0.to_be_bytes());
            entry.extend_from_slice(&p.page_no.to_be_bytes());
            entry.extend_from_slice(&(p.bytes.len() as u32).to_be_bytes());
            entry.extend_from_slice(rel);
            entry.extend_from_slice(&p.bytes);
            crc = crc32c::crc32c_append(crc, &entry);
            let path = self.path.clone();
            self.counted(&file, &path, at, &entry, None, None)?;
            at += entry.len() as u64;
        }
        let mut footer = Vec::with_capacity(FOOTER);
        footer.extend_from_slice(END);
        footer.extend_from_slice(&crc.to_be_bytes());
        file.write_all_at(&footer, at).map_err(self.err("write"))?;
        at += footer.len() as u64;
        file.sync_data().map_err(self.err("fsync"))?;
        self.end = at;
        self.seq += 1;
        self.file = Some(file);
        self.in_place(pages, false)
    }

    /// One page write, where the test crash point may stop the prepare; `redone`: for an
    /// in-place write, whether the page is one a re-run rewrites (`None`: a journal entry);
    /// `page`: for an in-place write, its (space id, page number).
    fn counted(
        &mut self,
        file: &dyn WriteAt,
        path: &Path,
        at: u64,
        bytes: &[u8],
        redone: Option<bool>,
        page: Option<(u32, u32)>,
    ) -> Result<(), PrepareError> {
        let counts = self.crash.is_some_and(|c| {
            c.only_redone.is_none_or(|want| redone == Some(want))
                && c.only_page.is_none_or(|want| page == Some(want))
        });
        if !counts {
            return file
                .put(bytes, at)
                .map_err(|e| PrepareError::io("write", path, e));
        }
        if let Some(c) = self.crash.filter(|c| c.after_writes == self.writes) {
            if c.torn {
                let half = bytes.get(..bytes.len() / 2).unwrap_or_default();
                file.put(half, at)
                    .map_err(|e| PrepareError::io("write", path, e))?;
            }
            if c.abort {
                std::process::abort();
            }
            return Err(PrepareError::CrashPoint {
                writes: self.writes,
            });
        }
        file.put(bytes, at)
            .map_err(|e| PrepareError::io("write", path, e))?;
        self.writes += 1;
        Ok(())
    }

    /// Every page is in place: made durable, then the journal goes.
    pub(crate) fn finish(mut self) -> Result<(), PrepareError> {
        self.sync_dirty()?;
        if let Some(file) = self.file.take() {
            drop(file);
            fs::remove_file(&self.path).map_err(|e| PrepareError::io("remove", &self.path, e))?;
            sync_dir(self.dir)?;
        }
        Ok(())
    }
}

/// What [`recover`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recovered {
    /// No journal.
    None,
    /// A complete journal: its pages were written in place.
    Replayed(usize),
    /// An incomplete journal (the crash hit while it was written): removed.
    Discarded,
}

/// Replays the journal a killed prepare left in `dir`, if it is complete, and removes it.
/// The files are opened through `handles` (a bounded number at once).
pub(crate) fn recover(dir: &Path, handles: &Arc<Handles>) -> Result<Recovered, PrepareError> {
    let path = dir.join(JOURNAL);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recovered::None),
        Err(e) => return Err(PrepareError::io("read", &path, e)),
    };
    let outcome = match parse(&bytes) {
        None => Recovered::Discarded,
        Some(entries) => {
            let mut files: HashMap<PathBuf, SpaceFile> = HashMap::new();
            for e in &entries {
                let target = dir.join(OsStr::from_bytes(e.rel));
                let f = match files.entry(target) {
                    MapEntry::Occupied(o) => o.into_mut(),
                    MapEntry::Vacant(v) => {
                        let f =
                            SpaceFile::open_for_writing(handles, dir, v.key()).map_err(|err| {
                                PrepareError::io("open for writing", v.key().clone(), err)
                            })?;
                        v.insert(f)
                    }
                };
                f.write_all_at(e.bytes, u64::from(e.page_no) * e.bytes.len() as u64)
                    .map_err(|err| PrepareError::io("write", f.first_path(), err))?;
            }
            for f in files.values() {
                f.sync_data()
                    .map_err(|err| PrepareError::io("fsync", f.first_path(), err))?;
            }
            Recovered::Replayed(entries.len())
        }
    };
    fs::remove_file(&path).map_err(|e| PrepareError::io("remove", &path, e))?;
    sync_dir(dir)?;
    Ok(outcome)
}

/// One journal entry.
struct Entry<'b> {
    rel: &'b [u8],
    page_no: u32,
    bytes: &'b [u8],
}

/// The entries of the complete segments at the start of a journal, in order; `None`
/// if there is none. A segment is complete if its head, entries and footer are all
/// there, its CRC matches and its sequence number follows the previous one's.
fn parse(b: &[u8]) -> Option<Vec<Entry<'_>>> {
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let mut out = Vec::new();
    let mut at = 0;
    let mut prev_seq: Option<u64> = None;
    let mut segments = 0;
    while let Some(seg) = segment(b, at, u32_at) {
        let (seq, entries, end) = seg;
        if prev_seq.is_some_and(|p| p.checked_add(1) != Some(seq)) {
            break;
        }
        prev_seq = Some(seq);
        out.extend(entries);
        segments += 1;
        at = end;
    }
    (segments > 0).then_some(out)
}

/// The complete segment at `start`: (sequence number, entries, end offset).
fn segment<'b>(
    b: &'b [u8],
    start: usize,
    u32_at: impl Fn(usize) -> Option<u32>,
) -> Option<(u64, Vec<Entry<'b>>, usize)> {
    if b.get(start..start + 8)? != MAGIC {
        return None;
    }
    let seq = u64::from_be_bytes(b.get(start + 8..start + 16)?.try_into().ok()?);
    let count = u32_at(start + 16)? as usize;
    let mut at = start + HEAD;
    let mut out = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let rel_len = usize::from(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?));
        let page_no = u32_at(at + 6)?;
        let len = u32_at(at + 10)? as usize;
        let rel = b.get(at + ENTRY_HEAD..at + ENTRY_HEAD + rel_len)?;
        let data = at + ENTRY_HEAD + rel_len;
        let bytes = b.get(data..data + len)?;
        // Only plain relative names inside the backup directory.
        let safe = Path::new(OsStr::from_bytes(rel))
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !safe || rel.is_empty() || len == 0 {
            return None;
        }
        out.push(Entry {
            rel,
            page_no,
            bytes,
        });
        at = data + len;
    }
    if b.get(at..at + 8)? != END || u32_at(at + 8)? != crc32c::crc32c(b.get(start..at)?) {
        return None;
    }
    Some((seq, out, at + FOOTER))
}

fn sync_dir(dir: &Path) -> Result<(), PrepareError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| PrepareError::io("fsync directory", dir, e))
}

/// Where [`Journal::counted`] writes: the journal file itself, or a tablespace (one file, or
/// the system tablespace's several).
trait WriteAt {
    fn put(&self, buf: &[u8], at: u64) -> std::io::Result<()>;
}

impl WriteAt for File {
    fn put(&self, buf: &[u8], at: u64) -> std::io::Result<()> {
        FileExt::write_all_at(self, buf, at)
    }
}

impl WriteAt for SpaceFile {
    fn put(&self, buf: &[u8], at: u64) -> std::io::Result<()> {
        SpaceFile::write_all_at(self, buf, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16k full_crc32 tablespace `id` at `path` (a file of 8 zero pages).
    fn space(dir: &Path, name: &str, id: u32, handles: &Arc<Handles>) -> Space {
        use innodb::apply::PageFormat;
        use innodb::page::{PageValidator, SpaceFlags};
        let path = dir.join(name);
        fs::write(&path, vec![0u8; 8 * 16384]).unwrap();
        let flags = SpaceFlags::parse(0x15).unwrap();
        Space {
            file: SpaceFile::open_for_writing(handles, dir, &path).unwrap(),
            path,
            phys: 16384,
            compressed: false,
            format: PageFormat::for_flags(&flags),
            page_compression: None,
            validator: PageValidator::new(flags, SpaceId(id)),
            crypt: Default::default(),
            key_error: None,
            crypt_pending: None,
            crypt_resolved: Default::default(),
        }
    }

    #[test]
    fn pages_a_rerun_rewrites_skip_the_journal_and_the_others_do_not() {
        let dir = testkit::TestDir::new("journal-redone").unwrap();
        let handles = Handles::new(8);
        let t = space(dir.path(), "t.ibd", 7, &handles);
        let u = space(dir.path(), "u.ibd", 8, &handles);
        // Pages 2 and 3 of t are "delta pages".
        let redone = |path: &Path, id: SpaceId, page_no: u32| {
            path.ends_with("t.ibd") && id == SpaceId(7) && (2..=3).contains(&page_no)
        };
        let write = |sp, space, page_no, byte| PageWrite {
            sp,
            space: SpaceId(space),
            page_no,
            bytes: vec![byte; 16384],
        };
        let mut journal = Journal::with_redone(dir.path(), None, Some(&redone));
        journal
            .write(&[
                write(&t, 7, 2, 0xA2),
                write(&t, 7, 4, 0xA4),
                write(&u, 8, 2, 0xB2),
                write(&t, 7, 3, 0xA3),
            ])
            .unwrap();
        assert_eq!(journal.unjournaled, 2);
        let entries: Vec<(String, u32)> = parse(&fs::read(dir.path().join(JOURNAL)).unwrap())
            .unwrap()
            .iter()
            .map(|e| (String::from_utf8_lossy(e.rel).into_owned(), e.page_no))
            .collect();
        assert_eq!(
            entries,
            [("t.ibd".to_string(), 4), ("u.ibd".to_string(), 2)]
        );
        // Every page is in place, journaled or not.
        let file = fs::read(&t.path).unwrap();
        for (page, byte) in [(2, 0xA2), (3, 0xA3), (4, 0xA4)] {
            assert!(file[page * 16384..(page + 1) * 16384]
                .iter()
                .all(|b| *b == byte));
        }
        journal.finish().unwrap();
        assert!(!dir.path().join(JOURNAL).exists());
    }

    /// A journal segment with sequence number `seq` and the given (path, page number,
    /// bytes) entries.
    fn segment_image(seq: u64, entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for (rel, page_no, bytes) in entries {
            b.extend_from_slice(&(rel.len() as u16).to_be_bytes());
            b.extend_from_slice(&7u32.to_be_bytes());
            b.extend_from_slice(&page_no.to_be_bytes());
            b.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            b.extend_from_slice(rel.as_bytes());
            b.extend_from_slice(bytes);
        }
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(END);
        b.extend_from_slice(&crc.to_be_bytes());
        b
    }

    fn image(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        segment_image(0, entries)
    }

    /// (path, page number, length) of a parsed entry.
    type Parsed = (String, u32, usize);

    fn parsed(b: &[u8]) -> Option<Vec<Parsed>> {
        parse(b).map(|v| {
            v.iter()
                .map(|e| {
                    let rel = String::from_utf8_lossy(e.rel).into_owned();
                    (rel, e.page_no, e.bytes.len())
                })
                .collect()
        })
    }

    #[test]
    fn only_complete_journals_with_plain_names_are_replayed() {
        let page = [0xABu8; 4096];
        let good = image(&[("ibdata1", 5, &page), ("db/t.ibd", 9, &page)]);
        let expected = vec![("ibdata1".into(), 5, 4096), ("db/t.ibd".into(), 9, 4096)];
        let mut flipped = good.clone();
        flipped[100] ^= 1;
        let second = segment_image(1, &[("db/t.ibd", 3, &page)]);
        let two = [good.clone(), second.clone()].concat();
        let mut three = expected.clone();
        three.push(("db/t.ibd".into(), 3, 4096));
        let stale = [good.clone(), segment_image(7, &[("db/t.ibd", 3, &page)])].concat();
        let torn_second = [good.clone(), second[..second.len() - 2].to_vec()].concat();
        // (image, expected entries)
        let cases: Vec<(Vec<u8>, Option<Vec<Parsed>>)> = vec![
            (good.clone(), Some(expected.clone())),
            (image(&[]), Some(vec![])),
            // Torn: the footer is missing or the body is short.
            (good[..good.len() - 1].to_vec(), None),
            (good[..good.len() / 2].to_vec(), None),
            (MAGIC.to_vec(), None),
            (vec![], None),
            (flipped, None),
            // Segments in sequence; a stale or torn one ends the journal.
            (two, Some(three)),
            (stale, Some(expected.clone())),
            (torn_second, Some(expected.clone())),
            (image(&[("../etc/passwd", 0, &page)]), None),
            (image(&[("/abs", 0, &page)]), None),
            (image(&[("", 0, &page)]), None),
            (image(&[("a.ibd", 0, &[])]), None),
        ];
        for (i, (b, want)) in cases.into_iter().enumerate() {
            assert_eq!(parsed(&b), want, "case {i}");
        }
    }

    #[test]
    fn recover_replays_a_complete_journal_and_removes_any() {
        let dir = std::env::temp_dir().join(format!("prepare-journal-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("db")).unwrap();
        fs::write(dir.join("db/t.ibd"), vec![0u8; 3 * 4096]).unwrap();
        assert_eq!(recover(&dir, &Handles::new(1)).unwrap(), Recovered::None);

        let page = [0x5Au8; 4096];
        fs::write(dir.join(JOURNAL), image(&[("db/t.ibd", 1, &page)])).unwrap();
        assert_eq!(
            recover(&dir, &Handles::new(1)).unwrap(),
            Recovered::Replayed(1)
        );
        let t = fs::read(dir.join("db/t.ibd")).unwrap();
        assert_eq!((&t[4096..8192], t[0], t[8192]), (&page[..], 0, 0));
        assert!(!dir.join(JOURNAL).exists());

        let torn = image(&[("db/t.ibd", 2, &page)]);
        fs::write(dir.join(JOURNAL), &torn[..torn.len() - 3]).unwrap();
        assert_eq!(
            recover(&dir, &Handles::new(1)).unwrap(),
            Recovered::Discarded
        );
        assert_eq!(
            fs::read(dir.join("db/t.ibd")).unwrap(),
            t,
            "nothing written"
        );
        assert!(!dir.join(JOURNAL).exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
