//! Reading the backup's `ib_logfile0`: header and checkpoint, a validating scan of the
//! whole range to apply (pass 1), and collecting one batch of page records (pass 2).
//!
//! Pass 1 keeps only what is small and needed before any page is applied: tablespace
//! names and deletions (FILE_*), sizes and flags written to page 0, TRIM_PAGES, the
//! set of changed pages, and the LSN boundaries of the batches that fit the memory
//! budget. Pass 2 reads one batch's log bytes and indexes its page records compactly
//! (16 bytes each: where the record is and the decoder state before it); the apply
//! decodes each record again from the batch's bytes, on the worker threads.
//!
//! Each pass decodes every record exactly once (frames, then one walk of the records
//! that both checks and uses them).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use innodb::redo::record::{Extended, PageId, Record, Records};
use innodb::redo::{
    Decoder, EndOfLog, Frame, LogFile, MtrFormat, RedoError, SliceDecoder, Step, START_OFFSET,
};
use innodb::{Lsn, SpaceId};

use crate::error::PrepareError;
use crate::hash::FxHashMap;

/// Log bytes read per step of pass 1 (an mtr is at most 1 MiB, so this always holds
/// at least one).
const SCAN_CHUNK: u64 = 8 << 20;
/// Memory of one stored page record: an [`Entry`].
pub(crate) const ENTRY_COST: u64 = std::mem::size_of::<Entry>() as u64;
/// Memory of one page of a batch: its [`Slot`] in the hash map (with the map's spare
/// capacity) and its key in the sorted list of pages.
pub(crate) const PAGE_COST: u64 = 64;
/// Memory of one mtr with stored records: its offsets.
pub(crate) const MTR_COST: u64 = std::mem::size_of::<[u32; 3]>() as u64;
/// A batch's bytes are addressed with `u32` offsets.
const BATCH_BYTES_MAX: u64 = (u32::MAX as u64) - (2 << 20);
/// FSP_SIZE and FSP_SPACE_FLAGS in page 0 (FSP_HEADER_OFFSET 38 + 8 / + 16).
const FSP_SIZE_AT: u32 = 46;
const FSP_SPACE_FLAGS_AT: u32 = 54;
/// End of a page's record list.
const NONE: u32 = u32::MAX;

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

/// One LSN range applied at once.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Batch {
    pub(crate) start: Lsn,
    pub(crate) end: Lsn,
    /// Page records in the range (an upper bound of those stored).
    pub(crate) n_recs: u64,
    /// Distinct pages with records in the range.
    pub(crate) n_pages: u64,
    /// Mtrs with page records in the range.
    pub(crate) n_mtrs: u64,
}

/// What pass 1 found.
pub(crate) struct Scan {
    pub(crate) end_lsn: Lsn,
    pub(crate) n_mtrs: u64,
    pub(crate) n_records: u64,
    pub(crate) spaces: HashMap<SpaceId, SpaceNote>,
    /// Number of pages with records per space (for the missing-tablespace error).
    pub(crate) pages: HashMap<SpaceId, usize>,
    /// Every page with records, sorted.
    pub(crate) page_list: Vec<PageId>,
    /// The batches, consecutive LSN ranges from the checkpoint to `end_lsn`.
    pub(crate) batches: Vec<Batch>,
    /// Start LSN of the last mtr with INIT_PAGE or FREE_PAGE per page: with several
    /// batches, older records of such a page must be dropped in every batch, exactly
    /// as one batch would have discarded them (§5.1).
    pub(crate) discard: FxHashMap<PageId, Lsn>,
}

/// One stored page record: the mtr, where the record starts in the mtr body, the
/// decoder's "last offset" before it, and the next record of the same page.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    mtr: u32,
    pos: u32,
    last: u32,
    next: u32,
}

/// The records of one page in one batch: a list through [`Entry::next`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    /// INIT_PAGE or FREE_PAGE seen: start from zeros, do not read the page.
    pub(crate) init: bool,
    head: u32,
    tail: u32,
}

/// One mtr group of a page's records, decoded again for the apply.
pub(crate) struct Group<'b> {
    pub(crate) start: Lsn,
    pub(crate) end: Lsn,
    body: &'b [u8],
    first: u32,
}

/// The page records of one batch (pass 2), grouped by page (§5.1).
pub(crate) struct BatchLog {
    buf: Vec<u8>,
    start: Lsn,
    /// Per mtr with stored records: start, end of body, end (offsets in `buf`).
    mtrs: Vec<[u32; 3]>,
    entries: Vec<Entry>,
    pub(crate) pages: FxHashMap<PageId, Slot>,
}

impl BatchLog {
    /// Gives the log buffer back for the next batch.
    pub(crate) fn into_buf(self) -> Vec<u8> {
        self.buf
    }

    /// The mtr groups of `slot`, in log order.
    pub(crate) fn groups(&self, slot: &Slot) -> Groups<'_> {
        Groups {
            log: self,
            at: slot.head,
        }
    }

    /// The records of `group` (all decoded without error in pass 2).
    pub(crate) fn records<'b>(
        &'b self,
        page: PageId,
        group: &Group<'b>,
    ) -> impl Iterator<Item = Result<Record<'b>, RedoError>> + 'b {
        let entries = &self.entries;
        let mut at = group.first;
        let (body, start) = (group.body, group.start);
        let mtr = entries.get(at as usize).map_or(NONE, |e| e.mtr);
        std::iter::from_fn(move || {
            let e = entries.get(at as usize).filter(|e| e.mtr == mtr)?;
            at = e.next;
            let r = Records::resume(body, start, e.pos as usize, page, e.last).next();
            Some(match r {
                Some(Ok(r)) if r.page() == Some(page) => Ok(r),
                Some(Err(e)) => Err(e),
                _ => Err(RedoError::Corrupt {
                    what: "a stored record decodes differently",
                    at: Lsn(start.0 + u64::from(e.pos)),
                }),
            })
        })
    }
}

/// Iterator over the mtr groups of one page; see [`BatchLog::groups`].
pub(crate) struct Groups<'b> {
    log: &'b BatchLog,
    at: u32,
}

impl<'b> Iterator for Groups<'b> {
    type Item = Group<'b>;

    fn next(&mut self) -> Option<Group<'b>> {
        let entries = &self.log.entries;
        let first = self.at;
        let mtr = entries.get(first as usize)?.mtr;
        // Records of one mtr are adjacent in the page's list.
        let mut at = first;
        while let Some(e) = entries.get(at as usize).filter(|e| e.mtr == mtr) {
            at = e.next;
        }
        self.at = at;
        let [s, b, e] = *self.log.mtrs.get(mtr as usize)?;
        let base = self.log.start.0;
        Some(Group {
            start: Lsn(base + u64::from(s)),
            end: Lsn(base + u64::from(e)),
            body: self.log.buf.get(s as usize..b as usize).unwrap_or(&[]),
            first,
        })
    }
}

/// How pass 2 filters one space's records.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SpaceRule {
    /// The space has a file and is not deleted.
    pub(crate) applied: bool,
    /// Records of mtrs before this LSN were obsoleted by TRIM_PAGES.
    pub(crate) trim: Option<Lsn>,
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

    /// Reads the log bytes of `[lsn, lsn + len)` into `out`, across the wrap if needed.
    fn read_into(&self, lsn: Lsn, len: u64, out: &mut Vec<u8>) -> Result<(), PrepareError> {
        let ranges =
            self.info
                .geometry
                .file_ranges(lsn, len)
                .map_err(|source| PrepareError::LogHeader {
                    path: self.path.clone(),
                    source,
                })?;
        // Only growth is zeroed: the bytes are overwritten by the reads below.
        out.truncate(len as usize);
        out.resize(len as usize, 0);
        let mut at = 0usize;
        for (offset, n) in ranges {
            let n = n as usize;
            self.file
                .read_exact_at(&mut out[at..at + n], offset)
                .map_err(|e| PrepareError::io("read", &self.path, e))?;
            at += n;
        }
        Ok(())
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

    pub(crate) fn record_error(
        &self,
        e: RedoError,
        fallback: Lsn,
        expected_end: Lsn,
    ) -> PrepareError {
        let at = match e {
            RedoError::Corrupt { at, .. } => at,
            _ => fallback,
        };
        self.corrupt(at, e.to_string(), expected_end)
    }

    /// Pass 1: parses and checks everything from the checkpoint to the end of the log.
    /// `budget` bounds the memory of one batch. The file is read by a second thread,
    /// one chunk ahead of the parsing.
    pub(crate) fn scan(&self, budget: u64) -> Result<Scan, PrepareError> {
        let limit = self.limit();
        let from = self.checkpoint_lsn();
        std::thread::scope(|s| {
            let (full_tx, full_rx) = mpsc::sync_channel::<Result<(Lsn, Vec<u8>), PrepareError>>(1);
            let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
            // Consecutive fixed chunks; the parser's decoder carries an mtr that
            // straddles two of them. Buffers are recycled through `empty_tx`.
            s.spawn(move || {
                let mut lsn = from;
                while lsn < limit {
                    let len = (limit.0 - lsn.0).min(SCAN_CHUNK);
                    let mut buf = empty_rx.try_recv().unwrap_or_default();
                    let r = self.read_into(lsn, len, &mut buf).map(|()| (lsn, buf));
                    let failed = r.is_err();
                    if full_tx.send(r).is_err() || failed {
                        return;
                    }
                    lsn = Lsn(lsn.0 + len);
                }
            });
            let chunks = std::iter::from_fn(|| full_rx.recv().ok());
            let r = self.scan_chunks(budget, chunks, &empty_tx);
            drop(full_rx);
            r
        })
    }

    fn scan_chunks(
        &self,
        budget: u64,
        chunks: impl Iterator<Item = Result<(Lsn, Vec<u8>), PrepareError>>,
        recycle: &mpsc::Sender<Vec<u8>>,
    ) -> Result<Scan, PrepareError> {
        let checkpoint = self.info.checkpoint;
        let limit = self.limit();
        let is_backup = self.info.header.is_backup();
        let mut st = ScanState {
            scan: Scan {
                end_lsn: checkpoint.checkpoint_lsn,
                n_mtrs: 0,
                n_records: 0,
                spaces: HashMap::new(),
                pages: HashMap::new(),
                page_list: Vec::new(),
                batches: Vec::new(),
                discard: FxHashMap::default(),
            },
            budget,
            batch: Batch {
                start: checkpoint.checkpoint_lsn,
                ..Batch::default()
            },
            batch_cost: 0,
            batch_index: 0,
            seen: FxHashMap::default(),
            mtr_pages: Vec::new(),
        };
        // FILE_CHECKPOINT(checkpoint_lsn) must be in the mtrs at end_lsn (§2.6).
        let mut cp_state = CheckpointSearch::Before;
        // The streaming decoder keeps an mtr that straddles two chunks.
        let mut dec = Decoder::new(self.format, checkpoint.checkpoint_lsn).map_err(|source| {
            PrepareError::LogHeader {
                path: self.path.clone(),
                source,
            }
        })?;
        let mut end: Option<Lsn> = None;
        'chunks: for chunk in chunks {
            let (chunk_lsn, chunk) = chunk?;
            if chunk_lsn != dec.input_lsn() {
                return Err(self.corrupt(
                    dec.lsn(),
                    "the log could not be read in order".into(),
                    limit,
                ));
            }
            let mut input = dec.input(&chunk);
            loop {
                match input.next_frame() {
                    Step::Mtr(f) => {
                        cp_state = st.mtr(self, f, cp_state)?;
                    }
                    Step::NeedMore { .. } => break,
                    Step::EndOfLog(EndOfLog::CapacityReached { lsn: e }) => {
                        end = Some(e);
                        break 'chunks;
                    }
                    Step::EndOfLog(e) => {
                        // A backup's log ends exactly at the end of its file (§9.1).
                        if is_backup {
                            return Err(self.corrupt(e.lsn(), e.to_string(), limit));
                        }
                        end = Some(e.lsn());
                        break 'chunks;
                    }
                    Step::Error(e) => {
                        let at = input.lsn();
                        return Err(self.record_error(e, at, limit));
                    }
                }
            }
            drop(input);
            let _ = recycle.send(chunk);
        }
        let lsn = match end {
            Some(lsn) => lsn,
            None if dec.buffered() > 0 || dec.lsn() < limit => {
                return Err(self.corrupt(
                    dec.lsn(),
                    "the log ends inside a mini-transaction".into(),
                    limit,
                ))
            }
            None => dec.lsn(),
        };
        let mut scan = st.finish(lsn);
        scan.end_lsn = lsn.max(scan.end_lsn);
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
    pub(crate) fn read_batch(&self, batch: &Batch, buf: Vec<u8>) -> Result<Vec<u8>, PrepareError> {
        let mut buf = buf;
        self.read_into(batch.start, batch.end.0 - batch.start.0, &mut buf)?;
        Ok(buf)
    }

    /// Pass 2: the page records of `batch` (its bytes in `buf`), grouped by page
    /// (§5.1). `rules` and `discard` decide which records are applied.
    pub(crate) fn collect(
        &self,
        buf: Vec<u8>,
        batch: &Batch,
        rules: &FxHashMap<SpaceId, SpaceRule>,
        discard: &FxHashMap<PageId, Lsn>,
    ) -> Result<BatchLog, PrepareError> {
        let (start, end) = (batch.start, batch.end);
        let cap = |n: u64| usize::try_from(n).unwrap_or(0);
        let mut pages: FxHashMap<PageId, Slot> = FxHashMap::default();
        pages.reserve(cap(batch.n_pages));
        let mut entries: Vec<Entry> = Vec::with_capacity(cap(batch.n_recs));
        let mut mtrs: Vec<[u32; 3]> = Vec::with_capacity(cap(batch.n_mtrs));
        // Pass 1 read the same bytes; a difference means the file changed.
        let changed =
            |at: Lsn| self.corrupt(at, "the log changed while it was applied".into(), end);
        {
            let mut dec = SliceDecoder::new(self.format, &buf, start);
            // The filter of the latest page: (page, space rule, discard LSN).
            let mut cached: Option<(PageId, SpaceRule, Option<Lsn>)> = None;
            while dec.lsn() < end {
                let Step::Mtr(f) = dec.next_frame() else {
                    return Err(changed(dec.lsn()));
                };
                let s = f.start_lsn();
                let off = |l: Lsn| u32::try_from(l.0 - start.0).unwrap_or(u32::MAX);
                let mtr_index = u32::try_from(mtrs.len()).unwrap_or(NONE);
                let mut used = false;
                let mut recs = f.records();
                loop {
                    let last = recs.last_offset();
                    let r = match recs.next() {
                        None => break,
                        Some(Ok(r)) => r,
                        Some(Err(_)) => return Err(changed(s)),
                    };
                    let Some(page) = r.page() else { continue };
                    let (rule, disc) = match cached {
                        Some((p, rule, disc)) if p == page => (rule, disc),
                        _ => {
                            let rule = rules.get(&page.space).copied().unwrap_or_default();
                            let disc = discard.get(&page).copied();
                            cached = Some((page, rule, disc));
                            (rule, disc)
                        }
                    };
                    if !rule.applied
                        || rule.trim.is_some_and(|t| s < t)
                        || disc.is_some_and(|d| s < d)
                    {
                        continue;
                    }
                    let init = match r {
                        // Tablespace-level, handled in pass 1; ignorable options are
                        // not kept.
                        Record::Extended {
                            ext: Extended::TrimPages,
                            ..
                        } => continue,
                        Record::Option { data, .. }
                            if data.first() != Some(&innodb::redo::record::OPT_PAGE_CHECKSUM) =>
                        {
                            continue
                        }
                        Record::InitPage { .. } | Record::FreePage { .. } => true,
                        _ => false,
                    };
                    let index = u32::try_from(entries.len()).unwrap_or(NONE);
                    if index == NONE || mtr_index == NONE {
                        return Err(PrepareError::Unsupported {
                            what: "more than 4 billion records in one batch: lower --use-memory"
                                .into(),
                        });
                    }
                    entries.push(Entry {
                        mtr: mtr_index,
                        pos: u32::try_from(recs.record_pos()).unwrap_or(NONE),
                        last,
                        next: NONE,
                    });
                    used = true;
                    match pages.entry(page) {
                        std::collections::hash_map::Entry::Vacant(v) => {
                            v.insert(Slot {
                                init,
                                head: index,
                                tail: index,
                            });
                        }
                        std::collections::hash_map::Entry::Occupied(mut o) => {
                            let slot = o.get_mut();
                            if init {
                                // Everything stored so far for the page is obsolete,
                                // including earlier records of this mtr; the page is
                                // not read from disk.
                                *slot = Slot {
                                    init,
                                    head: index,
                                    tail: index,
                                };
                            } else {
                                if let Some(t) = entries.get_mut(slot.tail as usize) {
                                    t.next = index;
                                }
                                slot.tail = index;
                            }
                        }
                    }
                }
                if used {
                    let body_end = Lsn(s.0 + f.marker_index() as u64);
                    mtrs.push([off(s), off(body_end), off(f.end_lsn())]);
                }
            }
        }
        Ok(BatchLog {
            buf,
            start,
            mtrs,
            entries,
            pages,
        })
    }
}

/// Pass 1's running state.
struct ScanState {
    scan: Scan,
    budget: u64,
    /// The batch being filled.
    batch: Batch,
    batch_cost: u64,
    batch_index: u32,
    /// Per page with records: the last batch that has records of it.
    seen: FxHashMap<PageId, u32>,
    /// Pages of the current mtr (consecutive repeats removed).
    mtr_pages: Vec<PageId>,
}

impl ScanState {
    /// Checks and notes one mtr (every record is decoded here, once).
    fn mtr(
        &mut self,
        log: &Log,
        f: Frame<'_>,
        cp_state: CheckpointSearch,
    ) -> Result<CheckpointSearch, PrepareError> {
        let start = f.start_lsn();
        self.mtr_pages.clear();
        let mut n_page_recs = 0u64;
        for r in f.records() {
            let r = r.map_err(|e| log.record_error(e, start, log.limit()))?;
            self.scan.n_records += 1;
            if let Some(page) = note_record(&mut self.scan, start, &r) {
                n_page_recs += 1;
                if self.mtr_pages.last() != Some(&page) {
                    self.mtr_pages.push(page);
                }
            }
        }
        // The records are known good: the checkpoint search may walk them again
        // (only for the few mtrs at end_lsn).
        let cp_state = cp_state.next(
            start,
            log.info.checkpoint.end_lsn,
            log.info.checkpoint.checkpoint_lsn,
            &f,
        );
        self.scan.n_mtrs += 1;
        let len = f.len() as u64;
        let mut new_pages = self.stamp_pages();
        let mut cost = Self::cost(len, n_page_recs, new_pages);
        if self.batch_cost > 0
            && (self.batch_cost + cost > self.budget
                || self.batch.end.0.saturating_sub(self.batch.start.0) + len > BATCH_BYTES_MAX)
        {
            self.batch.end = start;
            self.scan.batches.push(self.batch);
            self.batch = Batch {
                start,
                ..Batch::default()
            };
            self.batch_cost = 0;
            self.batch_index += 1;
            new_pages = self.stamp_pages();
            cost = Self::cost(len, n_page_recs, new_pages);
        }
        self.batch_cost += cost;
        self.batch.end = f.end_lsn();
        self.batch.n_recs += n_page_recs;
        self.batch.n_pages += new_pages;
        self.batch.n_mtrs += u64::from(n_page_recs > 0);
        Ok(cp_state)
    }

    fn cost(len: u64, n_page_recs: u64, new_pages: u64) -> u64 {
        len + n_page_recs * ENTRY_COST
            + new_pages * PAGE_COST
            + if n_page_recs > 0 { MTR_COST } else { 0 }
    }

    /// Marks the current mtr's pages as having records in the current batch; returns
    /// how many did not yet.
    fn stamp_pages(&mut self) -> u64 {
        let mut new = 0;
        for p in &self.mtr_pages {
            let b = self.seen.entry(*p).or_insert(u32::MAX);
            if *b != self.batch_index {
                *b = self.batch_index;
                new += 1;
            }
        }
        new
    }

    fn finish(mut self, end: Lsn) -> Scan {
        let end = end.max(self.batch.start);
        self.batch.end = end;
        self.scan.batches.push(self.batch);
        let mut list: Vec<PageId> = self.seen.into_keys().collect();
        list.sort_unstable();
        for p in &list {
            *self.scan.pages.entry(p.space).or_default() += 1;
        }
        self.scan.page_list = list;
        self.scan
    }
}

/// Notes what pass 1 keeps of one record; returns the page of a page record.
fn note_record(scan: &mut Scan, mtr_start: Lsn, r: &Record<'_>) -> Option<PageId> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match *r {
        Record::FileCreate { space, path } | Record::FileModify { space, path } => {
            let n = scan.spaces.entry(space).or_default();
            n.name = Some(text(path));
            n.deleted = false;
            None
        }
        Record::FileRename {
            space, new_path, ..
        } => {
            let n = scan.spaces.entry(space).or_default();
            n.name = Some(text(new_path));
            n.deleted = false;
            None
        }
        Record::FileDelete { space, path } => {
            let n = scan.spaces.entry(space).or_default();
            n.name = Some(text(path));
            n.deleted = true;
            None
        }
        Record::FileCheckpoint { .. } => None,
        Record::Extended {
            page,
            ext: Extended::TrimPages,
        } => {
            let n = scan.spaces.entry(page.space).or_default();
            n.trim = Some((mtr_start, page.page_no.0));
            None
        }
        _ => {
            let page = r.page()?;
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
            if matches!(r, Record::InitPage { .. } | Record::FreePage { .. }) {
                scan.discard.insert(page, mtr_start);
            }
            Some(page)
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
    fn next(self, start: Lsn, end_lsn: Lsn, checkpoint_lsn: Lsn, m: &Frame<'_>) -> Self {
        let state = match self {
            CheckpointSearch::Before if start == end_lsn => CheckpointSearch::InRun,
            CheckpointSearch::Before if start > end_lsn => return CheckpointSearch::Missing,
            s => s,
        };
        if state != CheckpointSearch::InRun {
            return state;
        }
        let mut file_only = true;
        for r in m.records().filter_map(Result::ok) {
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
