//! The binlog position InnoDB recorded with its last committed transaction, read from the
//! prepared rollback segment headers the way the server reads it at startup (and
//! mariadb-backup `--prepare` prints and writes to `xtrabackup_binlog_pos_innodb`).
//!
//! ```text
//! ibdata1 page 5 (TRX_SYS), at FIL_PAGE_DATA:
//!   +0 max trx id (8) | +8 file segment header (10) | +18 128 slots of (space id, page no)
//! rollback segment header page, at FIL_PAGE_DATA:
//!   +0 format (4; 0 = current) | ... | +34 undo slots (page_size / 16 of 4 bytes)
//!   | max trx id (8) | binlog offset (8) | binlog file name (512, NUL-terminated)
//! legacy (before MariaDB 10.3.5), TRX_SYS page at FIL_PAGE_DATA + page_size - 1000:
//!   magic 873422344 (4) | offset (8) | file name (512)
//! ```
//!
//! Of the rollback segments that hold a name, the greatest name wins, and for equal
//! names the greatest offset; any of them beats a legacy position (taken whole when its
//! magic is there, even with an empty name). The result is the position of the last
//! InnoDB commit the backup contains, which can be older than the backup's real position
//! (`xtrabackup_binlog_info`). Without any, the position is an empty name and offset 0:
//! mariadb-backup 10.11 then still writes the file, as `"\t0\n"`.

use std::collections::HashMap;

use backup_meta::BinlogPosInnodb;
use innodb::SpaceId;

use crate::error::PrepareError;
use crate::spaces::{be32, Space};

/// FIL_PAGE_DATA: where the page body starts.
const PAGE_DATA: usize = 38;
/// The TRX_SYS page of the system tablespace.
const TRX_SYS_PAGE_NO: u32 = 5;
/// Rollback segment slots in TRX_SYS, after the max trx id and a file segment header.
const TRX_SYS_RSEGS: usize = 8 + 10;
const TRX_SYS_N_RSEGS: usize = 128;
const TRX_SYS_RSEG_SLOT_SIZE: usize = 8;
/// An unused slot's page number.
const FIL_NULL: u32 = 0xFFFF_FFFF;
/// Undo slots of a rollback segment header: after format, history size, the history
/// list base node (16) and a file segment header (10).
const TRX_RSEG_UNDO_SLOTS: usize = 4 + 4 + 16 + 10;
const TRX_RSEG_SLOT_SIZE: usize = 4;
/// Binlog file names are stored in 512 bytes, NUL included.
const BINLOG_NAME_LEN: usize = 512;
/// The legacy binlog information: `page_size - 1000` into the TRX_SYS header.
const LEGACY_FROM_END: usize = 1000;
const LEGACY_MAGIC: u32 = 873_422_344;

/// A recorded position: the stored file name bytes (up to the NUL) and the offset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Recorded {
    name: Vec<u8>,
    offset: u64,
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The NUL-terminated name at `at` (empty when its first byte is NUL).
fn name_at(b: &[u8], at: usize) -> Option<Vec<u8>> {
    let field = b.get(at..at + BINLOG_NAME_LEN)?;
    let len = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    Some(field[..len].to_vec())
}

/// The (space, page) of every rollback segment listed in the TRX_SYS page.
fn rseg_slots(trx_sys: &[u8]) -> Vec<(SpaceId, u32)> {
    (0..TRX_SYS_N_RSEGS)
        .filter_map(|i| {
            let at = PAGE_DATA + TRX_SYS_RSEGS + i * TRX_SYS_RSEG_SLOT_SIZE;
            let page = be32(trx_sys, at + 4);
            (page != FIL_NULL).then_some((SpaceId(be32(trx_sys, at)), page))
        })
        .collect()
}

/// The position a rollback segment header page holds, if any.
fn rseg_position(page: &[u8], page_size: usize) -> Option<Recorded> {
    if be32(page, PAGE_DATA) != 0 {
        return None; // not the current format: no binlog fields
    }
    let max_trx_id = PAGE_DATA + TRX_RSEG_UNDO_SLOTS + page_size / 16 * TRX_RSEG_SLOT_SIZE;
    let name = name_at(page, max_trx_id + 16)?;
    if name.is_empty() {
        return None; // the server skips a segment without a name, offset and all
    }
    Some(Recorded {
        name,
        offset: be64(page, max_trx_id + 8)?,
    })
}

/// The position stored in the TRX_SYS page by servers before MariaDB 10.3.5, if its magic
/// is there (the server then takes name and offset as they are, an empty name too).
fn legacy_position(trx_sys: &[u8], page_size: usize) -> Option<Recorded> {
    let at = PAGE_DATA + page_size.checked_sub(LEGACY_FROM_END)?;
    if be32(trx_sys, at) != LEGACY_MAGIC {
        return None;
    }
    Some(Recorded {
        name: name_at(trx_sys, at + 12)?,
        offset: be64(trx_sys, at + 4)?,
    })
}

/// The server's choice among rollback segment positions: greatest name, then offset.
fn latest(positions: impl IntoIterator<Item = Recorded>) -> Option<Recorded> {
    positions
        .into_iter()
        .max_by(|a, b| a.name.cmp(&b.name).then(a.offset.cmp(&b.offset)))
}

fn read_page(space: &Space, page_no: u32, page_size: usize) -> Result<Vec<u8>, PrepareError> {
    let mut page = vec![0u8; page_size];
    space
        .file
        .read_exact_at(&mut page, u64::from(page_no) * page_size as u64)
        .map_err(|e| PrepareError::io("read a rollback segment page of", &space.path, e))?;
    // An encrypted system or undo tablespace (key rotation encrypts them too).
    if let Some(c) = space.crypt.get() {
        c.decrypt(&space.path, innodb::PageNo(page_no), &mut page)?;
    }
    Ok(page)
}

/// The binlog position recorded in the prepared data files: an empty name and offset 0
/// when the server recorded none (mariadb-backup writes that too). Rollback segments in
/// tablespaces the backup does not have are skipped.
pub(crate) fn recorded_position(
    spaces: &HashMap<SpaceId, Space>,
    page_size: usize,
) -> Result<BinlogPosInnodb, PrepareError> {
    let Some(system) = spaces.get(&SpaceId::SYSTEM) else {
        return Ok(BinlogPosInnodb {
            file: String::new(),
            position: 0,
        });
    };
    let trx_sys = read_page(system, TRX_SYS_PAGE_NO, page_size)?;
    let mut found = Vec::new();
    for (space, page_no) in rseg_slots(&trx_sys) {
        if let Some(sp) = spaces.get(&space) {
            found.extend(rseg_position(
                &read_page(sp, page_no, page_size)?,
                page_size,
            ));
        }
    }
    let best = latest(found)
        .or_else(|| legacy_position(&trx_sys, page_size))
        .unwrap_or_default();
    Ok(BinlogPosInnodb {
        file: String::from_utf8_lossy(&best.name).into_owned(),
        position: best.offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: usize = 16384;

    fn trx_sys_with(slots: &[(u32, u32)]) -> Vec<u8> {
        let mut p = vec![0u8; PAGE];
        for i in 0..TRX_SYS_N_RSEGS {
            let at = PAGE_DATA + TRX_SYS_RSEGS + i * TRX_SYS_RSEG_SLOT_SIZE;
            let (space, page) = slots.get(i).copied().unwrap_or((0, FIL_NULL));
            p[at..at + 4].copy_from_slice(&space.to_be_bytes());
            p[at + 4..at + 8].copy_from_slice(&page.to_be_bytes());
        }
        p
    }

    fn rseg_with(format: u32, name: &str, offset: u64) -> Vec<u8> {
        let mut p = vec![0u8; PAGE];
        p[PAGE_DATA..PAGE_DATA + 4].copy_from_slice(&format.to_be_bytes());
        // 16k pages: 1024 undo slots of 4 bytes, then max trx id at 34 + 4096.
        let max = PAGE_DATA + 34 + 4096;
        p[max + 8..max + 16].copy_from_slice(&offset.to_be_bytes());
        p[max + 16..max + 16 + name.len()].copy_from_slice(name.as_bytes());
        p
    }

    fn rec(name: &str, offset: u64) -> Recorded {
        Recorded {
            name: name.as_bytes().to_vec(),
            offset,
        }
    }

    #[test]
    fn slots_skip_unused_ones() {
        let page = trx_sys_with(&[(0, 6), (1, 3), (0, FIL_NULL), (2, 3)]);
        assert_eq!(
            rseg_slots(&page),
            vec![(SpaceId(0), 6), (SpaceId(1), 3), (SpaceId(2), 3)]
        );
    }

    #[test]
    fn rseg_position_reads_name_and_offset_at_the_page_size_dependent_place() {
        let cases = [
            (
                rseg_with(0, "./mysql-bin.000002", 342),
                Some(rec("./mysql-bin.000002", 342)),
            ),
            (rseg_with(0, "", 342), None),
            (rseg_with(0, "\0./mysql-bin.000002", 342), None),
            (rseg_with(1, "./mysql-bin.000002", 342), None),
        ];
        for (page, want) in cases {
            assert_eq!(rseg_position(&page, PAGE), want);
        }
        // 4k pages put the fields 3072 bytes earlier.
        let mut small = vec![0u8; 4096];
        let max = PAGE_DATA + 34 + 1024;
        small[max + 8..max + 16].copy_from_slice(&7u64.to_be_bytes());
        small[max + 16..max + 19].copy_from_slice(b"b.1");
        assert_eq!(rseg_position(&small, 4096), Some(rec("b.1", 7)));
    }

    #[test]
    fn greatest_name_then_greatest_offset() {
        let cases = [
            (
                vec![rec("./b.000001", 900), rec("./b.000002", 5)],
                rec("./b.000002", 5),
            ),
            (
                vec![rec("./b.000002", 5), rec("./b.000002", 70)],
                rec("./b.000002", 70),
            ),
            (vec![rec("./b.000001", 1)], rec("./b.000001", 1)),
        ];
        for (input, want) in cases {
            assert_eq!(latest(input), Some(want));
        }
        assert_eq!(latest(Vec::new()), None);
    }

    #[test]
    fn legacy_position_needs_its_magic() {
        let mut page = vec![0u8; PAGE];
        let at = PAGE_DATA + PAGE - 1000;
        page[at + 4..at + 12].copy_from_slice(&4242u64.to_be_bytes());
        page[at + 12..at + 20].copy_from_slice(b"./old.01");
        assert_eq!(legacy_position(&page, PAGE), None);
        page[at..at + 4].copy_from_slice(&LEGACY_MAGIC.to_be_bytes());
        assert_eq!(legacy_position(&page, PAGE), Some(rec("./old.01", 4242)));
        // With the magic, an empty name still carries its offset (the server copies both).
        page[at + 12] = 0;
        assert_eq!(legacy_position(&page, PAGE), Some(rec("", 4242)));
    }
}
