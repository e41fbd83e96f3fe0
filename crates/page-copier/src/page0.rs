//! Decides what the start of a tablespace file says: a usable header, a page 0 the server has
//! not written yet (a tablespace being created: "deferred"), or a header that cannot be read.
//!
//! Only two states are deferred, because only they occur while the server creates a file:
//! `fil_ibd_create` creates it empty, extends it with zeros to four pages of
//! `innodb_page_size`, and page 0 reaches the disk later through the buffer pool — possibly
//! after pages 2 and 3. So a deferred file is
//! * shorter than the smallest page (1 KiB), or whose header is valid but the file shorter
//!   than its page: nothing to check yet;
//! * or whose page 0 is all zero, while every later page slot in the bytes read is either
//!   zero or a page carrying its own page number (pages flushed before page 0). The page
//!   size is unknown while page 0 is zero, so every possible size is tried, from 1 KiB
//!   (`ROW_FORMAT=COMPRESSED` tables use physical pages smaller than `innodb_page_size`).
//!
//! Anything else that fails to parse is [`Page0::Unreadable`]: the caller re-reads it like a
//! torn page and then fails the backup. mariadb-backup 10.11 does the same in effect: a page 0
//! that fails `Datafile::validate_first_page` is deferred at first, re-validated under
//! `BACKUP STAGE BLOCK_DDL` with deferral off, and the backup dies ("Failed to validate first
//! page of the file") unless the file is empty — also with `--log-innodb-page-corruption`.

use innodb::page::fil::{FIL_PAGE_OFFSET, FIL_PAGE_SPACE_ID};
use innodb::page::fsp::{FSP_HEADER_OFFSET, FSP_SPACE_ID, MAX_PAGE_SIZE, MIN_PAGE_SIZE};
use innodb::page::{is_all_zero, PageValidator, ValidationOptions};
use innodb::SpaceId;

/// How many bytes from the start of a file [`classify`] wants: the largest page.
pub const HEAD_BYTES: usize = MAX_PAGE_SIZE;

/// What the start of a tablespace file says.
#[derive(Debug)]
pub enum Page0 {
    /// A header that parses: validate the file's pages with this.
    Valid(PageValidator),
    /// Page 0 is not written yet (see the module comment): copy byte for byte.
    Deferred,
    /// A page 0 that is neither valid nor unwritten.
    Unreadable {
        /// Why the header was rejected.
        reason: String,
        /// The tablespace id, when both copies in the header agree.
        space: Option<SpaceId>,
    },
}

/// Classifies `head`, the first bytes of a file (up to [`HEAD_BYTES`]; fewer if the file is
/// shorter). `system` says whether the file must be the system tablespace (space id 0) or
/// must not be (every other file: id 0 there is a damaged header, which the server and
/// mariadb-backup refuse too).
pub fn classify(head: &[u8], system: bool, options: ValidationOptions) -> Page0 {
    if head.len() < MIN_PAGE_SIZE || page0_unwritten(head) {
        return Page0::Deferred;
    }
    let error = match PageValidator::from_page0(head, options) {
        Ok(probe) if head.len() < probe.page_size() => return Page0::Deferred,
        // Again at the real page size, so crypt data further in is seen and nothing of the
        // next pages is taken for it.
        Ok(probe) => match PageValidator::from_page0(&head[..probe.page_size()], options) {
            Ok(validator) if validator.is_system() == system => return Page0::Valid(validator),
            Ok(validator) => format!(
                "the tablespace header says space id {}, {}",
                validator.space_id(),
                if system {
                    "but the system tablespace has id 0"
                } else {
                    "which only the system tablespace has"
                }
            ),
            Err(e) => format!("the tablespace header cannot be parsed: {e}"),
        },
        Err(e) => format!("the tablespace header cannot be parsed: {e}"),
    };
    Page0::Unreadable {
        reason: error,
        space: header_space_id(head).filter(|s| (*s == SpaceId::SYSTEM) == system),
    }
}

/// True when, for some possible physical page size, page 0 is all zero and every later slot
/// of that size in `head` is zero or a page that carries its own number.
fn page0_unwritten(head: &[u8]) -> bool {
    let mut size = MIN_PAGE_SIZE;
    while size <= MAX_PAGE_SIZE {
        let page0 = &head[..size.min(head.len())];
        if !is_all_zero(page0) {
            return false;
        }
        let later_pages_fit = head
            .chunks(size)
            .enumerate()
            .skip(1)
            .all(|(page_no, slot)| is_all_zero(slot) || stored_page_no(slot) == Some(page_no));
        if later_pages_fit {
            return true;
        }
        size *= 2;
    }
    false
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let field = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes(field.try_into().ok()?))
}

fn stored_page_no(page: &[u8]) -> Option<usize> {
    read_u32(page, FIL_PAGE_OFFSET).map(|n| n as usize)
}

/// The space id of a damaged header, trusted only when its two copies agree.
fn header_space_id(head: &[u8]) -> Option<SpaceId> {
    let fil = read_u32(head, FIL_PAGE_SPACE_ID)?;
    let fsp = read_u32(head, FSP_HEADER_OFFSET + FSP_SPACE_ID)?;
    (fil == fsp).then_some(SpaceId(fil))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid full_crc32 16k header for space 7 (flags: marker + ssize 5).
    fn header_16k(space: u32) -> Vec<u8> {
        let mut page = vec![0u8; 16384];
        page[FIL_PAGE_SPACE_ID..FIL_PAGE_SPACE_ID + 4].copy_from_slice(&space.to_be_bytes());
        let fsp = FSP_HEADER_OFFSET;
        page[fsp..fsp + 4].copy_from_slice(&space.to_be_bytes());
        page[fsp + 16..fsp + 20].copy_from_slice(&0x15u32.to_be_bytes());
        page
    }

    fn with_page(mut file: Vec<u8>, size: usize, page_no: u32) -> Vec<u8> {
        let at = size * page_no as usize;
        if file.len() < at + size {
            file.resize(at + size, 0);
        }
        file[at + FIL_PAGE_OFFSET..at + FIL_PAGE_OFFSET + 4]
            .copy_from_slice(&page_no.to_be_bytes());
        file[at + 100] = 0xAB;
        file
    }

    fn kind(p: &Page0) -> &'static str {
        match p {
            Page0::Valid(_) => "valid",
            Page0::Deferred => "deferred",
            Page0::Unreadable { .. } => "unreadable",
        }
    }

    #[test]
    fn classifies_the_start_of_a_file() {
        let mut garbage = vec![0x5Au8; 65536];
        garbage[0] = 1;
        let mut zero_head_garbage_tail = vec![0u8; 65536];
        zero_head_garbage_tail[4096..16384].fill(0x77);
        let mut valid_short = header_16k(7);
        valid_short.truncate(8192);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty file", vec![], "deferred"),
            ("shorter than the smallest page", vec![9u8; 100], "deferred"),
            ("all zero, one 16k page", vec![0u8; 16384], "deferred"),
            ("all zero, four 16k pages", vec![0u8; 65536], "deferred"),
            (
                "zero page 0, pages 2 and 3 flushed first (16k)",
                with_page(with_page(vec![0u8; 65536], 16384, 2), 16384, 3),
                "deferred",
            ),
            (
                "zero page 0, page 2 of a 1k compressed table flushed",
                with_page(vec![0u8; 65536], 1024, 2),
                "deferred",
            ),
            ("valid header", header_16k(7), "valid"),
            (
                "valid header, file shorter than its page",
                valid_short,
                "deferred",
            ),
            ("garbage", garbage, "unreadable"),
            (
                "zero first 4k, garbage after",
                zero_head_garbage_tail,
                "unreadable",
            ),
            (
                "zero page 0, slot 1 with a wrong page number",
                with_page(vec![0u8; 65536], 16384, 2)
                    .into_iter()
                    .enumerate()
                    .map(|(i, b)| if i == 16384 + 100 { 1 } else { b })
                    .collect(),
                "unreadable",
            ),
        ];
        for (name, bytes, expected) in cases {
            let got = classify(&bytes, false, ValidationOptions::default());
            assert_eq!(kind(&got), expected, "{name}: {got:?}");
        }
    }

    #[test]
    fn space_id_zero_belongs_to_the_system_tablespace_only() {
        for (space, system, expected) in [
            (0, true, "valid"),
            (7, true, "unreadable"),
            (0, false, "unreadable"),
            (7, false, "valid"),
        ] {
            let got = classify(&header_16k(space), system, ValidationOptions::default());
            assert_eq!(
                kind(&got),
                expected,
                "space {space}, system {system}: {got:?}"
            );
        }
    }

    #[test]
    fn an_unreadable_header_names_its_space_only_when_both_copies_agree() {
        let mut agree = header_16k(42);
        agree[FSP_HEADER_OFFSET + 16..FSP_HEADER_OFFSET + 20]
            .copy_from_slice(&u32::MAX.to_be_bytes());
        let mut differ = agree.clone();
        differ[FIL_PAGE_SPACE_ID + 3] = 43;
        for (bytes, expected) in [(agree, Some(SpaceId(42))), (differ, None)] {
            match classify(&bytes, false, ValidationOptions::default()) {
                Page0::Unreadable { space, reason } => {
                    assert_eq!(space, expected);
                    assert!(
                        reason.contains("FSP_SPACE_FLAGS") || reason.contains("differs"),
                        "{reason}"
                    );
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
