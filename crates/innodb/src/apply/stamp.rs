//! Page LSN and checksum of a page written back after redo was applied
//! (redo-format.md §5.2, §5.4; page-format.md §2, §6).
//!
//! | format | LSN | checksum |
//! |---|---|---|
//! | full_crc32 | FIL_PAGE_LSN; low 32 bits at P-8 | CRC-32C of `[0, P-4)` at P-4 |
//! | legacy crc32 | FIL_PAGE_LSN; 8 bytes at P-8 | `crc[4,26) ^ crc[38,P-8)` at 0 and P-8 |
//! | ROW_FORMAT=COMPRESSED | FIL_PAGE_LSN only | `crc[4,16) ^ crc[24,26) ^ crc[34,Z)` at 0 |

use crate::page::checksum::{set_page_lsn, write_checksum, ChecksumFormat};
use crate::page::fil::{FIL_PAGE_DATA, FIL_PAGE_DATA_END};
use crate::page::fsp::SpaceFlags;
use crate::types::Lsn;

use super::Check;

/// How pages of a tablespace are stamped when written (what MariaDB 10.11 writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PageFormat {
    /// full_crc32 tablespaces (the 10.11 default).
    FullCrc32,
    /// Legacy layout, uncompressed pages: the "crc32" algorithm.
    Crc32,
    /// Legacy layout, ROW_FORMAT=COMPRESSED: the page is the compressed image.
    Compressed,
}

impl PageFormat {
    /// The format 10.11 writes for a tablespace with these flags. page_compressed
    /// tablespaces are not covered (their pages are compressed after the checksum
    /// stage); the caller must refuse them.
    pub fn for_flags(flags: &SpaceFlags) -> PageFormat {
        if flags.is_full_crc32() {
            PageFormat::FullCrc32
        } else if flags.zip_size().is_some() {
            PageFormat::Compressed
        } else {
            PageFormat::Crc32
        }
    }

    fn checksum_format(self) -> ChecksumFormat {
        match self {
            PageFormat::FullCrc32 => ChecksumFormat::FullCrc32,
            PageFormat::Crc32 => ChecksumFormat::Crc32,
            PageFormat::Compressed => ChecksumFormat::ZipCrc32,
        }
    }
}

/// Sets FIL_PAGE_LSN (and the trailer LSN) to `lsn` and stamps the checksum, as the
/// server does when it flushes a page that recovery changed (§5.2 steps 1–3).
pub fn stamp_page(page: &mut [u8], lsn: Lsn, format: PageFormat) -> Result<(), Check> {
    if page.len() < FIL_PAGE_DATA + FIL_PAGE_DATA_END {
        return Err(Check::new("page too small for a FIL header and trailer"));
    }
    let cf = format.checksum_format();
    if format == PageFormat::FullCrc32 {
        // write_checksum would read a page_compressed length from FIL_PAGE_TYPE bit 15;
        // an applied page is always a whole uncompressed frame, so stamp it directly.
        set_page_lsn(page, lsn, cf).map_err(|_| Check::new("cannot set FIL_PAGE_LSN"))?;
        let end = page.len() - 4;
        let crc = crate::page::checksum::crc32c(&page[..end]);
        page[end..].copy_from_slice(&crc.to_be_bytes());
        return Ok(());
    }
    set_page_lsn(page, lsn, cf).map_err(|_| Check::new("cannot set FIL_PAGE_LSN"))?;
    write_checksum(page, cf).map_err(|_| Check::new("cannot compute the page checksum"))?;
    Ok(())
}
