//! Applying redo records to one page image (redo-format.md §3.4, §4, §5.2–§5.4).
//!
//! Pure functions on a page buffer: no I/O, no allocation per record, no panic on any
//! input. The buffer is the **physical** page: `innodb_page_size` bytes, or `zip_size`
//! bytes for a ROW_FORMAT=COMPRESSED tablespace, whose WRITE/MEMSET/MEMMOVE records
//! address the compressed image (§3.4) and which refuses EXTENDED records (§4).
//!
//! * [`apply_record`]: one page record (WRITE, MEMSET, MEMMOVE, INIT_PAGE, FREE_PAGE,
//!   OPTION and every EXTENDED subtype except TRIM_PAGES, which is a tablespace-level
//!   operation the caller handles while collecting).
//! * [`stamp_page`]: FIL_PAGE_LSN, the trailer LSN and the checksum when a page that
//!   records changed is written back (§5.2, §5.4).
//!
//! Every consistency check of §4.2/§4.3 is made **before** the page is changed, as the
//! server does, and a failure is an [`ApplyError`] naming the page, the record kind and
//! the check. The caller decides the page-LSN rule (§5.2); see the `prepare` crate.
//!
//! Byte offsets keep the upstream names (page0page.h, rem0rec.h, trx0undo.h).

mod index;
mod stamp;
mod undo;

use std::fmt;

use crate::page::fil::{FIL_NULL, FIL_PAGE_OFFSET, FIL_PAGE_PREV, FIL_PAGE_SPACE_ID};
use crate::redo::record::{Extended, PageId, Record, RecordKind};

pub use index::{
    PAGE_DATA, PAGE_DIRECTION_B, PAGE_DIR_SLOT_MAX_N_OWNED, PAGE_DIR_SLOT_MIN_N_OWNED, PAGE_FREE,
    PAGE_GARBAGE, PAGE_HEADER, PAGE_HEAP_TOP, PAGE_INSTANT, PAGE_LAST_INSERT, PAGE_LEFT,
    PAGE_LEVEL, PAGE_NEW_INFIMUM, PAGE_NEW_SUPREMUM, PAGE_NEW_SUPREMUM_END, PAGE_NO_DIRECTION,
    PAGE_N_DIRECTION, PAGE_N_DIR_SLOTS, PAGE_N_HEAP, PAGE_N_RECS, PAGE_OLD_INFIMUM,
    PAGE_OLD_SUPREMUM, PAGE_OLD_SUPREMUM_END, PAGE_RIGHT,
};
pub use stamp::{stamp_page, PageFormat};
pub use undo::{
    TRX_UNDO_PAGE_FREE, TRX_UNDO_PAGE_HDR, TRX_UNDO_PAGE_HDR_SIZE, TRX_UNDO_PAGE_NODE,
    TRX_UNDO_PAGE_START, TRX_UNDO_SEG_HDR, TRX_UNDO_SEG_HDR_SIZE,
};

/// Bytes 0..8 (checksum or key version, page number) are never written by
/// WRITE/MEMSET/MEMMOVE (§3.4).
pub const MIN_TARGET: usize = 8;
/// Pages 0, 1 and 2 (FSP header, change-buffer bitmap, inodes) never get EXTENDED
/// records (§4).
pub const FIRST_PAGE_FOR_EXTENDED: u32 = 3;

/// What a record did to the page image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The image changed (or was initialised): the page must be written back.
    Changed,
    /// FREE_PAGE: nothing changed; the page is free in the allocation bitmaps.
    Freed,
    /// A record without effect on the image (an ignorable OPTION).
    Ignored,
}

/// A consistency check that failed while applying a record (§3.4, §4.2, §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    /// What the check demands, phrased as the violation.
    pub what: &'static str,
    /// The page offset involved, where there is one.
    pub at: Option<usize>,
}

impl Check {
    pub(crate) fn new(what: &'static str) -> Check {
        Check { what, at: None }
    }

    pub(crate) fn at(what: &'static str, at: usize) -> Check {
        Check { what, at: Some(at) }
    }
}

/// A record could not be applied to its page: the page image and the log disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ApplyError {
    /// The page.
    pub page: PageId,
    /// The record.
    pub record: RecordKind,
    /// The check that failed.
    pub check: Check,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot apply {} to page {}: {}",
            self.record, self.page, self.check.what
        )?;
        if let Some(at) = self.check.at {
            write!(f, " (page offset {at})")?;
        }
        Ok(())
    }
}

/// Result type of the page operations inside this module.
pub(crate) type Res<T> = Result<T, Check>;

/// Big-endian accessors on the page that fail with a [`Check`] instead of panicking.
pub(crate) struct Page<'p> {
    pub(crate) b: &'p mut [u8],
}

impl Page<'_> {
    pub(crate) fn len(&self) -> usize {
        self.b.len()
    }

    pub(crate) fn u8(&self, at: usize) -> Res<u8> {
        self.b
            .get(at)
            .copied()
            .ok_or(Check::at("read outside the page", at))
    }

    pub(crate) fn u16(&self, at: usize) -> Res<usize> {
        match self.b.get(at..at.wrapping_add(2)) {
            Some(&[hi, lo]) => Ok(usize::from(u16::from_be_bytes([hi, lo]))),
            _ => Err(Check::at("read outside the page", at)),
        }
    }

    pub(crate) fn set_u8(&mut self, at: usize, v: u8) -> Res<()> {
        let slot = self
            .b
            .get_mut(at)
            .ok_or(Check::at("write outside the page", at))?;
        *slot = v;
        Ok(())
    }

    /// Stores the low 16 bits of `v`.
    pub(crate) fn set_u16(&mut self, at: usize, v: usize) -> Res<()> {
        self.write(at, &(v as u16).to_be_bytes())
    }

    pub(crate) fn write(&mut self, at: usize, data: &[u8]) -> Res<()> {
        self.b
            .get_mut(at..at.wrapping_add(data.len()))
            .ok_or(Check::at("write outside the page", at))?
            .copy_from_slice(data);
        Ok(())
    }

    pub(crate) fn fill(&mut self, from: usize, to: usize, v: u8) -> Res<()> {
        self.b
            .get_mut(from..to)
            .ok_or(Check::at("write outside the page", from))?
            .fill(v);
        Ok(())
    }

    /// Overlap-safe copy of `len` bytes from `src` to `dst` (memmove).
    pub(crate) fn copy_within(&mut self, src: usize, dst: usize, len: usize) -> Res<()> {
        let n = self.b.len();
        if ends_past(src, len, n) {
            return Err(Check::at("copy source outside the page", src));
        }
        if ends_past(dst, len, n) {
            return Err(Check::at("copy target outside the page", dst));
        }
        self.b.copy_within(src..src + len, dst);
        Ok(())
    }
}

/// Applies one page record to `page` (the physical page image of `id`).
///
/// `compressed` is true for ROW_FORMAT=COMPRESSED tablespaces (`page.len()` is then the
/// zip size). Offsets in `record` are absolute, as [`crate::redo::Records`] resolves
/// them (§3.4); this function checks them against the physical page size. File
/// records, FILE_CHECKPOINT and TRIM_PAGES are not page operations and are refused.
pub fn apply_record(
    page: &mut [u8],
    id: PageId,
    compressed: bool,
    record: &Record<'_>,
) -> Result<Effect, ApplyError> {
    let fail = |check: Check| ApplyError {
        page: id,
        record: record.kind(),
        check,
    };
    let mut p = Page { b: page };
    match *record {
        Record::FreePage { .. } => Ok(Effect::Freed),
        Record::InitPage { .. } => {
            init_page(&mut p, id).map_err(fail)?;
            Ok(Effect::Changed)
        }
        Record::Write { offset, data, .. } => {
            let at = target(&p, offset as usize, data.len()).map_err(fail)?;
            p.write(at, data).map_err(fail)?;
            Ok(Effect::Changed)
        }
        Record::Memset {
            offset,
            len,
            pattern,
            ..
        } => {
            let len = len as usize;
            let at = target(&p, offset as usize, len).map_err(fail)?;
            if pattern.is_empty() {
                return Err(fail(Check::new("MEMSET without a pattern")));
            }
            let dst =
                p.b.get_mut(at..at + len)
                    .ok_or(fail(Check::at("MEMSET beyond the page", at)))?;
            for (d, s) in dst.iter_mut().zip(pattern.iter().cycle()) {
                *d = *s;
            }
            Ok(Effect::Changed)
        }
        Record::Memmove {
            offset,
            len,
            source,
            ..
        } => {
            let len = len as usize;
            let at = target(&p, offset as usize, len).map_err(fail)?;
            let source = source as usize;
            if source < MIN_TARGET || ends_past(source, len, p.len()) {
                return Err(fail(Check::at("MEMMOVE source outside the page", source)));
            }
            p.copy_within(source, at, len).map_err(fail)?;
            Ok(Effect::Changed)
        }
        // Only OPT_PAGE_CHECKSUM exists (debug builds); the server does not verify it
        // in release builds either, but the page counts as changed by the mtr.
        Record::Option { data, .. } => Ok(
            if data.first() == Some(&crate::redo::record::OPT_PAGE_CHECKSUM) {
                Effect::Changed
            } else {
                Effect::Ignored
            },
        ),
        Record::Extended { ext, .. } => {
            if matches!(ext, Extended::TrimPages) {
                return Err(fail(Check::new(
                    "TRIM_PAGES is a tablespace operation, not a page change",
                )));
            }
            if id.page_no.0 < FIRST_PAGE_FOR_EXTENDED {
                return Err(fail(Check::new("EXTENDED record for page 0, 1 or 2")));
            }
            if compressed {
                return Err(fail(Check::new(
                    "EXTENDED record for a ROW_FORMAT=COMPRESSED page",
                )));
            }
            extended(&mut p, id, &ext).map_err(fail)?;
            Ok(Effect::Changed)
        }
        Record::FileCreate { .. }
        | Record::FileDelete { .. }
        | Record::FileRename { .. }
        | Record::FileModify { .. }
        | Record::FileCheckpoint { .. } => {
            Err(fail(Check::new("a file record is not a page change")))
        }
    }
}

/// True if `start + len` overflows or lies beyond `limit`.
pub(crate) fn ends_past(start: usize, len: usize, limit: usize) -> bool {
    match start.checked_add(len) {
        Some(end) => end > limit,
        None => true,
    }
}

/// Checks a WRITE/MEMSET/MEMMOVE target against the physical page (§3.4).
fn target(p: &Page<'_>, offset: usize, len: usize) -> Res<usize> {
    if offset < MIN_TARGET {
        return Err(Check::at("target below page offset 8", offset));
    }
    if offset >= p.len() || ends_past(offset, len, p.len()) {
        return Err(Check::at("target + length beyond the page size", offset));
    }
    Ok(offset)
}

/// INIT_PAGE (§5.3): zero the physical page, set page number, space id, and no
/// neighbours.
fn init_page(p: &mut Page<'_>, id: PageId) -> Res<()> {
    p.b.fill(0);
    p.write(FIL_PAGE_OFFSET, &id.page_no.0.to_be_bytes())?;
    // FIL_PAGE_PREV and FIL_PAGE_NEXT are adjacent: both FIL_NULL.
    p.write(FIL_PAGE_PREV, &FIL_NULL.to_be_bytes())?;
    p.write(FIL_PAGE_PREV + 4, &FIL_NULL.to_be_bytes())?;
    p.write(FIL_PAGE_SPACE_ID, &id.space.0.to_be_bytes())
}

fn extended(p: &mut Page<'_>, id: PageId, ext: &Extended<'_>) -> Res<()> {
    match *ext {
        Extended::InitRowFormatRedundant => index::page_create(p, false),
        Extended::InitRowFormatDynamic => index::page_create(p, true),
        Extended::UndoInit => undo::undo_init(p),
        Extended::UndoAppend { data } => undo::undo_append(p, data),
        Extended::InsertHeapRedundant(ins) => index::insert_redundant(p, id, false, &ins),
        Extended::InsertReuseRedundant(ins) => index::insert_redundant(p, id, true, &ins),
        Extended::InsertHeapDynamic(ins) => index::insert_dynamic(p, id, false, &ins),
        Extended::InsertReuseDynamic(ins) => index::insert_dynamic(p, id, true, &ins),
        Extended::DeleteRowFormatRedundant { prev } => {
            index::delete_redundant(p, id, prev as usize)
        }
        Extended::DeleteRowFormatDynamic {
            prev,
            hdr_size,
            data_size,
        } => index::delete_dynamic(p, id, prev as usize, hdr_size as usize, data_size as usize),
        Extended::TrimPages => Err(Check::new("TRIM_PAGES is not a page change")),
    }
}

#[cfg(test)]
mod tests;
