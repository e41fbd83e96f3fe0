//! Reading the backup's `ib_logfile0`: header and checkpoint, a validating scan of the
//! whole range to apply (pass 1), and collecting one batch of page records (pass 2).
//!
//! Pass 1 keeps only what is small and needed before any page is applied: tablespace
//! names and deletions (FILE_*), sizes and flags written to page 0, TRIM_PAGES, the
//! set of changed pages, and the LSN boundaries of the batches that fit the memory
//! budget. In pass 1 one thread frames the mtrs of each 2 MiB chunk (CRC) and workers
//! decode and check their records; the workers' notes are merged in log order.
//!
//! Pass 2 reads one batch's log bytes and indexes its page records compactly, its two
//! halves (split at an mtr boundary found in pass 1) on two threads: one 16-byte entry
//! per run of consecutive records of one page in one mtr (where the run starts and the
//! decoder state before it), chained per page; a run ends at the first record of
//! another page, and INIT_PAGE/FREE_PAGE always start one. Pass 2 only steps over the
//! records ([`Records::skim`]): pass 1 checked the same bytes, whose CRCs are checked
//! again. The apply decodes the runs again from the batch's bytes, on the worker
//! threads.
//!
//! Pass 1 decodes every record exactly once (frames, then one walk of the records that
//! both checks and uses them).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use innodb::redo::record::{
    Extended, PageId, Record, Records, EXTENDED, FREE_PAGE, INIT_PAGE, OPTION, OPT_PAGE_CHECKSUM,
    TRIM_PAGES,
};
use innodb::redo::{
    Decoder, EndOfLog, LogFile, MtrFormat, RedoError, SliceDecoder, Step, START_OFFSET,
};
use innodb::{Lsn, SpaceId};

use crypt::redo::LogKey;

use crate::error::PrepareError;
use crate::hash::{FxHashMap, FxHashSet};

/// Log bytes read per step of pass 1 (an mtr is at most 1 MiB, so this always holds
/// at least one); small enough that a worker finds the bytes the framer just read in
/// the CPU cache.
const SCAN_CHUNK: u64 = 2 << 20;
/// Memory of one stored run of page records: an [`Entry`].
pub(crate) const ENTRY_COST: u64 = std::mem::size_of::<Entry>() as u64;
/// Memory of one page of a batch: its [`Slot`] in the hash map of each part (with the
/// maps' spare capacity) and its key in the sorted list of pages.
pub(crate) const PAGE_COST: u64 = 128;
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
    /// The key of an encrypted log: record payloads are decrypted right after their
    /// mtr's CRC is checked (the CRC covers the encrypted bytes).
    key: Option<LogKey>,
}

/// A FILE_ record's view of a tablespace.
#[derive(Clone, Debug, Default)]
pub(crate) struct SpaceNote {
    /// Latest name from FILE_CREATE/FILE_MODIFY/FILE_RENAME (new name).
    pub(crate) name: Option<String>,
    /// The latest FILE_ record was FILE_DELETE.
    pub(crate) deleted: bool,
    /// Start LSN of the mtr of the latest FILE_DELETE: a space with records after it was
    /// given its id back by `IMPORT TABLESPACE` (a file the log does not describe), and
    /// the records before it belong to the old file (as TRIM_PAGES, they are not applied).
    pub(crate) deleted_at: Option<Lsn>,
    /// Latest FSP_SIZE written to page 0.
    pub(crate) size: Option<u32>,
    /// Latest FSP_SPACE_FLAGS written to page 0.
    pub(crate) flags: Option<u32>,
    /// TRIM_PAGES: (mtr start LSN, new size in pages).
    pub(crate) trim: Option<(Lsn, u32)>,
    /// Crypt data written to page 0 (`fil_space_crypt_t::write_page0`): scheme, key id,
    /// encryption mode; a deferred tablespace's key is checked with it before any write.
    pub(crate) crypt: Option<(u8, u32, u8)>,
}

/// One LSN range applied at once.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Batch {
    pub(crate) start: Lsn,
    pub(crate) end: Lsn,
    /// Runs of page records in the range (an upper bound of the entries stored).
    pub(crate) n_recs: u64,
    /// Distinct pages with records in the range.
    pub(crate) n_pages: u64,
    /// Mtrs with page records in the range.
    pub(crate) n_mtrs: u64,
    /// An mtr start near the middle of the range (pass 2 collects the two halves in
    /// parallel), or `start`.
    pub(crate) mid: Lsn,
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
    /// Pages whose last INIT_PAGE or FREE_PAGE is a FREE_PAGE: the server's recovery
    /// punches them out of page_compressed files (`flush_freed`).
    pub(crate) freed: FxHashSet<PageId>,
}

/// One stored run of records of one page in one mtr: the mtr, where the run's first
/// record starts in the mtr body, the decoder's "last offset" before it, and the next
/// run of the same page.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    mtr: u32,
    pos: u32,
    last: u32,
    next: u32,
}

/// The records of one page in one part of a batch: a list through [`Entry::next`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    /// INIT_PAGE or FREE_PAGE seen: start from zeros, do not read the page.
    pub(crate) init: bool,
    head: u32,
    tail: u32,
}

/// Parts of a batch collected in parallel.
pub(crate) const PARTS: usize = 2;

/// The records of one page in a whole batch: its list in each part.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PageSlots {
    /// INIT_PAGE or FREE_PAGE seen: start from zeros, do not read the page.
    pub(crate) init: bool,
    heads: [u32; PARTS],
}

/// One mtr group of a page's records, decoded again for the apply.
pub(crate) struct Group<'b> {
    pub(crate) start: Lsn,
    pub(crate) end: Lsn,
    body: &'b [u8],
    part: usize,
    first: u32,
}

/// The page records of one part of a batch.
struct Part {
    /// Per mtr with stored records: start, end of body, end (offsets in the buffer).
    mtrs: Vec<[u32; 3]>,
    entries: Vec<Entry>,
    pages: FxHashMap<PageId, Slot>,
}

/// The page records of one batch (pass 2), grouped by page (§5.1).
pub(crate) struct BatchLog {
    buf: Vec<u8>,
    start: Lsn,
    parts: Vec<Part>,
}

impl BatchLog {
    /// Gives the log buffer back for the next batch.
    pub(crate) fn into_buf(self) -> Vec<u8> {
        self.buf
    }

    /// Every page with records, sorted, with its lists (a later INIT_PAGE or
    /// FREE_PAGE makes the earlier parts' records obsolete).
    pub(crate) fn pages(&self) -> Vec<(PageId, PageSlots)> {
        let n: usize = self.parts.iter().map(|p| p.pages.len()).sum();
        let mut all: Vec<(PageId, u8, Slot)> = Vec::with_capacity(n);
        for (i, part) in self.parts.iter().enumerate() {
            all.extend(part.pages.iter().map(|(k, v)| (*k, i as u8, *v)));
        }
        all.sort_unstable_by_key(|(k, i, _)| (*k, *i));
        let mut out: Vec<(PageId, PageSlots)> = Vec::with_capacity(n);
        for (page, i, slot) in all {
            let new = PageSlots {
                init: false,
                heads: [NONE; PARTS],
            };
            let cur = match out.last_mut() {
                Some((p, s)) if *p == page => s,
                _ => {
                    out.push((page, new));
                    match out.last_mut() {
                        Some((_, s)) => s,
                        None => continue,
                    }
                }
            };
            if slot.init {
                *cur = new;
                cur.init = true;
            }
            if let Some(h) = cur.heads.get_mut(usize::from(i)) {
                *h = slot.head;
            }
        }
        out
    }

    /// The mtr groups of a page, in log order.
    pub(crate) fn groups(&self, slots: &PageSlots) -> Groups<'_> {
        Groups {
            log: self,
            heads: slots.heads,
            part: 0,
            at: slots.heads[0],
        }
    }

    /// The records of `group` (all decoded without error in pass 2): each entry is a
    /// run of consecutive records of the page, which ends at the first record of
    /// another page or the end of the mtr; the records pass 2 does not keep are
    /// skipped here too.
    pub(crate) fn records<'b>(
        &'b self,
        page: PageId,
        group: &Group<'b>,
    ) -> impl Iterator<Item = Result<Record<'b>, RedoError>> + 'b {
        let entries: &[Entry] = self.parts.get(group.part).map_or(&[], |p| &p.entries);
        let mut at = group.first;
        let (body, start) = (group.body, group.start);
        let mtr = entries.get(at as usize).map_or(NONE, |e| e.mtr);
        // The run being decoded, and whether its first record is still to come.
        let mut run: Option<(Records<'b>, bool)> = None;
        std::iter::from_fn(move || loop {
            if let Some((recs, first)) = run.as_mut() {
                let was_first = *first;
                *first = false;
                let r = recs.next();
                match r {
                    Some(Ok(r)) if r.page() == Some(page) => {
                        if !is_skipped_record(&r) {
                            return Some(Ok(r));
                        }
                        continue;
                    }
                    Some(Ok(_)) | None if !was_first => {
                        run = None;
                    }
                    Some(Err(e)) => {
                        at = NONE;
                        run = None;
                        return Some(Err(e));
                    }
                    _ => {
                        let pos = recs.record_pos();
                        at = NONE;
                        run = None;
                        return Some(Err(RedoError::Corrupt {
                            what: "a stored record decodes differently",
                            at: Lsn(start.0 + pos as u64),
                        }));
                    }
                }
            }
            let e = entries.get(at as usize).filter(|e| e.mtr == mtr)?;
            at = e.next;
            run = Some((
                Records::resume(body, start, e.pos as usize, page, e.last),
                true,
            ));
        })
    }
}

/// Page records that pass 2 does not keep: TRIM_PAGES (tablespace-level, handled in
/// pass 1) and ignorable options.
fn is_skipped(ty: u8, first: Option<u8>) -> bool {
    match ty {
        EXTENDED => first == Some(TRIM_PAGES),
        OPTION => first != Some(OPT_PAGE_CHECKSUM),
        _ => false,
    }
}

/// [`is_skipped`] for a decoded record.
fn is_skipped_record(r: &Record<'_>) -> bool {
    match r {
        Record::Extended {
            ext: Extended::TrimPages,
            ..
        } => true,
        Record::Option { data, .. } => data.first() != Some(&OPT_PAGE_CHECKSUM),
        _ => false,
    }
}

/// Iterator over the mtr groups of one page; see [`BatchLog::groups`].
pub(crate) struct Groups<'b> {
    log: &'b BatchLog,
    heads: [u32; PARTS],
    part: usize,
    at: u32,
}

impl<'b> Iterator for Groups<'b> {
    type Item = Group<'b>;

    fn next(&mut self) -> Option<Group<'b>> {
        loop {
            let part = self.log.parts.get(self.part)?;
            let entries = &part.entries;
            let first = self.at;
            let Some(e) = entries.get(first as usize) else {
                self.part += 1;
                self.at = self.heads.get(self.part).copied().unwrap_or(NONE);
                continue;
            };
            let mtr = e.mtr;
            // Records of one mtr are adjacent in the page's list.
            let mut at = first;
            while let Some(e) = entries.get(at as usize).filter(|e| e.mtr == mtr) {
                at = e.next;
            }
            self.at = at;
            let [s, b, e] = *part.mtrs.get(mtr as usize)?;
            let base = self.log.start.0;
            return Some(Group {
                start: Lsn(base + u64::from(s)),
                end: Lsn(base + u64::from(e)),
                body: self.log.buf.get(s as usize..b as usize).unwrap_or(&[]),
                part: self.part,
                first,
            });
        }
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
    pub(crate) fn open(path: &Path, keys: Option<&crypt::Keys>) -> Result<Log, PrepareError> {
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
        let key = match (info.header.is_encrypted(), info.header.encryption, keys) {
            (false, _, _) => None,
            (true, Some(enc), Some(keys)) => Some(
                LogKey::new(&keys.ring, keys.algorithm, &enc).map_err(|e| PrepareError::Key {
                    what: format!("{} (encrypted redo log)", path.display()),
                    reason: format!("{e}: give the server's key file (file_key_management_filename in backup-my.cnf or --file-key-management-filename)"),
                })?,
            ),
            (true, _, _) => {
                return Err(PrepareError::Key {
                    what: format!("{} (encrypted redo log)", path.display()),
                    reason: "no key management is configured: backup-my.cnf has no plugin_load=file_key_management; give --plugin-load-add=file_key_management --file-key-management-filename=KEYFILE (and --file-key-management-filekey, --file-key-management-encryption-algorithm as the server has them)".into(),
                })
            }
        };
        let format = MtrFormat::for_log(&info);
        Ok(Log {
            path: path.to_path_buf(),
            file,
            info,
            format,
            key,
        })
    }

    /// The plaintext of a framed mtr body: the body itself for an unencrypted log.
    fn plain<'b>(
        &self,
        body: &'b [u8],
        nonce: &[u8],
        start: Lsn,
    ) -> Result<Cow<'b, [u8]>, PrepareError> {
        match &self.key {
            None => Ok(Cow::Borrowed(body)),
            Some(key) => key
                .decrypt_body(body, nonce)
                .map(Cow::Owned)
                .map_err(|e| self.corrupt(start, e.to_string(), self.limit())),
        }
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
        self.read_ranges(ranges, out)
    }

    /// Reads the log bytes of `[lsn, lsn + out.len())` into `out`.
    fn read_slice(&self, lsn: Lsn, out: &mut [u8]) -> Result<(), PrepareError> {
        let ranges = self
            .info
            .geometry
            .file_ranges(lsn, out.len() as u64)
            .map_err(|source| PrepareError::LogHeader {
                path: self.path.clone(),
                source,
            })?;
        self.read_ranges(ranges, out)
    }

    fn read_ranges(
        &self,
        ranges: impl IntoIterator<Item = (u64, u64)>,
        out: &mut [u8],
    ) -> Result<(), PrepareError> {
        let mut at = 0usize;
        for (offset, n) in ranges {
            let n = n as usize;
            let part = out
                .get_mut(at..at + n)
                .ok_or_else(|| PrepareError::Unsupported {
                    what: "log ranges longer than the buffer".into(),
                })?;
            self.file
                .read_exact_at(part, offset)
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

    /// A record of a framed mtr (its checksum matched) that does not parse. In an encrypted
    /// log the bytes are as the server wrote them, so the decryption is what is wrong: the
    /// key file or the algorithm is not the server's (exit 2, the backup is sound).
    fn plaintext_error(&self, e: RedoError, start: Lsn) -> PrepareError {
        if self.key.is_none() {
            return self.record_error(e, start, self.limit());
        }
        PrepareError::Key {
            what: format!("{} (encrypted redo log)", self.path.display()),
            reason: crypt::redo::wrong_key_reason(start, e),
        }
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
                freed: FxHashSet::default(),
            },
            budget,
            batch: Batch {
                start: checkpoint.checkpoint_lsn,
                ..Batch::default()
            },
            batch_cost: 0,
            batch_index: 0,
            seen: FxHashMap::default(),
            cuts: Vec::new(),
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
        // This thread frames the mtrs of each chunk (cheap); workers decode their
        // records; the results are merged here in log order.
        let n_workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, MAX_SCAN_WORKERS);
        std::thread::scope(|s| {
            let mut to_workers = Vec::with_capacity(n_workers);
            let mut from_workers = Vec::with_capacity(n_workers);
            for _ in 0..n_workers {
                let (job_tx, job_rx) = mpsc::channel::<ScanJob>();
                let (res_tx, res_rx) = mpsc::channel::<ScanResult>();
                s.spawn(move || {
                    for job in job_rx {
                        if res_tx.send(self.decode_job(job)).is_err() {
                            return;
                        }
                    }
                });
                to_workers.push(job_tx);
                from_workers.push(res_rx);
            }
            // Jobs sent and not merged yet; job k went to worker k % n_workers.
            let (mut sent, mut merged) = (0usize, 0usize);
            let merge_one = |st: &mut ScanState, merged: &mut usize| -> Result<(), PrepareError> {
                let rx = from_workers.get(*merged % n_workers);
                *merged += 1;
                let r = rx.and_then(|rx| rx.recv().ok()).ok_or_else(|| {
                    self.corrupt(
                        checkpoint.checkpoint_lsn,
                        "a log scan worker stopped".into(),
                        limit,
                    )
                })?;
                let chunk = st.merge(r)?;
                if chunk.capacity() > 0 {
                    let _ = recycle.send(chunk);
                }
                Ok(())
            };
            let mut end: Option<Lsn> = None;
            let mut failure: Option<PrepareError> = None;
            for chunk in chunks {
                let (chunk_lsn, chunk) = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                };
                if chunk_lsn != dec.input_lsn() {
                    failure = Some(self.corrupt(
                        dec.lsn(),
                        "the log could not be read in order".into(),
                        limit,
                    ));
                    break;
                }
                let mut job = ScanJob {
                    chunk: Vec::new(),
                    extra: Vec::new(),
                    mtrs: Vec::new(),
                };
                let base = chunk.as_ptr() as usize;
                let mut stop = false;
                {
                    let mut input = dec.input(&chunk);
                    loop {
                        match input.next_frame() {
                            Step::Mtr(f) => {
                                cp_state = cp_state.next(
                                    f.start_lsn(),
                                    checkpoint.end_lsn,
                                    checkpoint.checkpoint_lsn,
                                    || {
                                        self.plain(
                                            f.body(),
                                            f.nonce().unwrap_or(&[]),
                                            f.start_lsn(),
                                        )
                                        .ok()
                                    },
                                );
                                let body = f.body();
                                let mut nonce = [0u8; 8];
                                if let Some(n) = f.nonce() {
                                    nonce.copy_from_slice(n);
                                }
                                let at = (body.as_ptr() as usize).wrapping_sub(base);
                                let in_chunk =
                                    at.checked_add(body.len()).is_some_and(|e| e <= chunk.len());
                                let (at, extra) = if in_chunk {
                                    (at, false)
                                } else {
                                    let at = job.extra.len();
                                    job.extra.extend_from_slice(body);
                                    (at, true)
                                };
                                job.mtrs.push(MtrRef {
                                    start: f.start_lsn(),
                                    at,
                                    body_len: body.len(),
                                    len: f.len() as u64,
                                    extra,
                                    nonce,
                                });
                            }
                            Step::NeedMore { .. } => break,
                            Step::EndOfLog(EndOfLog::CapacityReached { lsn: e }) => {
                                end = Some(e);
                                stop = true;
                                break;
                            }
                            Step::EndOfLog(e) => {
                                // A backup's log ends exactly at the end of its file (§9.1).
                                if is_backup {
                                    failure = Some(self.corrupt(e.lsn(), e.to_string(), limit));
                                } else {
                                    end = Some(e.lsn());
                                }
                                stop = true;
                                break;
                            }
                            Step::Error(e) => {
                                let at = input.lsn();
                                failure = Some(self.record_error(e, at, limit));
                                stop = true;
                                break;
                            }
                        }
                    }
                }
                job.chunk = chunk;
                if let Some(tx) = to_workers.get(sent % n_workers) {
                    if tx.send(job).is_err() {
                        return Err(self.corrupt(
                            dec.lsn(),
                            "a log scan worker stopped".into(),
                            limit,
                        ));
                    }
                }
                sent += 1;
                // Keep every worker busy, at most one job queued per worker.
                while sent - merged > n_workers {
                    merge_one(&mut st, &mut merged)?;
                }
                if stop {
                    break;
                }
            }
            // Earlier mtrs' errors come first.
            while merged < sent {
                merge_one(&mut st, &mut merged)?;
            }
            drop(to_workers);
            if let Some(e) = failure {
                return Err(e);
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
        })
    }

    /// Pass 1 on a worker: decodes and checks every record of the job's mtrs (each
    /// once) and notes what the scan keeps, for [`ScanState::merge`].
    fn decode_job(&self, job: ScanJob) -> ScanResult {
        let mut r = ScanResult {
            chunk: Vec::new(),
            mtrs: Vec::with_capacity(job.mtrs.len()),
            pages: Vec::new(),
            spaces: HashMap::new(),
            discard: FxHashMap::default(),
            freed: FxHashSet::default(),
            n_records: 0,
            error: None,
        };
        'mtrs: for m in &job.mtrs {
            let src = if m.extra { &job.extra } else { &job.chunk };
            let body = src.get(m.at..m.at + m.body_len).unwrap_or(&[]);
            let body = match self.plain(body, &m.nonce, m.start) {
                Ok(b) => b,
                Err(e) => {
                    r.error = Some(e);
                    break 'mtrs;
                }
            };
            let mut n_runs = 0u64;
            let first = r.pages.len();
            for rec in Records::new(&body, m.start) {
                let rec = match rec {
                    Ok(rec) => rec,
                    Err(e) => {
                        r.error = Some(self.plaintext_error(e, m.start));
                        break 'mtrs;
                    }
                };
                r.n_records += 1;
                if let Some(page) = note_record(&mut r.spaces, &mut r.discard, m.start, &rec) {
                    match rec {
                        Record::FreePage { .. } => drop(r.freed.insert(page)),
                        Record::InitPage { .. } => drop(r.freed.remove(&page)),
                        _ => {}
                    }
                    // Pass 2 stores one entry per run of records of one page, and
                    // starts a run at every INIT_PAGE and FREE_PAGE.
                    if r.pages.len() == first || r.pages.last() != Some(&page) {
                        r.pages.push(page);
                        n_runs += 1;
                    } else if matches!(rec, Record::InitPage { .. } | Record::FreePage { .. }) {
                        n_runs += 1;
                    }
                }
            }
            r.mtrs.push(MtrSum {
                start: m.start,
                len: m.len,
                n_runs,
                pages_end: r.pages.len(),
            });
        }
        r.chunk = job.chunk;
        r
    }

    /// Pass 2: the page records of `batch` (its bytes in `buf`), grouped by page
    /// (§5.1). `rules` and `discard` decide which records are applied. The two halves
    /// of the batch are read and collected in parallel, into `buf` (a spare buffer).
    pub(crate) fn collect(
        &self,
        mut buf: Vec<u8>,
        batch: &Batch,
        rules: &FxHashMap<SpaceId, SpaceRule>,
        discard: &FxHashMap<PageId, Lsn>,
    ) -> Result<BatchLog, PrepareError> {
        let (start, end) = (batch.start, batch.end);
        let mid = batch.mid.clamp(start, end);
        let len = (end.0 - start.0).max(1);
        let share = |n: u64, from: Lsn, to: Lsn| {
            usize::try_from(u128::from(n) * u128::from(to.0 - from.0) / u128::from(len))
                .unwrap_or(0)
        };
        let total = usize::try_from(end.0 - start.0).unwrap_or(usize::MAX);
        // Only growth is zeroed: the bytes are overwritten by the reads.
        buf.truncate(total);
        buf.resize(total, 0);
        let (lo, hi) = buf.split_at_mut(usize::try_from(mid.0 - start.0).unwrap_or(0));
        let (first, second) = std::thread::scope(|s| {
            let second = (mid < end).then(|| {
                s.spawn(|| {
                    self.read_slice(mid, hi)?;
                    self.collect_part(hi, start, mid, end, batch, rules, discard, |n| {
                        share(n, mid, end)
                    })
                })
            });
            let first = self.read_slice(start, lo).and_then(|()| {
                self.collect_part(lo, start, start, mid, batch, rules, discard, |n| {
                    share(n, start, mid)
                })
            });
            let second = second.map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(PrepareError::Unsupported {
                        what: "a log collecting thread failed".into(),
                    })
                })
            });
            (first, second)
        });
        let mut parts = vec![first?];
        if let Some(second) = second {
            parts.push(second?);
        }
        Ok(BatchLog { buf, start, parts })
    }

    /// Collects the page records of `[from, to)` (bytes in `slice`) of a batch that
    /// starts at `start`.
    #[allow(clippy::too_many_arguments)]
    fn collect_part(
        &self,
        slice: &mut [u8],
        start: Lsn,
        from: Lsn,
        to: Lsn,
        batch: &Batch,
        rules: &FxHashMap<SpaceId, SpaceRule>,
        discard: &FxHashMap<PageId, Lsn>,
        share: impl Fn(u64) -> usize,
    ) -> Result<Part, PrepareError> {
        let end = batch.end;
        let mut pages: FxHashMap<PageId, Slot> = FxHashMap::default();
        pages.reserve(share(batch.n_pages));
        let mut entries: Vec<Entry> = Vec::with_capacity(share(batch.n_recs));
        let mut mtrs: Vec<[u32; 3]> = Vec::with_capacity(share(batch.n_mtrs));
        // Pass 1 read the same bytes; a difference means the file changed.
        let changed =
            |at: Lsn| self.corrupt(at, "the log changed while it was applied".into(), end);
        {
            if slice.len() as u64 != to.0 - from.0 {
                return Err(changed(from));
            }
            // The mtrs: (start, body offset, body length, end). An encrypted log's
            // bodies are decrypted in place once all CRCs are checked, so that the
            // apply decodes plaintext from the batch's buffer.
            let mut frames: Vec<(Lsn, usize, usize, Lsn)> = Vec::with_capacity(share(batch.n_mtrs));
            let mut nonces: Vec<[u8; 8]> = Vec::new();
            {
                let mut dec = SliceDecoder::new(self.format, slice, from);
                while dec.lsn() < to {
                    let Step::Mtr(f) = dec.next_frame() else {
                        return Err(changed(dec.lsn()));
                    };
                    let at = usize::try_from(f.start_lsn().0 - from.0).unwrap_or(usize::MAX);
                    frames.push((f.start_lsn(), at, f.marker_index(), f.end_lsn()));
                    if let Some(n) = f.nonce().filter(|_| self.key.is_some()) {
                        let mut nonce = [0u8; 8];
                        nonce.copy_from_slice(n);
                        nonces.push(nonce);
                    }
                }
            }
            if let Some(key) = &self.key {
                for (&(s, at, len, _), nonce) in frames.iter().zip(&nonces) {
                    let body = slice.get_mut(at..at + len).ok_or_else(|| changed(s))?;
                    let plain = key
                        .decrypt_body(body, nonce)
                        .map_err(|e| self.corrupt(s, e.to_string(), end))?;
                    body.copy_from_slice(&plain);
                }
            }
            let slice = &*slice;
            // The filter of the latest page: (page, space rule, discard LSN).
            let mut cached: Option<(PageId, SpaceRule, Option<Lsn>)> = None;
            for &(s, at, body_len, mtr_end) in &frames {
                let body = slice.get(at..at + body_len).ok_or_else(|| changed(s))?;
                let off = |l: Lsn| u32::try_from(l.0 - start.0).unwrap_or(u32::MAX);
                let mtr_index = u32::try_from(mtrs.len()).unwrap_or(NONE);
                let mut used = false;
                // The page of the open run: the previous record was of this page and
                // is stored (or belongs to a stored run).
                let mut open: Option<PageId> = None;
                let mut recs = Records::new(body, s);
                loop {
                    let last = recs.last_offset();
                    let r = match recs.skim() {
                        Ok(None) => break,
                        Ok(Some(r)) => r,
                        Err(_) => return Err(changed(s)),
                    };
                    let Some(page) = r.page else { continue };
                    let init = matches!(r.ty, INIT_PAGE | FREE_PAGE);
                    if open == Some(page) && !init {
                        // Same run: the apply decodes it from the run's start.
                        continue;
                    }
                    open = None;
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
                    if is_skipped(r.ty, r.first) {
                        continue;
                    }
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
                    open = Some(page);
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
                    let body_end = Lsn(s.0 + body_len as u64);
                    mtrs.push([off(s), off(body_end), off(mtr_end)]);
                }
                if mtr_end > to {
                    return Err(changed(s));
                }
            }
        }
        Ok(Part {
            mtrs,
            entries,
            pages,
        })
    }
}

/// Most pass-1 decoding workers.
const MAX_SCAN_WORKERS: usize = 4;

/// One framed mtr of a pass-1 job: its body is `at..at + body_len` of the chunk, or
/// of the job's `extra` bytes for an mtr that straddled two chunks.
struct MtrRef {
    start: Lsn,
    at: usize,
    body_len: usize,
    len: u64,
    extra: bool,
    /// The nonce of an encrypted log's mtr.
    nonce: [u8; 8],
}

/// The framed mtrs of one chunk, for a pass-1 worker.
struct ScanJob {
    chunk: Vec<u8>,
    extra: Vec<u8>,
    mtrs: Vec<MtrRef>,
}

/// One decoded mtr of a job: its pages are `pages[previous pages_end..pages_end]`.
struct MtrSum {
    start: Lsn,
    len: u64,
    n_runs: u64,
    pages_end: usize,
}

/// What a pass-1 worker found in one job, merged in log order.
struct ScanResult {
    chunk: Vec<u8>,
    mtrs: Vec<MtrSum>,
    /// Pages of each mtr (consecutive repeats removed).
    pages: Vec<PageId>,
    spaces: HashMap<SpaceId, SpaceNote>,
    discard: FxHashMap<PageId, Lsn>,
    /// Pages whose last INIT_PAGE or FREE_PAGE in these mtrs is a FREE_PAGE.
    freed: FxHashSet<PageId>,
    n_records: u64,
    /// The first bad record (after the mtrs in `mtrs`).
    error: Option<PrepareError>,
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
    /// Mtr starts about every [`CUT_STEP`] bytes of the current batch (or a 16th of
    /// the budget).
    cuts: Vec<Lsn>,
}

/// Distance between the candidate middles of a batch (smaller for a small budget).
const CUT_STEP: u64 = 1 << 20;
const CUT_STEP_MIN: u64 = 1 << 10;

impl ScanState {
    /// Closes the current batch at `end`.
    fn close_batch(&mut self, end: Lsn) {
        let half = self.batch.start.0 + (end.0.saturating_sub(self.batch.start.0)) / 2;
        self.batch.end = end;
        self.batch.mid = self
            .cuts
            .iter()
            .copied()
            .min_by_key(|c| c.0.abs_diff(half))
            .unwrap_or(self.batch.start);
        self.cuts.clear();
        self.scan.batches.push(self.batch);
    }

    /// Merges one job's result (jobs in log order); gives the chunk back.
    fn merge(&mut self, r: ScanResult) -> Result<Vec<u8>, PrepareError> {
        // Later notes replace earlier ones, as in one sequential walk.
        for (id, n) in r.spaces {
            let g = self.scan.spaces.entry(id).or_default();
            if n.name.is_some() {
                g.name = n.name;
                g.deleted = n.deleted;
            }
            if n.deleted_at.is_some() {
                // What this job saw after its FILE_DELETE (or nothing).
                g.deleted_at = n.deleted_at;
                g.size = n.size;
                g.flags = n.flags;
            }
            if n.size.is_some() {
                g.size = n.size;
            }
            if n.flags.is_some() {
                g.flags = n.flags;
            }
            if n.crypt.is_some() {
                g.crypt = n.crypt;
            }
            if n.trim.is_some() {
                g.trim = n.trim;
            }
        }
        for page in r.discard.keys() {
            self.scan.freed.remove(page);
        }
        self.scan.freed.extend(r.freed);
        self.scan.discard.extend(r.discard);
        self.scan.n_records += r.n_records;
        let mut from = 0;
        for m in &r.mtrs {
            let pages = r.pages.get(from..m.pages_end).unwrap_or(&[]);
            from = m.pages_end;
            self.mtr(m.start, m.len, m.n_runs, pages);
        }
        match r.error {
            Some(e) => Err(e),
            None => Ok(r.chunk),
        }
    }

    /// Notes one mtr (its records already checked) in the batches.
    fn mtr(&mut self, start: Lsn, len: u64, n_runs: u64, pages: &[PageId]) {
        self.scan.n_mtrs += 1;
        let mut new_pages = self.stamp_pages(pages);
        let mut cost = Self::cost(len, n_runs, new_pages);
        if self.batch_cost > 0
            && (self.batch_cost + cost > self.budget
                || self.batch.end.0.saturating_sub(self.batch.start.0) + len > BATCH_BYTES_MAX)
        {
            self.close_batch(start);
            self.batch = Batch {
                start,
                ..Batch::default()
            };
            self.batch_cost = 0;
            self.batch_index += 1;
            new_pages = self.stamp_pages(pages);
            cost = Self::cost(len, n_runs, new_pages);
        }
        let last_cut = self.cuts.last().copied().unwrap_or(self.batch.start);
        if start.0 - last_cut.0 >= (self.budget / 16).clamp(CUT_STEP_MIN, CUT_STEP) {
            self.cuts.push(start);
        }
        self.batch_cost += cost;
        self.batch.end = Lsn(start.0 + len);
        self.batch.n_recs += n_runs;
        self.batch.n_pages += new_pages;
        self.batch.n_mtrs += u64::from(n_runs > 0);
    }

    fn cost(len: u64, n_runs: u64, new_pages: u64) -> u64 {
        len + n_runs * ENTRY_COST + new_pages * PAGE_COST + if n_runs > 0 { MTR_COST } else { 0 }
    }

    /// Marks an mtr's pages as having records in the current batch; returns how many
    /// did not yet.
    fn stamp_pages(&mut self, pages: &[PageId]) -> u64 {
        let mut new = 0;
        for p in pages {
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
        self.close_batch(end);
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
fn note_record(
    spaces: &mut HashMap<SpaceId, SpaceNote>,
    discard: &mut FxHashMap<PageId, Lsn>,
    mtr_start: Lsn,
    r: &Record<'_>,
) -> Option<PageId> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match *r {
        Record::FileCreate { space, path } | Record::FileModify { space, path } => {
            let n = spaces.entry(space).or_default();
            n.name = Some(text(path));
            n.deleted = false;
            None
        }
        Record::FileRename {
            space, new_path, ..
        } => {
            let n = spaces.entry(space).or_default();
            n.name = Some(text(new_path));
            n.deleted = false;
            None
        }
        Record::FileDelete { space, path } => {
            let n = spaces.entry(space).or_default();
            n.name = Some(text(path));
            n.deleted = true;
            n.deleted_at = Some(mtr_start);
            // Page 0 of a file imported under this id says its own size and flags.
            n.size = None;
            n.flags = None;
            None
        }
        Record::FileCheckpoint { .. } => None,
        Record::Extended {
            page,
            ext: Extended::TrimPages,
        } => {
            let n = spaces.entry(page.space).or_default();
            n.trim = Some((mtr_start, page.page_no.0));
            None
        }
        _ => {
            let page = r.page()?;
            if let Record::Write { offset, data, .. } = *r {
                if page.page_no.0 == 0 {
                    let n = spaces.entry(page.space).or_default();
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
                    // The crypt data after its magic: type, IV length 16, IV, min key
                    // version, key id, encryption, at the offset the flags give.
                    // (Without the flags in this part of the log: the shape alone.)
                    if data.len() == 27 && data[1] == 16 && data[0] <= 1 && data[26] <= 2 {
                        let at = n.flags.map(|flags| {
                            innodb::page::SpaceFlags::parse(flags)
                                .map(|f| innodb::page::fsp::crypt_data_offset(&f) + 6)
                        });
                        if at.is_none_or(|at| at.ok() == Some(offset as usize)) {
                            n.crypt = Some((data[0], word(offset + 22).unwrap_or(0), data[26]));
                        }
                    }
                }
            }
            if matches!(r, Record::InitPage { .. } | Record::FreePage { .. }) {
                discard.insert(page, mtr_start);
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
    fn next<'b>(
        self,
        start: Lsn,
        end_lsn: Lsn,
        checkpoint_lsn: Lsn,
        body: impl FnOnce() -> Option<Cow<'b, [u8]>>,
    ) -> Self {
        let state = match self {
            CheckpointSearch::Before if start == end_lsn => CheckpointSearch::InRun,
            CheckpointSearch::Before if start > end_lsn => return CheckpointSearch::Missing,
            s => s,
        };
        if state != CheckpointSearch::InRun {
            return state;
        }
        let Some(body) = body() else {
            return CheckpointSearch::Missing;
        };
        let mut file_only = true;
        for r in Records::new(&body, start).filter_map(Result::ok) {
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
