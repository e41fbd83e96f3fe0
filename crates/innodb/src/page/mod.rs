//! InnoDB page formats of MariaDB 10.11 (`shared/docs/page-format.md` §1–§11).
//!
//! * [`fil`]: the 38-byte FIL header, the 8-byte trailer and the page types.
//! * [`fsp`]: the FSP header of page 0, `FSP_SPACE_FLAGS` in both layouts
//!   (full_crc32 and legacy) and the encryption metadata ("crypt data") on page 0.
//! * [`checksum`]: every page checksum algorithm, and stamping a checksum into a page.
//! * [`compress`]: decompression of legacy page_compressed pages (type 34354).
//! * [`page_compressed`]: a page_compressed tablespace's stored pages read (both
//!   layouts, every algorithm) and written (full_crc32 zlib/lz4/snappy/bzip2 compressed,
//!   else uncompressed) as the server does; `lzo`: the LZO1X decoder it uses.
//! * [`validate`]: the per-page decision of mariadb-backup (`page_is_corrupted`):
//!   valid, valid but unverifiable, all-zero, skipped (doublewrite) or corrupt.
//!
//! Typical use by a page copier:
//!
//! ```
//! use innodb::page::{PageValidator, ValidationOptions};
//! # fn copy(page0: &[u8], pages: &[u8]) -> Result<(), innodb::page::PageError> {
//! let validator = PageValidator::from_page0(page0, ValidationOptions::default())?;
//! let page_size = validator.page_size();
//! for (idx, page) in pages.chunks_exact(page_size).enumerate() {
//!     let verdict = validator.validate(page, innodb::PageNo(idx as u32));
//!     if verdict.is_corrupt() { /* re-read the batch */ }
//! }
//! # Ok(()) }
//! ```
//!
//! Nothing here does I/O or panics on input bytes: malformed input is an error value
//! (or a [`PageVerdict::Corrupt`]) naming what was wrong and where.

pub mod checksum;
pub mod compress;
pub mod fil;
pub mod fsp;
mod lzo;
pub mod page_compressed;
pub mod validate;
pub mod xdes;

pub use checksum::{set_page_lsn, write_checksum, ChecksumFormat};
pub use compress::{CompressionAlgorithm, DecompressError};
pub use fil::{FilHeader, FilTrailer, PageType};
pub use fsp::{
    read_crypt_data, CryptData, CryptScheme, EncryptionMode, FlagsError, FspHeader, SpaceFlags,
    TablespaceFormat,
};
pub use page_compressed::PageCompression;
pub use validate::{
    ChecksumKind, Corruption, PageValidator, PageVerdict, UnverifiedReason, ValidPage,
    ValidationOptions,
};

use thiserror::Error;

/// Why a page (or part of one) could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PageError {
    /// The input is shorter than the field that had to be read.
    #[error("{what}: needs bytes {at}..{end} but the input has only {len} bytes", end = at + need)]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Offset of the field.
        at: usize,
        /// Size of the field in bytes.
        need: usize,
        /// Length of the input.
        len: usize,
    },
    /// Page 0 carries two different tablespace ids; the server refuses such a file.
    #[error(
        "page 0: FIL_PAGE_SPACE_ID (offset 34) = {fil_page_space_id} differs from \
         FSP_SPACE_ID (offset 38) = {fsp_space_id}"
    )]
    SpaceIdMismatch {
        /// Value at `FIL_PAGE_SPACE_ID`.
        fil_page_space_id: u32,
        /// Value at `FSP_HEADER_OFFSET + FSP_SPACE_ID`.
        fsp_space_id: u32,
    },
    /// `FSP_SPACE_FLAGS` fails the server's validity rules.
    #[error("invalid FSP_SPACE_FLAGS 0x{raw:x}: {error}")]
    InvalidFlags {
        /// The flags as stored.
        raw: u32,
        /// The rule that failed.
        #[source]
        error: FlagsError,
    },
    /// Page 0 is all zero (a file being created); mariadb-backup defers such a
    /// tablespace and copies it without validation.
    #[error("page 0 is all zero: tablespace flags are not known yet")]
    AllZeroPage0,
    /// The crypt data on page 0 has the magic but nonsensical contents.
    #[error("crypt data at offset {at}: {what} = {value}")]
    InvalidCryptData {
        /// Offset of the offending field.
        at: usize,
        /// What is wrong.
        what: &'static str,
        /// The value found.
        value: u32,
    },
    /// A full_crc32 page_compressed page declares a compressed length that does not fit.
    #[error("full_crc32 compressed length {compressed_len} is not in 256..{page_size}")]
    CompressedLength {
        /// Length decoded from `FIL_PAGE_TYPE`.
        compressed_len: usize,
        /// Length of the page.
        page_size: usize,
    },
}

/// Reads `N` bytes at `at`, or says which field did not fit.
pub(crate) fn read_array<const N: usize>(
    bytes: &[u8],
    at: usize,
    what: &'static str,
) -> Result<[u8; N], PageError> {
    at.checked_add(N)
        .and_then(|end| bytes.get(at..end))
        .and_then(|slice| <[u8; N]>::try_from(slice).ok())
        .ok_or(PageError::Truncated {
            what,
            at,
            need: N,
            len: bytes.len(),
        })
}

/// Big-endian `u16` at `at`.
pub(crate) fn read_u16(bytes: &[u8], at: usize, what: &'static str) -> Result<u16, PageError> {
    read_array::<2>(bytes, at, what).map(u16::from_be_bytes)
}

/// Big-endian `u32` at `at`.
pub(crate) fn read_u32(bytes: &[u8], at: usize, what: &'static str) -> Result<u32, PageError> {
    read_array::<4>(bytes, at, what).map(u32::from_be_bytes)
}

/// Big-endian `u64` at `at`.
pub(crate) fn read_u64(bytes: &[u8], at: usize, what: &'static str) -> Result<u64, PageError> {
    read_array::<8>(bytes, at, what).map(u64::from_be_bytes)
}

/// Writes a big-endian `u32` at `at`, or says which field did not fit.
pub(crate) fn write_u32(
    bytes: &mut [u8],
    at: usize,
    value: u32,
    what: &'static str,
) -> Result<(), PageError> {
    let len = bytes.len();
    at.checked_add(4)
        .and_then(|end| bytes.get_mut(at..end))
        .map(|slot| slot.copy_from_slice(&value.to_be_bytes()))
        .ok_or(PageError::Truncated {
            what,
            at,
            need: 4,
            len,
        })
}

/// Returns `bytes[range]` or says which range did not fit.
pub(crate) fn slice<'a>(
    bytes: &'a [u8],
    start: usize,
    end: usize,
    what: &'static str,
) -> Result<&'a [u8], PageError> {
    bytes.get(start..end).ok_or(PageError::Truncated {
        what,
        at: start,
        need: end.saturating_sub(start),
        len: bytes.len(),
    })
}

/// True if every byte is zero: freshly extended file space, punched holes and
/// never-written pages look like this and are always valid.
pub fn is_all_zero(bytes: &[u8]) -> bool {
    // Word-wise OR per chunk lets the compiler vectorise; the early exit per chunk
    // keeps non-zero pages (the common case) cheap.
    bytes
        .chunks(64)
        .all(|chunk| chunk.iter().fold(0u8, |acc, &b| acc | b) == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_report_what_and_where() {
        let bytes = [0u8, 1, 2, 3, 4];
        assert_eq!(read_u32(&bytes, 1, "x"), Ok(0x0102_0304));
        assert_eq!(read_u16(&bytes, 3, "x"), Ok(0x0304));
        assert_eq!(
            read_u32(&bytes, 2, "field"),
            Err(PageError::Truncated {
                what: "field",
                at: 2,
                need: 4,
                len: 5
            })
        );
        assert!(read_u64(&bytes, usize::MAX, "x").is_err());
        let mut buf = [0u8; 4];
        assert!(write_u32(&mut buf, 1, 7, "x").is_err());
        assert_eq!(write_u32(&mut buf, 0, 7, "x"), Ok(()));
        assert_eq!(buf, [0, 0, 0, 7]);
    }

    #[test]
    fn all_zero_detection() {
        assert!(is_all_zero(&[]));
        assert!(is_all_zero(&[0; 200]));
        let mut page = [0u8; 200];
        page[199] = 1;
        assert!(!is_all_zero(&page));
    }
}
