//! Reading the backup's `ib_logfile0`: header and checkpoint, a validating scan of the
//! whole range to apply (pass 1), and collecting one batch of page records (pass 2).
//!
//! Pass 1 keeps only what is small and needed before any page is applied: tablespace
//! names and deletions (FILE_*), sizes and flags written to page 0, TRIM_PAGES, the
//! set of changed spaces, and the LSN boundaries of the batches that fit the memory
//! budget. Pass 2 reads one batch's log bytes and borrows the records from them.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use innodb::redo::record::{Extended, PageId, Record};
use innodb::redo::{EndOfLog, LogFile, MtrFormat, SliceDecoder, Step, START_OFFSET};
use innodb::{Lsn, SpaceId};

use crate::error::PrepareError;

/// Log bytes read per step of pass 1 (an mtr is at most 1 MiB, so this always holds
/// at least one).
const SCAN_CHUNK: u64 = 8 << 20;
/// Estimated memory of one stored page record (the record, its LSNs, map overhead).
pub(crate) const RECORD_COST: u64 = 96;
/// FSP_SIZE and FSP_SPACE_FLAGS in page 0 (FSP_HEADER_OFFSET 38 + 8 / + 16).
const FSP_SIZE_AT: u32 = 46;
const FSP_SPACE_FLAGS_AT: u32 = 54;

/// The opened log: header, checkpoint and the file.
pub(crate) struct Log {
    pub(crate) path: PathBuf,
    file: File,
    pub(crate) info: LogFile,
    format: MtrFormat,
}

/// A FILE_ record's view of a tablespace.
#[derive(Clone, Debug, Default)]
pub(crate) struct SpaceNote {
    /// Latest name from FILE_CREATE/FILE_MODIFY/FILE_RENAME (new name).
    pub(crate) name: Option<String>,
    /// The latest FILE_ record was FILE_DELETE.
    pub(crate) deleted: bool,
    /// Latest FSP_SIZE written to page 0.
    pub(crate) size: Option<u32>,
    /// Latest FSP_SPACE_FLAGS written to page 0.
    pub(crate) flags: Option<u32>,
    /// TRIM_PAGES: (mtr start LSN, new size in pages).
    pub(crate) trim: Option<(Lsn, u32)>,
}

/// What pass 1 found.
pub(crate) struct Scan {
    pub(crate) end_lsn: Lsn,
    pub(crate) n_mtrs: u64,
    pub(crate) n_records: u64,
    pub(crate) spaces: HashMap<SpaceId, SpaceNote>,
    /// Pages with records per space (for the missing-tablespace error).
    pub(crate) pages: HashMap<SpaceId, HashSet<u32>>,
    /// Batch boundaries: `batches[i]..batches[i+1]`.
    pub(crate) batches: Vec<Lsn>,
    /// Start LSN of the last mtr with INIT_PAGE or FREE_PAGE per page: with several
    /// batches, older records of such a page must be dropped in every batch, exactly
    /// as one batch would have discarded them (§5.1).
    pub(crate) discard: HashMap<PageId, Lsn>,
}

/// The records of one page in one batch.
#[derive(Default)]
pub(crate) struct PageLog<'a> {
    /// INIT_PAGE or FREE_PAGE seen: start from zeros, do not read the page.
    pub(crate) init: bool,
    /// (mtr start, mtr end, record), in log order; records of one mtr are adjacent.
    pub(crate) recs: Vec<(Lsn, Lsn, Record<'a>)>,
}

impl Log {
    pub(crate) fn open(path: &Path) -> Result<Log, PrepareError> {
        let file = File::open(path).map_err(|e| PrepareError::io("open", path, e))?;
        let size = file
            .metadata()
            .map_err(|e| PrepareError::io("stat", path, e))?
            .len();
        let mut prefix = vec![0u8; START_OFFSET.min(size) as usize];
        file.read_exact_at(&mut prefix, 0)
            .map_err(|e| PrepareError::io("read", path, e))?;
        let header_err = |source| PrepareError::LogHeader {
            path: path.to_path_buf(),
            source,
        };
        let info = LogFile::parse(&prefix, size).map_err(header_err)?;
        if info.header.is_encrypted() {
            return Err(PrepareError::Unsupported {
                what: format!("{}: encrypted redo log", path.display()),
            });
        }
        let format = MtrFormat::for_log(&info);
        Ok(Log {
            path: path.to_path_buf(),
            file,
            info,
            format,
        })
    }

    pub(crate) fn checkpoint_lsn(&self) -> Lsn {
        self.info.checkpoint.checkpoint_lsn
    }

    /// Where parsing must stop: one capacity past the checkpoint.
    pub(crate) fn limit(&self) -> Lsn {
        self.format.limit().unwrap_or(self.checkpoint_lsn())
    }

    fn offset(&self, lsn: Lsn) -> u64 {
        self.info.geometry.offset(lsn).unwrap_or(0)
    }

    /// Reads the log bytes of `[lsn, lsn + len)`, across the wrap if needed.
    fn read(&self, lsn: Lsn, len: u64) -> Result<Vec<u8>, PrepareError> {
        let ranges =
            self.info
                .geometry
                .file_ranges(lsn, len)
                .map_err(|source| PrepareError::LogHeader {
                    path: self.path.clone(),
                    source,
                })?;
        let mut out = vec![0u8; len as usize];
        let mut at = 0usize;
        for (offset, n) in ranges {
            let n = n as usize;
            self.file
                .read_exact_at(&mut out[at..at + n], offset)
                .map_err(|e| PrepareError::io("read", &self.path, e))?;
            at += n;
        }
        Ok(out)
    }

    fn corrupt(&self, lsn: Lsn, reason: String, expected_end: Lsn) -> PrepareError {
        PrepareError::CorruptLog {
            path: self.path.clone(),
            lsn,
            offset: self.offset(lsn),
            reason,
            expected_end,
        }
    }

    /// Pass 1: parses and checks everything from the checkpoint to the end of the log.
    /// `budget` bounds the memory of one batch.
    pub(crate) fn scan(&self, budget: u64) -> Result<Scan, PrepareError> {
        let checkpoint = self.info.checkpoint;
        let limit = self.limit();
        let is_backup = self.info.header.is_backup();
        let mut scan = Scan {
            end_lsn: checkpoint.checkpoint_lsn,
            n_mtrs: 0,
            n_records: 0,
            spaces: HashMap::new(),
            pages: HashMap::new(),
            batches: vec![checkpoint.checkpoint_lsn],
            discard: HashMap::new(),
        };
        // FILE_CHECKPOINT(checkpoint_lsn) must be in the mtrs at end_lsn (§2.6).
        let mut cp_state = CheckpointSearch::Before;
        let mut batch_cost = 0u64;
        let mut lsn = checkpoint.checkpoint_lsn;
        'chunks: loop {
            let len = limit.checked_sub(lsn).unwrap_or(0).min(SCAN_CHUNK);
            if len == 0 {
                break;
            }
            let buf = self.read(lsn, len)?;
            let mut dec = SliceDecoder::new(self.format, &buf, lsn);
            loop {
                match dec.next_mtr() {
                    Step::Mtr(m) => {
                        let start = m.start_lsn();
                        cp_state =
                            cp_state.next(start, checkpoint.end_lsn, checkpoint.checkpoint_lsn, &m);
                        let mut n_page_recs = 0u64;
                        for r in m.records() {
                            scan.n_records += 1;
                            n_page_recs += u64::from(note_record(&mut scan, start, &r));
                        }
                        scan.n_mtrs += 1;
                        let cost = m.len() as u64 + n_page_recs * RECORD_COST;
                        if batch_cost > 0 && batch_cost + cost > budget {
                            scan.batches.push(start);
                            batch_cost = 0;
                        }
                        batch_cost += cost;
                    }
                    Step::NeedMore { .. } => {
                        if dec.lsn().0 + dec.rest().len() as u64 >= limit.0 {
                            return Err(self.corrupt(
                                dec.lsn(),
                                "the log ends inside a mini-transaction".into(),
                                limit,
                            ));
                        }
                        lsn = dec.lsn();
                        continue 'chunks;
                    }
                    Step::EndOfLog(EndOfLog::CapacityReached { lsn: end }) => {
                        lsn = end;
                        break 'chunks;
                    }
                    Step::EndOfLog(e) => {
                        // A backup's log ends exactly at the end of its file (§9.1).
                        if is_backup {
                            return Err(self.corrupt(e.lsn(), e.to_string(), limit));
                        }
                        lsn = e.lsn();
                        break 'chunks;
                    }
                    Step::Error(e) => {
                        let at = match e {
                            innodb::redo::RedoError::Corrupt { at, .. } => at,
                            _ => dec.lsn(),
                        };
                        return Err(self.corrupt(at, e.to_string(), limit));
                    }
                }
            }
        }
        scan.end_lsn = lsn.max(scan.end_lsn);
        scan.batches.push(scan.end_lsn);
        if scan.end_lsn < checkpoint.end_lsn {
            return Err(PrepareError::LogTooShort {
                end: scan.end_lsn,
                needed: checkpoint.end_lsn,
                what: "the end_lsn of the checkpoint",
            });
        }
        if cp_state != CheckpointSearch::Found {
            return Err(PrepareError::MissingFileCheckpoint {
                path: self.path.clone(),
                checkpoint_lsn: checkpoint.checkpoint_lsn,
                end_lsn: checkpoint.end_lsn,
            });
        }
        Ok(scan)
    }

    /// The log bytes of one batch.
    pub(crate) fn read_batch(&self, start: Lsn, end: Lsn) -> Result<Vec<u8>, PrepareError> {
        self.read(start, end.0 - start.0)
    }

    /// Pass 2: the page records of `[start, end)` (`buf`), grouped by page (§5.1).
    /// `keep(page, mtr_start)` decides which records are applied.
    pub(crate) fn collect<'a>(
        &self,
        buf: &'a [u8],
        start: Lsn,
        end: Lsn,
        keep: impl Fn(PageId, Lsn) -> bool,
    ) -> Result<HashMap<PageId, PageLog<'a>>, PrepareError> {
        let mut pages: HashMap<PageId, PageLog<'a>> = HashMap::new();
        let mut dec = SliceDecoder::new(self.format, buf, start);
        while dec.lsn() < end {
            let m = match dec.next_mtr() {
                Step::Mtr(m) => m,
                // Pass 1 read the same bytes; a difference means the file changed.
                _ => {
                    return Err(self.corrupt(
                        dec.lsn(),
                        "the log changed while it was applied".into(),
                        end,
                    ))
                }
            };
            let (s, e) = (m.start_lsn(), m.end_lsn());
            for r in m.records() {
                let Some(page) = r.page() else { continue };
                if !keep(page, s) {
                    continue;
                }
                match r {
                    // Tablespace-level, handled in pass 1; ignorable options are not kept.
                    Record::Extended {
                        ext: Extended::TrimPages,
                        ..
                    } => continue,
                    Record::Option { data, .. }
                        if data.first() != Some(&innodb::redo::record::OPT_PAGE_CHECKSUM) =>
                    {
                        continue
                    }
                    _ => {}
                }
                let entry = pages.entry(page).or_default();
                if matches!(r, Record::InitPage { .. } | Record::FreePage { .. }) {
                    // Everything stored so far for the page is obsolete, including
                    // earlier records of this mtr; the page is not read from disk.
                    entry.init = true;
                    entry.recs.clear();
                }
                entry.recs.push((s, e, r));
            }
        }
        Ok(pages)
    }
}

/// Notes what pass 1 keeps of one record; returns true for a page record.
fn note_record(scan: &mut Scan, mtr_start: Lsn, r: &Record<'_>) -> bool {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match *r {
        Record::FileCreate { space, path } | Record::FileModify { space, path } => {
            let n = scan.spaces.entry(space).or_default();
            n.name = Some(text(path));
            n.deleted = false;
            false
        }
        Record::FileRename {
            space, new_path, ..
        } => {
            let n = scan.spaces.entry(space).or_default();
            n.name = Some(text(new_path));
            n.deleted = false;
            false
        }
        Record::FileDelete { space, path } => {
            let n = scan.spaces.entry(space).or_default();
            n.name = Some(text(path));
            n.deleted = true;
            false
        }
        Record::FileCheckpoint { .. } => false,
        Record::Extended {
            page,
            ext: Extended::TrimPages,
        } => {
            let n = scan.spaces.entry(page.space).or_default();
            n.trim = Some((mtr_start, page.page_no.0));
            true
        }
        _ => {
            let Some(page) = r.page() else { return false };
            if let Record::Write { offset, data, .. } = *r {
                if page.page_no.0 == 0 {
                    let n = scan.spaces.entry(page.space).or_default();
                    let end = offset + data.len() as u32;
                    let word = |at: u32| -> Option<u32> {
                        let i = (at - offset) as usize;
                        data.get(i..i + 4)
                            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                    };
                    if offset <= FSP_SIZE_AT && end >= FSP_SIZE_AT + 4 {
                        n.size = word(FSP_SIZE_AT).or(n.size);
                    }
                    if offset <= FSP_SPACE_FLAGS_AT && end >= FSP_SPACE_FLAGS_AT + 4 {
                        n.flags = word(FSP_SPACE_FLAGS_AT).or(n.flags);
                    }
                }
            }
            scan.pages
                .entry(page.space)
                .or_default()
                .insert(page.page_no.0);
            if matches!(r, Record::InitPage { .. } | Record::FreePage { .. }) {
                scan.discard.insert(page, mtr_start);
            }
            true
        }
    }
}

/// Looking for FILE_CHECKPOINT(checkpoint_lsn) in the mtrs that start at end_lsn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CheckpointSearch {
    /// Before end_lsn.
    Before,
    /// In the run of file-only mtrs that starts at end_lsn.
    InRun,
    /// Found.
    Found,
    /// end_lsn is not an mtr start, or the run ended without it.
    Missing,
}

impl CheckpointSearch {
    fn next(
        self,
        start: Lsn,
        end_lsn: Lsn,
        checkpoint_lsn: Lsn,
        m: &innodb::redo::Mtr<'_>,
    ) -> Self {
        let state = match self {
            CheckpointSearch::Before if start == end_lsn => CheckpointSearch::InRun,
            CheckpointSearch::Before if start > end_lsn => return CheckpointSearch::Missing,
            s => s,
        };
        if state != CheckpointSearch::InRun {
            return state;
        }
        let mut file_only = true;
        for r in m.records() {
            match r {
                Record::FileCheckpoint { lsn } if lsn == checkpoint_lsn => {
                    return CheckpointSearch::Found
                }
                Record::FileCheckpoint { .. } | Record::FileModify { .. } => {}
                _ => file_only = false,
            }
        }
        if file_only {
            CheckpointSearch::InRun
        } else {
            CheckpointSearch::Missing
        }
    }
}
