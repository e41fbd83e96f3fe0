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
//! chunk: truncate journal → entries (path, space, page, bytes) → footer (count, CRC-32C)
//!        → fsync journal → pages in place → fsync the data files
//! end:   remove the journal → fsync the directory
//! start: journal with a valid footer → write its pages in place, fsync; then remove it
//!        (one without a valid footer was never followed by an in-place write)
//! ```

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};

use innodb::SpaceId;

use crate::error::PrepareError;
use crate::spaces::Space;

/// The journal's name in the backup directory.
pub const JOURNAL: &str = "hotbackup_prepare.journal";
const MAGIC: &[u8; 8] = b"HBPJRNL1";
const END: &[u8; 8] = b"HBPJEND1";
/// Entry head: path length (u16), space id, page number, page length (u32 each).
const ENTRY_HEAD: usize = 2 + 4 + 4 + 4;
/// Footer: END, entry count, CRC-32C of everything before the footer.
const FOOTER: usize = 8 + 4 + 4;

/// A test hook: stop the prepare at one page write, as a crash would.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashPoint {
    /// Page writes (journal entries and in-place pages, counted together) done before.
    pub after_writes: u64,
    /// Write the first half of that write before stopping (a torn write).
    pub torn: bool,
    /// Abort the process (a real kill) instead of returning an error.
    pub abort: bool,
}

/// One changed page to write.
pub(crate) struct PageWrite<'a> {
    pub(crate) sp: &'a Space,
    pub(crate) space: SpaceId,
    pub(crate) page_no: u32,
    pub(crate) bytes: Vec<u8>,
}

/// The journal of one prepare run.
pub(crate) struct Journal<'d> {
    dir: &'d Path,
    path: PathBuf,
    file: Option<File>,
    crash: Option<CrashPoint>,
    writes: u64,
}

impl<'d> Journal<'d> {
    pub(crate) fn new(dir: &'d Path, crash: Option<CrashPoint>) -> Journal<'d> {
        Journal {
            dir,
            path: dir.join(JOURNAL),
            file: None,
            crash,
            writes: 0,
        }
    }

    /// Writes `pages` durably through the journal, then in place.
    pub(crate) fn write(&mut self, pages: &[PageWrite<'_>]) -> Result<(), PrepareError> {
        if pages.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let jerr = |op| {
            let path = path.clone();
            move |e| PrepareError::io(op, path, e)
        };
        if self.file.is_none() {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&self.path)
                .map_err(jerr("create"))?;
            sync_dir(self.dir)?;
            self.file = Some(f);
        }
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        file.set_len(0).map_err(jerr("truncate"))?;
        let mut crc = crc32c::crc32c(MAGIC);
        file.write_all_at(MAGIC, 0).map_err(jerr("write"))?;
        let mut at = MAGIC.len() as u64;
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
            self.counted(&file, &self.path.clone(), at, &entry)?;
            at += entry.len() as u64;
        }
        let mut footer = Vec::with_capacity(FOOTER);
        footer.extend_from_slice(END);
        footer.extend_from_slice(&(pages.len() as u32).to_be_bytes());
        footer.extend_from_slice(&crc.to_be_bytes());
        file.write_all_at(&footer, at).map_err(jerr("write"))?;
        file.sync_data().map_err(jerr("fsync"))?;
        for p in pages {
            let at = u64::from(p.page_no) * p.bytes.len() as u64;
            self.counted(&p.sp.file, &p.sp.path, at, &p.bytes)?;
        }
        let mut synced: Vec<SpaceId> = pages.iter().map(|p| p.space).collect();
        synced.sort_unstable();
        synced.dedup();
        for id in synced {
            if let Some(p) = pages.iter().find(|p| p.space == id) {
                p.sp.file
                    .sync_data()
                    .map_err(|e| PrepareError::io("fsync", &p.sp.path, e))?;
            }
        }
        self.file = Some(file);
        Ok(())
    }

    /// One page write, where the test crash point may stop the prepare.
    fn counted(
        &mut self,
        file: &File,
        path: &Path,
        at: u64,
        bytes: &[u8],
    ) -> Result<(), PrepareError> {
        if let Some(c) = self.crash.filter(|c| c.after_writes == self.writes) {
            if c.torn {
                let half = bytes.get(..bytes.len() / 2).unwrap_or_default();
                file.write_all_at(half, at)
                    .map_err(|e| PrepareError::io("write", path, e))?;
            }
            if c.abort {
                std::process::abort();
            }
            return Err(PrepareError::CrashPoint {
                writes: self.writes,
            });
        }
        file.write_all_at(bytes, at)
            .map_err(|e| PrepareError::io("write", path, e))?;
        self.writes += 1;
        Ok(())
    }

    /// Every page is in place and durable: the journal goes.
    pub(crate) fn finish(self) -> Result<(), PrepareError> {
        if self.file.is_some() {
            drop(self.file);
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
pub(crate) fn recover(dir: &Path) -> Result<Recovered, PrepareError> {
    let path = dir.join(JOURNAL);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recovered::None),
        Err(e) => return Err(PrepareError::io("read", &path, e)),
    };
    let outcome = match parse(&bytes) {
        None => Recovered::Discarded,
        Some(entries) => {
            let mut files: Vec<(PathBuf, File)> = Vec::new();
            for e in &entries {
                let target = dir.join(OsStr::from_bytes(e.rel));
                let i = match files.iter().position(|(p, _)| *p == target) {
                    Some(i) => i,
                    None => {
                        let f = OpenOptions::new()
                            .write(true)
                            .open(&target)
                            .map_err(|err| PrepareError::io("open for writing", &target, err))?;
                        files.push((target.clone(), f));
                        files.len() - 1
                    }
                };
                let (p, f) = &files[i];
                f.write_all_at(e.bytes, u64::from(e.page_no) * e.bytes.len() as u64)
                    .map_err(|err| PrepareError::io("write", p, err))?;
            }
            for (p, f) in &files {
                f.sync_data()
                    .map_err(|err| PrepareError::io("fsync", p, err))?;
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

/// The entries of a complete journal; `None` if anything is missing or wrong.
fn parse(b: &[u8]) -> Option<Vec<Entry<'_>>> {
    let body_end = b.len().checked_sub(FOOTER)?;
    let footer = b.get(body_end..)?;
    if footer.get(..8)? != END || b.get(..8)? != MAGIC {
        return None;
    }
    let u32_at = |s: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(s.get(at..at + 4)?.try_into().ok()?))
    };
    let count = u32_at(footer, 8)? as usize;
    if u32_at(footer, 12)? != crc32c::crc32c(b.get(..body_end)?) {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    let mut at = MAGIC.len();
    while at < body_end {
        let head = b.get(at..at + ENTRY_HEAD)?;
        let rel_len = usize::from(u16::from_be_bytes([head[0], head[1]]));
        let page_no = u32_at(head, 6)?;
        let len = u32_at(head, 10)? as usize;
        let rel = b.get(at + ENTRY_HEAD..at + ENTRY_HEAD + rel_len)?;
        let start = at + ENTRY_HEAD + rel_len;
        let bytes = b.get(start..start + len)?;
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
        at = start + len;
    }
    (at == body_end && out.len() == count).then_some(out)
}

fn sync_dir(dir: &Path) -> Result<(), PrepareError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| PrepareError::io("fsync directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal image with the given (path, page number, bytes) entries.
    fn image(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
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
        b.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        b.extend_from_slice(&crc.to_be_bytes());
        b
    }

    fn parsed(b: &[u8]) -> Option<Vec<(String, u32, usize)>> {
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
        let mut wrong_count = good.clone();
        // The last byte of the entry count (footer: END, count, CRC).
        let n = wrong_count.len() - 5;
        wrong_count[n] = 3;
        // (image, expected entries)
        let cases: Vec<(Vec<u8>, Option<Vec<(String, u32, usize)>>)> = vec![
            (good.clone(), Some(expected)),
            (image(&[]), Some(vec![])),
            // Torn: the footer is missing or the body is short.
            (good[..good.len() - 1].to_vec(), None),
            (good[..good.len() / 2].to_vec(), None),
            (MAGIC.to_vec(), None),
            (vec![], None),
            (flipped, None),
            (wrong_count, None),
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
        assert_eq!(recover(&dir).unwrap(), Recovered::None);

        let page = [0x5Au8; 4096];
        fs::write(dir.join(JOURNAL), image(&[("db/t.ibd", 1, &page)])).unwrap();
        assert_eq!(recover(&dir).unwrap(), Recovered::Replayed(1));
        let t = fs::read(dir.join("db/t.ibd")).unwrap();
        assert_eq!((&t[4096..8192], t[0], t[8192]), (&page[..], 0, 0));
        assert!(!dir.join(JOURNAL).exists());

        let torn = image(&[("db/t.ibd", 2, &page)]);
        fs::write(dir.join(JOURNAL), &torn[..torn.len() - 3]).unwrap();
        assert_eq!(recover(&dir).unwrap(), Recovered::Discarded);
        assert_eq!(
            fs::read(dir.join("db/t.ibd")).unwrap(),
            t,
            "nothing written"
        );
        assert!(!dir.join(JOURNAL).exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
