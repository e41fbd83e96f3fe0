//! Page 0: the FSP header, `FSP_SPACE_FLAGS` in both layouts, and the encryption
//! metadata ("crypt data") (`shared/docs/page-format.md` §4, §5).
//!
//! ```text
//!  FSP_SPACE_FLAGS, full_crc32 layout (bit 4 set):
//!    bits 0..3 PAGE_SSIZE (3..7) | bit 4 MARKER | bits 5..7 compression algorithm | 8..31 zero
//!  legacy layout (bit 4 clear):
//!    bit 0 POST_ANTELOPE | bits 1..4 ZIP_SSIZE | bit 5 ATOMIC_BLOBS | bits 6..9 PAGE_SSIZE
//!    bits 10..15 reserved (bit 10 ignored) | bit 16 PAGE_COMPRESSION | bits 17..31 zero
//! ```
//!
//! Names follow `storage/innobase/include/fsp0fsp.h`, `fsp0types.h` and `fil0crypt.h`;
//! FSP field offsets are relative to [`FSP_HEADER_OFFSET`] as upstream.

use thiserror::Error;

use super::compress::CompressionAlgorithm;
use super::fil::{FIL_PAGE_DATA, FIL_PAGE_SPACE_ID};
use super::{is_all_zero, read_array, read_u32, PageError};
use crate::types::SpaceId;

/// The FSP header starts right after the FIL header on page 0.
pub const FSP_HEADER_OFFSET: usize = FIL_PAGE_DATA;
/// Tablespace id (must equal `FIL_PAGE_SPACE_ID` of page 0).
pub const FSP_SPACE_ID: usize = 0;
/// Unused field.
pub const FSP_NOT_USED: usize = 4;
/// Current size of the tablespace in pages.
pub const FSP_SIZE: usize = 8;
/// Pages at or above this number were never initialised.
pub const FSP_FREE_LIMIT: usize = 12;
/// Tablespace flags, see [`SpaceFlags`].
pub const FSP_SPACE_FLAGS: usize = 16;
/// Used pages in the FREE_FRAG list.
pub const FSP_FRAG_N_USED: usize = 20;
/// Size of a file list base node.
pub const FLST_BASE_NODE_SIZE: usize = 16;
/// Size of a file list node.
pub const FLST_NODE_SIZE: usize = 12;
/// Size of the FSP header: 32 bytes of fields and 5 list base nodes.
pub const FSP_HEADER_SIZE: usize = 32 + 5 * FLST_BASE_NODE_SIZE;
/// Start of the extent descriptor array on page 0 (absolute offset 150, as upstream;
/// the crypt data formula adds `FSP_HEADER_OFFSET` once more, see [`crypt_data_offset`]).
pub const XDES_ARR_OFFSET: usize = FSP_HEADER_OFFSET + FSP_HEADER_SIZE;
/// Offset of the free-page bitmap inside an extent descriptor.
pub const XDES_BITMAP: usize = FLST_NODE_SIZE + 12;
/// Bits per page in the extent descriptor bitmap.
pub const XDES_BITS_PER_PAGE: usize = 2;

/// Legacy flags: bit position of POST_ANTELOPE.
pub const FSP_FLAGS_POS_POST_ANTELOPE: u32 = 0;
/// Legacy flags: bit position of ZIP_SSIZE (4 bits).
pub const FSP_FLAGS_POS_ZIP_SSIZE: u32 = 1;
/// Legacy flags: bit position of ATOMIC_BLOBS.
pub const FSP_FLAGS_POS_ATOMIC_BLOBS: u32 = 5;
/// Legacy flags: bit position of PAGE_SSIZE (4 bits).
pub const FSP_FLAGS_POS_PAGE_SSIZE: u32 = 6;
/// Legacy flags: bit position of the reserved bits (6 bits).
pub const FSP_FLAGS_POS_RESERVED: u32 = 10;
/// Legacy flags: bit position of PAGE_COMPRESSION.
pub const FSP_FLAGS_POS_PAGE_COMPRESSION: u32 = 16;
/// Legacy flags: mask of POST_ANTELOPE.
pub const FSP_FLAGS_MASK_POST_ANTELOPE: u32 = 1 << FSP_FLAGS_POS_POST_ANTELOPE;
/// Legacy flags: mask of ZIP_SSIZE.
pub const FSP_FLAGS_MASK_ZIP_SSIZE: u32 = 0xF << FSP_FLAGS_POS_ZIP_SSIZE;
/// Legacy flags: mask of ATOMIC_BLOBS.
pub const FSP_FLAGS_MASK_ATOMIC_BLOBS: u32 = 1 << FSP_FLAGS_POS_ATOMIC_BLOBS;
/// Legacy flags: mask of PAGE_SSIZE.
pub const FSP_FLAGS_MASK_PAGE_SSIZE: u32 = 0xF << FSP_FLAGS_POS_PAGE_SSIZE;
/// Legacy flags: mask of the reserved bits 10..15.
pub const FSP_FLAGS_MASK_RESERVED: u32 = 0x3F << FSP_FLAGS_POS_RESERVED;
/// Legacy flags: bit 10, the MySQL 5.6 / MariaDB 10.0 DATA DIRECTORY flag, ignored.
pub const FSP_FLAGS_MASK_DATA_DIR: u32 = 1 << FSP_FLAGS_POS_RESERVED;
/// Legacy flags: mask of PAGE_COMPRESSION.
pub const FSP_FLAGS_MASK_PAGE_COMPRESSION: u32 = 1 << FSP_FLAGS_POS_PAGE_COMPRESSION;
/// Legacy flags: every bit that may be set on disk.
pub const FSP_FLAGS_MASK: u32 = (1 << (FSP_FLAGS_POS_PAGE_COMPRESSION + 1)) - 1;
/// full_crc32 flags: bit position of PAGE_SSIZE (4 bits).
pub const FSP_FLAGS_FCRC32_POS_PAGE_SSIZE: u32 = 0;
/// full_crc32 flags: bit position of the marker.
pub const FSP_FLAGS_FCRC32_POS_MARKER: u32 = 4;
/// full_crc32 flags: bit position of the compression algorithm (3 bits).
pub const FSP_FLAGS_FCRC32_POS_COMPRESSED_ALGO: u32 = 5;
/// full_crc32 flags: mask of PAGE_SSIZE.
pub const FSP_FLAGS_FCRC32_MASK_PAGE_SSIZE: u32 = 0xF << FSP_FLAGS_FCRC32_POS_PAGE_SSIZE;
/// full_crc32 flags: the marker; the server tells the two layouts apart by this bit alone.
pub const FSP_FLAGS_FCRC32_MASK_MARKER: u32 = 1 << FSP_FLAGS_FCRC32_POS_MARKER;
/// full_crc32 flags: mask of the compression algorithm.
pub const FSP_FLAGS_FCRC32_MASK_COMPRESSED_ALGO: u32 = 0x7 << FSP_FLAGS_FCRC32_POS_COMPRESSED_ALGO;
/// Highest valid page_compressed algorithm number (`PAGE_ALGORITHM_LAST`).
pub const PAGE_ALGORITHM_LAST: u32 = 6;
/// Smallest ROW_FORMAT=COMPRESSED page (`UNIV_ZIP_SIZE_MIN`); sizes are this << (ssize - 1).
pub const UNIV_ZIP_SIZE_MIN: usize = 1024;
/// The default page size (`UNIV_PAGE_SIZE_ORIG`), encoded as 0 in legacy flags.
pub const UNIV_PAGE_SIZE_ORIG: usize = 16384;
/// Largest `innodb_page_size` (`UNIV_PAGE_SIZE_MAX`).
pub const UNIV_PAGE_SIZE_MAX: usize = 65536;
/// Smallest physical page of any tablespace (1k ROW_FORMAT=COMPRESSED pages); reading
/// this much of page 0 always covers the FSP header.
pub const MIN_PAGE_SIZE: usize = UNIV_ZIP_SIZE_MIN;
/// Largest physical page of any tablespace.
pub const MAX_PAGE_SIZE: usize = UNIV_PAGE_SIZE_MAX;

/// Magic at the start of the crypt data (`CRYPT_MAGIC`).
pub const CRYPT_MAGIC: [u8; 6] = *b"s\x0e\x0cREt";
/// Required IV length (`CRYPT_SCHEME_1_IV_LEN`).
pub const CRYPT_SCHEME_1_IV_LEN: usize = 16;
/// Crypt data: offset of the scheme byte after the magic.
const CRYPT_TYPE: usize = CRYPT_MAGIC.len();
/// Crypt data: offset of the IV length byte.
const CRYPT_IV_LEN: usize = CRYPT_TYPE + 1;
/// Crypt data: offset of the IV.
const CRYPT_IV: usize = CRYPT_IV_LEN + 1;
/// Crypt data: offset of `min_key_version` (after a 16-byte IV).
const CRYPT_MIN_KEY_VERSION: usize = CRYPT_IV + CRYPT_SCHEME_1_IV_LEN;
/// Crypt data: offset of `key_id`.
const CRYPT_KEY_ID: usize = CRYPT_MIN_KEY_VERSION + 4;
/// Crypt data: offset of the encryption mode byte.
const CRYPT_ENCRYPTION: usize = CRYPT_KEY_ID + 4;

/// Checksum layout of a tablespace, decided by the full_crc32 marker bit alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TablespaceFormat {
    /// `innodb_checksum_algorithm=full_crc32` (default since 10.5): CRC-32C over the
    /// stored page, LSN copy at P-8, checksum at P-4.
    FullCrc32,
    /// Files created with crc32/strict_crc32 or by older servers: crc32, innodb or
    /// none checksums in "field 1" and "field 2", LSN copy at P-4.
    Legacy,
}

/// Which `FSP_SPACE_FLAGS` rule failed (`fil_space_t::is_valid_flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FlagsError {
    /// full_crc32: PAGE_SSIZE (bits 0..3) must be 3..7 (4k..64k).
    #[error("full_crc32 PAGE_SSIZE (bits 0..3) is {ssize}, valid are 3..7 (4k..64k)")]
    FullCrc32PageSsize {
        /// The value found.
        ssize: u32,
    },
    /// full_crc32: compression algorithm (bits 5..7) must be 0..6.
    #[error("full_crc32 compression algorithm (bits 5..7) is {algorithm}, valid are 0..6")]
    FullCrc32Algorithm {
        /// The value found.
        algorithm: u32,
    },
    /// full_crc32: bits 8..31 must be zero on disk.
    #[error("full_crc32 flags have bits 8..31 set (0x{bits:x}), which must be 0")]
    FullCrc32UnusedBits {
        /// The offending bits, in place.
        bits: u32,
    },
    /// Legacy: bits 17..31 must be zero (MariaDB 10.1.0..10.1.20 or MySQL flags?).
    #[error("legacy flags have bits 17..31 set (0x{bits:x}); MariaDB 10.1 or MySQL format?")]
    LegacyHighBits {
        /// The offending bits, in place.
        bits: u32,
    },
    /// Legacy: ATOMIC_BLOBS (bit 5) requires POST_ANTELOPE (bit 0).
    #[error("legacy flags have ATOMIC_BLOBS (bit 5) without POST_ANTELOPE (bit 0)")]
    AtomicBlobsWithoutPostAntelope,
    /// Legacy: reserved bits 11..15 must be zero (bit 13: MySQL 5.7 encryption,
    /// bit 14: MySQL 8.0 SDI, bits 10..14 non-zero: MariaDB 10.1 page size).
    #[error(
        "legacy flags have reserved bits 11..15 set (0x{bits:x}); MySQL 5.7/8.0 or \
         MariaDB 10.1 format?"
    )]
    LegacyReservedBits {
        /// The offending bits, in place.
        bits: u32,
    },
    /// Legacy: PAGE_SSIZE (bits 6..9) must be 0 (16k), 3, 4, 6 or 7.
    #[error("legacy PAGE_SSIZE (bits 6..9) is {ssize}, valid are 0 (16k), 3, 4, 6, 7")]
    LegacyPageSsize {
        /// The value found.
        ssize: u32,
    },
    /// Legacy: ZIP_SSIZE (bits 1..4) larger than the page size allows.
    #[error("ZIP_SSIZE (bits 1..4) is {zip_ssize}, at most {max} for this page size")]
    ZipSsizeTooLarge {
        /// The value found.
        zip_ssize: u32,
        /// The largest valid value (PAGE_SSIZE, or 5 for 16k).
        max: u32,
    },
    /// Legacy: ROW_FORMAT=COMPRESSED requires POST_ANTELOPE and ATOMIC_BLOBS.
    #[error(
        "ZIP_SSIZE (bits 1..4) is {zip_ssize} but POST_ANTELOPE and ATOMIC_BLOBS are not both set"
    )]
    ZipWithoutAtomicBlobs {
        /// The value found.
        zip_ssize: u32,
    },
    /// The tablespace's logical page size differs from the server's `innodb_page_size`.
    #[error("tablespace page size {tablespace} differs from innodb_page_size {server}")]
    PageSizeMismatch {
        /// Logical page size of the tablespace.
        tablespace: usize,
        /// `innodb_page_size` of the server.
        server: usize,
    },
}

/// A validated `FSP_SPACE_FLAGS` value and what follows from it (§5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpaceFlags {
    raw: u32,
    format: TablespaceFormat,
    logical_page_size: usize,
    zip_size: Option<usize>,
    page_compressed: bool,
    compression_algorithm: Option<CompressionAlgorithm>,
    post_antelope: bool,
    atomic_blobs: bool,
}

fn bits(raw: u32, pos: u32, mask: u32) -> u32 {
    (raw & mask) >> pos
}

impl SpaceFlags {
    /// Validates `raw` with the server's rules (§5.1, §5.2) and decodes it.
    pub fn parse(raw: u32) -> Result<SpaceFlags, FlagsError> {
        if raw & FSP_FLAGS_FCRC32_MASK_MARKER != 0 {
            Self::parse_full_crc32(raw)
        } else {
            Self::parse_legacy(raw)
        }
    }

    fn parse_full_crc32(raw: u32) -> Result<SpaceFlags, FlagsError> {
        let ssize = bits(
            raw,
            FSP_FLAGS_FCRC32_POS_PAGE_SSIZE,
            FSP_FLAGS_FCRC32_MASK_PAGE_SSIZE,
        );
        if !(3..=7).contains(&ssize) {
            return Err(FlagsError::FullCrc32PageSsize { ssize });
        }
        let unused = raw & !0xFF;
        if unused != 0 {
            return Err(FlagsError::FullCrc32UnusedBits { bits: unused });
        }
        let algorithm = bits(
            raw,
            FSP_FLAGS_FCRC32_POS_COMPRESSED_ALGO,
            FSP_FLAGS_FCRC32_MASK_COMPRESSED_ALGO,
        );
        if algorithm > PAGE_ALGORITHM_LAST {
            return Err(FlagsError::FullCrc32Algorithm { algorithm });
        }
        let compression_algorithm = CompressionAlgorithm::from_raw(algorithm);
        Ok(SpaceFlags {
            raw,
            format: TablespaceFormat::FullCrc32,
            logical_page_size: (UNIV_ZIP_SIZE_MIN >> 1) << ssize,
            zip_size: None,
            page_compressed: compression_algorithm.is_some(),
            compression_algorithm,
            // Not recorded in full_crc32 flags; ROW_FORMAT lives in the dictionary.
            post_antelope: false,
            atomic_blobs: false,
        })
    }

    fn parse_legacy(raw: u32) -> Result<SpaceFlags, FlagsError> {
        let high = raw & !FSP_FLAGS_MASK;
        if high != 0 {
            return Err(FlagsError::LegacyHighBits { bits: high });
        }
        let post_antelope = raw & FSP_FLAGS_MASK_POST_ANTELOPE != 0;
        let atomic_blobs = raw & FSP_FLAGS_MASK_ATOMIC_BLOBS != 0;
        if atomic_blobs && !post_antelope {
            return Err(FlagsError::AtomicBlobsWithoutPostAntelope);
        }
        let reserved = raw & FSP_FLAGS_MASK_RESERVED & !FSP_FLAGS_MASK_DATA_DIR;
        if reserved != 0 {
            return Err(FlagsError::LegacyReservedBits { bits: reserved });
        }
        let ssize = bits(raw, FSP_FLAGS_POS_PAGE_SSIZE, FSP_FLAGS_MASK_PAGE_SSIZE);
        let logical_page_size = match ssize {
            0 => UNIV_PAGE_SIZE_ORIG,
            3 | 4 | 6 | 7 => (UNIV_ZIP_SIZE_MIN >> 1) << ssize,
            _ => return Err(FlagsError::LegacyPageSsize { ssize }),
        };
        let zip_ssize = bits(raw, FSP_FLAGS_POS_ZIP_SSIZE, FSP_FLAGS_MASK_ZIP_SSIZE);
        let zip_size = if zip_ssize == 0 {
            None
        } else {
            let max = if ssize == 0 { 5 } else { ssize };
            if zip_ssize > max {
                return Err(FlagsError::ZipSsizeTooLarge { zip_ssize, max });
            }
            if !(post_antelope && atomic_blobs) {
                return Err(FlagsError::ZipWithoutAtomicBlobs { zip_ssize });
            }
            Some((UNIV_ZIP_SIZE_MIN >> 1) << zip_ssize)
        };
        Ok(SpaceFlags {
            raw,
            format: TablespaceFormat::Legacy,
            logical_page_size,
            zip_size,
            page_compressed: raw & FSP_FLAGS_MASK_PAGE_COMPRESSION != 0,
            compression_algorithm: None,
            post_antelope,
            atomic_blobs,
        })
    }

    /// The flags as stored on disk.
    pub fn raw(&self) -> u32 {
        self.raw
    }

    /// full_crc32 or legacy layout (and checksum format).
    pub fn format(&self) -> TablespaceFormat {
        self.format
    }

    /// True for the full_crc32 layout.
    pub fn is_full_crc32(&self) -> bool {
        self.format == TablespaceFormat::FullCrc32
    }

    /// `innodb_page_size` of the server that wrote the file (4k..64k).
    pub fn logical_page_size(&self) -> usize {
        self.logical_page_size
    }

    /// ROW_FORMAT=COMPRESSED page size (1k..16k), `None` otherwise.
    pub fn zip_size(&self) -> Option<usize> {
        self.zip_size
    }

    /// Distance between two pages in the file: the zip size if any, else the logical size.
    pub fn physical_page_size(&self) -> usize {
        self.zip_size.unwrap_or(self.logical_page_size)
    }

    /// Whether the tablespace is page_compressed (pages may still be stored uncompressed).
    pub fn is_page_compressed(&self) -> bool {
        self.page_compressed
    }

    /// full_crc32 only: the page_compressed algorithm (legacy records it per page).
    pub fn compression_algorithm(&self) -> Option<CompressionAlgorithm> {
        self.compression_algorithm
    }

    /// Legacy only: ROW_FORMAT is not REDUNDANT.
    pub fn is_post_antelope(&self) -> bool {
        self.post_antelope
    }

    /// Legacy only: ROW_FORMAT is DYNAMIC or COMPRESSED.
    pub fn has_atomic_blobs(&self) -> bool {
        self.atomic_blobs
    }

    /// Pages per extent (`FSP_EXTENT_SIZE`): 1 MiB worth below 16k, else 64.
    pub fn extent_pages(&self) -> usize {
        if self.logical_page_size < UNIV_PAGE_SIZE_ORIG {
            (1 << 20) / self.logical_page_size
        } else {
            64
        }
    }

    /// Checks the tablespace against the server's `innodb_page_size`: the logical page
    /// sizes must agree, and on a 16k server a legacy .ibd with non-zero PAGE_SSIZE is
    /// refused (it is how buggy MariaDB 10.1 flags look).
    pub fn check_server_page_size(&self, innodb_page_size: usize) -> Result<(), FlagsError> {
        let legacy_ssize = bits(
            self.raw,
            FSP_FLAGS_POS_PAGE_SSIZE,
            FSP_FLAGS_MASK_PAGE_SSIZE,
        );
        let buggy_101 = self.format == TablespaceFormat::Legacy && legacy_ssize != 0;
        if self.logical_page_size != innodb_page_size
            || (buggy_101 && innodb_page_size == UNIV_PAGE_SIZE_ORIG)
        {
            return Err(FlagsError::PageSizeMismatch {
                tablespace: self.logical_page_size,
                server: innodb_page_size,
            });
        }
        Ok(())
    }
}

/// The FSP header fields of page 0 a backup needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FspHeader {
    /// Tablespace id (equal at offsets 34 and 38).
    pub space_id: SpaceId,
    /// `FSP_SIZE`: tablespace size in pages.
    pub size_pages: u32,
    /// `FSP_FREE_LIMIT`: pages at or above were never initialised.
    pub free_limit: u32,
    /// `FSP_FRAG_N_USED`.
    pub frag_n_used: u32,
    /// `FSP_SPACE_FLAGS`, validated.
    pub flags: SpaceFlags,
}

impl FspHeader {
    /// Parses page 0 (the first 62 bytes suffice). Refuses an all-zero input, a space
    /// id that differs between offsets 34 and 38, and invalid flags.
    pub fn parse(page0: &[u8]) -> Result<FspHeader, PageError> {
        let field = |rel: usize, what| read_u32(page0, FSP_HEADER_OFFSET + rel, what);
        // Read the last field first so a short input fails before anything else.
        let raw_flags = field(FSP_SPACE_FLAGS, "FSP_SPACE_FLAGS")?;
        if is_all_zero(page0) {
            return Err(PageError::AllZeroPage0);
        }
        let fil_page_space_id = read_u32(page0, FIL_PAGE_SPACE_ID, "FIL_PAGE_SPACE_ID")?;
        let fsp_space_id = field(FSP_SPACE_ID, "FSP_SPACE_ID")?;
        if fil_page_space_id != fsp_space_id {
            return Err(PageError::SpaceIdMismatch {
                fil_page_space_id,
                fsp_space_id,
            });
        }
        let flags = SpaceFlags::parse(raw_flags).map_err(|error| PageError::InvalidFlags {
            raw: raw_flags,
            error,
        })?;
        Ok(FspHeader {
            space_id: SpaceId(fsp_space_id),
            size_pages: field(FSP_SIZE, "FSP_SIZE")?,
            free_limit: field(FSP_FREE_LIMIT, "FSP_FREE_LIMIT")?,
            frag_n_used: field(FSP_FRAG_N_USED, "FSP_FRAG_N_USED").unwrap_or(0),
            flags,
        })
    }
}

/// Encryption scheme of the crypt data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CryptScheme {
    /// 0: `CRYPT_SCHEME_UNENCRYPTED` (crypt data present, pages not encrypted).
    Unencrypted,
    /// 1: `CRYPT_SCHEME_1` (AES, pages are encrypted).
    Scheme1,
}

/// `ENCRYPTED=` table option recorded in the crypt data (`fil_encryption_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncryptionMode {
    /// 0: follows `innodb_encrypt_tables`.
    Default,
    /// 1: `ENCRYPTED=YES`.
    On,
    /// 2: `ENCRYPTED=NO`.
    Off,
}

/// The encryption metadata on page 0 (`fil_space_crypt_t` on disk, §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CryptData {
    /// Absolute offset of the magic on page 0.
    pub offset: usize,
    /// Encryption scheme.
    pub scheme: CryptScheme,
    /// Initialisation vector.
    pub iv: [u8; CRYPT_SCHEME_1_IV_LEN],
    /// Oldest key version still used by a page.
    pub min_key_version: u32,
    /// Encryption key id.
    pub key_id: u32,
    /// Table option.
    pub encryption: EncryptionMode,
}

impl CryptData {
    /// True if pages of the tablespace may be encrypted (scheme 1).
    pub fn is_encrypted(&self) -> bool {
        self.scheme == CryptScheme::Scheme1
    }
}

/// Absolute offset of the crypt data on page 0 (`fsp_header_get_encryption_offset`):
/// `FSP_HEADER_OFFSET + XDES_ARR_OFFSET + descriptor size * (P / extent pages)`.
/// The FIL header is counted twice; that is how the server does it.
pub fn crypt_data_offset(flags: &SpaceFlags) -> usize {
    let extent_pages = flags.extent_pages();
    let descriptor_size = XDES_BITMAP + (extent_pages * XDES_BITS_PER_PAGE).div_ceil(8);
    FSP_HEADER_OFFSET
        + XDES_ARR_OFFSET
        + descriptor_size * (flags.physical_page_size() / extent_pages)
}

/// Reads the crypt data of page 0: `Ok(None)` if the magic is absent (not encrypted),
/// an error if the magic is present but the contents are nonsensical.
pub fn read_crypt_data(page0: &[u8], flags: &SpaceFlags) -> Result<Option<CryptData>, PageError> {
    let offset = crypt_data_offset(flags);
    let magic: [u8; 6] = read_array(page0, offset, "crypt data magic")?;
    if magic != CRYPT_MAGIC {
        return Ok(None);
    }
    let [scheme_byte] = read_array::<1>(page0, offset + CRYPT_TYPE, "crypt data type")?;
    let scheme = match scheme_byte {
        0 => CryptScheme::Unencrypted,
        1 => CryptScheme::Scheme1,
        other => {
            return Err(PageError::InvalidCryptData {
                at: offset + CRYPT_TYPE,
                what: "encryption scheme (must be 0 or 1)",
                value: u32::from(other),
            })
        }
    };
    let [iv_len] = read_array::<1>(page0, offset + CRYPT_IV_LEN, "crypt data IV length")?;
    if usize::from(iv_len) != CRYPT_SCHEME_1_IV_LEN {
        return Err(PageError::InvalidCryptData {
            at: offset + CRYPT_IV_LEN,
            what: "IV length (must be 16)",
            value: u32::from(iv_len),
        });
    }
    let iv = read_array(page0, offset + CRYPT_IV, "crypt data IV")?;
    let min_key_version = read_u32(
        page0,
        offset + CRYPT_MIN_KEY_VERSION,
        "crypt data min_key_version",
    )?;
    let key_id = read_u32(page0, offset + CRYPT_KEY_ID, "crypt data key_id")?;
    let [mode] = read_array::<1>(page0, offset + CRYPT_ENCRYPTION, "crypt data encryption")?;
    let encryption = match mode {
        0 => EncryptionMode::Default,
        1 => EncryptionMode::On,
        2 => EncryptionMode::Off,
        other => {
            return Err(PageError::InvalidCryptData {
                at: offset + CRYPT_ENCRYPTION,
                what: "encryption mode (must be 0, 1 or 2)",
                value: u32::from(other),
            })
        }
    };
    Ok(Some(CryptData {
        offset,
        scheme,
        iv,
        min_key_version,
        key_id,
        encryption,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (format, logical, zip, page_compressed, algorithm)
    type Expected = (
        TablespaceFormat,
        usize,
        Option<usize>,
        bool,
        Option<CompressionAlgorithm>,
    );

    fn check_flags(raw: u32, expected: Result<Expected, FlagsError>) {
        let got = SpaceFlags::parse(raw).map(|f| {
            (
                f.format(),
                f.logical_page_size(),
                f.zip_size(),
                f.is_page_compressed(),
                f.compression_algorithm(),
            )
        });
        assert_eq!(got, expected, "flags 0x{raw:x}");
    }

    #[test]
    fn valid_flags_from_the_spec() {
        use CompressionAlgorithm::Zlib;
        use TablespaceFormat::{FullCrc32 as F, Legacy as L};
        check_flags(0x13, Ok((F, 4096, None, false, None)));
        check_flags(0x15, Ok((F, 16384, None, false, None)));
        check_flags(0x17, Ok((F, 65536, None, false, None)));
        check_flags(0x33, Ok((F, 4096, None, true, Some(Zlib))));
        check_flags(0x35, Ok((F, 16384, None, true, Some(Zlib))));
        check_flags(0x37, Ok((F, 65536, None, true, Some(Zlib))));
        check_flags(
            0xD5,
            Ok((F, 16384, None, true, Some(CompressionAlgorithm::Snappy))),
        );
        check_flags(0x0, Ok((L, 16384, None, false, None)));
        check_flags(0x21, Ok((L, 16384, None, false, None)));
        check_flags(0x10021, Ok((L, 16384, None, true, None)));
        check_flags(0x29, Ok((L, 16384, Some(8192), false, None)));
        check_flags(0x27, Ok((L, 16384, Some(4096), false, None)));
        check_flags(0xE5, Ok((L, 4096, Some(2048), false, None)));
        check_flags(0x421, Ok((L, 16384, None, false, None))); // bit 10 ignored
        check_flags(0x1C0, Ok((L, 65536, None, false, None)));
    }

    #[test]
    fn invalid_flags_name_the_rule() {
        check_flags(0x10, Err(FlagsError::FullCrc32PageSsize { ssize: 0 }));
        check_flags(0x12, Err(FlagsError::FullCrc32PageSsize { ssize: 2 }));
        check_flags(0x18, Err(FlagsError::FullCrc32PageSsize { ssize: 8 }));
        check_flags(0xF5, Err(FlagsError::FullCrc32Algorithm { algorithm: 7 }));
        check_flags(0x115, Err(FlagsError::FullCrc32UnusedBits { bits: 0x100 }));
        check_flags(0x20021, Err(FlagsError::LegacyHighBits { bits: 0x20000 }));
        check_flags(0x20, Err(FlagsError::AtomicBlobsWithoutPostAntelope));
        check_flags(0x2021, Err(FlagsError::LegacyReservedBits { bits: 0x2000 }));
        check_flags(0x4021, Err(FlagsError::LegacyReservedBits { bits: 0x4000 }));
        check_flags(0x61, Err(FlagsError::LegacyPageSsize { ssize: 1 }));
        check_flags(0x161, Err(FlagsError::LegacyPageSsize { ssize: 5 }));
        check_flags(0x221, Err(FlagsError::LegacyPageSsize { ssize: 8 }));
        check_flags(
            0x2D,
            Err(FlagsError::ZipSsizeTooLarge {
                zip_ssize: 6,
                max: 5,
            }),
        );
        check_flags(
            0xE9,
            Err(FlagsError::ZipSsizeTooLarge {
                zip_ssize: 4,
                max: 3,
            }),
        );
        check_flags(0x9, Err(FlagsError::ZipWithoutAtomicBlobs { zip_ssize: 4 }));
        check_flags(0x8, Err(FlagsError::ZipWithoutAtomicBlobs { zip_ssize: 4 }));
    }

    #[test]
    fn derived_sizes() {
        let zip8k = SpaceFlags::parse(0x29).unwrap();
        assert_eq!(zip8k.physical_page_size(), 8192);
        assert_eq!(zip8k.extent_pages(), 64);
        assert!(zip8k.is_post_antelope() && zip8k.has_atomic_blobs());
        let f4k = SpaceFlags::parse(0x13).unwrap();
        assert_eq!(f4k.extent_pages(), 256);
        assert_eq!(f4k.physical_page_size(), 4096);
        assert_eq!(SpaceFlags::parse(0x14).unwrap().extent_pages(), 128);
        assert_eq!(f4k.check_server_page_size(4096), Ok(()));
        assert!(f4k.check_server_page_size(16384).is_err());
        // Legacy 4k flags on a 16k server look like buggy 10.1 flags.
        let legacy_4k = SpaceFlags::parse(0xE5).unwrap();
        assert_eq!(legacy_4k.check_server_page_size(4096), Ok(()));
        assert!(legacy_4k.check_server_page_size(16384).is_err());
        assert_eq!(
            SpaceFlags::parse(0x0)
                .unwrap()
                .check_server_page_size(16384),
            Ok(())
        );
    }

    #[test]
    fn crypt_data_offsets_from_the_spec() {
        let offset = |raw| crypt_data_offset(&SpaceFlags::parse(raw).unwrap());
        assert_eq!(offset(0x15), 10428);
        assert_eq!(offset(0x0), 10428);
        assert_eq!(offset(0x13), 1596);
        assert_eq!(offset(0x17), 41148);
        assert_eq!(offset(0x29), 5308);
        assert_eq!(offset(0x27), 2748);
    }

    fn page0_with(space_at_34: u32, space_at_38: u32, flags: u32) -> Vec<u8> {
        let mut page = vec![0u8; 16384];
        page[34..38].copy_from_slice(&space_at_34.to_be_bytes());
        page[38..42].copy_from_slice(&space_at_38.to_be_bytes());
        page[46..50].copy_from_slice(&5u32.to_be_bytes());
        page[50..54].copy_from_slice(&64u32.to_be_bytes());
        page[54..58].copy_from_slice(&flags.to_be_bytes());
        page[24..26].copy_from_slice(&8u16.to_be_bytes());
        page
    }

    #[test]
    fn fsp_header() {
        let header = FspHeader::parse(&page0_with(7, 7, 0x15)).unwrap();
        assert_eq!(header.space_id, SpaceId(7));
        assert_eq!(header.size_pages, 5);
        assert_eq!(header.free_limit, 64);
        assert_eq!(header.flags.logical_page_size(), 16384);
        assert_eq!(
            FspHeader::parse(&page0_with(7, 8, 0x15)),
            Err(PageError::SpaceIdMismatch {
                fil_page_space_id: 7,
                fsp_space_id: 8
            })
        );
        assert_eq!(
            FspHeader::parse(&page0_with(7, 7, 0x12)),
            Err(PageError::InvalidFlags {
                raw: 0x12,
                error: FlagsError::FullCrc32PageSsize { ssize: 2 }
            })
        );
        assert_eq!(
            FspHeader::parse(&[0u8; 16384]),
            Err(PageError::AllZeroPage0)
        );
        assert!(matches!(
            FspHeader::parse(&[1u8; 40]),
            Err(PageError::Truncated { .. })
        ));
    }

    #[test]
    fn crypt_data() {
        let flags = SpaceFlags::parse(0x15).unwrap();
        let mut page = page0_with(7, 7, 0x15);
        assert_eq!(read_crypt_data(&page, &flags), Ok(None));
        let at = 10428;
        page[at..at + 6].copy_from_slice(&CRYPT_MAGIC);
        page[at + 6] = 1;
        page[at + 7] = 16;
        page[at + 8..at + 24].copy_from_slice(&[0xAB; 16]);
        page[at + 24..at + 28].copy_from_slice(&3u32.to_be_bytes());
        page[at + 28..at + 32].copy_from_slice(&1u32.to_be_bytes());
        page[at + 32] = 1;
        let crypt = read_crypt_data(&page, &flags).unwrap().unwrap();
        assert_eq!(crypt.offset, at);
        assert_eq!(crypt.scheme, CryptScheme::Scheme1);
        assert_eq!(crypt.iv, [0xAB; 16]);
        assert_eq!(crypt.min_key_version, 3);
        assert_eq!(crypt.key_id, 1);
        assert_eq!(crypt.encryption, EncryptionMode::On);
        assert!(crypt.is_encrypted());
        page[at + 7] = 8;
        assert!(matches!(
            read_crypt_data(&page, &flags),
            Err(PageError::InvalidCryptData { value: 8, .. })
        ));
        page[at + 7] = 16;
        page[at + 32] = 3;
        assert!(matches!(
            read_crypt_data(&page, &flags),
            Err(PageError::InvalidCryptData { value: 3, .. })
        ));
        assert!(read_crypt_data(&page[..100], &flags).is_err());
    }
}
