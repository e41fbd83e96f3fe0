//! UNDO_INIT and UNDO_APPEND (redo-format.md §4.3; trx0undo.h, trx0rec.cc).
//!
//! ```text
//! 38 TRX_UNDO_PAGE_HDR: +0 type (0) | +2 PAGE_START | +4 PAGE_FREE | +6 list node (12)
//! 56 TRX_UNDO_SEG_HDR (30 bytes, kept) | 86 undo records ... | page_size-8 trailer
//! ```
//! An appended undo record is framed as `next (2) | data (n) | start (2)`.

use super::{Check, Page, Res};
use crate::page::fil::{
    FIL_NULL, FIL_PAGE_DATA, FIL_PAGE_DATA_END, FIL_PAGE_TYPE, FIL_PAGE_UNDO_LOG,
};

/// Undo page header: right after the FIL header.
pub const TRX_UNDO_PAGE_HDR: usize = FIL_PAGE_DATA;
/// `TRX_UNDO_PAGE_TYPE` (offset 0 in the undo page header): always 0 in 10.11.
pub const TRX_UNDO_PAGE_TYPE: usize = 0;
/// Offset of the first undo record of the latest undo log on this page.
pub const TRX_UNDO_PAGE_START: usize = 2;
/// Offset of the first free byte on the page.
pub const TRX_UNDO_PAGE_FREE: usize = 4;
/// The list node of the undo pages of one undo log (prev page, prev offset, next page,
/// next offset).
pub const TRX_UNDO_PAGE_NODE: usize = 6;
/// Size of the undo page header.
pub const TRX_UNDO_PAGE_HDR_SIZE: usize = 6 + FLST_NODE_SIZE;
/// The undo segment header follows the page header.
pub const TRX_UNDO_SEG_HDR: usize = TRX_UNDO_PAGE_HDR + TRX_UNDO_PAGE_HDR_SIZE;
/// Size of the undo segment header, which UNDO_INIT leaves as it is.
pub const TRX_UNDO_SEG_HDR_SIZE: usize = 30;
/// `FLST_NODE_SIZE`: a file list node (prev page 4, prev offset 2, next page 4, next
/// offset 2).
const FLST_NODE_SIZE: usize = 12;
/// Offsets inside a file list node.
const FLST_PREV: usize = 0;
const FLST_NEXT: usize = 6;
/// Bytes around an appended undo record: the 2-byte next pointer before it and the
/// 2-byte start pointer after it.
const UNDO_RECORD_FRAME: usize = 4;
/// UNDO_APPEND needs `free + n + 6 < page_size - 8` (2 spare bytes beyond the frame).
const UNDO_APPEND_MARGIN: usize = 6;

/// UNDO_INIT: make the page an empty undo log page.
pub(crate) fn undo_init(p: &mut Page<'_>) -> Res<()> {
    let size = p.len();
    p.set_u16(FIL_PAGE_TYPE, usize::from(FIL_PAGE_UNDO_LOG))?;
    let h = TRX_UNDO_PAGE_HDR;
    p.set_u16(h + TRX_UNDO_PAGE_TYPE, 0)?;
    p.set_u16(h + TRX_UNDO_PAGE_START, TRX_UNDO_SEG_HDR)?;
    p.set_u16(h + TRX_UNDO_PAGE_FREE, TRX_UNDO_SEG_HDR)?;
    let node = h + TRX_UNDO_PAGE_NODE;
    p.write(node + FLST_PREV, &FIL_NULL.to_be_bytes())?;
    p.set_u16(node + FLST_PREV + 4, 0)?;
    p.write(node + FLST_NEXT, &FIL_NULL.to_be_bytes())?;
    p.set_u16(node + FLST_NEXT + 4, 0)?;
    let from = TRX_UNDO_SEG_HDR + TRX_UNDO_SEG_HDR_SIZE;
    let to = size.checked_sub(FIL_PAGE_DATA_END).filter(|&to| to >= from);
    let to = to.ok_or(Check::new("page too small for an undo page"))?;
    p.fill(from, to, 0)
}

/// UNDO_APPEND: append one undo record at TRX_UNDO_PAGE_FREE.
pub(crate) fn undo_append(p: &mut Page<'_>, data: &[u8]) -> Res<()> {
    let free_at = TRX_UNDO_PAGE_HDR + TRX_UNDO_PAGE_FREE;
    let free = p.u16(free_at)?;
    let n = data.len();
    if free < TRX_UNDO_SEG_HDR {
        return Err(Check::at(
            "TRX_UNDO_PAGE_FREE points into the undo page header",
            free,
        ));
    }
    let limit = p.len().saturating_sub(FIL_PAGE_DATA_END);
    if free + n + UNDO_APPEND_MARGIN >= limit {
        return Err(Check::at(
            "undo record does not fit before the page trailer",
            free,
        ));
    }
    let new_free = free + UNDO_RECORD_FRAME + n;
    p.set_u16(free_at, new_free)?;
    p.set_u16(free, new_free)?;
    p.write(free + 2, data)?;
    p.set_u16(free + 2 + n, free)
}
