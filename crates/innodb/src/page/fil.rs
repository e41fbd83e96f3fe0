//! The FIL header (first 38 bytes of every page), the FIL trailer (last 8 bytes) and
//! the page types (`shared/docs/page-format.md` §2, §3).
//!
//! ```text
//!  0        4         8        12       16            24    26                  34        38
//!  +--------+---------+--------+--------+-------------+-----+-------------------+---------+----
//!  |chksum /| page no | prev   | next   | LSN (8)     |type | flush LSN / key   | space id| data
//!  |key ver |         |        |        |             |     | version+checksum  |         |
//!  +--------+---------+--------+--------+-------------+-----+-------------------+---------+----
//!  trailer (last 8 bytes): legacy: old checksum, LSN low 32 | full_crc32: LSN low 32, CRC-32C
//! ```
//!
//! Constant names and values follow `storage/innobase/include/fil0fil.h` (FIL_*) and
//! `storage/innobase/include/buf0checksum.h` (`BUF_NO_CHECKSUM_MAGIC`) of MariaDB 10.11.

use super::{read_u16, read_u32, read_u64, PageError};
use crate::types::{Lsn, PageNo, SpaceId};

/// Legacy formats: page checksum ("field 1"); full_crc32: encryption key version.
pub const FIL_PAGE_SPACE_OR_CHKSUM: usize = 0;
/// Page number inside the tablespace.
pub const FIL_PAGE_OFFSET: usize = 4;
/// Previous page of a B-tree level, or `FIL_NULL`.
pub const FIL_PAGE_PREV: usize = 8;
/// Next page of a B-tree level, or `FIL_NULL`.
pub const FIL_PAGE_NEXT: usize = 12;
/// LSN of the newest change written to the page (8 bytes).
pub const FIL_PAGE_LSN: usize = 16;
/// Page type (2 bytes), see [`PageType`].
pub const FIL_PAGE_TYPE: usize = 24;
/// Legacy: key version (4) + post-encryption checksum (4); page_compressed: algorithm.
pub const FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION: usize = 26;
/// Tablespace id (`FIL_PAGE_ARCH_LOG_NO_OR_SPACE_ID` upstream).
pub const FIL_PAGE_SPACE_ID: usize = 34;
/// Start of the page body; the FIL header is this long.
pub const FIL_PAGE_DATA: usize = 38;

/// Size of the trailer (`FIL_PAGE_DATA_END`), counted from the end of the page.
pub const FIL_PAGE_DATA_END: usize = 8;
/// Legacy: distance of the old checksum ("field 2") from the end of the page.
pub const FIL_PAGE_END_LSN_OLD_CHKSUM: usize = 8;
/// Legacy: distance of the LSN low word copy from the end of the page.
pub const FIL_PAGE_END_LSN_LOW: usize = 4;
/// full_crc32: distance of the LSN low word copy from the end of the page.
pub const FIL_PAGE_FCRC32_END_LSN: usize = 8;
/// full_crc32: distance of the CRC-32C from the end of the checksummed image.
pub const FIL_PAGE_FCRC32_CHECKSUM: usize = 4;
/// full_crc32: offset of the encryption key version (0 = not encrypted).
pub const FIL_PAGE_FCRC32_KEY_VERSION: usize = 0;

/// Low 32 bits of `FIL_PAGE_LSN` (compared with the trailer copy).
pub const FIL_PAGE_LSN_LOW: usize = FIL_PAGE_LSN + 4;
/// Legacy encrypted pages: key version (`FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION`).
pub const FIL_PAGE_KEY_VERSION: usize = FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION;
/// Legacy encrypted pages: checksum of the encrypted page (upstream writes it as
/// `FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION + 4`, fil0crypt.cc).
pub const FIL_PAGE_POST_ENCRYPTION_CHECKSUM: usize = FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION + 4;
/// Legacy page_compressed pages: 8-byte algorithm field (bytes 26..31 zero, 32..33 algorithm).
pub const FIL_PAGE_COMP_ALGO: usize = FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION;
/// Legacy page_compressed pages: 2-byte compressed payload length.
pub const FIL_PAGE_COMP_SIZE: usize = FIL_PAGE_DATA;
/// Legacy page_compressed pages: metadata before the payload (the length).
pub const FIL_PAGE_COMP_METADATA_LEN: usize = 2;
/// Legacy page_compressed+encrypted pages: offset of the algorithm, after the length.
pub const FIL_PAGE_ENCRYPT_COMP_ALGO: usize = FIL_PAGE_DATA + 2;
/// Legacy page_compressed+encrypted pages: metadata before the payload (length, algorithm).
pub const FIL_PAGE_ENCRYPT_COMP_METADATA_LEN: usize = 4;

/// Value of the checksum fields when no checksum is used ("none").
pub const BUF_NO_CHECKSUM_MAGIC: u32 = 0xDEAD_BEEF;
/// "No page" value of page pointers (`FIL_PAGE_PREV`/`FIL_PAGE_NEXT`).
pub const FIL_NULL: u32 = 0xFFFF_FFFF;

/// Page type: freshly allocated, never initialised.
pub const FIL_PAGE_TYPE_ALLOCATED: u16 = 0;
/// Page type: undo log page.
pub const FIL_PAGE_UNDO_LOG: u16 = 2;
/// Page type: file segment inode page.
pub const FIL_PAGE_INODE: u16 = 3;
/// Page type: change buffer free list.
pub const FIL_PAGE_IBUF_FREE_LIST: u16 = 4;
/// Page type: change buffer bitmap.
pub const FIL_PAGE_IBUF_BITMAP: u16 = 5;
/// Page type: system page.
pub const FIL_PAGE_TYPE_SYS: u16 = 6;
/// Page type: transaction system header (ibdata1 page 5).
pub const FIL_PAGE_TYPE_TRX_SYS: u16 = 7;
/// Page type: tablespace header (page 0).
pub const FIL_PAGE_TYPE_FSP_HDR: u16 = 8;
/// Page type: extent descriptor page.
pub const FIL_PAGE_TYPE_XDES: u16 = 9;
/// Page type: uncompressed BLOB page.
pub const FIL_PAGE_TYPE_BLOB: u16 = 10;
/// Page type: first page of a compressed BLOB.
pub const FIL_PAGE_TYPE_ZBLOB: u16 = 11;
/// Page type: subsequent page of a compressed BLOB.
pub const FIL_PAGE_TYPE_ZBLOB2: u16 = 12;
/// Page type: replacement for garbage types in very old files.
pub const FIL_PAGE_TYPE_UNKNOWN: u16 = 13;
/// Page type: clustered index root after instant ADD/DROP COLUMN.
pub const FIL_PAGE_TYPE_INSTANT: u16 = 18;
/// Page type: spatial index page.
pub const FIL_PAGE_RTREE: u16 = 17854;
/// Page type: B-tree index page.
pub const FIL_PAGE_INDEX: u16 = 17855;
/// Page type: legacy page_compressed page.
pub const FIL_PAGE_PAGE_COMPRESSED: u16 = 34354;
/// Page type: legacy page_compressed and encrypted page.
pub const FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED: u16 = 37401;
/// full_crc32 page_compressed pages set this bit of `FIL_PAGE_TYPE`
/// (`1 << FIL_PAGE_COMPRESS_FCRC32_MARKER`); the low bits are the length / 256.
pub const FIL_PAGE_COMPRESS_FCRC32_MARKER: u16 = 15;
/// Unit of the full_crc32 compressed length stored in `FIL_PAGE_TYPE`.
pub const FCRC32_COMPRESSED_LEN_UNIT: usize = 256;

/// The page type stored at `FIL_PAGE_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageType {
    /// 0: freshly allocated.
    Allocated,
    /// 2: undo log.
    UndoLog,
    /// 3: segment inode.
    Inode,
    /// 4: change buffer free list.
    IbufFreeList,
    /// 5: change buffer bitmap.
    IbufBitmap,
    /// 6: system page.
    Sys,
    /// 7: transaction system header.
    TrxSys,
    /// 8: tablespace header.
    FspHdr,
    /// 9: extent descriptors.
    Xdes,
    /// 10: BLOB.
    Blob,
    /// 11: first compressed BLOB page.
    Zblob,
    /// 12: further compressed BLOB page.
    Zblob2,
    /// 13: unknown (very old files).
    Unknown,
    /// 18: instant ADD/DROP COLUMN root.
    Instant,
    /// 17854: R-tree index.
    Rtree,
    /// 17855: B-tree index.
    Index,
    /// 34354: legacy page_compressed.
    PageCompressed,
    /// 37401: legacy page_compressed + encrypted.
    PageCompressedEncrypted,
    /// full_crc32 page_compressed: bit 15 set; the checksummed image is this long.
    FullCrc32Compressed {
        /// Compressed image length in bytes, checksum included (multiple of 256).
        compressed_len: usize,
    },
    /// Any other value.
    Other(u16),
}

impl PageType {
    /// Decodes a raw `FIL_PAGE_TYPE`. The two legacy compressed values also have
    /// bit 15 set, so they are matched before bit 15 is read as the full_crc32 marker.
    pub fn from_raw(raw: u16) -> PageType {
        match raw {
            FIL_PAGE_TYPE_ALLOCATED => PageType::Allocated,
            FIL_PAGE_UNDO_LOG => PageType::UndoLog,
            FIL_PAGE_INODE => PageType::Inode,
            FIL_PAGE_IBUF_FREE_LIST => PageType::IbufFreeList,
            FIL_PAGE_IBUF_BITMAP => PageType::IbufBitmap,
            FIL_PAGE_TYPE_SYS => PageType::Sys,
            FIL_PAGE_TYPE_TRX_SYS => PageType::TrxSys,
            FIL_PAGE_TYPE_FSP_HDR => PageType::FspHdr,
            FIL_PAGE_TYPE_XDES => PageType::Xdes,
            FIL_PAGE_TYPE_BLOB => PageType::Blob,
            FIL_PAGE_TYPE_ZBLOB => PageType::Zblob,
            FIL_PAGE_TYPE_ZBLOB2 => PageType::Zblob2,
            FIL_PAGE_TYPE_UNKNOWN => PageType::Unknown,
            FIL_PAGE_TYPE_INSTANT => PageType::Instant,
            FIL_PAGE_RTREE => PageType::Rtree,
            FIL_PAGE_INDEX => PageType::Index,
            FIL_PAGE_PAGE_COMPRESSED => PageType::PageCompressed,
            FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED => PageType::PageCompressedEncrypted,
            _ => match fcrc32_compressed_len(raw) {
                Some(compressed_len) => PageType::FullCrc32Compressed { compressed_len },
                None => PageType::Other(raw),
            },
        }
    }
}

/// For a full_crc32 tablespace: the compressed length encoded in a `FIL_PAGE_TYPE`
/// with the marker bit set, or `None` if the page is not page_compressed.
pub fn fcrc32_compressed_len(raw_type: u16) -> Option<usize> {
    let marker = 1u16 << FIL_PAGE_COMPRESS_FCRC32_MARKER;
    (raw_type & marker != 0).then(|| usize::from(raw_type & !marker) * FCRC32_COMPRESSED_LEN_UNIT)
}

/// The FIL header fields of a page (all in clear, also on encrypted and
/// compressed pages, except the space id of encrypted/compressed full_crc32 pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilHeader {
    /// Legacy: checksum ("field 1"); full_crc32: key version.
    pub checksum_or_key_version: u32,
    /// Page number (`FIL_PAGE_OFFSET`).
    pub page_no: PageNo,
    /// Previous page (`FIL_PAGE_PREV`).
    pub prev: PageNo,
    /// Next page (`FIL_PAGE_NEXT`).
    pub next: PageNo,
    /// Newest modification (`FIL_PAGE_LSN`).
    pub lsn: Lsn,
    /// Raw page type (`FIL_PAGE_TYPE`); decode with [`PageType::from_raw`].
    pub page_type: u16,
    /// `FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION` (meaning depends on format).
    pub flush_lsn_or_key_version: u64,
    /// `FIL_PAGE_SPACE_ID` (unreadable on encrypted/compressed full_crc32 pages).
    pub space_id: SpaceId,
}

impl FilHeader {
    /// Parses the first [`FIL_PAGE_DATA`] bytes of `page`.
    pub fn parse(page: &[u8]) -> Result<FilHeader, PageError> {
        Ok(FilHeader {
            checksum_or_key_version: read_u32(
                page,
                FIL_PAGE_SPACE_OR_CHKSUM,
                "FIL_PAGE_SPACE_OR_CHKSUM",
            )?,
            page_no: PageNo(read_u32(page, FIL_PAGE_OFFSET, "FIL_PAGE_OFFSET")?),
            prev: PageNo(read_u32(page, FIL_PAGE_PREV, "FIL_PAGE_PREV")?),
            next: PageNo(read_u32(page, FIL_PAGE_NEXT, "FIL_PAGE_NEXT")?),
            lsn: Lsn(read_u64(page, FIL_PAGE_LSN, "FIL_PAGE_LSN")?),
            page_type: read_u16(page, FIL_PAGE_TYPE, "FIL_PAGE_TYPE")?,
            flush_lsn_or_key_version: read_u64(
                page,
                FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION,
                "FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION",
            )?,
            space_id: SpaceId(read_u32(page, FIL_PAGE_SPACE_ID, "FIL_PAGE_SPACE_ID")?),
        })
    }

    /// The decoded page type.
    pub fn page_type(&self) -> PageType {
        PageType::from_raw(self.page_type)
    }
}

/// `FIL_PAGE_LSN` of a page (in clear in every format): what an incremental backup
/// compares with the base's `to_lsn`.
pub fn page_lsn(page: &[u8]) -> Result<Lsn, PageError> {
    read_u64(page, FIL_PAGE_LSN, "FIL_PAGE_LSN").map(Lsn)
}

/// `FIL_PAGE_OFFSET` of a page.
pub fn page_number(page: &[u8]) -> Result<PageNo, PageError> {
    read_u32(page, FIL_PAGE_OFFSET, "FIL_PAGE_OFFSET").map(PageNo)
}

/// Raw `FIL_PAGE_TYPE` of a page.
pub fn page_type_raw(page: &[u8]) -> Result<u16, PageError> {
    read_u16(page, FIL_PAGE_TYPE, "FIL_PAGE_TYPE")
}

/// The two 4-byte trailer fields of an uncompressed page, named by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilTrailer {
    /// Legacy: old-style checksum ("field 2"); full_crc32: CRC-32C of the page.
    pub checksum: u32,
    /// Low 32 bits of `FIL_PAGE_LSN` as copied into the trailer.
    pub lsn_low: u32,
}

impl FilTrailer {
    /// Reads the trailer of `page` (its length is the page size) in the given layout.
    /// ROW_FORMAT=COMPRESSED pages have no trailer; do not call this for them.
    pub fn parse(page: &[u8], full_crc32: bool) -> Result<FilTrailer, PageError> {
        let end = page.len();
        let at = |from_end: usize| end.checked_sub(from_end).unwrap_or(usize::MAX);
        if full_crc32 {
            Ok(FilTrailer {
                lsn_low: read_u32(page, at(FIL_PAGE_FCRC32_END_LSN), "full_crc32 trailer LSN")?,
                checksum: read_u32(page, at(FIL_PAGE_FCRC32_CHECKSUM), "full_crc32 checksum")?,
            })
        } else {
            Ok(FilTrailer {
                checksum: read_u32(page, at(FIL_PAGE_END_LSN_OLD_CHKSUM), "trailer checksum")?,
                lsn_low: read_u32(page, at(FIL_PAGE_END_LSN_LOW), "trailer LSN")?,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_type(raw: u16, expected: PageType) {
        assert_eq!(PageType::from_raw(raw), expected, "raw type {raw}");
    }

    #[test]
    fn page_types_decode() {
        check_type(0, PageType::Allocated);
        check_type(8, PageType::FspHdr);
        check_type(17855, PageType::Index);
        check_type(34354, PageType::PageCompressed);
        check_type(37401, PageType::PageCompressedEncrypted);
        check_type(
            0x8000 | 40,
            PageType::FullCrc32Compressed {
                compressed_len: 40 * 256,
            },
        );
        check_type(14, PageType::Other(14));
    }

    #[test]
    fn header_and_trailer_parse() {
        let mut page = vec![0u8; 1024];
        page[4..8].copy_from_slice(&7u32.to_be_bytes());
        page[16..24].copy_from_slice(&0x1122_3344_5566_7788u64.to_be_bytes());
        page[24..26].copy_from_slice(&FIL_PAGE_INDEX.to_be_bytes());
        page[34..38].copy_from_slice(&9u32.to_be_bytes());
        page[1016..1020].copy_from_slice(&1u32.to_be_bytes());
        page[1020..1024].copy_from_slice(&2u32.to_be_bytes());
        let header = FilHeader::parse(&page).unwrap();
        assert_eq!(header.page_no, PageNo(7));
        assert_eq!(header.lsn, Lsn(0x1122_3344_5566_7788));
        assert_eq!(header.page_type(), PageType::Index);
        assert_eq!(header.space_id, SpaceId(9));
        assert_eq!(page_lsn(&page), Ok(Lsn(0x1122_3344_5566_7788)));
        assert_eq!(page_number(&page), Ok(PageNo(7)));
        assert_eq!(
            FilTrailer::parse(&page, false),
            Ok(FilTrailer {
                checksum: 1,
                lsn_low: 2
            })
        );
        assert_eq!(
            FilTrailer::parse(&page, true),
            Ok(FilTrailer {
                checksum: 2,
                lsn_low: 1
            })
        );
        assert!(FilHeader::parse(&page[..37]).is_err());
        assert!(FilTrailer::parse(&page[..3], true).is_err());
    }
}
