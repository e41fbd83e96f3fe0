//! Typed redo records of one mini-transaction (redo-format.md §3.1, §3.3, §3.4, §4).
//!
//! ```text
//! byte 0: S(bit 7) | type (bits 6..4; bits 7..4 for file records) | L (bits 3..0)
//! L != 0: L more bytes;  L == 0: length varint V (n bytes), then V + 15 - n more bytes
//! then:   [space id varint, page number varint] unless same-page, then the body
//! ```
//! Records borrow their payloads from the mtr bytes. Same-page records get their page
//! id, and WRITE/MEMSET/MEMMOVE their absolute page offset, from the running state.

use std::fmt;

use super::varint::{self, VarintError};
use super::RedoError;
use crate::types::{Lsn, PageNo, SpaceId};

/// `FREE_PAGE`: the page was freed.
pub const FREE_PAGE: u8 = 0x00;
/// `INIT_PAGE`: the page is zero-initialised.
pub const INIT_PAGE: u8 = 0x10;
/// `EXTENDED`: a subtype byte follows.
pub const EXTENDED: u8 = 0x20;
/// `WRITE`: offset, then data.
pub const WRITE: u8 = 0x30;
/// `MEMSET`: offset, length, pattern.
pub const MEMSET: u8 = 0x40;
/// `MEMMOVE`: offset, length, source.
pub const MEMMOVE: u8 = 0x50;
/// `RESERVED`: unknown to 10.11; recovery stops.
pub const RESERVED: u8 = 0x60;
/// `OPTION`: optional information that may be ignored.
pub const OPTION: u8 = 0x70;
/// `FILE_CREATE`: a tablespace file was created.
pub const FILE_CREATE: u8 = 0x80;
/// `FILE_DELETE`: a tablespace file was deleted.
pub const FILE_DELETE: u8 = 0x90;
/// `FILE_RENAME`: a tablespace file was renamed.
pub const FILE_RENAME: u8 = 0xA0;
/// `FILE_MODIFY`: a tablespace is modified for the first time since the checkpoint.
pub const FILE_MODIFY: u8 = 0xB0;
/// `FILE_CHECKPOINT`: marks a checkpoint LSN.
pub const FILE_CHECKPOINT: u8 = 0xF0;
/// Bit 7 of the first record byte: same page, or (before any page record) file record.
pub const SAME_PAGE: u8 = 0x80;

/// `INIT_ROW_FORMAT_REDUNDANT` subtype of EXTENDED.
pub const INIT_ROW_FORMAT_REDUNDANT: u8 = 0;
/// `INIT_ROW_FORMAT_DYNAMIC` subtype (COMPACT and DYNAMIC pages).
pub const INIT_ROW_FORMAT_DYNAMIC: u8 = 1;
/// `UNDO_INIT` subtype.
pub const UNDO_INIT: u8 = 2;
/// `UNDO_APPEND` subtype.
pub const UNDO_APPEND: u8 = 3;
/// `INSERT_HEAP_REDUNDANT` subtype.
pub const INSERT_HEAP_REDUNDANT: u8 = 4;
/// `INSERT_REUSE_REDUNDANT` subtype.
pub const INSERT_REUSE_REDUNDANT: u8 = 5;
/// `INSERT_HEAP_DYNAMIC` subtype.
pub const INSERT_HEAP_DYNAMIC: u8 = 6;
/// `INSERT_REUSE_DYNAMIC` subtype.
pub const INSERT_REUSE_DYNAMIC: u8 = 7;
/// `DELETE_ROW_FORMAT_REDUNDANT` subtype.
pub const DELETE_ROW_FORMAT_REDUNDANT: u8 = 8;
/// `DELETE_ROW_FORMAT_DYNAMIC` subtype.
pub const DELETE_ROW_FORMAT_DYNAMIC: u8 = 9;
/// `TRIM_PAGES` subtype (undo tablespace truncation).
pub const TRIM_PAGES: u8 = 10;
/// `OPT_PAGE_CHECKSUM`: OPTION subtype carrying a CRC-32C of the page (debug builds).
pub const OPT_PAGE_CHECKSUM: u8 = 0;

/// `FIL_PAGE_TYPE`: the `last` offset after INIT_PAGE and EXTENDED records.
pub const FIL_PAGE_TYPE: u32 = 24;
/// Bytes 0..8 (checksum, page number) are never written by WRITE/MEMSET/MEMMOVE.
pub const FIL_PAGE_MIN_TARGET: u32 = 8;
/// `UNIV_PAGE_SIZE_MAX`: page offsets beyond it are corrupt whatever the page size.
pub const UNIV_PAGE_SIZE_MAX: u32 = 65536;

/// A page of a tablespace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageId {
    /// Tablespace id.
    pub space: SpaceId,
    /// Page number.
    pub page_no: PageNo,
}

impl fmt::Display for PageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[space {}, page {}]", self.space, self.page_no)
    }
}

/// Fields of INSERT_HEAP_REDUNDANT and INSERT_REUSE_REDUNDANT (§4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InsertRedundant<'a> {
    /// Predecessor origin relative to the infimum (101 + prev).
    pub prev: u32,
    /// `((n_fields - 1) << 3) | (one_byte_offsets << 2) | info`.
    pub enc_hdr: u32,
    /// Header bytes copied from the predecessor.
    pub hdr_c: u32,
    /// Leading data bytes copied from the predecessor.
    pub data_c: u32,
    /// Header bytes not copied, then data bytes not copied.
    pub literal: &'a [u8],
}

impl InsertRedundant<'_> {
    /// Number of fields of the new record.
    pub fn n_fields(&self) -> u32 {
        (self.enc_hdr >> 3) + 1
    }
    /// True if the record uses 1-byte field end offsets.
    pub fn one_byte_offsets(&self) -> bool {
        self.enc_hdr & 4 != 0
    }
    /// Info bits as stored in the record (0x10 min-rec, 0x20 delete-marked).
    pub fn info_bits(&self) -> u8 {
        ((self.enc_hdr & 3) << 4) as u8
    }
}

/// Fields of INSERT_HEAP_DYNAMIC and INSERT_REUSE_DYNAMIC (§4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InsertDynamic<'a> {
    /// Predecessor origin relative to the infimum (99 + prev).
    pub prev: u32,
    /// REUSE only: new header size − freed record's header size (0 for HEAP).
    pub shift: i32,
    /// `(hdr_l << 3) | (status & 4) | info`.
    pub enc_hdr_l: u32,
    /// Header bytes copied from the predecessor.
    pub hdr_c: u32,
    /// Leading data bytes copied from the predecessor.
    pub data_c: u32,
    /// `hdr_l` header bytes, then the data bytes not copied.
    pub literal: &'a [u8],
}

impl InsertDynamic<'_> {
    /// Number of literal header bytes.
    pub fn hdr_l(&self) -> u32 {
        self.enc_hdr_l >> 3
    }
    /// True if the record has status REC_STATUS_INSTANT.
    pub fn instant(&self) -> bool {
        self.enc_hdr_l & 4 != 0
    }
    /// Info bits as stored in the record (0x10 min-rec, 0x20 delete-marked).
    pub fn info_bits(&self) -> u8 {
        ((self.enc_hdr_l & 3) << 4) as u8
    }
}

/// The subtype of an EXTENDED record, with its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extended<'a> {
    /// Create an empty ROW_FORMAT=REDUNDANT index page.
    InitRowFormatRedundant,
    /// Create an empty COMPACT/DYNAMIC index page.
    InitRowFormatDynamic,
    /// Initialise an undo log page.
    UndoInit,
    /// Append an undo record.
    UndoAppend {
        /// The undo record (at least 3 bytes).
        data: &'a [u8],
    },
    /// Insert into the heap of a REDUNDANT page.
    InsertHeapRedundant(InsertRedundant<'a>),
    /// Insert into a freed record of a REDUNDANT page.
    InsertReuseRedundant(InsertRedundant<'a>),
    /// Insert into the heap of a COMPACT/DYNAMIC page.
    InsertHeapDynamic(InsertDynamic<'a>),
    /// Insert into a freed record of a COMPACT/DYNAMIC page.
    InsertReuseDynamic(InsertDynamic<'a>),
    /// Delete the successor of `prev` on a REDUNDANT page.
    DeleteRowFormatRedundant {
        /// Predecessor origin relative to the infimum.
        prev: u32,
    },
    /// Delete the successor of `prev` on a COMPACT/DYNAMIC page.
    DeleteRowFormatDynamic {
        /// Predecessor origin relative to the infimum.
        prev: u32,
        /// Variable header size of the deleted record (extra_size − 5).
        hdr_size: u32,
        /// Data size of the deleted record.
        data_size: u32,
    },
    /// Re-create an undo tablespace; the record's page number is the new size in pages.
    TrimPages,
}

/// One redo record with its page (or tablespace) resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record<'a> {
    /// FREE_PAGE.
    FreePage {
        /// The page.
        page: PageId,
    },
    /// INIT_PAGE.
    InitPage {
        /// The page.
        page: PageId,
    },
    /// EXTENDED.
    Extended {
        /// The page (for TRIM_PAGES: the page number is the new size).
        page: PageId,
        /// Subtype and fields.
        ext: Extended<'a>,
    },
    /// WRITE: copy `data` to `page[offset..]`.
    Write {
        /// The page.
        page: PageId,
        /// Absolute byte offset in the page (≥ 8).
        offset: u32,
        /// The bytes (at least one).
        data: &'a [u8],
    },
    /// MEMSET: fill `page[offset..offset + len]` with `pattern` repeated.
    Memset {
        /// The page.
        page: PageId,
        /// Absolute byte offset in the page (≥ 8).
        offset: u32,
        /// Bytes to fill (at least one).
        len: u32,
        /// The pattern, 1..=len bytes.
        pattern: &'a [u8],
    },
    /// MEMMOVE: copy `len` bytes from `page[source..]` to `page[offset..]` (overlap-safe).
    Memmove {
        /// The page.
        page: PageId,
        /// Absolute destination offset (≥ 8).
        offset: u32,
        /// Bytes to move (at least one).
        len: u32,
        /// Absolute source offset (≥ 8).
        source: u32,
    },
    /// OPTION: may be ignored.
    Option {
        /// The page.
        page: PageId,
        /// Subtype byte ([`OPT_PAGE_CHECKSUM`]) and its data; may be empty.
        data: &'a [u8],
    },
    /// FILE_CREATE.
    FileCreate {
        /// The tablespace.
        space: SpaceId,
        /// Path relative to the datadir (or absolute), no NUL.
        path: &'a [u8],
    },
    /// FILE_DELETE.
    FileDelete {
        /// The tablespace.
        space: SpaceId,
        /// The path.
        path: &'a [u8],
    },
    /// FILE_RENAME.
    FileRename {
        /// The tablespace.
        space: SpaceId,
        /// Path before.
        old_path: &'a [u8],
        /// Path after.
        new_path: &'a [u8],
    },
    /// FILE_MODIFY.
    FileModify {
        /// The tablespace.
        space: SpaceId,
        /// The path.
        path: &'a [u8],
    },
    /// FILE_CHECKPOINT (its LSN is 0 for padding).
    FileCheckpoint {
        /// The checkpoint LSN it marks.
        lsn: Lsn,
    },
}

/// The kind of a record, one per type and EXTENDED subtype; the names are those of
/// `redo_dump.py` and the testdata README.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    /// FREE_PAGE
    FreePage,
    /// INIT_PAGE
    InitPage,
    /// EXTENDED/INIT_ROW_FORMAT_REDUNDANT
    InitRowFormatRedundant,
    /// EXTENDED/INIT_ROW_FORMAT_DYNAMIC
    InitRowFormatDynamic,
    /// EXTENDED/UNDO_INIT
    UndoInit,
    /// EXTENDED/UNDO_APPEND
    UndoAppend,
    /// EXTENDED/INSERT_HEAP_REDUNDANT
    InsertHeapRedundant,
    /// EXTENDED/INSERT_REUSE_REDUNDANT
    InsertReuseRedundant,
    /// EXTENDED/INSERT_HEAP_DYNAMIC
    InsertHeapDynamic,
    /// EXTENDED/INSERT_REUSE_DYNAMIC
    InsertReuseDynamic,
    /// EXTENDED/DELETE_ROW_FORMAT_REDUNDANT
    DeleteRowFormatRedundant,
    /// EXTENDED/DELETE_ROW_FORMAT_DYNAMIC
    DeleteRowFormatDynamic,
    /// EXTENDED/TRIM_PAGES
    TrimPages,
    /// WRITE
    Write,
    /// MEMSET
    Memset,
    /// MEMMOVE
    Memmove,
    /// OPTION
    Option,
    /// FILE_CREATE
    FileCreate,
    /// FILE_DELETE
    FileDelete,
    /// FILE_RENAME
    FileRename,
    /// FILE_MODIFY
    FileModify,
    /// FILE_CHECKPOINT
    FileCheckpoint,
}

impl RecordKind {
    /// Every kind, in declaration order (`ALL[k.index()] == k`).
    pub const ALL: [RecordKind; 22] = [
        RecordKind::FreePage,
        RecordKind::InitPage,
        RecordKind::InitRowFormatRedundant,
        RecordKind::InitRowFormatDynamic,
        RecordKind::UndoInit,
        RecordKind::UndoAppend,
        RecordKind::InsertHeapRedundant,
        RecordKind::InsertReuseRedundant,
        RecordKind::InsertHeapDynamic,
        RecordKind::InsertReuseDynamic,
        RecordKind::DeleteRowFormatRedundant,
        RecordKind::DeleteRowFormatDynamic,
        RecordKind::TrimPages,
        RecordKind::Write,
        RecordKind::Memset,
        RecordKind::Memmove,
        RecordKind::Option,
        RecordKind::FileCreate,
        RecordKind::FileDelete,
        RecordKind::FileRename,
        RecordKind::FileModify,
        RecordKind::FileCheckpoint,
    ];

    /// Position in [`RecordKind::ALL`], for counting into an array.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The upstream name, without the `EXTENDED/` prefix (e.g. `"INSERT_HEAP_DYNAMIC"`).
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::FreePage => "FREE_PAGE",
            RecordKind::InitPage => "INIT_PAGE",
            RecordKind::InitRowFormatRedundant => "INIT_ROW_FORMAT_REDUNDANT",
            RecordKind::InitRowFormatDynamic => "INIT_ROW_FORMAT_DYNAMIC",
            RecordKind::UndoInit => "UNDO_INIT",
            RecordKind::UndoAppend => "UNDO_APPEND",
            RecordKind::InsertHeapRedundant => "INSERT_HEAP_REDUNDANT",
            RecordKind::InsertReuseRedundant => "INSERT_REUSE_REDUNDANT",
            RecordKind::InsertHeapDynamic => "INSERT_HEAP_DYNAMIC",
            RecordKind::InsertReuseDynamic => "INSERT_REUSE_DYNAMIC",
            RecordKind::DeleteRowFormatRedundant => "DELETE_ROW_FORMAT_REDUNDANT",
            RecordKind::DeleteRowFormatDynamic => "DELETE_ROW_FORMAT_DYNAMIC",
            RecordKind::TrimPages => "TRIM_PAGES",
            RecordKind::Write => "WRITE",
            RecordKind::Memset => "MEMSET",
            RecordKind::Memmove => "MEMMOVE",
            RecordKind::Option => "OPTION",
            RecordKind::FileCreate => "FILE_CREATE",
            RecordKind::FileDelete => "FILE_DELETE",
            RecordKind::FileRename => "FILE_RENAME",
            RecordKind::FileModify => "FILE_MODIFY",
            RecordKind::FileCheckpoint => "FILE_CHECKPOINT",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl<'a> Record<'a> {
    /// The kind of this record.
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::FreePage { .. } => RecordKind::FreePage,
            Record::InitPage { .. } => RecordKind::InitPage,
            Record::Extended { ext, .. } => match ext {
                Extended::InitRowFormatRedundant => RecordKind::InitRowFormatRedundant,
                Extended::InitRowFormatDynamic => RecordKind::InitRowFormatDynamic,
                Extended::UndoInit => RecordKind::UndoInit,
                Extended::UndoAppend { .. } => RecordKind::UndoAppend,
                Extended::InsertHeapRedundant(_) => RecordKind::InsertHeapRedundant,
                Extended::InsertReuseRedundant(_) => RecordKind::InsertReuseRedundant,
                Extended::InsertHeapDynamic(_) => RecordKind::InsertHeapDynamic,
                Extended::InsertReuseDynamic(_) => RecordKind::InsertReuseDynamic,
                Extended::DeleteRowFormatRedundant { .. } => RecordKind::DeleteRowFormatRedundant,
                Extended::DeleteRowFormatDynamic { .. } => RecordKind::DeleteRowFormatDynamic,
                Extended::TrimPages => RecordKind::TrimPages,
            },
            Record::Write { .. } => RecordKind::Write,
            Record::Memset { .. } => RecordKind::Memset,
            Record::Memmove { .. } => RecordKind::Memmove,
            Record::Option { .. } => RecordKind::Option,
            Record::FileCreate { .. } => RecordKind::FileCreate,
            Record::FileDelete { .. } => RecordKind::FileDelete,
            Record::FileRename { .. } => RecordKind::FileRename,
            Record::FileModify { .. } => RecordKind::FileModify,
            Record::FileCheckpoint { .. } => RecordKind::FileCheckpoint,
        }
    }

    /// The page of a page record; `None` for file records.
    pub fn page(&self) -> Option<PageId> {
        match *self {
            Record::FreePage { page }
            | Record::InitPage { page }
            | Record::Extended { page, .. }
            | Record::Write { page, .. }
            | Record::Memset { page, .. }
            | Record::Memmove { page, .. }
            | Record::Option { page, .. } => Some(page),
            _ => None,
        }
    }

    /// The tablespace of any record except FILE_CHECKPOINT.
    pub fn space(&self) -> Option<SpaceId> {
        match *self {
            Record::FileCreate { space, .. }
            | Record::FileDelete { space, .. }
            | Record::FileRename { space, .. }
            | Record::FileModify { space, .. } => Some(space),
            Record::FileCheckpoint { .. } => None,
            _ => self.page().map(|p| p.space),
        }
    }
}

/// What [`Records::skim`] tells of one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skimmed {
    /// The page of a page record; `None` for a file record.
    pub page: Option<PageId>,
    /// The type bits: [`FREE_PAGE`] ..= [`OPTION`] for a page record, [`FILE_CREATE`]
    /// ..= [`FILE_CHECKPOINT`] for a file record.
    pub ty: u8,
    /// The first payload byte of a page record (the EXTENDED subtype, the OPTION
    /// code).
    pub first: Option<u8>,
}

/// Iterator over the records of one mtr body (the bytes before the end marker).
///
/// Yields `Err(RedoError::Corrupt { at, .. })` with the LSN of the offending record and
/// then stops. Does not allocate.
#[derive(Clone, Debug)]
pub struct Records<'a> {
    body: &'a [u8],
    pos: usize,
    start: Lsn,
    /// The page of the latest record with a page id; `None` before the first one,
    /// which is what makes bit-7 records file records.
    page: Option<PageId>,
    /// The "last offset" of §3.4 for `page`.
    last: u32,
    /// The latest page record was FREE_PAGE: no same-page record may follow.
    freed: bool,
    failed: bool,
    /// Start of the record returned last.
    rec_start: usize,
}

/// A record-level failure; turned into `RedoError::Corrupt` with the record's LSN.
type Bad = &'static str;

#[inline]
/// The header of the record at `pos` of an mtr body (`mtr_t::parse_length`): how many
/// bytes the type/length header takes (1 to 4) and how many payload bytes follow it.
/// `None` if the header is not there or is corrupt. Encrypted logs encrypt only the
/// payloads, so this is all that can be read of a record before decryption.
pub fn record_header(body: &[u8], pos: usize) -> Option<(usize, usize)> {
    let b = *body.get(pos)?;
    let rlen = usize::from(b & 0x0F);
    if rlen != 0 {
        return Some((1, rlen));
    }
    let (v, n) = varint::decode_max(body.get(pos + 1..)?, 3).ok()?;
    Some((1 + n, (v as usize + 15).checked_sub(n)?))
}

fn read_varint(p: &[u8], at: &mut usize, max_len: usize, what: Bad) -> Result<u32, Bad> {
    let rest = p.get(*at..).unwrap_or(&[]);
    match varint::decode_max(rest, max_len) {
        Ok((v, n)) => {
            *at += n;
            Ok(v)
        }
        Err(_) => Err(what),
    }
}

fn check_path(path: &[u8]) -> Result<(), Bad> {
    if path.is_empty() {
        return Err("empty file name in a FILE_ record");
    }
    if !path.ends_with(b".ibd") || !path.contains(&b'/') {
        return Err("file name in a FILE_ record does not end in .ibd or has no '/'");
    }
    Ok(())
}

impl<'a> Records<'a> {
    /// Records of the body of the mtr that starts at `start` (for error LSNs).
    pub fn new(body: &'a [u8], start: Lsn) -> Records<'a> {
        Records {
            body,
            pos: 0,
            start,
            page: None,
            last: 0,
            freed: false,
            failed: false,
            rec_start: 0,
        }
    }

    /// Continues decoding at byte `pos` of `body` (from [`Records::record_pos`]),
    /// with the running state an earlier pass saw there: the page of the latest page
    /// record and its "last offset" ([`Records::last_offset`]). This re-decodes one stored
    /// record without walking the mtr again; for a record with its own page id the
    /// state is irrelevant, for a same-page record it must be the one saved.
    pub fn resume(body: &'a [u8], start: Lsn, pos: usize, page: PageId, last: u32) -> Records<'a> {
        Records {
            body,
            pos,
            start,
            page: Some(page),
            last,
            freed: false,
            failed: false,
            rec_start: pos,
        }
    }

    /// Byte position in the body of the record returned last (after any padding):
    /// with the [`Records::last_offset`] from before that record, what [`Records::resume`]
    /// needs to decode it again.
    #[inline]
    pub fn record_pos(&self) -> usize {
        self.rec_start
    }

    /// The running "last offset" (§3.4) that the next same-page record builds on.
    #[inline]
    pub fn last_offset(&self) -> u32 {
        self.last
    }

    fn corrupt(&mut self, what: Bad, rec_pos: usize) -> RedoError {
        self.failed = true;
        RedoError::Corrupt {
            what,
            at: Lsn(self.start.0.saturating_add(rec_pos as u64)),
        }
    }

    /// Reads the (space id, page number) pair at the start of `rest` (§3.1 checks).
    #[inline(always)]
    fn page_id(rest: &[u8]) -> Result<Option<(PageId, usize)>, Bad> {
        // The common case: one-byte space id and page number.
        if let [s, p, ..] = *rest {
            if s < 0x80 && p < 0x80 {
                return Ok(Some((
                    PageId {
                        space: SpaceId(u32::from(s)),
                        page_no: PageNo(u32::from(p)),
                    },
                    2,
                )));
            }
        }
        let rlen = rest.len();
        let Some(&first) = rest.first() else {
            return Ok(None);
        };
        let k = varint::encoded_len_from_first(first);
        if k > varint::MAX_LEN || k >= rlen {
            return Ok(None);
        }
        let (space, k) = varint::decode(rest).map_err(|_| "corrupt space id")?;
        let left = &rest[k..];
        let Some(&pfirst) = left.first() else {
            return Err("corrupt page number");
        };
        let k2 = varint::encoded_len_from_first(pfirst);
        if k2 > varint::MAX_LEN || k2 > left.len() {
            return Err("corrupt page number");
        }
        let (page_no, k2) = varint::decode(left).map_err(|_| "corrupt page number")?;
        Ok(Some((
            PageId {
                space: SpaceId(space),
                page_no: PageNo(page_no),
            },
            k + k2,
        )))
    }

    /// Decodes the next record; `Ok(None)` at the end of the body.
    fn step(&mut self) -> Result<Option<Record<'a>>, (Bad, usize)> {
        loop {
            let rec_pos = self.pos;
            let Some(&b) = self.body.get(rec_pos) else {
                return Ok(None);
            };
            if b <= 1 {
                return Err(("end-marker byte inside the records", rec_pos));
            }
            self.rec_start = rec_pos;
            let mut pos = rec_pos + 1;
            let mut rlen = usize::from(b & 0x0F);
            if rlen == 0 {
                let rest = self.body.get(pos..).unwrap_or(&[]);
                let (v, n) = varint::decode_max(rest, 3).map_err(|e| match e {
                    VarintError::Truncated => ("record length runs past the mtr", rec_pos),
                    VarintError::Invalid => ("corrupt record length", rec_pos),
                })?;
                // The V + 15 bytes after byte 0 include the n length bytes.
                rlen = v as usize + 15 - n;
                pos += n;
            }
            let end = pos + rlen;
            let Some(rest) = self.body.get(pos..end) else {
                return Err(("record runs past the end of the mini-transaction", rec_pos));
            };
            self.pos = end;

            let (page, p) = if b & SAME_PAGE != 0 {
                if let Some(page) = self.page {
                    if b & 0x70 <= INIT_PAGE {
                        return Err(("FREE_PAGE or INIT_PAGE with bit 7 set", rec_pos));
                    }
                    (page, rest)
                } else {
                    // Bit 7 before any page record: a file record.
                    match Self::page_id(rest) {
                        Ok(Some((id, n))) => {
                            return self
                                .file_record(b & 0xF0, id, &rest[n..], end == self.body.len())
                                .map(Some)
                                .map_err(|e| (e, rec_pos));
                        }
                        Ok(None) if b == FILE_CHECKPOINT | 1 && rest == [0] => continue, // padding
                        Ok(None) => return Err(("corrupt page identifier", rec_pos)),
                        Err(e) => return Err((e, rec_pos)),
                    }
                }
            } else {
                let (page, n) = match Self::page_id(rest) {
                    Ok(Some(x)) => x,
                    Ok(None) => return Err(("corrupt page identifier", rec_pos)),
                    Err(e) => return Err((e, rec_pos)),
                };
                self.page = Some(page);
                self.last = 0;
                self.freed = false;
                (page, &rest[n..])
            };
            return match self.page_body(b & 0x70, page, p) {
                Ok(r) => Ok(Some(r)),
                Err(e) => Err((e, rec_pos)),
            };
        }
    }

    /// Steps over the next record of a body whose records all decoded before (the
    /// same bytes, e.g. checked by the same CRC): keeps the running state that
    /// [`Records::record_pos`], [`Records::last_offset`] and [`Records::resume`] use,
    /// exactly as the iterator would, but does not check or decode the payloads.
    /// `Ok(None)` at the end of the body; bytes that cannot be stepped over give
    /// `Err(RedoError::Corrupt)`.
    pub fn skim(&mut self) -> Result<Option<Skimmed>, RedoError> {
        loop {
            let rec_pos = self.pos;
            let Some(&b) = self.body.get(rec_pos) else {
                return Ok(None);
            };
            if b <= 1 {
                return Err(self.corrupt("end-marker byte inside the records", rec_pos));
            }
            self.rec_start = rec_pos;
            let mut pos = rec_pos + 1;
            let mut rlen = usize::from(b & 0x0F);
            if rlen == 0 {
                let rest = self.body.get(pos..).unwrap_or(&[]);
                let Ok((v, n)) = varint::decode_max(rest, 3) else {
                    return Err(self.corrupt("corrupt record length", rec_pos));
                };
                rlen = v as usize + 15 - n;
                pos += n;
            }
            let end = pos + rlen;
            let Some(rest) = self.body.get(pos..end) else {
                return Err(
                    self.corrupt("record runs past the end of the mini-transaction", rec_pos)
                );
            };
            self.pos = end;
            if b & SAME_PAGE != 0 {
                if let Some(page) = self.page {
                    return self
                        .skim_body(b & 0x70, page, rest)
                        .map_err(|e| self.corrupt(e, rec_pos));
                }
                match Self::page_id(rest) {
                    Ok(Some(_)) => {
                        return Ok(Some(Skimmed {
                            page: None,
                            ty: b & 0xF0,
                            first: None,
                        }))
                    }
                    Ok(None) if b == FILE_CHECKPOINT | 1 && rest == [0] => continue, // padding
                    Ok(None) => return Err(self.corrupt("corrupt page identifier", rec_pos)),
                    Err(e) => return Err(self.corrupt(e, rec_pos)),
                }
            }
            let (page, n) = match Self::page_id(rest) {
                Ok(Some(x)) => x,
                Ok(None) => return Err(self.corrupt("corrupt page identifier", rec_pos)),
                Err(e) => return Err(self.corrupt(e, rec_pos)),
            };
            self.page = Some(page);
            self.last = 0;
            self.freed = false;
            return self
                .skim_body(b & 0x70, page, rest.get(n..).unwrap_or(&[]))
                .map_err(|e| self.corrupt(e, rec_pos));
        }
    }

    #[inline(always)]
    fn skim_body(&mut self, ty: u8, page: PageId, p: &[u8]) -> Result<Option<Skimmed>, Bad> {
        match ty {
            INIT_PAGE | EXTENDED => self.last = FIL_PAGE_TYPE,
            WRITE => {
                let (offset, n) = varint::decode_max(p, 3).map_err(|_| "corrupt WRITE offset")?;
                let len = (p.len() - n) as u32;
                self.last = self.last.wrapping_add(offset).wrapping_add(len);
            }
            MEMSET | MEMMOVE => {
                let mut at = 0;
                let offset = read_varint(p, &mut at, 3, "corrupt MEMSET/MEMMOVE offset")?;
                let len = read_varint(p, &mut at, 3, "corrupt MEMSET/MEMMOVE length")?;
                self.last = self.last.wrapping_add(offset).wrapping_add(len);
            }
            RESERVED => return Err("RESERVED record type (unknown log record)"),
            _ => {}
        }
        Ok(Some(Skimmed {
            page: Some(page),
            ty,
            first: p.first().copied(),
        }))
    }

    /// Target of WRITE/MEMSET/MEMMOVE: `last + offset`, within the page limits.
    #[inline]
    fn target(&self, offset: u32, len: u32) -> Result<u32, Bad> {
        let target = self
            .last
            .checked_add(offset)
            .ok_or("page offset overflow")?;
        if target < FIL_PAGE_MIN_TARGET {
            return Err("WRITE/MEMSET/MEMMOVE below page offset 8");
        }
        match target.checked_add(len) {
            Some(e) if e <= UNIV_PAGE_SIZE_MAX => Ok(target),
            _ => Err("WRITE/MEMSET/MEMMOVE beyond the largest page size"),
        }
    }

    #[inline(always)]
    fn page_body(&mut self, ty: u8, page: PageId, p: &'a [u8]) -> Result<Record<'a>, Bad> {
        if self.freed {
            return Err("record for a page after its FREE_PAGE in the same mtr");
        }
        match ty {
            FREE_PAGE | INIT_PAGE => {
                if !p.is_empty() {
                    return Err("FREE_PAGE or INIT_PAGE with a body");
                }
                if ty == FREE_PAGE {
                    self.freed = true;
                    Ok(Record::FreePage { page })
                } else {
                    self.last = FIL_PAGE_TYPE;
                    Ok(Record::InitPage { page })
                }
            }
            EXTENDED => {
                let ext = extended(p)?;
                self.last = FIL_PAGE_TYPE;
                Ok(Record::Extended { page, ext })
            }
            WRITE => {
                let mut at = 0;
                let offset = read_varint(p, &mut at, 3, "corrupt WRITE offset")?;
                let data = &p[at..];
                if data.is_empty() {
                    return Err("WRITE without data");
                }
                let offset = self.target(offset, data.len() as u32)?;
                self.last = offset + data.len() as u32;
                Ok(Record::Write { page, offset, data })
            }
            MEMSET => {
                let mut at = 0;
                let offset = read_varint(p, &mut at, 3, "corrupt MEMSET offset")?;
                let len = read_varint(p, &mut at, 3, "corrupt MEMSET length")?;
                let pattern = &p[at..];
                if len == 0 || pattern.is_empty() || pattern.len() > len as usize {
                    return Err("MEMSET pattern not within 1..=length bytes");
                }
                let offset = self.target(offset, len)?;
                self.last = offset + len;
                Ok(Record::Memset {
                    page,
                    offset,
                    len,
                    pattern,
                })
            }
            MEMMOVE => {
                let mut at = 0;
                let offset = read_varint(p, &mut at, 3, "corrupt MEMMOVE offset")?;
                let len = read_varint(p, &mut at, 3, "corrupt MEMMOVE length")?;
                let s = read_varint(p, &mut at, 3, "corrupt MEMMOVE source")?;
                if at != p.len() {
                    return Err("MEMMOVE with trailing bytes");
                }
                if len == 0 {
                    return Err("MEMMOVE of zero bytes");
                }
                let offset = self.target(offset, len)?;
                let delta = (s >> 1) + 1;
                let source = if s & 1 == 0 {
                    offset.checked_add(delta)
                } else {
                    offset.checked_sub(delta)
                };
                let source = match source {
                    Some(src)
                        if src >= FIL_PAGE_MIN_TARGET
                            && src
                                .checked_add(len)
                                .is_some_and(|e| e <= UNIV_PAGE_SIZE_MAX) =>
                    {
                        src
                    }
                    _ => return Err("MEMMOVE source outside the page"),
                };
                self.last = offset + len;
                Ok(Record::Memmove {
                    page,
                    offset,
                    len,
                    source,
                })
            }
            RESERVED => Err("RESERVED record type (unknown log record)"),
            _ => Ok(Record::Option { page, data: p }), // OPTION: ignorable, any length
        }
    }

    fn file_record(
        &mut self,
        ty: u8,
        id: PageId,
        p: &'a [u8],
        is_last: bool,
    ) -> Result<Record<'a>, Bad> {
        if id.page_no != PageNo(0) {
            return Err("file record with a nonzero page number");
        }
        let space = id.space;
        if ty == FILE_CHECKPOINT {
            if space != SpaceId(0) {
                return Err("FILE_CHECKPOINT with a nonzero space id");
            }
            let lsn: [u8; 8] = p
                .try_into()
                .map_err(|_| "FILE_CHECKPOINT body is not 8 bytes")?;
            if !is_last {
                return Err("FILE_CHECKPOINT is not the last record of its mtr");
            }
            return Ok(Record::FileCheckpoint {
                lsn: Lsn(u64::from_be_bytes(lsn)),
            });
        }
        if !matches!(ty, FILE_CREATE | FILE_DELETE | FILE_RENAME | FILE_MODIFY) {
            return Err("unknown file record type");
        }
        if space == SpaceId(0) {
            return Err("file record for the system tablespace");
        }
        let nul = p.iter().position(|&c| c == 0);
        if ty == FILE_RENAME {
            let Some(nul) = nul else {
                return Err("FILE_RENAME without a NUL between the names");
            };
            let (old_path, new_path) = (&p[..nul], &p[nul + 1..]);
            if new_path.contains(&0) {
                return Err("FILE_RENAME with more than one NUL");
            }
            check_path(old_path)?;
            check_path(new_path)?;
            return Ok(Record::FileRename {
                space,
                old_path,
                new_path,
            });
        }
        if nul.is_some() {
            return Err("NUL byte in a file name");
        }
        check_path(p)?;
        Ok(match ty {
            FILE_CREATE => Record::FileCreate { space, path: p },
            FILE_DELETE => Record::FileDelete { space, path: p },
            _ => Record::FileModify { space, path: p },
        })
    }
}

/// Decodes the body of an EXTENDED record (subtype byte first).
fn extended(p: &[u8]) -> Result<Extended<'_>, Bad> {
    let (&subtype, rest) = p.split_first().ok_or("EXTENDED record without a subtype")?;
    let mut at = 0;
    let bad = "corrupt EXTENDED record field";
    match subtype {
        INIT_ROW_FORMAT_REDUNDANT | INIT_ROW_FORMAT_DYNAMIC | UNDO_INIT | TRIM_PAGES => {
            if !rest.is_empty() {
                return Err("EXTENDED record that takes no fields has some");
            }
            Ok(match subtype {
                INIT_ROW_FORMAT_REDUNDANT => Extended::InitRowFormatRedundant,
                INIT_ROW_FORMAT_DYNAMIC => Extended::InitRowFormatDynamic,
                UNDO_INIT => Extended::UndoInit,
                _ => Extended::TrimPages,
            })
        }
        UNDO_APPEND => {
            if rest.len() < 3 {
                return Err("UNDO_APPEND shorter than 3 bytes");
            }
            Ok(Extended::UndoAppend { data: rest })
        }
        INSERT_HEAP_REDUNDANT | INSERT_REUSE_REDUNDANT => {
            let prev = read_varint(rest, &mut at, 3, bad)?;
            let enc_hdr = read_varint(rest, &mut at, 2, bad)?;
            let hdr_c = read_varint(rest, &mut at, 2, bad)?;
            let data_c = read_varint(rest, &mut at, 2, bad)?;
            let ins = InsertRedundant {
                prev,
                enc_hdr,
                hdr_c,
                data_c,
                literal: &rest[at..],
            };
            Ok(if subtype == INSERT_HEAP_REDUNDANT {
                Extended::InsertHeapRedundant(ins)
            } else {
                Extended::InsertReuseRedundant(ins)
            })
        }
        INSERT_HEAP_DYNAMIC | INSERT_REUSE_DYNAMIC => {
            let prev = read_varint(rest, &mut at, 3, bad)?;
            let mut shift = 0;
            if subtype == INSERT_REUSE_DYNAMIC {
                let s = read_varint(rest, &mut at, 3, bad)?;
                // x → x<<1, −x → (x<<1)|1; s < 2^22, so the cast is exact.
                let magnitude = (s >> 1) as i32;
                shift = if s & 1 != 0 { -magnitude } else { magnitude };
            }
            let enc_hdr_l = read_varint(rest, &mut at, 3, bad)?;
            let hdr_c = read_varint(rest, &mut at, 2, bad)?;
            let data_c = read_varint(rest, &mut at, 3, bad)?;
            let ins = InsertDynamic {
                prev,
                shift,
                enc_hdr_l,
                hdr_c,
                data_c,
                literal: &rest[at..],
            };
            Ok(if subtype == INSERT_HEAP_DYNAMIC {
                Extended::InsertHeapDynamic(ins)
            } else {
                Extended::InsertReuseDynamic(ins)
            })
        }
        DELETE_ROW_FORMAT_REDUNDANT => {
            let prev = read_varint(rest, &mut at, 3, bad)?;
            if at != rest.len() {
                return Err("DELETE_ROW_FORMAT_REDUNDANT with trailing bytes");
            }
            Ok(Extended::DeleteRowFormatRedundant { prev })
        }
        DELETE_ROW_FORMAT_DYNAMIC => {
            let prev = read_varint(rest, &mut at, 3, bad)?;
            let hdr_size = read_varint(rest, &mut at, 2, bad)?;
            let data_size = read_varint(rest, &mut at, 3, bad)?;
            if at != rest.len() {
                return Err("DELETE_ROW_FORMAT_DYNAMIC with trailing bytes");
            }
            Ok(Extended::DeleteRowFormatDynamic {
                prev,
                hdr_size,
                data_size,
            })
        }
        _ => Err("unknown EXTENDED subtype"),
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, RedoError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err((what, at)) => Some(Err(self.corrupt(what, at))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(space: u32, page_no: u32) -> PageId {
        PageId {
            space: SpaceId(space),
            page_no: PageNo(page_no),
        }
    }

    fn decode(body: &[u8]) -> Result<Vec<Record<'_>>, RedoError> {
        Records::new(body, Lsn(1000)).collect()
    }

    fn check(body: &[u8], expected: &[Record<'_>]) {
        assert_eq!(decode(body).as_deref(), Ok(expected), "body {body:02x?}");
    }

    fn check_err(body: &[u8], what: &str, at: u64) {
        match decode(body) {
            Err(RedoError::Corrupt { what: w, at: a }) => {
                assert_eq!((w, a), (what, Lsn(at)), "body {body:02x?}")
            }
            other => panic!("body {body:02x?}: expected corrupt, got {other:?}"),
        }
    }

    #[test]
    fn skim_keeps_the_iterator_state() {
        // Page records with and without page ids (multi-byte ids and a long length),
        // EXTENDED, OPTION, FREE_PAGE, and a file record first.
        let mut body = vec![
            0xB9,
            0x07,
            0x00,
            b'd',
            b'/',
            b't',
            b'.',
            b'i',
            b'b',
            b'd', // FILE_MODIFY
            0x12,
            0x05,
            0x03, // INIT_PAGE (5, 3)
            0xB3,
            0x04,
            0x11,
            0x22, // WRITE same page
            0xC3,
            0x02,
            0x03,
            0xAA, // MEMSET same page
            0x36,
            0x81,
            0x00,
            0x83,
            0x10,
            0x64,
            0x33, // WRITE (256, 0x390) @100
            0xD3,
            0x00,
            0x04,
            0x01, // MEMMOVE same page
            0x23,
            0x05,
            0x04,
            INIT_ROW_FORMAT_DYNAMIC, // EXTENDED (5, 4)
            0xF2,
            OPT_PAGE_CHECKSUM,
            0x01, // OPTION same page
            0x02,
            0x05,
            0x05, // FREE_PAGE (5, 5)
        ];
        // WRITE (5, 6) @200 with 20 bytes of data: length in a varint.
        body.extend_from_slice(&[0x30, 0x0A, 0x05, 0x06, 0x80, 0x48]);
        body.extend_from_slice(&[0x5A; 20]);
        let body = body.as_slice();
        let full: Vec<_> = {
            let mut r = Records::new(body, Lsn(1000));
            std::iter::from_fn(|| {
                let last = r.last_offset();
                let rec = r.next()?.expect("decodes");
                Some((r.record_pos(), last, r.last_offset(), rec.page()))
            })
            .collect()
        };
        let mut r = Records::new(body, Lsn(1000));
        let mut skimmed = Vec::new();
        loop {
            let last = r.last_offset();
            let Some(s) = r.skim().expect("skims") else {
                break;
            };
            skimmed.push((r.record_pos(), last, r.last_offset(), s.page));
        }
        assert_eq!(full.len(), 10);
        assert_eq!(skimmed, full);
    }

    #[test]
    fn page_records_and_last_offset() {
        // INIT_PAGE (5, 3); same-page WRITE rel 4 → 24+4 = 28, 2 bytes; same-page MEMSET
        // rel 2 → 32, len 3, pattern 0xAA; WRITE with page id (5, 3) offset 100.
        let body = [
            0x12, 0x05, 0x03, // INIT_PAGE
            0xB3, 0x04, 0x11, 0x22, // WRITE same page
            0xC3, 0x02, 0x03, 0xAA, // MEMSET same page
            0x34, 0x05, 0x03, 0x64, 0x33, // WRITE (5,3) @100
            0xD3, 0x00, 0x04, 0x01, // MEMMOVE rel 0 → 101, len 4, s=1 → src 101-1 = 100
        ];
        check(
            &body,
            &[
                Record::InitPage { page: page(5, 3) },
                Record::Write {
                    page: page(5, 3),
                    offset: 28,
                    data: &[0x11, 0x22],
                },
                Record::Memset {
                    page: page(5, 3),
                    offset: 32,
                    len: 3,
                    pattern: &[0xAA],
                },
                Record::Write {
                    page: page(5, 3),
                    offset: 100,
                    data: &[0x33],
                },
                Record::Memmove {
                    page: page(5, 3),
                    offset: 101,
                    len: 4,
                    source: 100,
                },
            ],
        );
    }

    #[test]
    fn long_form_length_and_file_records() {
        // FILE_MODIFY(space 7, "./w/t.ibd") then FILE_CHECKPOINT(0x0102).
        let mut body = vec![0xBB, 0x07, 0x00];
        body.extend_from_slice(b"./w/t.ibd");
        body.extend_from_slice(&[0xFA, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
        check(
            &body,
            &[
                Record::FileModify {
                    space: SpaceId(7),
                    path: b"./w/t.ibd",
                },
                Record::FileCheckpoint { lsn: Lsn(0x0102) },
            ],
        );
        // The same WRITE in the long form: L = 0, V = 1 (n = 1) → 15 more bytes.
        let mut long = vec![0x30, 0x01, 0x01, 0x02, 0x40];
        long.extend_from_slice(&[0x55; 12]);
        assert_eq!(long.len(), 1 + 16);
        check(
            &long,
            &[Record::Write {
                page: page(1, 2),
                offset: 64,
                data: &[0x55; 12],
            }],
        );
        // Rename with one NUL.
        let mut ren = vec![0xA0, 0x0B, 0x09, 0x00];
        ren.extend_from_slice(b"./a/b.ibd\0./a/c.ibd");
        // After byte 0 come V + 15 bytes including the one length byte.
        let rest = ren.len() - 2;
        ren[1] = (rest + 1 - 15) as u8;
        check(
            &ren,
            &[Record::FileRename {
                space: SpaceId(9),
                old_path: b"./a/b.ibd",
                new_path: b"./a/c.ibd",
            }],
        );
        // Padding is skipped.
        check(&[0xF1, 0x00], &[]);
    }

    #[test]
    fn extended_subtypes() {
        let p = page(3, 4);
        let cases: Vec<(Vec<u8>, Extended<'static>)> = vec![
            (vec![0x00], Extended::InitRowFormatRedundant),
            (vec![0x01], Extended::InitRowFormatDynamic),
            (vec![0x02], Extended::UndoInit),
            (
                vec![0x03, 1, 2, 3],
                Extended::UndoAppend { data: &[1, 2, 3] },
            ),
            (
                vec![0x04, 5, 0x19, 2, 3, 9],
                Extended::InsertHeapRedundant(InsertRedundant {
                    prev: 5,
                    enc_hdr: 0x19,
                    hdr_c: 2,
                    data_c: 3,
                    literal: &[9],
                }),
            ),
            (
                vec![0x07, 5, 3, 0x10, 1, 2, 8, 8],
                Extended::InsertReuseDynamic(InsertDynamic {
                    prev: 5,
                    shift: -1,
                    enc_hdr_l: 0x10,
                    hdr_c: 1,
                    data_c: 2,
                    literal: &[8, 8],
                }),
            ),
            (
                vec![0x08, 0x80, 0x01],
                Extended::DeleteRowFormatRedundant { prev: 129 },
            ),
            (
                vec![0x09, 7, 2, 30],
                Extended::DeleteRowFormatDynamic {
                    prev: 7,
                    hdr_size: 2,
                    data_size: 30,
                },
            ),
            (vec![0x0A], Extended::TrimPages),
        ];
        for (fields, ext) in cases {
            let mut body = vec![0x20 | (2 + fields.len()) as u8, 3, 4];
            body.extend_from_slice(&fields);
            check(&body, &[Record::Extended { page: p, ext }]);
        }
        check_err(&[0x23, 3, 4, 0x0B], "unknown EXTENDED subtype", 1000);
        check_err(
            &[0x24, 3, 4, 0x00, 0x00],
            "EXTENDED record that takes no fields has some",
            1000,
        );
    }

    #[test]
    fn corruption_is_located() {
        // FREE_PAGE with bit 7 after a page record: same page, refused.
        check_err(
            &[0x12, 1, 1, 0x81, 0x00],
            "FREE_PAGE or INIT_PAGE with bit 7 set",
            1003,
        );
        check_err(
            &[0x13, 1, 1, 0x00],
            "FREE_PAGE or INIT_PAGE with a body",
            1000,
        );
        check_err(
            &[0x02, 1, 1, 0xB2, 0x30, 0x01],
            "record for a page after its FREE_PAGE in the same mtr",
            1003,
        );
        check_err(&[0x33, 1, 1, 0x04], "WRITE without data", 1000);
        check_err(
            &[0x34, 1, 1, 0x04, 0],
            "WRITE/MEMSET/MEMMOVE below page offset 8",
            1000,
        );
        check_err(
            &[0x62, 1, 1],
            "RESERVED record type (unknown log record)",
            1000,
        );
        check_err(
            &[0x35, 1, 1],
            "record runs past the end of the mini-transaction",
            1000,
        );
        check_err(&[0xC2, 1, 0], "unknown file record type", 1000);
        check_err(&[0x91, 0], "corrupt page identifier", 1000);
        check_err(
            &[0xFA, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0x12, 1, 1],
            "FILE_CHECKPOINT is not the last record of its mtr",
            1000,
        );
        let mut sys = vec![0xBB, 0x00, 0x00];
        sys.extend_from_slice(b"./w/t.ibd");
        check_err(&sys, "file record for the system tablespace", 1000);
        let mut name = vec![0xBA, 0x05, 0x00];
        name.extend_from_slice(b"w/t.frm\0");
        check_err(&name, "NUL byte in a file name", 1000);
    }
}
