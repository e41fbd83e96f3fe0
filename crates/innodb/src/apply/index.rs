//! Index page subtypes of EXTENDED: create, insert, delete (redo-format.md §4.1, §4.2;
//! upstream page0page.h, rem0rec.h, page0cur.cc `page_apply_*`).
//!
//! ```text
//! 38 PAGE_HEADER (36 bytes) | 74 two segment headers | 94 PAGE_DATA: infimum, supremum
//! heap of records growing up ... free space ... directory slots growing down | trailer
//!                                  slot i at page_size - 8 - 2*(i+1), slot 0 = infimum
//! COMPACT record:   [variable header][info|n_owned][heap_no<<3|status (2)][next rel (2)] origin
//! REDUNDANT record: [field ends][info|n_owned][heap_no<<3 .. n_fields<<1|short (3)][next abs (2)] origin
//! ```
//! All checks happen before the first byte of the page changes.

use super::{ends_past, Check, Page, Res};
use crate::page::fil::{
    FIL_PAGE_DATA, FIL_PAGE_DATA_END, FIL_PAGE_INDEX, FIL_PAGE_OFFSET, FIL_PAGE_RTREE,
    FIL_PAGE_TYPE, FIL_PAGE_TYPE_INSTANT,
};
use crate::redo::record::{InsertDynamic, InsertRedundant, PageId};

/// Index page header: right after the FIL header.
pub const PAGE_HEADER: usize = FIL_PAGE_DATA;
/// Number of directory slots.
pub const PAGE_N_DIR_SLOTS: usize = PAGE_HEADER;
/// Offset of the first free byte of the record heap.
pub const PAGE_HEAP_TOP: usize = PAGE_HEADER + 2;
/// Bit 15: COMPACT/DYNAMIC page; bits 0..14: records in the heap (with infimum and
/// supremum).
pub const PAGE_N_HEAP: usize = PAGE_HEADER + 4;
/// Origin of the first record of the free list (0 = empty).
pub const PAGE_FREE: usize = PAGE_HEADER + 6;
/// Bytes held by deleted records.
pub const PAGE_GARBAGE: usize = PAGE_HEADER + 8;
/// Origin of the last inserted record (0 = none).
pub const PAGE_LAST_INSERT: usize = PAGE_HEADER + 10;
/// High byte of the 16-bit PAGE_DIRECTION field, used by instant ALTER.
pub const PAGE_INSTANT: usize = PAGE_HEADER + 12;
/// Low byte of PAGE_DIRECTION: the insert direction in its low 3 bits.
pub const PAGE_DIRECTION_B: usize = PAGE_HEADER + 13;
/// Number of consecutive inserts in the same direction.
pub const PAGE_N_DIRECTION: usize = PAGE_HEADER + 14;
/// Number of user records.
pub const PAGE_N_RECS: usize = PAGE_HEADER + 16;
/// B-tree level (0 = leaf).
pub const PAGE_LEVEL: usize = PAGE_HEADER + 26;
/// `FSEG_HEADER_SIZE`: one file segment header.
const FSEG_HEADER_SIZE: usize = 10;
/// Start of the records: the infimum and supremum.
pub const PAGE_DATA: usize = PAGE_HEADER + 36 + 2 * FSEG_HEADER_SIZE;
/// Bytes 38..64 that INIT_ROW_FORMAT_* zeroes (up to, not including, PAGE_LEVEL's
/// neighbour fields it keeps: PAGE_LEVEL, PAGE_INDEX_ID and the segment headers).
const PAGE_HEADER_CREATE_ZEROED: usize = PAGE_LEVEL - PAGE_HEADER;

/// `REC_N_OLD_EXTRA_BYTES`: fixed header bytes of a REDUNDANT record.
const REC_N_OLD_EXTRA_BYTES: usize = 6;
/// `REC_N_NEW_EXTRA_BYTES`: fixed header bytes of a COMPACT/DYNAMIC record.
const REC_N_NEW_EXTRA_BYTES: usize = 5;
/// Infimum origin on a REDUNDANT page.
pub const PAGE_OLD_INFIMUM: usize = PAGE_DATA + 1 + REC_N_OLD_EXTRA_BYTES;
/// Supremum origin on a REDUNDANT page.
pub const PAGE_OLD_SUPREMUM: usize = PAGE_DATA + 2 + 2 * REC_N_OLD_EXTRA_BYTES + 8;
/// First heap byte after the REDUNDANT supremum.
pub const PAGE_OLD_SUPREMUM_END: usize = PAGE_OLD_SUPREMUM + 9;
/// Infimum origin on a COMPACT/DYNAMIC page.
pub const PAGE_NEW_INFIMUM: usize = PAGE_DATA + REC_N_NEW_EXTRA_BYTES;
/// Supremum origin on a COMPACT/DYNAMIC page.
pub const PAGE_NEW_SUPREMUM: usize = PAGE_DATA + 2 * REC_N_NEW_EXTRA_BYTES + 8;
/// First heap byte after the COMPACT supremum.
pub const PAGE_NEW_SUPREMUM_END: usize = PAGE_NEW_SUPREMUM + 8;

/// The directory ends right before the trailer.
const PAGE_DIR: usize = FIL_PAGE_DATA_END;
/// `PAGE_DIR_SLOT_SIZE`.
const PAGE_DIR_SLOT_SIZE: usize = 2;
/// Most records a slot owns.
pub const PAGE_DIR_SLOT_MAX_N_OWNED: usize = 8;
/// Records a slot owns when an insert makes it overflow.
const OVERFULL_N_OWNED: usize = PAGE_DIR_SLOT_MAX_N_OWNED + 1;
/// Records the new (lower) slot gets when an overfull slot is split.
const SPLIT_HALF: usize = OVERFULL_N_OWNED / 2;
/// Fewest records a slot (other than infimum and supremum) owns.
pub const PAGE_DIR_SLOT_MIN_N_OWNED: usize = 4;
/// Inserts go to the left.
pub const PAGE_LEFT: u8 = 1;
/// Inserts go to the right.
pub const PAGE_RIGHT: u8 = 2;
/// No insert direction.
pub const PAGE_NO_DIRECTION: u8 = 5;
/// The direction bits of PAGE_DIRECTION_B.
const PAGE_DIRECTION_MASK: u8 = 7;
/// `PAGE_HEAP_NO_USER_LOW`: heap numbers 0 and 1 are infimum and supremum.
const PAGE_HEAP_NO_USER_LOW: usize = 2;
/// Bit 15 of PAGE_N_HEAP: the page is in COMPACT/DYNAMIC format.
const PAGE_N_HEAP_COMPACT: usize = 0x8000;
/// Mask of the heap record count in PAGE_N_HEAP.
const PAGE_N_HEAP_MASK: usize = 0x7FFF;

/// `REC_NEXT`: the next pointer is the 2 bytes before the origin.
const REC_NEXT: usize = 2;
/// Info bits and n_owned share one byte: info high nibble, n_owned low nibble.
const REC_N_OWNED_MASK: u8 = 0x0F;
/// Info bits of the record header byte.
const REC_INFO_BITS_MASK: u8 = 0xF0;
/// COMPACT: the heap number / status field is at origin − 4.
const REC_NEW_HEAP_NO: usize = 4;
/// REDUNDANT: the heap number field is at origin − 5 (bits 15..3).
const REC_OLD_HEAP_NO: usize = 5;
/// REDUNDANT: n_fields is at origin − 4, bits 10..1.
const REC_OLD_N_FIELDS: usize = 4;
const REC_OLD_N_FIELDS_MASK: usize = 0x7FE;
/// REDUNDANT: the 1-byte-offsets flag is bit 0 of origin − 3.
const REC_OLD_SHORT: usize = 3;
const REC_1BYTE_OFFS_FLAG: u8 = 1;
/// REDUNDANT field end offsets: 1-byte (7 bits) or 2-byte (14 bits) values.
const REC_1BYTE_OFFS_MASK: usize = 0x7F;
const REC_2BYTE_OFFS_MASK: usize = 0x3FFF;
/// `REC_HEAP_NO_SHIFT`: the heap number sits above 3 status/flag bits.
const REC_HEAP_NO_SHIFT: usize = 3;
/// `REC_MAX_N_FIELDS`.
const REC_MAX_N_FIELDS: usize = 1023;
/// `REC_STATUS_NODE_PTR`: a node pointer record of a non-leaf page.
const REC_STATUS_NODE_PTR: u8 = 1;
/// `REC_STATUS_INSTANT`: a leaf record in the instant ALTER format.
const REC_STATUS_INSTANT: u32 = 4;

/// The 26-byte infimum+supremum of a fresh COMPACT page (§4.2).
const INFIMUM_SUPREMUM_COMPACT: [u8; PAGE_NEW_SUPREMUM_END - PAGE_DATA] = [
    0x01, 0x00, 0x02, 0x00, 0x0d, b'i', b'n', b'f', b'i', b'm', b'u', b'm', 0, //
    0x01, 0x00, 0x0b, 0x00, 0x00, b's', b'u', b'p', b'r', b'e', b'm', b'u', b'm',
];
/// The 31-byte infimum+supremum of a fresh REDUNDANT page (§4.2).
const INFIMUM_SUPREMUM_REDUNDANT: [u8; PAGE_OLD_SUPREMUM_END - PAGE_DATA] = [
    0x08, 0x01, 0x00, 0x00, 0x03, 0x00, 0x74, b'i', b'n', b'f', b'i', b'm', b'u', b'm', 0, //
    0x09, 0x01, 0x00, 0x08, 0x03, 0x00, 0x00, b's', b'u', b'p', b'r', b'e', b'm', b'u', b'm', 0,
];

/// Address of directory slot `i`.
fn slot_addr(size: usize, i: usize) -> Res<usize> {
    (i + 1)
        .checked_mul(PAGE_DIR_SLOT_SIZE)
        .and_then(|n| size.checked_sub(PAGE_DIR + n))
        .ok_or(Check::new("directory slot outside the page"))
}

/// `a - b` for a backward header offset, or a check naming `what`.
fn back(a: usize, b: usize, what: &'static str) -> Res<usize> {
    a.checked_sub(b).ok_or(Check::at(what, a))
}

/// The row format of the record operations on one page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fmt {
    Redundant,
    Compact,
}

impl Fmt {
    fn comp(self) -> bool {
        self == Fmt::Compact
    }
    fn infimum(self) -> usize {
        if self.comp() {
            PAGE_NEW_INFIMUM
        } else {
            PAGE_OLD_INFIMUM
        }
    }
    fn supremum(self) -> usize {
        if self.comp() {
            PAGE_NEW_SUPREMUM
        } else {
            PAGE_OLD_SUPREMUM
        }
    }
    fn heap_bot(self) -> usize {
        if self.comp() {
            PAGE_NEW_SUPREMUM_END
        } else {
            PAGE_OLD_SUPREMUM_END
        }
    }
    fn extra_fixed(self) -> usize {
        if self.comp() {
            REC_N_NEW_EXTRA_BYTES
        } else {
            REC_N_OLD_EXTRA_BYTES
        }
    }
}

/// Record header accessors for one row format.
impl Page<'_> {
    fn n_owned(&self, rec: usize, f: Fmt) -> Res<usize> {
        let at = back(rec, f.extra_fixed(), "record header before the page start")?;
        Ok(usize::from(self.u8(at)? & REC_N_OWNED_MASK))
    }

    fn set_n_owned(&mut self, rec: usize, n: usize, f: Fmt) -> Res<()> {
        let at = back(rec, f.extra_fixed(), "record header before the page start")?;
        let v = (self.u8(at)? & REC_INFO_BITS_MASK) | (n as u8 & REC_N_OWNED_MASK);
        self.set_u8(at, v)
    }

    fn next(&self, rec: usize, f: Fmt) -> Res<usize> {
        let v = self.u16(back(rec, REC_NEXT, "record header before the page start")?)?;
        Ok(if f.comp() { (rec + v) & 0xFFFF } else { v })
    }

    fn heap_no(&self, rec: usize, f: Fmt) -> Res<usize> {
        let field = if f.comp() {
            REC_NEW_HEAP_NO
        } else {
            REC_OLD_HEAP_NO
        };
        Ok(
            self.u16(back(rec, field, "record header before the page start")?)?
                >> REC_HEAP_NO_SHIFT,
        )
    }

    fn n_fields_old(&self, rec: usize) -> Res<usize> {
        let at = back(rec, REC_OLD_N_FIELDS, "record header before the page start")?;
        Ok((self.u16(at)? & REC_OLD_N_FIELDS_MASK) >> 1)
    }

    fn short_old(&self, rec: usize) -> Res<bool> {
        let at = back(rec, REC_OLD_SHORT, "record header before the page start")?;
        Ok(self.u8(at)? & REC_1BYTE_OFFS_FLAG != 0)
    }

    fn extra_size_old(&self, rec: usize) -> Res<usize> {
        let n = self.n_fields_old(rec)?;
        Ok(REC_N_OLD_EXTRA_BYTES + if self.short_old(rec)? { n } else { 2 * n })
    }

    /// REDUNDANT data size: the end offset of the last field.
    fn data_size_old(&self, rec: usize) -> Res<usize> {
        let n = self.n_fields_old(rec)?;
        if n == 0 {
            return Ok(0);
        }
        let what = "field offsets before the page start";
        if self.short_old(rec)? {
            Ok(
                usize::from(self.u8(back(rec, REC_N_OLD_EXTRA_BYTES + n, what)?)?)
                    & REC_1BYTE_OFFS_MASK,
            )
        } else {
            Ok(self.u16(back(rec, REC_N_OLD_EXTRA_BYTES + 2 * n, what)?)? & REC_2BYTE_OFFS_MASK)
        }
    }
}

/// What the consistency checks of an index page found (§4.2, "Consistency checks").
struct Ctx {
    f: Fmt,
    size: usize,
    /// PAGE_N_HEAP as stored (with the COMPACT flag).
    n_heap: usize,
    heap_top: usize,
    last_slot: usize,
}

impl Ctx {
    /// The record at `rec` lies inside the heap (origin after its fixed header, at most
    /// the heap top).
    fn in_heap(&self, rec: usize, what: &'static str) -> Res<()> {
        if rec < self.f.heap_bot() + self.f.extra_fixed() || rec > self.heap_top {
            return Err(Check::at(what, rec));
        }
        Ok(())
    }

    fn in_heap_or(&self, rec: usize, fixed: usize, what: &'static str) -> Res<()> {
        if rec == fixed {
            Ok(())
        } else {
            self.in_heap(rec, what)
        }
    }
}

/// FIL_PAGE_INDEX, FIL_PAGE_RTREE or FIL_PAGE_TYPE_INSTANT (`fil_page_index_page_check`).
fn is_index_type(t: usize) -> bool {
    [FIL_PAGE_INDEX, FIL_PAGE_RTREE, FIL_PAGE_TYPE_INSTANT]
        .iter()
        .any(|&x| usize::from(x) == t)
}

/// The deletes' own first check.
fn has_records(p: &Page<'_>) -> Res<()> {
    if p.u16(PAGE_N_RECS)? == 0 {
        return Err(Check::at(
            "delete from a page with PAGE_N_RECS = 0",
            PAGE_N_RECS,
        ));
    }
    Ok(())
}

/// The checks the server makes before any insert or delete.
fn index_ctx(p: &Page<'_>, id: PageId, f: Fmt) -> Res<Ctx> {
    let size = p.len();
    let n_slots = p.u16(PAGE_N_DIR_SLOTS)?;
    if n_slots < 2 {
        return Err(Check::at("PAGE_N_DIR_SLOTS below 2", PAGE_N_DIR_SLOTS));
    }
    let n_heap = p.u16(PAGE_N_HEAP)?;
    if (n_heap & PAGE_N_HEAP_COMPACT != 0) != f.comp() {
        return Err(Check::at(
            "the page's row format (PAGE_N_HEAP bit 15) differs from the record's",
            PAGE_N_HEAP,
        ));
    }
    let h = n_heap & PAGE_N_HEAP_MASK;
    if h < PAGE_HEAP_NO_USER_LOW || h < n_slots || h >= size / f.extra_fixed() {
        return Err(Check::at("PAGE_N_HEAP out of bounds", PAGE_N_HEAP));
    }
    if !is_index_type(p.u16(FIL_PAGE_TYPE)?) {
        return Err(Check::at(
            "not an index page (FIL_PAGE_TYPE)",
            FIL_PAGE_TYPE,
        ));
    }
    let page_no = (p.u16(FIL_PAGE_OFFSET)? << 16) | p.u16(FIL_PAGE_OFFSET + 2)?;
    if page_no != id.page_no.0 as usize {
        return Err(Check::at(
            "FIL_PAGE_OFFSET differs from the page number",
            FIL_PAGE_OFFSET,
        ));
    }
    if p.u16(f.supremum() - REC_NEXT)? != 0 {
        return Err(Check::at(
            "the supremum has a next record",
            f.supremum() - REC_NEXT,
        ));
    }
    let last_slot = slot_addr(size, n_slots - 1)?;
    let heap_top = p.u16(PAGE_HEAP_TOP)?;
    if heap_top < f.heap_bot() || heap_top > last_slot {
        return Err(Check::at("PAGE_HEAP_TOP outside the heap", PAGE_HEAP_TOP));
    }
    if p.u16(last_slot)? != f.supremum() {
        return Err(Check::at(
            "the last directory slot is not the supremum",
            last_slot,
        ));
    }
    let slot0 = slot_addr(size, 0)?;
    if p.u16(slot0)? != f.infimum() {
        return Err(Check::at("directory slot 0 is not the infimum", slot0));
    }
    Ok(Ctx {
        f,
        size,
        n_heap,
        heap_top,
        last_slot,
    })
}

/// Address of the slot (not slot 0) that owns `rec`, searching from the last slot.
fn find_slot(p: &Page<'_>, ctx: &Ctx, rec: usize) -> Res<usize> {
    let first = slot_addr(ctx.size, 0)?;
    let mut slot = ctx.last_slot;
    while slot < first {
        if p.u16(slot)? == rec {
            return Ok(slot);
        }
        slot += PAGE_DIR_SLOT_SIZE;
    }
    Err(Check::at("owner record not in the page directory", rec))
}

/// The owner of `next_rec`'s group and its n_owned (at most 9 steps).
fn find_owner(p: &Page<'_>, ctx: &Ctx, next_rec: usize) -> Res<(usize, usize)> {
    let mut owner = next_rec;
    for _ in 0..=PAGE_DIR_SLOT_MAX_N_OWNED {
        let n = p.n_owned(owner, ctx.f)?;
        if n != 0 {
            if n > PAGE_DIR_SLOT_MAX_N_OWNED {
                return Err(Check::at("a record owns more than 8 records", owner));
            }
            return Ok((owner, n));
        }
        owner = p.next(owner, ctx.f)?;
        ctx.in_heap_or(owner, ctx.f.supremum(), "next record outside the heap")?;
    }
    Err(Check::at(
        "no owner within 9 records (cyclic record list?)",
        next_rec,
    ))
}

/// INIT_ROW_FORMAT_REDUNDANT / _DYNAMIC: an empty index page.
pub(crate) fn page_create(p: &mut Page<'_>, comp: bool) -> Res<()> {
    let size = p.len();
    let dir_end = back(size, PAGE_DIR, "page too small")?;
    if dir_end < PAGE_OLD_SUPREMUM_END + 2 * PAGE_DIR_SLOT_SIZE {
        return Err(Check::new("page too small for an index page"));
    }
    p.set_u16(FIL_PAGE_TYPE, usize::from(FIL_PAGE_INDEX))?;
    p.fill(PAGE_HEADER, PAGE_HEADER + PAGE_HEADER_CREATE_ZEROED, 0)?;
    p.set_u16(PAGE_N_DIR_SLOTS, 2)?;
    p.set_u8(PAGE_INSTANT, 0)?;
    p.set_u8(PAGE_DIRECTION_B, PAGE_NO_DIRECTION)?;
    let (n_heap, image, infimum, supremum, end): (usize, &[u8], _, _, _) = if comp {
        (
            PAGE_N_HEAP_COMPACT | PAGE_HEAP_NO_USER_LOW,
            &INFIMUM_SUPREMUM_COMPACT,
            PAGE_NEW_INFIMUM,
            PAGE_NEW_SUPREMUM,
            PAGE_NEW_SUPREMUM_END,
        )
    } else {
        (
            PAGE_HEAP_NO_USER_LOW,
            &INFIMUM_SUPREMUM_REDUNDANT,
            PAGE_OLD_INFIMUM,
            PAGE_OLD_SUPREMUM,
            PAGE_OLD_SUPREMUM_END,
        )
    };
    p.set_u16(PAGE_N_HEAP, n_heap)?;
    p.set_u16(PAGE_HEAP_TOP, end)?;
    p.write(PAGE_DATA, image)?;
    p.fill(end, dir_end, 0)?;
    p.set_u16(slot_addr(size, 1)?, supremum)?;
    p.set_u16(slot_addr(size, 0)?, infimum)
}

/// Updates PAGE_DIRECTION_B / PAGE_N_DIRECTION after an insert (not on R-trees).
fn update_direction(
    p: &mut Page<'_>,
    last_insert: usize,
    prev_rec: usize,
    next_rec: usize,
) -> Res<()> {
    if p.u16(FIL_PAGE_TYPE)? == usize::from(FIL_PAGE_RTREE) {
        return Ok(());
    }
    let d = p.u8(PAGE_DIRECTION_B)?;
    let keep = d & !PAGE_DIRECTION_MASK;
    let n = p.u16(PAGE_N_DIRECTION)?;
    let (dir, n) = if last_insert == 0 {
        (PAGE_NO_DIRECTION, 0)
    } else if last_insert == prev_rec && d & PAGE_DIRECTION_MASK != PAGE_LEFT {
        (PAGE_RIGHT, n + 1)
    } else if next_rec == last_insert && d & PAGE_DIRECTION_MASK != PAGE_RIGHT {
        (PAGE_LEFT, n + 1)
    } else {
        (PAGE_NO_DIRECTION, 0)
    };
    p.set_u8(PAGE_DIRECTION_B, keep | dir)?;
    p.set_u16(PAGE_N_DIRECTION, n)
}

/// Splits the slot at address `slot`, which now owns 9 records: the 4th record after
/// the previous slot's owner becomes the owner of a new slot (`page_dir_split_slot`).
fn split_slot(p: &mut Page<'_>, f: Fmt, slot: usize) -> Res<()> {
    let size = p.len();
    let mut rec = p.u16(slot + PAGE_DIR_SLOT_SIZE)?;
    for _ in 0..SPLIT_HALF {
        rec = p.next(rec, f)?;
    }
    let n_slots = p.u16(PAGE_N_DIR_SLOTS)?;
    // The address the new last slot will have.
    let new_last = back(
        size,
        PAGE_DIR + PAGE_DIR_SLOT_SIZE + n_slots * PAGE_DIR_SLOT_SIZE,
        "directory too large",
    )?;
    if slot < new_last || new_last < p.u16(PAGE_HEAP_TOP)? {
        return Err(Check::at("no room for another directory slot", new_last));
    }
    p.copy_within(new_last + PAGE_DIR_SLOT_SIZE, new_last, slot - new_last)?;
    p.set_u16(PAGE_N_DIR_SLOTS, n_slots + 1)?;
    p.set_u16(slot, rec)?;
    let half = SPLIT_HALF;
    p.set_n_owned(rec, half, f)?;
    let old_owner = p.u16(slot - PAGE_DIR_SLOT_SIZE)?;
    p.set_n_owned(old_owner, OVERFULL_N_OWNED - half, f)
}

/// Rebalances slot `s`, which owns too few records after a delete
/// (`page_dir_balance_slot`): merge with the next slot or borrow one record from it.
fn balance_slot(p: &mut Page<'_>, f: Fmt, s: usize) -> Res<()> {
    let size = p.len();
    let n_slots = p.u16(PAGE_N_DIR_SLOTS)?;
    if s + 1 >= n_slots {
        return Ok(());
    }
    let slot = slot_addr(size, s)?;
    let up_rec = p.u16(slot - PAGE_DIR_SLOT_SIZE)?;
    let slot_rec = p.u16(slot)?;
    let up_n = p.n_owned(up_rec, f)?;
    if up_n <= PAGE_DIR_SLOT_MIN_N_OWNED {
        // Merge: slot s disappears, the upper owner takes its records.
        p.set_n_owned(slot_rec, 0, f)?;
        p.set_n_owned(up_rec, up_n + PAGE_DIR_SLOT_MIN_N_OWNED - 1, f)?;
        let last = slot_addr(size, n_slots - 1)?;
        p.copy_within(last, last + PAGE_DIR_SLOT_SIZE, slot - last)?;
        p.set_u16(last, 0)?;
        return p.set_u16(PAGE_N_DIR_SLOTS, n_slots - 1);
    }
    // Move one record from the upper group into this one.
    let new_rec = p.next(slot_rec, f)?;
    p.set_n_owned(slot_rec, 0, f)?;
    p.set_n_owned(new_rec, PAGE_DIR_SLOT_MIN_N_OWNED, f)?;
    p.set_n_owned(up_rec, up_n - 1, f)?;
    p.set_u16(slot, new_rec)
}

/// INSERT_HEAP_REDUNDANT / INSERT_REUSE_REDUNDANT (`page_apply_insert_redundant`).
pub(crate) fn insert_redundant(
    p: &mut Page<'_>,
    id: PageId,
    reuse: bool,
    ins: &InsertRedundant<'_>,
) -> Res<()> {
    let f = Fmt::Redundant;
    let ctx = index_ctx(p, id, f)?;
    let data = ins.literal;
    let prev_rec = PAGE_OLD_INFIMUM + ins.prev as usize;
    ctx.in_heap_or(
        prev_rec,
        PAGE_OLD_INFIMUM,
        "predecessor record outside the heap",
    )?;
    let next_rec = p.next(prev_rec, f)?;
    ctx.in_heap_or(
        next_rec,
        PAGE_OLD_SUPREMUM,
        "successor record outside the heap",
    )?;
    let is_short = ins.one_byte_offsets();
    let n_fields = ins.n_fields() as usize;
    if n_fields > REC_MAX_N_FIELDS {
        return Err(Check::new("more than 1023 fields"));
    }
    let extra_size = REC_N_OLD_EXTRA_BYTES + if is_short { n_fields } else { 2 * n_fields };
    let c = ins.hdr_c as usize + REC_N_OLD_EXTRA_BYTES;
    if c > extra_size {
        return Err(Check::new(
            "more copied header bytes than the record header has",
        ));
    }
    let lit_hdr = extra_size - c;
    if lit_hdr > data.len() {
        return Err(Check::new("record shorter than its literal header"));
    }
    if prev_rec < c + PAGE_DATA {
        return Err(Check::at(
            "copied header bytes before the record area",
            prev_rec,
        ));
    }
    let (owner, owned) = find_owner(p, &ctx, next_rec)?;
    let owner_slot = find_slot(p, &ctx, owner)?;

    // Build the new header locally so nothing changes before all checks passed.
    let mut ib = [0u8; REC_N_OLD_EXTRA_BYTES + 2 * REC_MAX_N_FIELDS];
    let hdr = ib
        .get_mut(..extra_size)
        .ok_or(Check::new("record header too large"))?;
    hdr[..lit_hdr].copy_from_slice(&data[..lit_hdr]);
    hdr[lit_hdr..].copy_from_slice(
        p.b.get(prev_rec - c..prev_rec)
            .ok_or(Check::at("read outside the page", prev_rec))?,
    );
    let o = extra_size;
    hdr[o - REC_N_OLD_EXTRA_BYTES] =
        (hdr[o - REC_N_OLD_EXTRA_BYTES] & REC_N_OWNED_MASK) | ins.info_bits();
    hdr[o - REC_OLD_SHORT] = (hdr[o - REC_OLD_SHORT] & !REC_1BYTE_OFFS_FLAG) | u8::from(is_short);
    let v = usize::from(u16::from_be_bytes([
        hdr[o - REC_OLD_N_FIELDS],
        hdr[o - REC_OLD_N_FIELDS + 1],
    ]));
    let v = (v & !REC_OLD_N_FIELDS_MASK) | (n_fields << 1);
    hdr[o - REC_OLD_N_FIELDS..o - REC_OLD_N_FIELDS + 2].copy_from_slice(&(v as u16).to_be_bytes());
    hdr[o - REC_N_OLD_EXTRA_BYTES] &= REC_INFO_BITS_MASK;
    let data_size = if is_short {
        usize::from(hdr[o - (REC_N_OLD_EXTRA_BYTES + n_fields)]) & REC_1BYTE_OFFS_MASK
    } else {
        let at = o - (REC_N_OLD_EXTRA_BYTES + 2 * n_fields);
        usize::from(u16::from_be_bytes([hdr[at], hdr[at + 1]])) & REC_2BYTE_OFFS_MASK
    };
    let data_c = ins.data_c as usize;
    if data_c > data_size || lit_hdr + data_size - data_c != data.len() {
        return Err(Check::new(
            "record length does not match its field end offsets",
        ));
    }
    if ends_past(prev_rec, data_c, ctx.heap_top.max(PAGE_OLD_SUPREMUM_END)) {
        return Err(Check::at("copied data bytes beyond the heap", prev_rec));
    }

    let total = extra_size + data_size;
    let (buf, heap_no) = if reuse {
        let free_rec = p.u16(PAGE_FREE)?;
        ctx.in_heap(free_rec, "PAGE_FREE outside the heap")?;
        let fextra = p.extra_size_old(free_rec)?;
        let fdata = p.data_size_old(free_rec)?;
        if free_rec < fextra + PAGE_OLD_SUPREMUM_END || free_rec + fdata > ctx.heap_top {
            return Err(Check::at("freed record outside the heap", free_rec));
        }
        if total > fextra + fdata {
            return Err(Check::at(
                "freed record too small for the new record",
                free_rec,
            ));
        }
        let garbage = p.u16(PAGE_GARBAGE)?;
        if garbage < fextra + fdata {
            return Err(Check::at(
                "PAGE_GARBAGE smaller than the freed record",
                PAGE_GARBAGE,
            ));
        }
        let next_free = p.u16(free_rec - REC_NEXT)?;
        if next_free != 0 {
            ctx.in_heap(next_free, "free list points outside the heap")?;
        }
        let heap_no = p.heap_no(free_rec, f)?;
        p.set_u16(PAGE_GARBAGE, garbage - total)?;
        p.set_u16(PAGE_FREE, next_free)?;
        (free_rec - fextra, heap_no)
    } else {
        if ctx.heap_top + total > ctx.last_slot {
            return Err(Check::at(
                "no room in the heap for the record",
                ctx.heap_top,
            ));
        }
        p.set_u16(PAGE_N_HEAP, ctx.n_heap + 1)?;
        p.set_u16(PAGE_HEAP_TOP, ctx.heap_top + total)?;
        (ctx.heap_top, ctx.n_heap)
    };
    let hn = o - REC_OLD_HEAP_NO;
    let v = usize::from(u16::from_be_bytes([hdr[hn], hdr[hn + 1]]));
    let v = (v & ((1 << REC_HEAP_NO_SHIFT) - 1)) | (heap_no << REC_HEAP_NO_SHIFT);
    hdr[hn..hn + 2].copy_from_slice(&(v as u16).to_be_bytes());

    let last_insert = p.u16(PAGE_LAST_INSERT)?;
    p.write(buf, hdr)?;
    let rec = buf + extra_size;
    p.set_u16(PAGE_LAST_INSERT, rec)?;
    p.set_u16(prev_rec - REC_NEXT, rec)?;
    p.copy_within(prev_rec, rec, data_c)?;
    p.write(rec + data_c, &data[lit_hdr..])?;
    p.set_n_owned(owner, owned + 1, f)?;
    update_direction(p, last_insert, prev_rec, next_rec)?;
    let n_recs = p.u16(PAGE_N_RECS)?;
    p.set_u16(PAGE_N_RECS, n_recs + 1)?;
    if owned == PAGE_DIR_SLOT_MAX_N_OWNED {
        split_slot(p, f, owner_slot)?;
    }
    Ok(())
}

/// INSERT_HEAP_DYNAMIC / INSERT_REUSE_DYNAMIC (`page_apply_insert_dynamic`).
pub(crate) fn insert_dynamic(
    p: &mut Page<'_>,
    id: PageId,
    reuse: bool,
    ins: &InsertDynamic<'_>,
) -> Res<()> {
    let f = Fmt::Compact;
    let ctx = index_ctx(p, id, f)?;
    let data = ins.literal;
    let leaf = p.u16(PAGE_LEVEL)? == 0;
    let prev_rec = PAGE_NEW_INFIMUM + ins.prev as usize;
    ctx.in_heap_or(
        prev_rec,
        PAGE_NEW_INFIMUM,
        "predecessor record outside the heap",
    )?;
    let next_rec = p.next(prev_rec, f)?;
    ctx.in_heap_or(
        next_rec,
        PAGE_NEW_SUPREMUM,
        "successor record outside the heap",
    )?;
    let (owner, owned) = find_owner(p, &ctx, next_rec)?;
    let owner_slot = find_slot(p, &ctx, owner)?;
    let hdr_l = ins.hdr_l() as usize;
    let hdr_c = ins.hdr_c as usize;
    let data_c = ins.data_c as usize;
    if hdr_l > data.len() {
        return Err(Check::new("record shorter than its literal header"));
    }
    if prev_rec < REC_N_NEW_EXTRA_BYTES + hdr_c + PAGE_DATA {
        return Err(Check::at(
            "copied header bytes before the record area",
            prev_rec,
        ));
    }
    if ends_past(prev_rec, data_c, ctx.heap_top.max(PAGE_NEW_SUPREMUM_END)) {
        return Err(Check::at("copied data bytes beyond the heap", prev_rec));
    }
    let extra_size = REC_N_NEW_EXTRA_BYTES + hdr_c + hdr_l;
    let data_size = data_c + (data.len() - hdr_l);
    let total = extra_size + data_size;

    let (mut buf, heap_no) = if reuse {
        let free_rec = p.u16(PAGE_FREE)?;
        ctx.in_heap(free_rec, "PAGE_FREE outside the heap")?;
        let shift = ins.shift.unsigned_abs() as usize;
        let start = back(free_rec, extra_size, "reused record starts before the page")?;
        let buf = if ins.shift < 0 {
            start.checked_sub(shift)
        } else {
            start.checked_add(shift)
        };
        let buf = buf.ok_or(Check::at("reused record starts before the page", free_rec))?;
        if buf < PAGE_NEW_SUPREMUM_END || buf + total > ctx.heap_top {
            return Err(Check::at("reused record outside the heap", buf));
        }
        let garbage = p.u16(PAGE_GARBAGE)?;
        if garbage < total {
            return Err(Check::at(
                "PAGE_GARBAGE smaller than the reused record",
                PAGE_GARBAGE,
            ));
        }
        let mut next_free = p.u16(free_rec - REC_NEXT)?;
        if next_free != 0 {
            next_free = (next_free + free_rec) & 0xFFFF;
            ctx.in_heap(next_free, "free list points outside the heap")?;
        }
        let heap_no = p.heap_no(free_rec, f)?;
        p.set_u16(PAGE_FREE, next_free)?;
        p.set_u16(PAGE_GARBAGE, garbage - total)?;
        (buf, heap_no)
    } else {
        if ctx.heap_top + total > ctx.last_slot {
            return Err(Check::at(
                "no room in the heap for the record",
                ctx.heap_top,
            ));
        }
        p.set_u16(PAGE_N_HEAP, ctx.n_heap + 1)?;
        p.set_u16(PAGE_HEAP_TOP, ctx.heap_top + total)?;
        (ctx.heap_top, ctx.n_heap & PAGE_N_HEAP_MASK)
    };
    p.write(buf, &data[..hdr_l])?;
    buf += hdr_l;
    p.copy_within(prev_rec - REC_N_NEW_EXTRA_BYTES - hdr_c, buf, hdr_c)?;
    buf += hdr_c;
    let status = if leaf {
        (ins.enc_hdr_l & REC_STATUS_INSTANT) as u8
    } else {
        REC_STATUS_NODE_PTR
    };
    p.write(
        buf,
        &[
            ins.info_bits(),
            (heap_no >> 5) as u8,
            (((heap_no & 31) << REC_HEAP_NO_SHIFT) as u8) | status,
        ],
    )?;
    let rec = buf + REC_N_NEW_EXTRA_BYTES;
    p.set_u16(rec - REC_NEXT, next_rec.wrapping_sub(rec))?;
    let last_insert = p.u16(PAGE_LAST_INSERT)?;
    p.set_u16(PAGE_LAST_INSERT, rec)?;
    p.set_u16(prev_rec - REC_NEXT, rec.wrapping_sub(prev_rec))?;
    p.copy_within(prev_rec, rec, data_c)?;
    p.write(rec + data_c, &data[hdr_l..])?;
    p.set_n_owned(owner, owned + 1, f)?;
    update_direction(p, last_insert, prev_rec, next_rec)?;
    let n_recs = p.u16(PAGE_N_RECS)?;
    p.set_u16(PAGE_N_RECS, n_recs + 1)?;
    if owned == PAGE_DIR_SLOT_MAX_N_OWNED {
        split_slot(p, f, owner_slot)?;
    }
    Ok(())
}

/// DELETE_ROW_FORMAT_REDUNDANT: delete the successor of `prev`.
pub(crate) fn delete_redundant(p: &mut Page<'_>, id: PageId, prev: usize) -> Res<()> {
    let f = Fmt::Redundant;
    has_records(p)?;
    let ctx = index_ctx(p, id, f)?;
    let prev_rec = PAGE_OLD_INFIMUM + prev;
    ctx.in_heap_or(
        prev_rec,
        PAGE_OLD_INFIMUM,
        "predecessor record outside the heap",
    )?;
    let rec = p.next(prev_rec, f)?;
    ctx.in_heap(rec, "deleted record outside the heap")?;
    let extra_size = p.extra_size_old(rec)?;
    let data_size = p.data_size_old(rec)?;
    delete(p, &ctx, prev_rec, rec, extra_size, data_size)
}

/// DELETE_ROW_FORMAT_DYNAMIC: delete the successor of `prev`, whose sizes the record
/// gives.
pub(crate) fn delete_dynamic(
    p: &mut Page<'_>,
    id: PageId,
    prev: usize,
    hdr_size: usize,
    data_size: usize,
) -> Res<()> {
    let f = Fmt::Compact;
    has_records(p)?;
    let ctx = index_ctx(p, id, f)?;
    let prev_rec = PAGE_NEW_INFIMUM + prev;
    ctx.in_heap_or(
        prev_rec,
        PAGE_NEW_INFIMUM,
        "predecessor record outside the heap",
    )?;
    let rec = p.next(prev_rec, f)?;
    ctx.in_heap(rec, "deleted record outside the heap")?;
    delete(
        p,
        &ctx,
        prev_rec,
        rec,
        REC_N_NEW_EXTRA_BYTES + hdr_size,
        data_size,
    )
}

/// The common part of both deletes (`page_apply_delete_*`, `page_mem_free`).
fn delete(
    p: &mut Page<'_>,
    ctx: &Ctx,
    prev_rec: usize,
    rec: usize,
    extra_size: usize,
    data_size: usize,
) -> Res<()> {
    let f = ctx.f;
    let n_recs = p.u16(PAGE_N_RECS)?;
    if rec < extra_size + f.heap_bot() || ends_past(rec, data_size, ctx.heap_top) {
        return Err(Check::at("deleted record's bytes outside the heap", rec));
    }
    let next = p.next(rec, f)?;
    ctx.in_heap_or(next, f.supremum(), "successor record outside the heap")?;

    // The owner of rec's group: rec itself or a later record.
    let mut owner = rec;
    let mut owned = p.n_owned(owner, f)?;
    let mut steps = 0;
    while owned == 0 {
        owner = p.next(owner, f)?;
        ctx.in_heap_or(owner, f.supremum(), "next record outside the heap")?;
        steps += 1;
        if steps > PAGE_DIR_SLOT_MAX_N_OWNED {
            return Err(Check::at(
                "no owner within 9 records (cyclic record list?)",
                rec,
            ));
        }
        owned = p.n_owned(owner, f)?;
    }
    let slot = find_slot(p, ctx, owner)?;
    let slot_owned = owned - 1;
    let free = p.u16(PAGE_FREE)?;
    let heap_no = p.heap_no(rec, f)?;

    if rec == owner {
        owner = prev_rec;
        p.set_u16(slot, owner)?;
    }
    if f.comp() {
        p.set_u16(prev_rec - REC_NEXT, next.wrapping_sub(prev_rec))?;
    } else {
        p.set_u16(prev_rec - REC_NEXT, next)?;
    }
    p.set_n_owned(owner, slot_owned, f)?;

    // page_mem_free: give the space back to the heap top, or put it on the free list.
    let n_heap = ctx.n_heap.wrapping_sub(1) & 0xFFFF;
    let own_heap_no = if f.comp() {
        heap_no | PAGE_N_HEAP_COMPACT
    } else {
        heap_no
    };
    let garbage = p.u16(PAGE_GARBAGE)?;
    let end = rec + data_size;
    let start = if n_heap == own_heap_no {
        let savings = p.u16(PAGE_HEAP_TOP)?.wrapping_sub(end);
        p.set_u16(PAGE_HEAP_TOP, rec - extra_size)?;
        p.set_u16(PAGE_N_HEAP, n_heap)?;
        if savings != 0 {
            p.set_u16(PAGE_GARBAGE, garbage.wrapping_sub(savings))?;
        }
        rec - extra_size
    } else {
        p.set_u16(PAGE_FREE, rec)?;
        p.set_u16(PAGE_GARBAGE, garbage + extra_size + data_size)?;
        let link = match (free, f.comp()) {
            (0, _) => 0,
            (free, true) => free.wrapping_sub(rec),
            (free, false) => free,
        };
        p.set_u16(rec - REC_NEXT, link)?;
        rec
    };
    p.set_u16(PAGE_LAST_INSERT, 0)?;
    p.set_u16(PAGE_N_RECS, n_recs - 1)?;
    p.fill(start, end, 0)?;

    if slot_owned < PAGE_DIR_SLOT_MIN_N_OWNED {
        let slot_idx = (slot_addr(ctx.size, 0)? - slot) / PAGE_DIR_SLOT_SIZE;
        balance_slot(p, f, slot_idx)?;
    }
    Ok(())
}
