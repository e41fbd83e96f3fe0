//! page_compressed page images as the server reads and writes them
//! (`fil0pagecompress.cc`): the plaintext of a stored page, and the image to store for
//! a changed one.
//!
//! A page_compressed tablespace holds compressed and uncompressed pages side by side:
//! the server writes a page uncompressed when compression fails or would not save a
//! 256-byte unit, and never compresses page 0, pages of type 0 (allocated), FSP_HDR,
//! XDES, or an already compressed page (`fil_page_compress`). Reading
//! (`fil_page_decompress`) accepts both.
//!
//! full_crc32 (algorithm in `FSP_SPACE_FLAGS` bits 5..7):
//!
//! ```text
//!  0..23   FIL header of the plaintext page (key version 0, page no, prev, next, LSN)
//!  24      0x80 (FIL_PAGE_COMPRESS_FCRC32_MARKER)      25  S / 256
//!  26..C   compressed image of the whole plaintext page, C = 26 + compressed length
//!  C..S-4  zeros; for lz4, lzo, snappy byte S-5 = (C + 5) mod 256 (exact length)
//!  S-4..S  CRC-32C of bytes 0..S-4          S..P  zeros (hole punched or written)
//!  S = (C [+1 for lz4/lzo/snappy] + 4 + 255) rounded down to 256, must be < P
//! ```
//!
//! Reading: S from byte 25; lz4/lzo/snappy take C = S + b - 256 - 5 for the byte
//! b = S-5 (S - 5 when b = 0), zlib/lzma/bzip2 decode from 26..S (their streams end
//! themselves; the zeros and checksum behind are not read; for lzma, whose decoder
//! here refuses trailing bytes, the image ends at its last non-zero byte before S-4). The image must decode to
//! exactly P bytes. Legacy pages (type 34354, 0xDEADBEEF, algorithm per page, no
//! checksum of the compressed image) are in [`super::compress`].
//!
//! Writing: full_crc32 pages are compressed with the tablespace's algorithm at the
//! given level (zlib: miniz_oxide, lz4: lz4_flex, snappy: snap, bzip2: libbz2-rs-sys at
//! the server's block size 1, whose streams may differ from the C libraries' bytes but
//! decode the same); the algorithms without an encoder here (lzma, lzo) are stored
//! uncompressed, which the server reads back (the page
//! type has no marker: `fil_page_decompress_for_full_crc32` returns the page as is)
//! and itself writes whenever compression fails. Legacy pages are always stored
//! uncompressed: that is what mariadb-backup's prepare writes (the algorithm of a
//! legacy page is the global `innodb_compression_algorithm`, which mariadb-backup
//! leaves at 0 = none), and `fil_page_decompress_for_non_full_crc32` reads any page
//! type other than 34354/37401 as is.

use super::compress::{decompress_image, decompress_legacy_page, CompressionAlgorithm};
use super::fil::{
    fcrc32_compressed_len, FCRC32_COMPRESSED_LEN_UNIT, FIL_PAGE_COMPRESS_FCRC32_MARKER,
    FIL_PAGE_COMP_ALGO, FIL_PAGE_FCRC32_CHECKSUM, FIL_PAGE_PAGE_COMPRESSED,
    FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED, FIL_PAGE_TYPE, FIL_PAGE_TYPE_ALLOCATED,
    FIL_PAGE_TYPE_FSP_HDR, FIL_PAGE_TYPE_XDES,
};
use super::fsp::SpaceFlags;
use super::{read_u16, DecompressError};
use crate::PageNo;

/// Header bytes before the compressed image of a full_crc32 page (`FIL_PAGE_COMP_ALGO`).
const FCRC32_HEADER_LEN: usize = FIL_PAGE_COMP_ALGO;
/// Bytes after the image of a full_crc32 page that carry the exact length (lz4, lzo,
/// snappy: `full_crc32_page_compressed_len`), before the checksum.
const FCRC32_LSB_LEN: usize = 1;
/// Default `innodb_compression_level`.
pub const DEFAULT_COMPRESSION_LEVEL: u32 = 6;

/// How one page_compressed tablespace's pages are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCompression {
    /// full_crc32: the tablespace's algorithm; legacy: `None` (recorded per page).
    algorithm: Option<CompressionAlgorithm>,
    full_crc32: bool,
    page_size: usize,
    level: u32,
}

impl PageCompression {
    /// For a tablespace with `flags`; `None` if it is not page_compressed. `level` is
    /// `innodb_compression_level` (the table's PAGE_COMPRESSION_LEVEL is not stored in
    /// the file, so the server's global level applies, as in mariadb-backup's prepare).
    pub fn for_space(flags: &SpaceFlags, level: u32) -> Option<PageCompression> {
        flags.is_page_compressed().then(|| PageCompression {
            algorithm: flags.compression_algorithm(),
            full_crc32: flags.is_full_crc32(),
            page_size: flags.logical_page_size(),
            level: level.min(9),
        })
    }

    /// The full_crc32 algorithm (`None` for legacy tablespaces).
    pub fn algorithm(&self) -> Option<CompressionAlgorithm> {
        self.algorithm
    }

    /// The plaintext page of a stored (and validated) page, or `None` when the page is
    /// stored uncompressed. A compressed page that does not decode to exactly one page
    /// is an error, as is one compressed with an algorithm without a decoder here
    /// ([`DecompressError::NoDecoder`]).
    pub fn decompress(&self, stored: &[u8]) -> Result<Option<Vec<u8>>, DecompressError> {
        let page_type = read_u16(stored, FIL_PAGE_TYPE, "FIL_PAGE_TYPE")?;
        if !self.full_crc32 {
            return match page_type {
                FIL_PAGE_PAGE_COMPRESSED | FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED => {
                    decompress_legacy_page(stored, self.page_size).map(|d| Some(d.page))
                }
                _ => Ok(None),
            };
        }
        let Some(size) = fcrc32_compressed_len(page_type) else {
            return Ok(None);
        };
        let max = self.page_size.saturating_sub(FCRC32_HEADER_LEN);
        let bad_length = |len: usize| DecompressError::BadLength { len, max };
        if size >= self.page_size || size <= FCRC32_HEADER_LEN || stored.len() < size {
            return Err(bad_length(size.saturating_sub(FCRC32_HEADER_LEN)));
        }
        let algorithm = self
            .algorithm
            .ok_or(DecompressError::UnknownAlgorithm { raw: 0 })?;
        let mut end = size;
        if has_length_byte(algorithm) {
            let lsb = usize::from(stored[size - 1 - FIL_PAGE_FCRC32_CHECKSUM]);
            if lsb != 0 {
                end = (end + lsb).saturating_sub(FCRC32_COMPRESSED_LEN_UNIT);
            }
            end = end.saturating_sub(FCRC32_LSB_LEN + FIL_PAGE_FCRC32_CHECKSUM);
            if end <= FCRC32_HEADER_LEN {
                return Err(bad_length(end.saturating_sub(FCRC32_HEADER_LEN)));
            }
        }
        let mut payload = &stored[FCRC32_HEADER_LEN..end];
        if algorithm == CompressionAlgorithm::Lzma {
            // liblzma stops at the end of the .xz stream; lzma-rs refuses bytes after
            // it. The server writes zeros there, then the checksum: both left out (a
            // stream ends in its footer magic "YZ", never in a zero).
            payload = &payload[..payload.len().saturating_sub(FIL_PAGE_FCRC32_CHECKSUM)];
            let used = payload.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            payload = &payload[..used];
        }
        decompress_image(algorithm, payload, self.page_size).map(Some)
    }

    /// The image to store for the (stamped) plaintext `page` at `page_no`: compressed
    /// as the server would, or `None` to store `page` as it is (see the module
    /// documentation for when).
    pub fn compress(&self, page: &[u8], page_no: PageNo) -> Option<Vec<u8>> {
        let algorithm = self.algorithm.filter(|_| self.full_crc32)?;
        if page_no.0 == 0 || page.len() != self.page_size {
            return None;
        }
        let page_type = read_u16(page, FIL_PAGE_TYPE, "FIL_PAGE_TYPE").ok()?;
        if matches!(
            page_type,
            FIL_PAGE_TYPE_ALLOCATED
                | FIL_PAGE_TYPE_FSP_HDR
                | FIL_PAGE_TYPE_XDES
                | FIL_PAGE_PAGE_COMPRESSED
        ) {
            return None;
        }
        let capacity = self.page_size - FCRC32_HEADER_LEN;
        let payload = encode(algorithm, page, self.level)?;
        if payload.len() > capacity {
            return None;
        }
        let actual = FCRC32_HEADER_LEN + payload.len();
        let lsb = if has_length_byte(algorithm) {
            FCRC32_LSB_LEN
        } else {
            0
        };
        let unit = FCRC32_COMPRESSED_LEN_UNIT;
        let size = (actual + lsb + FIL_PAGE_FCRC32_CHECKSUM).div_ceil(unit) * unit;
        if size >= self.page_size {
            return None;
        }
        let mut out = vec![0u8; self.page_size];
        out[..FCRC32_HEADER_LEN].copy_from_slice(&page[..FCRC32_HEADER_LEN]);
        out[FIL_PAGE_TYPE] = (1u16 << (FIL_PAGE_COMPRESS_FCRC32_MARKER - 8)) as u8;
        out[FIL_PAGE_TYPE + 1] = (size / unit) as u8;
        out[FCRC32_HEADER_LEN..actual].copy_from_slice(&payload);
        if lsb != 0 {
            out[size - FCRC32_LSB_LEN - FIL_PAGE_FCRC32_CHECKSUM] =
                (actual + FCRC32_LSB_LEN + FIL_PAGE_FCRC32_CHECKSUM) as u8;
        }
        let checksum_at = size - FIL_PAGE_FCRC32_CHECKSUM;
        let checksum = crc32c::crc32c(&out[..checksum_at]);
        out[checksum_at..size].copy_from_slice(&checksum.to_be_bytes());
        Some(out)
    }
}

/// Whether a full_crc32 page of this algorithm stores its exact compressed length
/// (`fil_space_t::full_crc32_page_compressed_len`).
fn has_length_byte(algorithm: CompressionAlgorithm) -> bool {
    matches!(
        algorithm,
        CompressionAlgorithm::Lz4 | CompressionAlgorithm::Lzo | CompressionAlgorithm::Snappy
    )
}

/// Compresses a whole page; `None` for algorithms without an encoder here.
fn encode(algorithm: CompressionAlgorithm, page: &[u8], level: u32) -> Option<Vec<u8>> {
    match algorithm {
        CompressionAlgorithm::Zlib => Some(miniz_oxide::deflate::compress_to_vec_zlib(
            page,
            u8::try_from(level).unwrap_or(9),
        )),
        CompressionAlgorithm::Lz4 => Some(lz4_flex::block::compress(page)),
        CompressionAlgorithm::Snappy => snap::raw::Encoder::new().compress_vec(page).ok(),
        CompressionAlgorithm::Bzip2 => bzip2_encode(page),
        CompressionAlgorithm::Lzo | CompressionAlgorithm::Lzma => None,
    }
}

/// A bzip2 stream of `image` as the server writes it (`BZ2_bzBuffToBuffCompress`,
/// block size 100k, default work factor); `None` if the encoder fails.
pub(crate) fn bzip2_encode(image: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = bzip2::Compress::new(bzip2::Compression::new(1), 0);
    // A stream of incompressible bytes grows by about 1 %, plus its headers.
    let mut out = Vec::with_capacity(image.len() + image.len() / 50 + 600);
    match encoder.compress_vec(image, &mut out, bzip2::Action::Finish) {
        Ok(bzip2::Status::StreamEnd) => Some(out),
        _ => None,
    }
}

#[cfg(test)]
#[path = "page_compressed_tests.rs"]
mod tests;
